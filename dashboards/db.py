"""Read-only access to the serving copy (the latest version named by serving/CURRENT).

The pipeline holds the warehouse's write lock, so the app reads only the snapshots the
pipeline publishes. The pointer is read on every rerun: a session moves to a new build on
its next interaction, with no restart. One connection per published version is shared by
the process (one cursor per session, because DuckDB connections are not safe to share
between threads); the current and the previous version stay open, so a session in the
middle of a rerun across a publish finishes on the version it started with, and older ones
are closed, releasing their lock so the next publish can remove them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pandas as pd

from foundation import paths
from foundation.serving import ServingUnavailable, Snapshot, open_snapshot

__all__ = ["Reader", "ServingUnavailable", "current_snapshot", "serving_file", "warehouse_path"]

KEEP_OPEN = 2
_open: dict[Path, Snapshot] = {}  # oldest first
_open_guard = threading.Lock()


def warehouse_path() -> Path:
    return paths.default_warehouse()


def serving_file() -> Path:
    return paths.serving_path()


def current_snapshot() -> Snapshot:
    """The process's connection to the latest published version, opened when a newer one appears."""
    with _open_guard:
        path = serving_file()
        snapshot = _open.get(path)
        if snapshot is None:
            snapshot = open_snapshot(path=path)
            _open[path] = snapshot
            while len(_open) > KEEP_OPEN:
                _open.pop(next(iter(_open))).close()
        return snapshot


class Reader:
    """A cursor with the calls the query modules need; pandas frames keep DECIMAL as Decimal."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self.cursor = cursor

    def df(self, sql: str, params: list | tuple | None = None) -> pd.DataFrame:
        rel = self.cursor.execute(sql, list(params or []))
        table = rel.to_arrow_table()
        return table.to_pandas()

    def rows(self, sql: str, params: list | tuple | None = None) -> list[tuple]:
        return self.cursor.execute(sql, list(params or [])).fetchall()

    def scalar(self, sql: str, params: list | tuple | None = None):
        row = self.cursor.execute(sql, list(params or [])).fetchone()
        return row[0] if row else None
