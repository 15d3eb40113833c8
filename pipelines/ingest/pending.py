"""Rows waiting for their person or unit: held in raw.pending, released when the registry row arrives.

An enrolment or ledger line whose person (raw.persons) or unit (raw.employers) has no live
row is neither loaded nor quarantined: it is *held* with a reason naming the file, row and
field, stored with its full typed row, and left out of the source table the dbt staging
models read, so the build never fails on a relationships test. Each later load of the
source first releases the held rows whose references now all exist (moved into the source
table with their own lineage, the pending row marked released, the file's counts in
raw.load_files moved from held to loaded), so nothing is lost or counted twice.

A registry that has no live row at all (its files not delivered yet, as in a partial
reload of one source) is not checked: every row would be held for it.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from foundation.landing import schema
from foundation.landing.schema import Source, raw_column_name
from pipelines.ingest.checks import FileSQL, row_filter
from pipelines.ingest.sql import Lineage, count, lit, row_of

# source -> (column, registry source, what the registry registers)
REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "enrolments": (("person_id", "persons", "人员"), ("unit_id", "employers", "单位")),
    "ledgers": (("person_id", "persons", "人员"), ("unit_id", "employers", "单位")),
    # a migrated spell's unit may have closed long ago: only the person must be registered
    "legacy_history": (("person_id", "persons", "人员"),),
}


def _registered(column: str, registry: str, value: str) -> str:
    table = schema.SOURCES[registry].table
    return f"EXISTS (SELECT 1 FROM {table} x WHERE x.superseded_at IS NULL AND x.{column} = {value})"


def references_in_force(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str, str]]:
    """The references of this source whose registry has at least one live row."""
    return [
        ref
        for ref in REFERENCES.get(source, ())
        if con.execute(f"SELECT 1 FROM {schema.SOURCES[ref[1]].table} WHERE superseded_at IS NULL LIMIT 1").fetchone()
    ]


def _hold_reason(f: FileSQL, refs: list[tuple[str, str, str]], lineage: Lineage) -> str:
    segments = [
        f"CASE WHEN __miss_{c} THEN '字段“{f.labels[c]}”({c})：{what}未登记（{schema.SOURCES[reg].label}中没有"
        f"{f.labels[c]}为“' || t_{c} || '”的有效记录）' END"
        for c, reg, what in refs
    ]
    return (
        f"'文件 ' || {lineage.rel('__row')} || ' 第' || {row_of('__row')} || '行 ' "
        f"|| concat_ws('；', {', '.join(segments)}) || '，暂挂，登记后自动加载'"
    )


def hold_unregistered(con: duckdb.DuckDBPyConnection, f: FileSQL, not_skipped: str, lineage: Lineage) -> None:
    """_ingest_held: valid, non-duplicate rows naming an unregistered person or unit; kept in raw.pending."""
    refs = references_in_force(con, f.source.name)
    if not refs:
        con.execute("CREATE TEMP TABLE _ingest_held (__row BIGINT)")
        return
    misses = ", ".join(f"NOT {_registered(c, reg, 'c.t_' + c)} AS __miss_{c}" for c, reg, _ in refs)
    first = "CASE " + " ".join(f"WHEN __miss_{c} THEN " + "{}" for c, _, _ in refs) + " END"
    con.execute(f"""
        CREATE TEMP TABLE _ingest_held AS
        WITH m AS (
            SELECT c.__row, {", ".join(f"c.t_{c}" for c, _, _ in refs)}, {misses}
            FROM _ingest_checked c
            WHERE c.__ok AND {not_skipped} AND NOT EXISTS (SELECT 1 FROM _ingest_dups d WHERE d.__row = c.__row)
        )
        SELECT __row, {first.format(*(lit(c) for c, _, _ in refs))} AS field,
               {first.format(*(f"t_{c}" for c, _, _ in refs))} AS value,
               {_hold_reason(f, refs, lineage)} AS reason
        FROM m WHERE {" OR ".join(f"__miss_{c}" for c, _, _ in refs)}
    """)
    held = row_filter(con, "__row IN", "_ingest_held")
    if held is None:
        return
    record = (
        "CAST(json_object("
        + ", ".join(f"{lit(raw_column_name(c))}, CAST(t_{c.name} AS VARCHAR)" for c in f.cols)
        + ") AS VARCHAR)"
    )
    con.execute(f"""
        INSERT INTO raw.pending
        SELECT {lit(f.source.name)}, {lineage.rel("h.__row")}, {row_of("h.__row")}, {lineage.fhash("h.__row")},
               {lineage.load_id("h.__row")}, h.field, h.value, h.reason, {record}, {lineage.ts}, NULL, NULL
        FROM {f.typed(held, valid=True)} c JOIN _ingest_held h ON h.__row = c.__row
        ORDER BY h.__row
    """)


def mark_held_firsts(con: duckdb.DuckDBPyConnection) -> None:
    """A row repeating a key first seen in an earlier file of the batch, where that row is held, repeats a
    held row: named as such, as if the earlier file had been loaded before (see quarantine.find_duplicates)."""
    con.execute("""
        UPDATE _ingest_dups SET __dup_file = __dup_file || '（暂挂待登记）'
        WHERE __dup_first IS NOT NULL AND __dup_first IN (SELECT __row FROM _ingest_held)
    """)


def pending_keys_sql(source: Source) -> str | None:
    """Live held rows of this source as (source_file, source_row, t_<key>...), or None when there are none."""
    if source.name not in REFERENCES:
        return None
    keys = ", ".join(
        f"CAST(json_extract_string(record, {lit('$.' + raw_column_name(source.column(k)))}) AS "
        f"{source.column(k).dtype}) AS t_{k}"
        for k in source.natural_key
    )
    return (
        f"(SELECT source_file, source_row, {keys} FROM raw.pending WHERE source = {lit(source.name)} "
        "AND released_at IS NULL AND superseded_at IS NULL)"
    )


def release_pending(con: duckdb.DuckDBPyConnection, source: Source, now: dt.datetime) -> int:
    """Move the held rows whose person and unit are now registered into the source table; returns how many."""
    refs = [r for r in REFERENCES.get(source.name, ())]
    if (
        not refs
        or not con.execute(
            "SELECT 1 FROM raw.pending WHERE source = ? AND released_at IS NULL AND superseded_at IS NULL LIMIT 1",
            [source.name],
        ).fetchone()
    ):
        return 0
    ready = " AND ".join(_registered(c, reg, f"json_extract_string(p.record, '$.{c}')") for c, reg, _ in refs)
    con.execute(f"""
        CREATE TEMP TABLE _ingest_release AS
        SELECT * FROM raw.pending p
        WHERE p.source = {lit(source.name)} AND p.released_at IS NULL AND p.superseded_at IS NULL AND {ready}
    """)
    try:
        n = count(con, "SELECT count(*) FROM _ingest_release")
        if n:
            _move_released(con, source, now)
        return n
    finally:
        con.execute("DROP TABLE IF EXISTS _ingest_release")


def _move_released(con: duckdb.DuckDBPyConnection, source: Source, now: dt.datetime) -> None:
    ts = f"TIMESTAMP {lit(now.isoformat(sep=' '))}"
    names = [raw_column_name(c) for c in source.columns]
    values = [
        f"CAST(json_extract_string(record, {lit('$.' + raw_column_name(c))}) AS {c.dtype})" for c in source.columns
    ]
    lineage = [n for n, _ in schema.LINEAGE_COLUMNS]
    con.execute(f"""
        INSERT INTO {source.table} ({", ".join(names + lineage)})
        SELECT {", ".join(values)}, source_file, source_row, file_hash, load_id, {ts}, NULL
        FROM _ingest_release ORDER BY source_file, source_row
    """)
    con.execute(f"""
        UPDATE raw.pending p SET released_at = {ts} FROM _ingest_release r
        WHERE p.source = r.source AND p.file_hash = r.file_hash AND p.source_row = r.source_row
          AND p.released_at IS NULL
    """)
    con.execute("""
        UPDATE raw.load_files lf SET rows_loaded = lf.rows_loaded + r.n, rows_held = lf.rows_held - r.n
        FROM (SELECT source, file_hash, source_file, count(*) AS n FROM _ingest_release GROUP BY ALL) r
        WHERE lf.source = r.source AND lf.file_hash = r.file_hash AND lf.source_file = r.source_file
    """)
