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
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from importlib.metadata import version
from pathlib import Path

PARENT_OPTION = "--shebao-parent="
ENV_OPTION = "--shebao-env="
PR_SET_PDEATHSIG = 1


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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        print(f"Core:\n  - installed: {version('dbt-core')}")
        return 0
    parent, extra_env, dbt_args = split_options(args)
    die_with_parent(parent)
    dbt = Path(sys.executable).with_name("dbt")
    os.execve(dbt, [str(dbt), *dbt_args], {**os.environ, **extra_env})
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
