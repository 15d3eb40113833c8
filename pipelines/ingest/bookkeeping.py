"""raw.load_files bookkeeping: what is known about a file's content, and corrections superseding versions."""

from __future__ import annotations

import datetime as dt

import duckdb

from foundation.landing.schema import Source
from pipelines.ingest.report import STATUS_FAILED, FileReport


class KnownFiles:
    """raw.load_files of one source, read once and kept until the loader writes to it again.

    Asking the table per file cost two queries per file; a batch of new files asks none in between.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, source: str):
        self.con, self.source = con, source
        self._rows: list[tuple] | None = None

    def invalidate(self) -> None:
        self._rows = None

    def _all(self) -> list[tuple]:
        if self._rows is None:
            self._rows = self.con.execute(
                "SELECT file_hash, source_file, status, replaced_by, error, logical_name, version "
                "FROM raw.load_files WHERE source = ? ORDER BY loaded_at",
                [self.source],
            ).fetchall()
        return self._rows

    def content(self, file_hash: str) -> list[tuple[str, str, str | None, str | None]]:
        """(source_file, status, replaced_by, error) of every earlier outcome for these bytes, oldest first."""
        return [(r[1], r[2], r[3], r[4]) for r in self._all() if r[0] == file_hash]

    def newer_loaded(self, logical: str, version: int) -> tuple[str, int] | None:
        """(file, version) of a later version of this logical file that is already loaded."""
        newer = [(r[1], r[6]) for r in self._all() if r[5] == logical and r[6] > version and r[2] == "loaded"]
        return max(newer, key=lambda fv: fv[1]) if newer else None


def write_load_file(con: duckdb.DuckDBPyConnection, source: str, rep: FileReport, now: dt.datetime) -> None:
    """One raw.load_files row per (content, name): a retried file updates its row."""
    row = con.execute(
        "SELECT count(*) FROM raw.load_files WHERE file_hash = ? AND source_file = ?", [rep.file_hash, rep.file]
    ).fetchone()
    exists = row[0] if row else 0
    values = [
        rep.logical_name,
        rep.version,
        rep.status,
        rep.rows_read,
        rep.rows_loaded,
        rep.rows_quarantined,
        rep.rows_skipped,
        rep.rows_held,
        rep.error,
        rep.load_id,
        now,
        rep.replaced_by,
    ]
    if exists:
        con.execute(
            """UPDATE raw.load_files SET logical_name = ?, version = ?, status = ?, rows_read = ?, rows_loaded = ?,
               rows_quarantined = ?, rows_skipped = ?, rows_held = ?, error = ?, load_id = ?, loaded_at = ?,
               replaced_by = ?
               WHERE file_hash = ? AND source_file = ?""",
            values + [rep.file_hash, rep.file],
        )
    else:
        con.execute(
            """INSERT INTO raw.load_files (logical_name, version, status, rows_read, rows_loaded, rows_quarantined,
               rows_skipped, rows_held, error, load_id, loaded_at, replaced_by, file_hash, source, source_file)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            values + [rep.file_hash, source, rep.file],
        )


def failed_the_same_way(con: duckdb.DuckDBPyConnection, rep: FileReport) -> bool:
    """The same content failed with the same error before: recording it again would change nothing."""
    prior = con.execute(
        "SELECT status, error FROM raw.load_files WHERE file_hash = ? AND source_file = ?",
        [rep.file_hash, rep.file],
    ).fetchone()
    return prior == (STATUS_FAILED, rep.error)


def supersede(con: duckdb.DuckDBPyConnection, source: Source, rep: FileReport, now: dt.datetime) -> list[str]:
    """Mark the rows (loaded, quarantined, held) of earlier loaded versions superseded; returns those files.

    Nothing is deleted. A released row lives in the source table by then and is superseded there.
    """
    if rep.version < 2:
        return []
    earlier = [
        r[0]
        for r in con.execute(
            """SELECT source_file FROM raw.load_files WHERE source = ? AND logical_name = ? AND version < ?
           AND status = 'loaded'""",
            [source.name, rep.logical_name, rep.version],
        ).fetchall()
    ]
    if not earlier:
        return []
    marks = ", ".join("?" for _ in earlier)
    con.execute(
        f"UPDATE {source.table} SET superseded_at = ? WHERE superseded_at IS NULL AND source_file IN ({marks})",
        [now, *earlier],
    )
    con.execute(
        f"UPDATE raw.quarantine SET superseded_at = ? WHERE superseded_at IS NULL AND source = ? "
        f"AND source_file IN ({marks})",
        [now, source.name, *earlier],
    )
    con.execute(
        f"UPDATE raw.pending SET superseded_at = ? WHERE superseded_at IS NULL AND released_at IS NULL "
        f"AND source = ? AND source_file IN ({marks})",
        [now, source.name, *earlier],
    )
    con.execute(
        f"UPDATE raw.load_files SET status = 'replaced', replaced_by = ? WHERE source = ? AND status = 'loaded' "
        f"AND source_file IN ({marks})",
        [rep.file, source.name, *earlier],
    )
    return earlier
