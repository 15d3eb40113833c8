"""Duplicates and quarantined rows of one file: one raw.quarantine row per bad input row.

``field``/``value`` name the first failing field (schema order) and ``reason`` lists every
failing field of the row. A duplicate is only looked for when the row has no other error
(the natural key against non-superseded loaded rows, rows held in raw.pending and earlier
valid rows of the same file; the first one wins). Duplicates are found by a hash of the
key and confirmed on the key; against loaded rows only the file's own periods are
searched, so a file costs the same however much history is loaded.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from foundation.landing.schema import raw_column_name
from pipelines.ingest.checks import FileSQL, row_filter
from pipelines.ingest.pending import pending_keys_sql
from pipelines.ingest.sql import Lineage, count, file_of, lit, lits, row_of
from pipelines.ingest.typing_sql import MAX_CELL_CHARS, PERIOD_COLUMNS, category_sql, error_sql, quoted


def _live_filter(con: duckdb.DuckDBPyConnection, f: FileSQL) -> str:
    """Loaded rows that can collide: live ones of this file's own periods (the check does not grow with history)."""
    period = next((k for k in f.key if k in PERIOD_COLUMNS), None)
    live = "x.superseded_at IS NULL"
    if period is not None:
        periods = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT t_{period} FROM _ingest_checked WHERE __ok AND t_{period} IS NOT NULL"
            ).fetchall()
        ]
        live += f" AND x.{period} IN ({lits(periods)})" if periods else " AND false"
    return live


def find_duplicates(
    con: duckdb.DuckDBPyConnection, f: FileSQL, not_skipped: str, lineage: Lineage, multi_file: bool = False
) -> None:
    """_ingest_dups(__row, __first_row, __dup_file, __dup_row, __dup_first): valid rows repeating an earlier key.

    In a batch, a key first seen in an earlier file of the batch is a duplicate of that file's row
    (``__dup_first`` is its row id, so pending.mark_held_firsts can name it as held), exactly as if
    that file had been loaded before; unless the key was already loaded or held before the batch,
    in which case every row of the batch with it repeats that earlier row.
    """
    src, key, tkey = f.source, f.key, f.tkey
    raw_key = [raw_column_name(src.column(k)) for k in key]
    # a hash of the key finds the candidates cheaply; the exact key confirms them
    con.execute(f"""
        CREATE TEMP TABLE _ingest_dupgrp AS
        SELECT {tkey}, min(__row) AS __first_row FROM _ingest_checked c
        WHERE __ok AND {not_skipped} AND __key_hash IN (
            SELECT __key_hash FROM _ingest_checked c WHERE __ok AND {not_skipped}
            GROUP BY __key_hash HAVING count(*) > 1)
        GROUP BY ALL HAVING count(*) > 1
    """)
    has_grp = count(con, "SELECT count(*) FROM _ingest_dupgrp") > 0
    on_grp = " AND ".join(f"g.t_{k} = c.t_{k}" for k in key)
    on_raw = " AND ".join(f"x.{rk} = c.t_{k}" for k, rk in zip(key, raw_key))
    live = _live_filter(con, f)
    has_live = con.execute(f"SELECT 1 FROM {src.table} x WHERE {live} LIMIT 1").fetchone() is not None
    prior = []  # rows whose key was loaded or held before this batch
    if has_live:
        prior.append(f"""
            SELECT c.__row, NULL, x.source_file, x.source_row, NULL
            FROM _ingest_checked c JOIN {src.table} x ON {on_raw} AND {live}
            WHERE c.__ok AND {not_skipped}""")
    pending = pending_keys_sql(src)
    if pending is not None and count(con, f"SELECT count(*) FROM {pending}") > 0:
        on_pending = " AND ".join(f"p.t_{k} = c.t_{k}" for k in key)
        prior.append(f"""
            SELECT c.__row, NULL, p.source_file || '（暂挂待登记）', p.source_row, NULL
            FROM _ingest_checked c JOIN {pending} p ON {on_pending}
            WHERE c.__ok AND {not_skipped}""")
    shape = "SELECT NULL::BIGINT, NULL::BIGINT, NULL::VARCHAR, NULL::INTEGER, NULL::BIGINT WHERE false"
    con.execute(f"""
        CREATE TEMP TABLE _ingest_prior AS
        SELECT * FROM ({" UNION ALL ".join(prior or [shape])})
            AS u(__row, __first_row, __dup_file, __dup_row, __dup_first)
    """)
    parts = ["SELECT * FROM _ingest_prior"]
    if has_grp:
        same_file = f"{file_of('c.__row')} = {file_of('g.__first_row')}"
        parts.append(f"""
            SELECT c.__row, g.__first_row, NULL, NULL, NULL
            FROM _ingest_checked c JOIN _ingest_dupgrp g ON {on_grp}
            WHERE c.__ok AND c.__row <> g.__first_row AND {not_skipped} AND {same_file}""")
        if multi_file:
            parts.append(f"""
                SELECT c.__row, NULL, {lineage.rel("g.__first_row")}, {row_of("g.__first_row")}, g.__first_row
                FROM _ingest_checked c JOIN _ingest_dupgrp g ON {on_grp}
                WHERE c.__ok AND {not_skipped} AND NOT ({same_file})
                  AND NOT EXISTS (SELECT 1 FROM _ingest_prior p WHERE p.__row = c.__row)""")
    con.execute(f"""
        CREATE TEMP TABLE _ingest_dups AS
        SELECT __row, max(__first_row) AS __first_row, max(__dup_file) AS __dup_file, max(__dup_row) AS __dup_row,
               max(__dup_first) AS __dup_first
        FROM ({" UNION ALL ".join(parts)}) AS u(__row, __first_row, __dup_file, __dup_row, __dup_first) GROUP BY __row
    """)


