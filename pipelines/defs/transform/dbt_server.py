"""dbt kept warm: one long-lived child per warehouse that has dbt imported and the project parsed.

Starting dbt and loading its manifest cost about 6 s per build, more than the work of a new
month. The child (`dbt_child.py --shebao-serve`) pays that once per process; each build is a
request to it. It keeps every property of the one-shot launcher: its own process group,
SIGKILL from the kernel when this process dies, the warehouse in its environment only, and the
warehouse file released between builds (DuckDB's lock). Protocol: one JSON request line on its
stdin, dbt's events as JSON lines on its stdout, then a line with "done".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipelines.defs.transform.dbt_child import ENV_OPTION, PARENT_OPTION, SERVE_OPTION
from pipelines.defs.transform.project import CHILD_PROGRAM

STOP_SECONDS = 25.0  # what dagster-dbt gives dbt after an interrupt
SERVER_TARGET_PREFIX = "shebao_dbt_models-server-"  # pruned with dagster-dbt's per-run folders


class DbtBuildFailed(Exception):
    """dbt reported failure; the message carries dbt's error lines."""


@dataclass
class DbtServer:
    """One child for one (warehouse, environment); `build` runs one dbt command in it."""

    project_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def target_path(self) -> Path:
        return self.project_dir / "target" / f"{SERVER_TARGET_PREFIX}{os.getpid()}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the child; it imports dbt and parses while the caller goes on (its first request waits)."""
        target = self.target_path
        target.mkdir(parents=True, exist_ok=True)
        state = self.project_dir / "target" / "partial_parse.msgpack"
        if state.exists() and not (target / state.name).exists():
            (target / state.name).write_bytes(state.read_bytes())
        options = [f"{ENV_OPTION}{name}={value}" for name, value in self.env.items()]
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD_PROGRAM), f"{PARENT_OPTION}{os.getpid()}", *options, SERVE_OPTION]
            + [str(self.project_dir), str(target)],
            cwd=self.project_dir,
            env={**os.environ, **self.env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def stop(self, busy: bool = False) -> None:
        """Stop the child: idle, end of its input ends it; busy (or not ending), SIGINT (dbt cancels its
        queries), then SIGKILL to its group after STOP_SECONDS."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            if not busy:
                try:
                    proc.wait(timeout=5)
                    return
                except subprocess.TimeoutExpired:
                    pass
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=STOP_SECONDS)
        except (subprocess.TimeoutExpired, OSError):
            pass
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def events(self, args: list[str], env: Mapping[str, str]) -> Iterator[dict[str, Any]]:
        """dbt's events for one command; raises DbtBuildFailed when dbt reports failure."""
        if not self.alive():
            self.start()
        proc = self.process
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        self.errors = []
        done: dict[str, Any] | None = None
        try:
            proc.stdin.write(json.dumps({"args": args, "env": dict(env)}) + "\n")
            proc.stdin.flush()
            for line in _lines(proc.stdout):
                event = json.loads(line)
                if event.get("done"):
                    done = event
                    break
                if event.get("info", {}).get("level") == "error":
                    self.errors.append(event["info"].get("msg", ""))
                yield event
        except BaseException:  # interrupted (Dagster raises into the step) or the caller stopped reading
            self.stop(busy=True)
            raise
        if done is None:  # the child died mid-build
            code = proc.wait()
            self.process = None
            raise DbtBuildFailed(f"dbt server exited with code {code} during `dbt {' '.join(args)}`")
        if not done["success"]:
            detail = "\n".join(self.errors) or done.get("error", "")
            raise DbtBuildFailed(f"`dbt {' '.join(args)}` failed.\n{detail}")


def _lines(stream: IO[str]) -> Iterator[str]:
    while line := stream.readline():
        yield line


_lock = threading.Lock()
_servers: dict[tuple[str, ...], DbtServer] = {}


def server_for(project_dir: Path, env: Mapping[str, str]) -> DbtServer:
    """The process's warm child for this project and environment; a different environment replaces it."""
    project_dir = Path(project_dir).resolve()
    key = (str(project_dir), *sorted(f"{k}={v}" for k, v in env.items()))
    with _lock:
        server = _servers.get(key)
        if server is None:
            for old in _servers.values():
                old.stop()
            _servers.clear()
            server = _servers[key] = DbtServer(project_dir, dict(env))
        return server


def prewarm(project_dir: Path, env: Mapping[str, str]) -> DbtServer:
    """Start the child now, so dbt's import and parse overlap the run's ingestion instead of following it."""
    server = server_for(project_dir, env)
    if not server.alive():
        server.start()
    return server


def stop_servers() -> None:
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()
