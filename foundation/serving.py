"""The one way to open the serving copy: read-only, with a bounded retry while it is being replaced.

The pipeline holds the warehouse's write lock, so every reader (dashboards, certificates,
queries, the run summary) opens only the snapshot the pipeline publishes with an atomic
rename. A swap or a stray lock is transient; a missing file is not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from foundation import paths

OPEN_ATTEMPTS = 5
OPEN_BACKOFF_S = 0.2


class ServingUnavailable(RuntimeError):
    """The serving copy is missing or cannot be opened (message in Chinese)."""


def open_read_only(path: Path | str) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not path.exists():
        raise ServingUnavailable(f"找不到数据副本 {path}：请先运行 shebao run 生成数仓，或用 --warehouse 指定数仓文件")
    last: Exception | None = None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:  # lock held or file being replaced
            last = exc
            time.sleep(OPEN_BACKOFF_S * (attempt + 1))
    raise ServingUnavailable(f"无法打开数据副本 {path}：{last}") from last


@contextmanager
def connect(warehouse: Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the serving copy beside `warehouse` (default: SHEBAO_HOME's)."""
    con = open_read_only(paths.serving_path(warehouse))
    try:
        yield con
    finally:
        con.close()
