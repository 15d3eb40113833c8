"""Read-only access to the serving copy (serving.duckdb beside the warehouse).

The pipeline holds the warehouse's write lock, so the app reads only the snapshot the
pipeline publishes with an atomic rename. One connection per published file (keyed on its
mtime, so a new snapshot is picked up on the next rerun) and one cursor per session,
because DuckDB connections are not safe to share between threads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from foundation import paths
from foundation.serving import ServingUnavailable, open_read_only

__all__ = ["Reader", "ServingUnavailable", "open_read_only", "serving_file", "warehouse_path"]


def warehouse_path() -> Path:
    return paths.default_warehouse()


def serving_file() -> Path:
    return paths.serving_path()


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
