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
    """Point fds 1 and 2 at `path` (appending) while the block runs; None leaves the console alone."""
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)
        prune_logs(path.parent, keep)
