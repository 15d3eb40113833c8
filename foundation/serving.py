"""The one way to open the serving copy, and the lock protocol between its readers and the publisher.

Every publish writes a new file in `serving/` and then swaps the `serving/CURRENT` pointer
atomically (`pipelines/defs/serving/`). A reader resolves the pointer each time it opens,
so it always gets the latest build: a new file name also defeats DuckDB's per-path instance
cache, which would otherwise hand back a database already open under the same name.

A reader holds a shared `flock` on the version it opened for as long as it keeps it open;
the publisher removes an old version only when it can take that lock exclusively, so no
version disappears under a reader. (A version removed between reading the pointer and
locking is noticed, st_nlink 0, and the pointer is read again.)
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from foundation import paths

OPEN_ATTEMPTS = 5
Identity = tuple[str, int, int, int, int, int]  # path, device, inode, size, mtime_ns, ctime_ns
OPEN_BACKOFF_S = 0.2


class ServingUnavailable(RuntimeError):
    """The serving copy is missing or cannot be opened (message in Chinese)."""


class Snapshot:
    """One published version, open read-only, with this reader's shared lock on its file."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, fd: int):
        self.path = path
        self.con = con
        self._fd: int | None = fd

    def close(self) -> None:
        if self._fd is None:
            return
        try:
            self.con.close()
        finally:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def identity(self) -> Identity:
        """What names this version's bytes: its path, inode, size and modification time."""
        if self._fd is None:
            raise ValueError("snapshot closed")
        return _identity(self.path, os.fstat(self._fd))

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _identity(path: Path, st: os.stat_result) -> Identity:
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def still_current(warehouse: Path | str | None, identity: Identity) -> bool:
    """True when the copy serving/CURRENT names now is the very file a Snapshot.identity() saw,
    unchanged: no build was published (a publish is a new file) nor the file rewritten since.
    False means "maybe changed": the caller reads the build to tell."""
    try:
        target = paths.serving_path(warehouse)
        return _identity(target, os.stat(target)) == identity
    except (OSError, ValueError):
        return False


def _missing(path: Path) -> ServingUnavailable:
    return ServingUnavailable(f"找不到数据副本 {path}：请先运行 shebao run 生成数仓，或用 --warehouse 指定数仓文件")


def lock_shared(path: Path) -> int | None:
    """A descriptor holding a shared flock on `path`; None when the file was removed meanwhile."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        # Blocks only for the instant a publisher holds the exclusive lock to unlink the file.
        fcntl.flock(fd, fcntl.LOCK_SH)
        if os.fstat(fd).st_nlink == 0:
            os.close(fd)
            return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_unless_read(path: Path) -> bool:
    """Delete a published version only if no reader holds it (publisher side); True when removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def open_snapshot(warehouse: Path | str | None = None, path: Path | str | None = None) -> Snapshot:
    """The latest published copy beside `warehouse` (or exactly `path`), read-only and locked.

    A swap or a stray lock is transient and retried; a missing copy is not.
    """
    last: Exception | None = None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            target = Path(path) if path is not None else paths.serving_path(warehouse)
        except ValueError as exc:
            raise ServingUnavailable(str(exc)) from exc
        fd = lock_shared(target)
        if fd is None:
            if path is not None or not (paths.serving_dir(warehouse) / paths.SERVING_POINTER).exists():
                raise _missing(target)
            last = FileNotFoundError(str(target))  # pruned after we read the pointer: read it again
            continue
        try:
            return Snapshot(target, duckdb.connect(str(target), read_only=True), fd)
        except duckdb.Error as exc:  # a stray lock or a file being replaced
            os.close(fd)
            last = exc
            time.sleep(OPEN_BACKOFF_S * (attempt + 1))
    raise ServingUnavailable(f"无法打开数据副本：{last}") from last


@contextmanager
def connect(warehouse: Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the latest serving copy beside `warehouse` (default: SHEBAO_HOME's)."""
    snapshot = open_snapshot(warehouse)
    try:
        yield snapshot.con
    finally:
        snapshot.close()
