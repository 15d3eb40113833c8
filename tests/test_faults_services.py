"""Launchers stop their services on SIGTERM: real processes, loopback only, bounded, nothing left behind.

`python -m shebao.services -- CMD` (how the README starts `dagster dev`, which ignores SIGTERM)
and `shebao serve dashboard` must exit 128 + the signal with one Chinese line, close their
ports and leave no process of theirs alive; a `kill -9` of a launcher takes its service down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.processes import alive, descendants, free_port, port_open, terminate, wait_until

PYTHON = sys.executable
SHEBAO = str(Path(sys.executable).with_name("shebao"))
DAGSTER = str(Path(sys.executable).with_name("dagster"))


@pytest.fixture
def child_script(tmp_path: Path) -> Path:
    """A service that ignores SIGTERM (as dagster dev does), stops on SIGINT and has a child of its own."""
    script = tmp_path / "stubborn.py"
    script.write_text(
        textwrap.dedent(
            """
            import signal, subprocess, sys, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            grandchild = subprocess.Popen(["sleep", "300"])
            print(grandchild.pid, flush=True)
            try:
                while True:
                    time.sleep(0.1)
            except KeyboardInterrupt:
                sys.exit(0)
            """
        )
    )
    return script


@pytest.mark.unit
def test_wrapper_stops_a_service_that_ignores_sigterm_and_its_children(child_script):
    proc = subprocess.Popen(
        [PYTHON, "-m", "shebao.services", "--", PYTHON, str(child_script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    grandchild = int(proc.stdout.readline())
    tree = descendants(proc.pid)
    assert grandchild in tree and len(tree) == 2
    code, took, err = terminate(proc, timeout=60)
    assert code == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == f"已停止：收到信号 SIGTERM，已关闭{Path(PYTHON).name}", err
    assert "Traceback" not in err
    assert alive(tree) == set()
    assert took < 15  # 5 s of grace for SIGTERM, then SIGINT stops it at once


@pytest.mark.unit
def test_kill_9_of_the_wrapper_takes_its_service_down(tmp_path):
    proc = subprocess.Popen(
        [PYTHON, "-m", "shebao.services", "--", "sleep", "300"], stderr=subprocess.PIPE, start_new_session=True
    )
    wait_until(lambda: len(descendants(proc.pid)) == 1, 30, "sleep started", proc)
    tree = descendants(proc.pid)
    proc.kill()
    proc.wait(10)
    wait_until(lambda: not alive(tree), 10, "the service died with its launcher")


@pytest.mark.unit
def test_wrapper_without_a_command_is_one_chinese_line():
    done = subprocess.run([PYTHON, "-m", "shebao.services"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("用法：") and len(done.stderr.splitlines()) == 1
    done = subprocess.run(
        [PYTHON, "-m", "shebao.services", "--", "/nonexistent/cmd"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 127 and done.stderr.startswith("错误：无法启动 /nonexistent/cmd")


@pytest.mark.slow
def test_serve_dashboard_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "SHEBAO_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("SHEBAO_WAREHOUSE", None)
    proc = subprocess.Popen(
        [SHEBAO, "serve", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: port_open(port), 120, "the dashboard listens", proc)
        tree = descendants(proc.pid)
        assert tree
        code, took, err = terminate(proc, timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "已停止：收到信号 SIGTERM，已关闭仪表盘"
    assert "Traceback" not in err
    assert not port_open(port) and alive(tree) == set()
    print(f"\nserve dashboard stopped {took:.1f} s after SIGTERM")


@pytest.mark.slow
def test_wrapper_stops_dagster_dev():
    """dagster dev ignores SIGTERM; through the wrapper it stops with its webserver, daemon and code servers."""
    with tempfile.TemporaryDirectory(prefix="shebao-dagster-dev-") as tmp:
        _stop_dagster_dev(Path(tmp))


def _stop_dagster_dev(tmp_path: Path) -> None:
    (tmp_path / "defs.py").write_text(
        "import dagster as dg\n\n\n@dg.asset\ndef one() -> int:\n    return 1\n\n\ndefs = dg.Definitions(assets=[one])\n"
    )
    (tmp_path / "home").mkdir()
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "DAGSTER_DISABLE_TELEMETRY": "1"}
    argv = [DAGSTER, "dev", "-f", "defs.py", "-h", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(
        [PYTHON, "-m", "shebao.services", "--", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        started = time.monotonic()
        wait_until(lambda: port_open(port), 300, "the Dagster UI listens", proc)
        up = time.monotonic() - started
        tree = descendants(proc.pid)
        assert len(tree) >= 3  # dagster dev, its webserver and its daemon (and code servers)
        code, took, err = terminate(proc, timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert code == 128 + signal.SIGTERM, err[-2000:]
    assert err.strip().splitlines()[-1] == "已停止：收到信号 SIGTERM，已关闭dagster"
    assert not port_open(port) and alive(tree) == set()
    print(f"\ndagster dev up in {up:.1f} s with {len(tree)} processes; stopped {took:.1f} s after SIGTERM")
