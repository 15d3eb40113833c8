"""`shebao serve dashboard`: run the Streamlit app on loopback, headless, against a warehouse's serving copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dashboards
from foundation import paths

APP = Path(dashboards.__file__).resolve().parent / "app.py"

# Debian's Chromium, as browser tests and the benchmark drive it (never a downloaded browser;
# the background-networking flags keep it off the closed network).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until_healthy(base: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Poll Streamlit's health endpoint until it answers ok; False if it dies or time runs out."""
    import time
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=1) as resp:
                if resp.read().strip() == b"ok":
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def dashboard_command(port: int, address: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
    ]


def dashboard_env(warehouse: Path | str | None) -> dict[str, str]:
    env = dict(os.environ)
    if warehouse:
        env["SHEBAO_WAREHOUSE"] = str(Path(warehouse).resolve())
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    return env


def serve_dashboard(port: int = 8501, warehouse: Path | str | None = None) -> int:
    """Run the dashboard until it exits or SIGINT/SIGTERM stops it (then 128 + the signal, one Chinese line)."""
    from shebao.services import Services, supervise

    served = paths.serving_path(warehouse) if warehouse else "默认"
    print(f"仪表盘：http://127.0.0.1:{port}/ （数据副本：{served}）", flush=True)
    return supervise(Services(), lambda s: s.start("仪表盘", dashboard_command(port), env=dashboard_env(warehouse)))
