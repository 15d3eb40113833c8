"""`shebao demo` on SIGTERM: its verification service and dashboards stop, nothing is left behind.

A real demo on a small generated landing folder, on free loopback ports, bounded by timeouts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import alive, descendants, free_port, port_open, terminate, wait_until

pytestmark = pytest.mark.slow

SHEBAO = str(Path(sys.executable).with_name("shebao"))
BUILD_TIMEOUT = 900  # the demo's whole build on a loaded 2-core machine


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture
def home() -> Iterator[Path]:
    # Its own folder, not pytest's rotating basetemp, which other sessions on this machine may prune mid-run.
    with tempfile.TemporaryDirectory(prefix="shebao-demo-") as tmp:
        yield Path(tmp) / "home 演示"


def test_demo_stops_its_services_on_sigterm(home):
    verify_port, dashboard_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("SHEBAO_WAREHOUSE", "SHEBAO_AS_OF", "DAGSTER_HOME")}
    env.update(SHEBAO_HOME=str(home), PYTHONUNBUFFERED="1")
    argv = [SHEBAO, "demo", "--persons", "30", "--months", "202501:202506", "--as-of", "2025-07-15"]
    proc = subprocess.Popen(
        [*argv, "--verify-port", str(verify_port), "--dashboard-port", str(dashboard_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []

    def collect() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("按 Ctrl-C" in line for line in lines), BUILD_TIMEOUT, "the demo built", proc)
        wait_until(lambda: port_open(verify_port) and port_open(dashboard_port), 120, "both services listen", proc)
        tree = descendants(proc.pid)
        assert len(tree) >= 2
        code, took, err = terminate(proc, timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    reader.join(5)
    out = "".join(lines)
    assert f"http://127.0.0.1:{verify_port}/" in out and f"http://127.0.0.1:{dashboard_port}/" in out
    assert "python -m shebao.services -- .venv/bin/dagster dev" in out  # how to start the Dagster UI so it stops
    assert code == 128 + signal.SIGTERM, err[-3000:]
    assert err.strip().splitlines()[-1] == "已停止：收到信号 SIGTERM，已关闭验证服务、仪表盘"
    assert "Traceback" not in err
    assert not port_open(verify_port) and not port_open(dashboard_port)
    # The services' groups are gone when the launcher exits; multiprocessing's resource tracker
    # (dbt's manifest holds a multiprocessing lock) exits when the launcher's end of its pipe
    # closes, a moment later on a loaded machine.
    assert {pid for pid in alive(tree) if "resource_tracker" not in cmdline(pid)} == set()
    wait_until(lambda: not alive(tree), 10, "the resource tracker gone after the launcher")
    print(f"\ndemo services ({len(tree)} processes) stopped {took:.1f} s after SIGTERM")