def _first_failing(f: FileSQL, expr_for: Callable[[str], str]) -> str:
    """The opening of a CASE giving expr_for(field) of the row's first failing field."""
    return "CASE " + " ".join(f"WHEN e_{c} IS NOT NULL THEN {expr_for(c)}" for c in f.checked)


def _key_value(f: FileSQL) -> str:
    return " || '|' || ".join(f"coalesce(c.t_{k}, '')" for k in f.key)


def _reason_sql(f: FileSQL, lineage: Lineage) -> str:
    """「文件 … 第N行 字段“…”(…)：…，值为“…”」 for every failing field, then the duplicate, joined by "；"."""
    segments = [
        f"CASE WHEN e_{c} IS NOT NULL THEN '字段“{f.labels[c]}”({c})：' || e_{c} "
        f"|| coalesce('，值为“' || {quoted('c.' + c)} || '”', '') END"
        for c in f.checked
    ]
    key_labels = "、".join(f.labels[k] for k in f.key)
    key_value = _key_value(f)
    dup_msg = (
        f"CASE WHEN c.__dup_file IS NOT NULL THEN '重复记录：自然键（{key_labels}）与已加载的文件 ' || c.__dup_file "
        f"|| ' 第' || c.__dup_row || '行相同，值为“' || {key_value} || '”' "
        f"WHEN c.__dup IS NOT NULL THEN '重复记录：自然键（{key_labels}）与本文件第' || {row_of('c.__first_row')} "
        f"|| '行相同，值为“' || {key_value} || '”' END"
    )
    head = f"'文件 ' || {lineage.rel('c.__row')} || ' 第' || {row_of('c.__row')} || '行 '"
    return f"{head} || concat_ws('；', {', '.join(segments + [dup_msg])})"


def _record_cell(f: FileSQL, c: str) -> str:
    """A cell of the quarantined row as kept in `record`: a long cell is cut at MAX_CELL_CHARS."""
    if c not in f.long_columns:
        return f"c.{c}"
    return f"CASE WHEN length(c.{c}) > {MAX_CELL_CHARS} THEN left(c.{c}, {MAX_CELL_CHARS}) || '…' ELSE c.{c} END"


def _outcome_columns(f: FileSQL, lineage: Lineage, headers: dict[str, str]) -> str:
    """field, value, reason, category and record of a quarantined row."""
    key_value = _key_value(f)
    field_sql = _first_failing(f, lit) + f" ELSE {lit(','.join(f.key))} END"
    value_sql = _first_failing(f, lambda c: quoted(f"c.{c}")) + f" ELSE {quoted(key_value)} END"
    category = (
        _first_failing(f, lambda c: f"'{c}：' || {category_sql('e_' + c)}")
        + " WHEN c.__dup_file IS NOT NULL THEN '自然键：与已加载记录重复' ELSE '自然键：与本文件前面的行重复' END"
    )
    record = (
        "CAST(json_object("
        + ", ".join(f"{lit(headers.get(c, c))}, {_record_cell(f, c)}" for c in f.names if c in f.present)
        + ") AS VARCHAR)"
    )
    return (
        f"{field_sql} AS field, {value_sql} AS value, {_reason_sql(f, lineage)} AS reason, "
        f"{category} AS category, {record} AS record"
    )


def quarantine_rows(
    con: duckdb.DuckDBPyConnection, f: FileSQL, not_skipped: str, headers: dict[str, str], lineage: Lineage
) -> None:
    """_ingest_qrows (the rows), _ingest_quarantine (their reasons), and their raw.quarantine rows."""
    con.execute(f"""
        CREATE TEMP TABLE _ingest_qrows AS
        SELECT c.__row, d.__row AS __dup, d.__first_row, d.__dup_file, d.__dup_row
        FROM _ingest_checked c LEFT JOIN _ingest_dups d ON d.__row = c.__row
        WHERE {not_skipped} AND (NOT c.__ok OR d.__row IS NOT NULL)
    """)
    # the reasons, for the failed rows only: the input text beside the typed values
    quarantined = row_filter(con, "__row IN", "_ingest_qrows")
    if quarantined is None:
        con.execute("""CREATE TEMP TABLE _ingest_quarantine (__row BIGINT, field VARCHAR, value VARCHAR,
                       reason VARCHAR, category VARCHAR, record VARCHAR)""")
        return
    errors = ", ".join(
        f"{error_sql(f.source, f.source.column(c), f.region_names, f.pension, c in f.long_columns)} AS e_{c}"
        for c in f.checked
    )
    con.execute(f"""
        CREATE TEMP TABLE _ingest_quarantine AS
        WITH e AS (
            SELECT c.*, q.__dup, q.__first_row, q.__dup_file, q.__dup_row, {errors}
            FROM {f.typed(quarantined)} c JOIN _ingest_qrows q ON q.__row = c.__row
        )
        SELECT c.__row, {_outcome_columns(f, lineage, headers)}
        FROM e c
    """)
    con.execute(f"""
        INSERT INTO raw.quarantine
        SELECT {lit(f.source.name)}, {lineage.rel("__row")}, {row_of("__row")}, {lineage.fhash("__row")},
               {lineage.load_id("__row")}, field, value, reason, record, {lineage.ts}, NULL
        FROM _ingest_quarantine ORDER BY __row
    """)
