"""A quiet run: everything the run's libraries and children print goes to a log file under SHEBAO_HOME.

Dagster's console logger, dagster-dbt and the dbt child all write to this process's standard
output and error (the child inherits them), so the file descriptors themselves are pointed at
the log file for the duration; the caller prints its short summary afterwards. Only the last
KEEP_LOGS run logs are kept.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from foundation import paths

KEEP_LOGS = 20
LOG_PREFIX = "run-"


def logs_dir() -> Path:
    return paths.shebao_home() / "logs"


def prune_logs(folder: Path, keep: int = KEEP_LOGS) -> list[Path]:
    """Delete all but the newest `keep` run logs; returns what was deleted."""
    logs = sorted(folder.glob(f"{LOG_PREFIX}*.log"), key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    for old in logs[keep:]:
        old.unlink(missing_ok=True)
    return logs[keep:]


def new_log_path(kind: str = "run") -> Path:
    folder = logs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return folder / f"{LOG_PREFIX}{stamp}-{kind}-{os.getpid()}.log"


@contextmanager
def output_to_file(path: Path | None, keep: int = KEEP_LOGS) -> Iterator[Path | None]:
    """Send fds 1 and 2 and sys.stdout/sys.stderr to `path` (appending) while the block runs.

    Both, because children write to the descriptors and in-process loggers to the Python
    streams, which need not be bound to them (a test's capture, an embedding program).
    None leaves the console alone.
    """
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    log = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (closed below, after the restore)
    os.chmod(path, 0o600)
    streams = (sys.stdout, sys.stderr)
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
        yield path
    finally:
        log.flush()
        sys.stdout, sys.stderr = streams
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        log.close()
        prune_logs(path.parent, keep)
