"""Several files of one source checked in one scan and inserted in one statement (one transaction).

The files' all-text Arrow tables are stacked with file-major row ids (sql.ROW_SHIFT), so every
set-based step of checks.py, templates.py, quarantine.py and pending.py runs once for the
batch and still knows each row's file and row number. Lineage (file name, hash, load id) is
looked up from the row id; outcomes are counted per file. A file loaded alone is a batch of
one whose row ids are its row numbers.

What makes a batch (loader.py): files of one source that are new, readable, version 1 and of
the same header, up to BATCH_MAX_ROWS rows; a correction or a second copy of a batch file
closes the batch first, so every rule sees the same earlier files as when loading one by one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from foundation.landing.schema import Source
from pipelines.ingest.checks import (
    FileSQL,
    in_batches,
    insert_loaded,
    mark_rows,
    register_identifier_problems,
)
from pipelines.ingest.pending import hold_unregistered, mark_held_firsts
from pipelines.ingest.quarantine import find_duplicates, quarantine_rows
from pipelines.ingest.readers import ReadResult
from pipelines.ingest.reference import Reference
from pipelines.ingest.report import FileReport
from pipelines.ingest.sql import ROW_SHIFT, Lineage, count, file_of
from pipelines.ingest.templates import classify_template_rows

BATCH_MAX_ROWS = 1_000_000  # about a month at SF 10; the whole ledger of SF 1


@dataclass
class Member:
    """A file read and waiting in a batch: its report (filled in when the batch loads) and its rows."""

    rep: FileReport
    result: ReadResult

    @property
    def rows(self) -> int:
        return self.result.table.num_rows

    def signature(self) -> tuple:
        """Files of one batch share their columns and header text (quarantine records quote the headers)."""
        return tuple(sorted(self.result.headers.items())), tuple(self.result.table.column_names)


def stack(members: list[Member]) -> tuple[pa.Table, frozenset[str]]:
    """One Arrow table of every member's rows (row ids file-major) and the union of their long columns."""
    names = members[0].result.table.column_names
    tables = []
    for i, m in enumerate(members):
        t = m.result.table.select(names)
        rows = pc.add(t.column("__row").cast(pa.int64()), pa.scalar(i * ROW_SHIFT, pa.int64()))
        tables.append(t.set_column(names.index("__row"), "__row", rows))
    long_columns = frozenset().union(*(m.result.long_columns for m in members))
    if len(tables) == 1:
        return tables[0], long_columns
    # one chunk, so checks.in_batches cuts full 122,880-row scan batches (a row group each) rather
    # than one small batch per file, which leaves partial row groups for COMMIT to write
    return pa.concat_tables(tables).combine_chunks(), long_columns


def load_rows(
    con: duckdb.DuckDBPyConnection, source: Source, reference: Reference, members: list[Member], now: dt.datetime
) -> None:
    """Type, check, classify and insert the batch's rows, and fill in each member's counts.

    Runs inside the caller's transaction; working tables are dropped by checks.cleanup().
    """
    reps = [m.rep for m in members]
    table, long_columns = stack(members)
    for m in members:
        m.result.table = pa.table({})  # the stacked copy is all that is needed from here on
    present = set(table.column_names)
    con.register("_ingest_input", in_batches(table))
    f = FileSQL(source, present, reference, long_columns)
    lineage = Lineage([r.file for r in reps], [r.file_hash for r in reps], [r.load_id for r in reps], now)
    register_identifier_problems(con, f)
    mark_rows(con, f)
    classify_template_rows(con, f.names, present)
    has_skips = count(con, "SELECT count(*) FROM _ingest_skip") > 0
    not_skipped = "NOT EXISTS (SELECT 1 FROM _ingest_skip k WHERE k.__row = c.__row)" if has_skips else "true"
    find_duplicates(con, f, not_skipped, lineage, multi_file=len(members) > 1)
    hold_unregistered(con, f, not_skipped, lineage)
    if len(members) > 1:
        mark_held_firsts(con)
    quarantine_rows(con, f, not_skipped, result_headers(members), lineage)
    loaded = insert_loaded(con, f, lineage)
    _count_outcomes(con, reps, loaded)


def result_headers(members: list[Member]) -> dict[str, str]:
    return members[0].result.headers


def _per_file(con: duckdb.DuckDBPyConnection, table: str) -> dict[int, int]:
    return {
        int(k): int(v)
        for k, v in con.execute(f"SELECT {file_of('__row')}, count(*) FROM {table} GROUP BY 1").fetchall()
    }


def _count_outcomes(con: duckdb.DuckDBPyConnection, reps: list[FileReport], loaded: int) -> None:
    """read = loaded + quarantined + held + skipped per file, and the insert's count over the batch, or it fails."""
    read, skipped, held = (_per_file(con, t) for t in ("_ingest_checked", "_ingest_skip", "_ingest_held"))
    reasons: dict[int, dict[str, int]] = {}
    for i, category, n in con.execute(
        f"SELECT {file_of('__row')} AS i, category, count(*) AS n FROM _ingest_quarantine "
        "GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"
    ).fetchall():
        reasons.setdefault(int(i), {})[category] = int(n)
    for i, rep in enumerate(reps):
        rep.rows_read = read.get(i, 0)
        rep.rows_skipped = skipped.get(i, 0)
        rep.rows_held = held.get(i, 0)
        rep.reasons = reasons.get(i, {})
        rep.rows_quarantined = sum(rep.reasons.values())
        rep.rows_loaded = rep.rows_read - rep.rows_quarantined - rep.rows_held - rep.rows_skipped
        if rep.rows_loaded < 0:
            raise RuntimeError(f"row reconciliation failed for {rep.file}")
    if loaded != sum(r.rows_loaded for r in reps):
        raise RuntimeError("row reconciliation failed for " + ", ".join(r.file for r in reps))
