"""Read-only access to the serving copy (serving.duckdb beside the warehouse).

The pipeline holds the warehouse's write lock, so the app reads only the snapshot the
pipeline publishes with an atomic rename. One connection per published file (keyed on its
mtime, so a new snapshot is picked up on the next rerun) and one cursor per session,
because DuckDB connections are not safe to share between threads.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pandas as pd

OPEN_ATTEMPTS = 5
OPEN_BACKOFF_S = 0.2


def warehouse_path() -> Path:
    """SHEBAO_WAREHOUSE, else $SHEBAO_HOME/warehouse.duckdb (SHEBAO_HOME default ./var)."""
    explicit = os.environ.get("SHEBAO_WAREHOUSE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    home = Path(os.environ.get("SHEBAO_HOME", "var")).expanduser().resolve()
    return home / "warehouse.duckdb"


def serving_file() -> Path:
    return warehouse_path().parent / "serving.duckdb"


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """Open with a bounded retry: a swap or a stray lock is transient, a missing file is not."""
    last: Exception | None = None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:  # lock held or file being replaced
            last = exc
            time.sleep(OPEN_BACKOFF_S * (attempt + 1))
    raise ServingUnavailable(f"无法打开数据副本 {path}：{last}") from last


class ServingUnavailable(RuntimeError):
    """The serving copy is missing or cannot be opened."""


class Reader:
    """A cursor with the two calls the SQL module needs; pandas frames keep DECIMAL as Decimal."""

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

    def has_table(self, schema: str, table: str) -> bool:
        return bool(self.scalar(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]))

    def columns(self, schema: str, table: str) -> set[str]:
        return {r[0] for r in self.rows(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ?", [schema, table])}
