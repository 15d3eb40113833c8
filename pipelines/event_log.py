"""The run log of `shebao run`: Dagster's SQLite event log, one engine per database file.

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine for every statement it writes
(`NullPool`), so each event pays an engine, a file open, a compiled-statement cache miss and a
WAL checkpoint when that last connection closes: about 25 ms per event, half of an unchanged
month's run (about 640 events, most of them "planned" events written before the first step).
This subclass keeps one engine per shard (run or index database) with a small pool for the
instance's lifetime and closes them when the instance is disposed. Same files, same schema,
same WAL mode (without an fsync per event), same busy timeout: `dagster dev`, on the stock
storage, reads what it writes. Only `shebao run`'s own instance uses it (`runner_instance`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import yaml  # type: ignore[import-untyped]
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

POOL_SIZE = 2  # Dagster holds its lock around every use, so one connection per file is in use at a time


def _no_sync_per_commit(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: no fsync per event; a power cut may lose the last events, never the file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose engines (and their open connections) live as long as the instance."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: dict[str, Engine] = {}
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)  # the parent names itself here, not cls

    def _engine(self, shard: str) -> Engine:
        conn_string = self.conn_string_for_shard(shard)
        engine = self._engines.get(conn_string)
        if engine is None:
            engine = create_engine(
                conn_string,
                poolclass=QueuePool,
                pool_size=POOL_SIZE,
                max_overflow=POOL_SIZE,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _no_sync_per_commit)
            self._engines[conn_string] = engine
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.dispose()


STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


def runner_instance(home: Path) -> dg.DagsterInstance:
    """The instance in `home` (what `dagster dev` shows) with the pooled event log, in Dagster's default
    SQLite paths; an operator's own storage in dagster.yaml (Postgres, another folder) is used as configured."""
    base = str(home)
    config = home / "dagster.yaml"
    configured = yaml.safe_load(config.read_text("utf-8")) if config.exists() else None
    if isinstance(configured, dict) and any(key in configured for key in STORAGE_KEYS):
        return dg.DagsterInstance.from_config(base)
    overrides = {
        "run_storage": {
            "module": "dagster._core.storage.runs",
            "class": "SqliteRunStorage",
            "config": {"base_dir": str(home / "history")},
        },
        "event_log_storage": {
            "module": __name__,
            "class": PooledSqliteEventLogStorage.__name__,
            "config": {"base_dir": str(home / "history" / "runs")},
        },
        "schedule_storage": {
            "module": "dagster._core.storage.schedules",
            "class": "SqliteScheduleStorage",
            "config": {"base_dir": str(home / "schedules")},
        },
    }
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(base, overrides=overrides))
