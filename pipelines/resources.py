"""Dagster resources: the warehouse file and the landing folder, injected into every asset.

The warehouse has one writer at a time. That is guarded by the project's own lock file
(`<warehouse>.lock`, flock): the kernel drops the lock when the process holding it exits,
however it exits, so a killed run never leaves anything behind for the next one to wait on.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from foundation import paths as settings
from foundation.settings import duckdb_config
from pipelines.defs.serving import versions

WAIT_ENV = "SHEBAO_WRITER_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 600.0

_held: dict[Path, list[int]] = {}  # lock file -> [descriptor, depth]: re-entrant within a process
_held_guard = threading.Lock()


class WriterBusy(RuntimeError):
    """Another process kept the warehouse's writer lock for longer than we were willing to wait."""


def writer_lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def default_wait_seconds() -> float:
    return float(os.environ.get(WAIT_ENV) or DEFAULT_WAIT_SECONDS)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f"（{text}）" if text else ""


def acquire_writer(warehouse: Path, wait_seconds: float | None = None) -> None:
    """Take the writer lock, waiting up to `wait_seconds`; a process that holds it already just nests."""
    path = writer_lock_path(Path(warehouse).resolve())
    wait = default_wait_seconds() if wait_seconds is None else wait_seconds
    with _held_guard:
        if path in _held:
            _held[path][1] += 1
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(
                        f"另一个运行正在写入数仓 {warehouse}{_holder(fd)}，等待 {wait:g} 秒后仍未结束；"
                        f"请等它结束后重试（等待时间可用 --wait 或环境变量 {WAIT_ENV} 调整）"
                    ) from None
                time.sleep(0.2)
    except BaseException:
        os.close(fd)
        raise
    started = dt.datetime.now().isoformat(timespec="seconds")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"进程 {os.getpid()}，{started} 开始".encode(), 0)
    with _held_guard:
        _held[path] = [fd, 1]


def release_writer(warehouse: Path) -> None:
    path = writer_lock_path(Path(warehouse).resolve())
    with _held_guard:
        entry = _held.get(path)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _held[path]
    os.ftruncate(entry[0], 0)
    os.close(entry[0])  # closing the last descriptor releases the flock


@contextmanager
def writer_lock(warehouse: Path, wait_seconds: float | None = None) -> Iterator[None]:
    acquire_writer(warehouse, wait_seconds)
    try:
        yield
    finally:
        release_writer(warehouse)


class WarehouseResource(dg.ConfigurableResource):
    """The single-writer DuckDB warehouse; connections are short-lived so dbt can take DuckDB's lock.

    A run holds the writer lock from its first step to its last, whoever launched it
    (`shebao run`, the landing sensor, the Dagster UI).
    """

    path: str
    wait_seconds: float = DEFAULT_WAIT_SECONDS

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()

    @property
    def serving_file(self) -> Path:
        return settings.serving_path(self.file)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        acquire_writer(self.file, self.wait_seconds)
        # Holding the lock, any half-written or unpublished serving copy is a dead run's.
        versions.clean_leftovers(self.file)
        versions.migrate_legacy(self.file)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        release_writer(self.file)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.file), read_only=read_only, config=dict(duckdb_config()))
        try:
            yield con
        finally:
            con.close()


class LandingResource(dg.ConfigurableResource):
    """The landing folder the agency's exports and employer templates are dropped into."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path).resolve()


def default_resources(landing: Path | None = None, warehouse: Path | None = None) -> dict[str, Any]:
    """The warehouse and landing folder; nothing here touches the process environment."""
    return {
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_or_default(warehouse)), wait_seconds=default_wait_seconds()
        ),
        "landing": LandingResource(path=str(Path(landing or settings.default_landing()).resolve())),
    }
