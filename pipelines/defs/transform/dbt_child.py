"""The program dagster-dbt starts as "dbt": dbt in a child that cannot outlive the run that started it.

dagster-dbt builds the dbt command line and environment itself and exposes no hook for either,
so the Dagster side passes what a run needs as extra options, taken out here before dbt starts:

    --shebao-parent=PID        the process that must be alive; the kernel kills dbt when it dies
    --shebao-env=NAME=VALUE    an environment variable for this dbt process only

The process then takes its own process group, asks for SIGKILL on its parent's death
(prctl PR_SET_PDEATHSIG, Linux) and execs this environment's dbt. `--version` alone is
answered from the installed dbt-core's metadata: dagster-dbt asks once per resource, and
starting dbt just to print it costs about 6 s here. Standard library only: it runs before
anything of ours is importable.

With `--shebao-serve` the child does not exec dbt but stays: it imports dbt once, parses the
project once (again only when a project file changes) and runs each build it is sent through
dbt's programmatic runner with that manifest, so a run pays neither a process start nor a
parse (see dbt_server.py for the protocol).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

PARENT_OPTION = "--shebao-parent="
ENV_OPTION = "--shebao-env="
SERVE_OPTION = "--shebao-serve"
PR_SET_PDEATHSIG = 1
PROJECT_SUFFIXES = (".sql", ".yml", ".yaml", ".csv")
RESULT_EVENTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}


def die_with_parent(parent: int | None = None) -> None:
    """Own process group, and SIGKILL from the kernel as soon as `parent` (default: our parent) exits."""
    os.setpgid(0, 0)
    expected = parent or os.getppid()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != expected:  # the parent died before the signal was armed
        os._exit(128 + signal.SIGKILL)


def split_options(args: list[str]) -> tuple[int | None, dict[str, str], list[str]]:
    """(expected parent pid, extra environment, dbt arguments): launcher options are taken out wherever they are."""
    parent: int | None = None
    env: dict[str, str] = {}
    rest: list[str] = []
    for arg in args:
        if arg.startswith(PARENT_OPTION):
            parent = int(arg[len(PARENT_OPTION) :])
        elif arg.startswith(ENV_OPTION):
            name, _, value = arg[len(ENV_OPTION) :].partition("=")
            env[name] = value
        else:
            rest.append(arg)
    return parent, env, rest


def project_signature(project_dir: Path) -> tuple[float, int]:
    """(newest mtime, file count) of the project's sources: a change means the manifest must be parsed again."""
    times = [
        p.stat().st_mtime
        for p in project_dir.rglob("*")
        if p.suffix in PROJECT_SUFFIXES and "target" not in p.parts and "logs" not in p.parts
    ]
    return max(times, default=0.0), len(times)


def close_duckdb() -> None:
    """Release the warehouse file between builds: the parent's own connections need its lock.

    DuckDB frees a database only when its last connection and cursor are gone: dbt's per-thread
    connections, the adapter's environment (dbt-duckdb keeps it for the process) and garbage.
    """
    import gc

    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
        from dbt.adapters.factory import reset_adapters
    except ImportError:
        return
    reset_adapters()  # closes every thread's connection and forgets the adapters
    env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()
    gc.collect()


def serve(project_dir: Path, target_path: Path) -> int:
    """Answer build requests, one JSON line each on stdin, with dbt's events as JSON lines on stdout.

    A request is {"args": [...], "env": {...}}; the answer is one line per event dbt fires at
    info level or above (and every node result), then {"done": true, "success": ..., "error": ...}.
    dbt's own console output is off (--log-level none): the parent prints the events, so they
    land in that run's log even though this process outlives runs.
    """
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything printed directly must not corrupt the channel
    here = Path(__file__).resolve().parent  # run as a script, its folder is first on the path: its dbt.py is not dbt
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    def send(event: object) -> None:
        channel.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
        channel.flush()

    def forward(msg: Any) -> None:
        if msg.info.level == "debug" and msg.info.name not in RESULT_EVENTS:
            return
        send(msg_to_dict(msg))

    common = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--log-level", "none"]
    common += ["--log-path", str(target_path)]  # dbt.log beside the run artifacts, as dagster-dbt does
    manifest: Any = None
    signature: tuple[float, int] | None = None

    def parse() -> Any:
        parsed = dbtRunner().invoke(["parse", *common, "--target-path", str(target_path)])
        if not parsed.success:
            raise RuntimeError(f"dbt parse failed: {parsed.exception}")
        return parsed.result

    try:  # at once, while the parent is still loading: the first build then starts without waiting
        signature = project_signature(project_dir)
        manifest = parse()
    except Exception:
        manifest = None  # parsed again, and reported, with the first request
    for line in sys.stdin:
        request = json.loads(line)
        os.environ.update(request.get("env", {}))
        try:
            now = project_signature(project_dir)
            if manifest is None or now != signature:
                manifest, signature = parse(), now
            args = [*request["args"], *common, "--target-path", str(target_path)]
            result = dbtRunner(manifest=manifest, callbacks=[forward]).invoke(args)
            done = {"done": True, "success": result.success, "error": repr(result.exception or "")}
        except Exception as exc:  # reported, and the child stays usable for the next request
            done = {"done": True, "success": False, "error": repr(exc)}
        close_duckdb()  # before the answer: the parent writes the warehouse as soon as it has it
        send(done)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"Core:\n  - installed: {version('dbt-core')}")
        return 0
    parent, extra_env, dbt_args = split_options(args)
    die_with_parent(parent)
    if dbt_args[:1] == [SERVE_OPTION]:
        os.environ.update(extra_env)
        return serve(Path(dbt_args[1]), Path(dbt_args[2]))
    dbt = Path(sys.executable).with_name("dbt")
    os.execve(dbt, [str(dbt), *dbt_args], {**os.environ, **extra_env})
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
