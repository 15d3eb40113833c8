"""Type and check one file's rows in DuckDB SQL over its Arrow table, then insert the good ones.

One pass types every row (cheap exact casts first, the strict patterns only for text the
cast did not settle) and marks it ok or not; the Chinese reasons are built for the failed
rows only (quarantine.py); the insert types the rows again straight from the input, leaving
out the failed, duplicate and template rows by number. The Python ID/USCC check functions
run once per DISTINCT value and are joined back.

Working state lives in temporary tables and views named _ingest_*, dropped by cleanup().
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import duckdb
import pyarrow as pa

from foundation.landing import identifiers, schema
from foundation.landing.schema import Source, raw_column_name
from pipelines.ingest.reference import Reference, lookup_sql
from pipelines.ingest.sql import Lineage, count, lit, row_of
from pipelines.ingest.templates import TEMPLATE_TEXT_RE
from pipelines.ingest.typing_sql import error_branches, resident_sql, typed_sql

SCAN_BATCH_ROWS = 122_880  # DuckDB's row-group size: each full batch is written by its thread before COMMIT
ROW_LIST_MAX = 2_000

TEMP_TABLES = (
    "_ingest_checked",
    "_ingest_tpl",
    "_ingest_skip",
    "_ingest_dupgrp",
    "_ingest_prior",
    "_ingest_dups",
    "_ingest_qrows",
    "_ingest_quarantine",
    "_ingest_exclude",
    "_ingest_held",
)
VIEWS = ("_ingest_input", "_ingest_idp", "_ingest_usccp")


def in_batches(table: pa.Table) -> pa.Table:
    """The same rows in record batches of SCAN_BATCH_ROWS: DuckDB scans one Arrow batch per
    thread, so a file read as one big chunk would be typed and inserted on one core (smaller
    batches leave partial row groups that COMMIT has to write instead)."""
    if table.num_rows <= SCAN_BATCH_ROWS:
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), table.schema)


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    for name in VIEWS:
        with contextlib.suppress(Exception):  # never registered for this file
            con.unregister(name)
    for name in TEMP_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {name}")


class FileSQL:
    """The SQL over one registered input (_ingest_input) of a source: typed rows and the ok test."""

    def __init__(
        self, source: Source, present: set[str], reference: Reference, long_columns: frozenset[str] = frozenset()
    ):
        self.source = source
        self.present = present
        self.long_columns = long_columns
        self.region_names = reference.region_names
        self.pension = reference.pension
        self.cols = list(source.columns)
        self.names = [c.name for c in self.cols]
        self.labels = {c.name: c.label for c in self.cols}
        self.key = list(source.natural_key)
        self.tkey = ", ".join(f"t_{k}" for k in self.key)
        self.has_id, self.has_uscc = "id_number" in self.names, "uscc" in self.names
        self.joins, self.extras, self.codes = self._lookups(reference)
        checks = {
            c.name: error_branches(source, c, reference.region_names, reference.pension, c.name in long_columns)
            for c in self.cols
        }
        self.checked = [c for c in self.names if checks[c][0]]
        self.ok = " AND ".join(f"({checks[c][1]})" for c in self.names if checks[c][1]) or "true"

    def _lookups(self, reference: Reference) -> tuple[list[str], list[str], list[str]]:
        """Joins and extra columns the checks need (identifier problems, resident flag), and the
        reference codes the typed values need."""
        joins, extras, codes = [], [], []
        if "insurance_type" in self.names:
            codes.append(f"{lookup_sql('b.insurance_type', reference.insurance)} AS __insurance_code")
        if "region" in self.names:
            codes.append(f"{lookup_sql('b.region', reference.regions)} AS __region_code")
        if self.has_id:
            joins.append("LEFT JOIN _ingest_idp ip ON ip.v = upper(b.id_number)")
            extras += [
                "ip.problem AS __id_problem",
                "ip.birth AS __id_birth",
                f"{resident_sql().replace('id_type', 'b.id_type')} AS __resident",
            ]
        if self.has_uscc:
            joins.append("LEFT JOIN _ingest_usccp up ON up.v = upper(b.uscc)")
            extras.append("up.problem AS __uscc_problem")
        return joins, extras, codes

    def cleaned(self, c: str) -> str:
        """The input text of a column (cells arrive trimmed, empty as NULL), NULL when the file lacks it."""
        return c if c in self.present else "CAST(NULL AS VARCHAR)"

    def typed(self, rows: str = "true", valid: bool = False) -> str:
        """The file's non-blank rows (those matching `rows`): input text, typed values, ok.

        valid=True: the rows are known to pass every check, so money needs no strict test and
        the identifier problems are not joined in (__ok is simply true).
        """
        joins, extras = ([], self.codes) if valid else (self.joins, self.codes + self.extras)
        any_value = " OR ".join(f"{c} IS NOT NULL" for c in self.names)
        template_text = f"regexp_matches(__extra, {lit(TEMPLATE_TEXT_RE)})"
        return f"""(
            WITH b0 AS (
                SELECT __row, __extra, {", ".join(f"{self.cleaned(c)} AS {c}" for c in self.names)}
                FROM _ingest_input WHERE {rows}
            ), b AS (
                SELECT * FROM b0 WHERE ({any_value}) OR (__extra IS NOT NULL AND {template_text})
            ), j AS (
                SELECT {", ".join(["b.*"] + extras)} FROM b {" ".join(joins)}
            ), t AS (
                SELECT *, {", ".join(f"{typed_sql(self.source, c, valid)} AS t_{c.name}" for c in self.cols)} FROM j
            )
            SELECT *, ({"true" if valid else self.ok}) AS __ok FROM t
        )"""


def _problem_table(
    con: duckdb.DuckDBPyConnection, name: str, sql: str, check: Callable[[str], str | None], with_birth: bool
) -> None:
    """Run a Python identifier check once per distinct value; keep the problems (and ID birth dates)."""
    values = [r[0] for r in con.execute(sql).fetchall()]
    problems, births, keys = [], [], []
    for v in values:
        p = check(v)
        if p is None and not with_birth:
            continue
        keys.append(v)
        problems.append(p)
        births.append(identifiers.id_birth_date(v) if with_birth and p is None else None)
    con.register(
        name,
        pa.table(
            {
                "v": pa.array(keys, pa.string()),
                "problem": pa.array(problems, pa.string()),
                "birth": pa.array(births, pa.date32()),
            }
        ),
    )


def register_identifier_problems(con: duckdb.DuckDBPyConnection, f: FileSQL) -> None:
    """_ingest_idp / _ingest_usccp: the check result of each distinct ID number and USCC of the file."""
    if f.has_id:
        resident = resident_sql().replace("id_type", f.cleaned("id_type"))
        _problem_table(
            con,
            "_ingest_idp",
            f"SELECT DISTINCT upper({f.cleaned('id_number')}) AS v FROM _ingest_input "
            f"WHERE v IS NOT NULL AND {resident}",
            identifiers.id_number_problem,
            with_birth=(f.source.name == "persons"),
        )
    if f.has_uscc:
        _problem_table(
            con,
            "_ingest_usccp",
            f"SELECT DISTINCT upper({f.cleaned('uscc')}) AS v FROM _ingest_input WHERE v IS NOT NULL",
            identifiers.uscc_problem,
            with_birth=False,
        )


def mark_rows(con: duckdb.DuckDBPyConnection, f: FileSQL) -> None:
    """_ingest_checked: every non-blank row with its ok flag and natural key.

    Only what classifying and duplicate detection need is kept (the key's short strings);
    the insert types the rows again straight from the input instead of copying a wide
    intermediate table.
    """
    con.execute(f"""
        CREATE TEMP TABLE _ingest_checked AS
        SELECT __row, __extra, __ok, {f.tkey}, hash({f.tkey}) AS __key_hash FROM {f.typed()}
    """)


def row_filter(con: duckdb.DuckDBPyConnection, test: str, table: str) -> str | None:
    """`__row [NOT] IN (...)` over the rows of a small table, or None when it is empty.

    A short literal list is pushed into the Arrow scan, so only those rows are typed;
    longer lists use the table itself.
    """
    n = count(con, f"SELECT count(*) FROM {table}")
    if n == 0:
        return None
    if n <= ROW_LIST_MAX:
        rows = [r[0] for r in con.execute(f"SELECT __row FROM {table} ORDER BY 1").fetchall()]
        return f"{test} ({', '.join(str(int(r)) for r in rows)})"
    return f"{test} (SELECT __row FROM {table})"


def insert_loaded(con: duckdb.DuckDBPyConnection, f: FileSQL, lineage: Lineage) -> int:
    """Insert every non-blank row that is neither quarantined, held nor skipped; returns how many.

    The rows are typed again straight from the input; excluding the (few) known rows by
    number rather than re-testing every row keeps the checks out of this scan.
    """
    target = ", ".join([raw_column_name(c) for c in f.cols] + [n for n, _ in schema.LINEAGE_COLUMNS])
    rows = ["__row"]
    values = ", ".join(
        [f"t_{c}" for c in f.names]
        + [lineage.rel(*rows), row_of("__row"), lineage.fhash(*rows), lineage.load_id(*rows), lineage.ts, "NULL"]
    )
    con.execute("""
        CREATE TEMP TABLE _ingest_exclude AS
        SELECT __row FROM _ingest_qrows UNION SELECT __row FROM _ingest_skip UNION SELECT __row FROM _ingest_held
    """)
    keep = row_filter(con, "__row NOT IN", "_ingest_exclude") or "true"
    return count(con, f"INSERT INTO {f.source.table} ({target}) SELECT {values} FROM {f.typed(keep, valid=True)} c")
