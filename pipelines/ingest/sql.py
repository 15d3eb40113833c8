"""SQL text helpers and the loader's one transaction block."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import duckdb

# A batch numbers its rows file-major: __row = file index x ROW_SHIFT + the row number a user
# sees. A file loaded alone is file 0, so its __row is exactly its row number.
ROW_SHIFT = 1 << 32


def row_of(expr: str) -> str:
    """The row number a user sees (spreadsheet row, Parquet record) of a batch row id."""
    return f"CAST(({expr}) % {ROW_SHIFT} AS INTEGER)"


def file_of(expr: str) -> str:
    """The index of the batch file a batch row id belongs to."""
    return f"CAST(({expr}) // {ROW_SHIFT} AS INTEGER)"


def lit(text: object) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def lits(values: Iterable[object]) -> str:
    return ", ".join(lit(v) for v in values)


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


class Lineage:
    """SQL for a batch row's file name, file hash and load id (looked up by its file index), and the load time."""

    def __init__(
        self, files: Sequence[str], hashes: Sequence[str | None], load_ids: Sequence[str | None], now: dt.datetime
    ):
        self.files, self.hashes, self.load_ids = list(files), list(hashes), list(load_ids)
        self.ts = f"TIMESTAMP {lit(now.isoformat(sep=' '))}"

    @staticmethod
    def _pick(values: list, row: str) -> str:
        if len(values) == 1:
            return lit(values[0])
        return f"[{lits(values)}][{file_of(row)} + 1]"

    def rel(self, row: str) -> str:
        return self._pick(self.files, row)

    def fhash(self, row: str) -> str:
        return self._pick(self.hashes, row)

    def load_id(self, row: str) -> str:
        return self._pick(self.load_ids, row)


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block did, or roll all of it back: a file loads whole or not at all."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
