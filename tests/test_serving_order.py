"""The serving copy's large marts are written in the order proofs filter on (SORT_KEYS of
pipelines/defs/serving/assets.py), with the same rows as the warehouse, and the proofs' queries
filter on the leading column bare, so DuckDB's row-group min/max can skip the other units."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from certificates import data
from foundation import paths
from pipelines.defs.serving.assets import SORT_KEYS, publish_serving_copy

pytestmark = pytest.mark.unit

LARGE = {key: cols for key, cols in SORT_KEYS.items() if not key[1].startswith("dim_")}


def unsorted_rows(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...]) -> int:
    """Rows whose physical position (rowid) differs from their place in the declared order."""
    order = ", ".join(keys)
    return con.execute(
        f"select count(*) from (select rowid as pos, row_number() over (order by {order}, rowid) - 1 as place "
        f"from {table}) where pos <> place"
    ).fetchone()[0]


def fingerprint(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> tuple[int, int]:
    """Row count and an order-independent checksum of the rows (sum of row hashes)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    return tuple(con.execute(f"select count(*), coalesce(sum(hash({cols})::hugeint), 0) from {table}").fetchone())


def columns_of(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = ? and table_name = ?"
            " order by column_index",
            [database, schema, table],
        ).fetchall()
    ]


def test_the_order_check_sees_a_shuffled_table():
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('U2', 'P1', '202401'), ('U1', 'P2', '202402')) v(a, b, c)")
    assert unsorted_rows(con, "t", ("a", "b", "c")) == 2
    con.execute("create table s as select * from t order by a, b, c")
    assert unsorted_rows(con, "s", ("a", "b", "c")) == 0
    assert unsorted_rows(con, "s", ("c",)) == 2


def test_the_checksum_sees_a_changed_or_repeated_row_but_not_the_order():
    con = duckdb.connect()
    con.execute("create table t as select * from (values ('U1', 1.50::decimal(18,2)), ('U2', null)) v(a, x)")
    con.execute("create table same as select * from t order by a desc")
    con.execute("create table changed as select a, case when a = 'U1' then 1.51 else x end as x from t")
    con.execute("create table repeated as select * from t union all select * from t where a = 'U1'")
    base = fingerprint(con, "t", ["a", "x"])
    assert base[0] == 2
    assert fingerprint(con, "same", ["a", "x"]) == base
    assert fingerprint(con, "changed", ["a", "x"]) != base
    assert fingerprint(con, "repeated", ["a", "x"])[0] == 3


def test_a_publish_writes_declared_tables_sorted(tmp_path: Path):
    """A hand-made warehouse whose fact is stored out of order comes out sorted, rows unchanged."""
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts; create schema reference")
    con.execute("create table reference.regions as select 'SZ' as region_code")
    con.execute(
        "create table marts.fct_contributions as select * from (values "
        "('U2', 'P9', '202402', 3), ('U1', 'P2', '202401', 1), ('U2', 'P1', '202401', 2), ('U1', 'P2', '202312', 4)"
        ") v(unit_id, person_id, fee_period, line)"
    )
    con.execute("create table marts.rpt_other as select * from (values (2), (1)) v(x)")
    assert unsorted_rows(con, "marts.fct_contributions", SORT_KEYS[("marts", "fct_contributions")]) > 0
    con.close()
    published = publish_serving_copy(warehouse, "2026-12-01")
    copy = duckdb.connect(str(published.path), read_only=True)
    assert copy.execute("select line from marts.fct_contributions order by rowid").fetchall() == [
        (4,),
        (1,),
        (2,),
        (3,),
    ]
    assert copy.execute("select x from marts.rpt_other order by rowid").fetchall() == [(2,), (1,)]  # undeclared: as is
    copy.close()


def test_served_tables_keep_their_rows_in_the_declared_order(built_warehouse):
    con = duckdb.connect()
    con.execute("attach '" + str(built_warehouse).replace("'", "''") + "' as wh (read_only)")
    con.execute("attach '" + str(paths.serving_path(built_warehouse)).replace("'", "''") + "' as sv (read_only)")
    checked = 0
    for (schema, table), keys in SORT_KEYS.items():
        warehouse_cols, served_cols = columns_of(con, "wh", schema, table), columns_of(con, "sv", schema, table)
        assert warehouse_cols and served_cols, f"{schema}.{table} is declared but not served"
        common = [c for c in warehouse_cols if c in served_cols]  # dim_persons: id_number is withheld
        assert set(keys) <= set(common)
        assert fingerprint(con, f"sv.{schema}.{table}", common) == fingerprint(con, f"wh.{schema}.{table}", common)
        assert unsorted_rows(con, f"sv.{schema}.{table}", keys) == 0, table
        checked += con.execute(f"select count(distinct {keys[0]}) > 1 from sv.{schema}.{table}").fetchone()[0]
    assert checked >= 10  # the tables hold several units or persons: the order is not trivially true
    con.close()


# --- the proofs' queries filter on the leading sort column bare -----------------------------

TABLE_REF = re.compile(r"\b(?:from|join)\s+marts\.(\w+)(?:\s+as\s+(\w+))?", re.IGNORECASE)


def unpruned_tables(sql: str) -> list[str]:
    """Large sorted tables a query reads without a bare `<leading key> = ?` on them."""
    missing = []
    for table, alias in TABLE_REF.findall(sql):
        keys = LARGE.get(("marts", table))
        if not keys:
            continue
        prefix = rf"(?:{alias}\.)?" if alias else ""
        if not re.search(rf"(?:^|[\s(]){prefix}{keys[0]}\s*=\s*\?", sql, re.MULTILINE):
            missing.append(table)
    return missing


def test_the_filter_check_sees_a_function_around_the_column_or_no_filter():
    assert unpruned_tables("select * from marts.fct_contributions where unit_id = ? and fee_period = ?") == []
    assert unpruned_tables("select * from marts.fct_contributions as c where c.unit_id = ?") == []
    assert unpruned_tables("select * from marts.fct_contributions where cast(unit_id as varchar) = ?") == [
        "fct_contributions"
    ]
    assert unpruned_tables("select * from marts.fct_contributions as c where upper(c.unit_id) = ?") == [
        "fct_contributions"
    ]
    assert unpruned_tables("select * from marts.rpt_rights_statement where statement_period = ?") == [
        "rpt_rights_statement"
    ]


def test_every_proof_query_filters_its_large_tables_bare():
    queries = {name: sql for name, sql in vars(data).items() if name.endswith("_SQL") and isinstance(sql, str)}
    read = {t for sql in queries.values() for t, _ in TABLE_REF.findall(sql) if ("marts", t) in LARGE}
    assert {"fct_contributions", "rpt_unit_roster_months", "rpt_unit_proof_runs", "rpt_rights_statement"} <= read
    assert {name: unpruned_tables(sql) for name, sql in queries.items() if unpruned_tables(sql)} == {}
