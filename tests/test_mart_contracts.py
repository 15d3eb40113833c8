"""Every table and column the readers' SQL names exists in the serving copy the real build publishes.

The readers (certificates/data.py, dashboards/data.py, shebao/queries.py) are scanned for
`schema.table` names and `alias.column` references inside each SQL literal; the module-level
queries of certificates/data.py are also bound by DuckDB itself (PREPARE),
which checks every column, qualified or not. A mart contract that drifts from a reader fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import duckdb
import pytest

from foundation import paths

pytestmark = pytest.mark.dbt

ROOT = Path(__file__).resolve().parent.parent
READERS = (
    "certificates/data.py",
    *sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "dashboards" / "queries").glob("*.py") if p.name != "__init__.py"
    ),
    "shebao/queries.py",
)
BOUND = ("certificates/data.py",)  # readers whose SQL are module-level constants, bound as written
TABLE = re.compile(r"\b(marts|reference|meta|raw)\.(\w+)\b")
ALIASED = re.compile(r"\b(?:from|join)\s+(marts|reference|meta|raw)\.(\w+)(?:\s+as)?\s+(\w+)", re.IGNORECASE)
QUALIFIED = re.compile(r"\b([a-z_]\w*)\.([a-z_]\w*)\b")
KEYWORDS = {"on", "where", "using", "left", "join", "inner", "group", "order", "cross", "limit", "and", "window"}


def sql_literals(path: Path) -> list[str]:
    """Every string literal of the module; an f-string's text parts joined around its placeholders."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    nested = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else " ? " for v in node.values]
            out.append("".join(str(p) for p in parts))
            nested.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in nested:
            out.append(node.value)
    return [s for s in out if TABLE.search(s)]


def problems(sql: str, columns: dict[tuple[str, str], set[str]]) -> list[str]:
    """Tables missing from the serving copy, and alias.column references to columns the table lacks."""
    found = []
    for schema, table in TABLE.findall(sql):
        if (schema, table) not in columns:
            found.append(f"{schema}.{table} does not exist")
    aliases = {}
    for schema, table, alias in ALIASED.findall(sql):
        if alias.lower() not in KEYWORDS:
            aliases[alias] = (schema, table)
    for alias, column in QUALIFIED.findall(sql):
        if alias in aliases and aliases[alias] in columns and column not in columns[aliases[alias]]:
            schema, table = aliases[alias]
            found.append(f"{alias}.{column}: {schema}.{table} has no column {column}")
    return found


@pytest.fixture(scope="module")
def serving(built_warehouse):
    con = duckdb.connect(str(paths.serving_path(built_warehouse)), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def columns(serving) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in serving.execute(
        "select schema_name, table_name, column_name from duckdb_columns()"
    ).fetchall():
        out.setdefault((schema, table), set()).add(column)
    return out


@pytest.mark.parametrize("reader", READERS)
def test_every_table_and_aliased_column_the_reader_names_exists(reader, columns):
    literals = sql_literals(ROOT / reader)
    assert literals, f"no SQL found in {reader}"
    found = sorted({p for sql in literals for p in problems(sql, columns)})
    assert not found, f"{reader} names what the serving copy lacks:\n  " + "\n  ".join(found)


@pytest.mark.parametrize("reader", BOUND)
def test_module_level_queries_bind_against_the_serving_copy(reader, serving):
    tree = ast.parse((ROOT / reader).read_text(encoding="utf-8"))
    queries = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name) and TABLE.search(node.value.value)
    }
    assert queries, f"no module-level SQL in {reader}"
    failed = {}
    for n, (name, sql) in enumerate(sorted(queries.items())):
        sql = sql.replace("{year_col}", "year")
        if "{" in sql:
            continue  # a template completed at run time; the scan above covers its names
        try:
            serving.execute(f"prepare contract_{n} as {sql}")
        except duckdb.Error as exc:
            failed[name] = str(exc).splitlines()[0]
    assert not failed, f"{reader}: queries that do not bind:\n" + "\n".join(f"  {k}: {v}" for k, v in failed.items())


def test_the_scan_catches_a_missing_table_and_a_missing_column(columns):
    """Negative: a drifted contract is reported."""
    sql = """select c.person_id, c.no_such_column, u.unit_name
             from marts.fct_contributions as c join marts.dim_units u on u.unit_id = c.unit_id
             join marts.no_such_mart as x on true"""
    assert problems(sql, columns) == [
        "marts.no_such_mart does not exist",
        "c.no_such_column: marts.fct_contributions has no column no_such_column",
    ]
    assert problems("select c.person_id from marts.fct_contributions c", columns) == []


def test_binding_catches_an_unqualified_missing_column(serving):
    with pytest.raises(duckdb.BinderException):
        serving.execute("prepare drifted as select no_such_column from marts.dim_units where unit_id = ?")
