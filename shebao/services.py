"""Local services as children that cannot outlive their launcher, stopped together on SIGINT/SIGTERM.

Each child runs in its own process group, so stopping it reaches whatever it starts itself
(dagster dev's webserver, daemon and code servers), and asks the kernel for a signal when its
launcher dies (prctl PR_SET_PDEATHSIG, Linux), so even a `kill -9` of the launcher stops it.
On SIGINT or SIGTERM the launcher forwards the signal to every group; a group still running
after a grace period gets SIGINT (dagster dev ignores SIGTERM and stops cleanly on SIGINT),
then SIGKILL. The launcher exits 128 + the signal with one Chinese line.

`shebao demo` and `shebao serve dashboard` start their services through here; for any other
command, such as the Dagster UI:

    python -m shebao.services -- dagster dev -m pipelines.definitions
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
FORWARD_GRACE_S = 5.0  # after the forwarded signal
INTERRUPT_GRACE_S = 20.0  # after SIGINT, before SIGKILL
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class Stopped(Exception):
    """SIGINT or SIGTERM arrived; the services are to be stopped."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Stopped in the main thread while inside."""

    def _raise(signum: int, frame: Any) -> None:
        raise Stopped(signum)

    previous = {sig: signal.signal(sig, _raise) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _child_setup(parent: int, death_signal: int) -> Callable[[], None]:
    """Runs in the child between fork and exec: default signal dispositions, a parent-death signal."""

    def setup() -> None:
        # A launcher started in the background may have SIGINT ignored; the service must not inherit that.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before the signal was armed
            os._exit(128 + death_signal)

    return setup


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


@dataclass
class Service:
    name: str  # Chinese, for the closing line
    proc: subprocess.Popen[bytes]

    def alive(self) -> bool:
        self.proc.poll()  # reap the leader so it does not count as a member
        return bool(group_members(self.proc.pid))

    def signal(self, signum: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)


class Services:
    """Children started in their own process groups; `stop()` leaves none of their processes behind."""

    def __init__(self) -> None:
        self.services: list[Service] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        stdout: IO[Any] | None = None,
        death_signal: int = signal.SIGTERM,
    ) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            list(argv),
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            process_group=0,
            preexec_fn=_child_setup(os.getpid(), death_signal),
        )
        self.services.append(Service(name, proc))
        return proc

    def wait(self) -> int:
        """Until one service exits by itself: its exit code (the others are then stopped)."""
        while True:
            for service in self.services:
                code = service.proc.poll()
                if code is not None:
                    self.stop(signal.SIGTERM)
                    return code if code >= 0 else 128 - code
            time.sleep(0.2)

    def _wait_gone(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if not any(s.alive() for s in self.services):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Forward `signum` to every group, then SIGINT, then SIGKILL, until no member is left."""
        steps = [(signum, FORWARD_GRACE_S), (signal.SIGINT, INTERRUPT_GRACE_S), (signal.SIGKILL, 10.0)]
        if signum == signal.SIGINT:
            steps = [(signal.SIGINT, FORWARD_GRACE_S + INTERRUPT_GRACE_S), (signal.SIGKILL, 10.0)]
        with _signals_ignored():  # a second Ctrl-C must not abandon the children half-stopped
            for sig, grace in steps:
                for service in self.services:
                    if service.alive():
                        service.signal(sig)
                if self._wait_gone(grace):
                    break
            for service in self.services:
                with suppress(subprocess.TimeoutExpired):
                    service.proc.wait(timeout=5)

    def names(self) -> str:
        return "、".join(s.name for s in self.services)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stopped_line(signum: int, names: str = "") -> str:
    """The one line a launcher prints when a signal stopped it."""
    name = signal.Signals(signum).name
    return f"已停止：收到信号 {name}，已关闭{names}" if names else f"已停止：收到信号 {name}，服务尚未启动"


def supervise(services: Services, start: Callable[[Services], object]) -> int:
    """Start the services and wait for them; on SIGINT/SIGTERM stop them all and return 128 + the signal."""
    try:
        with stop_on_signals():
            start(services)
            return services.wait()
    except Stopped as stop:
        services.stop(stop.signum)
        print(stopped_line(stop.signum, services.names()), file=sys.stderr, flush=True)
        return 128 + stop.signum
    finally:
        services.stop(signal.SIGTERM)  # nothing left to stop unless start() or wait() failed


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args or args[0].startswith("-"):
        usage = "用法：python -m shebao.services -- 命令 [参数 ...]（例如 dagster dev -m pipelines.definitions）"
        print(usage, file=sys.stderr)
        return 2
    name = Path(args[0]).name
    try:
        # SIGINT as the parent-death signal: it is what dagster dev stops on.
        return supervise(Services(), lambda services: services.start(name, args, death_signal=signal.SIGINT))
    except OSError as exc:
        print(f"错误：无法启动 {args[0]}：{exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
