"""`shebao serve dashboard`: run the Streamlit app on loopback, headless, against a warehouse's serving copy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def dashboard_command(port: int, address: str = "127.0.0.1") -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true",
        "--server.address", address,
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]


def dashboard_env(warehouse: Path | str | None) -> dict[str, str]:
    env = dict(os.environ)
    if warehouse:
        env["SHEBAO_WAREHOUSE"] = str(Path(warehouse).resolve())
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    return env


def serve_dashboard(port: int = 8501, warehouse: Path | str | None = None) -> int:
    """Run the dashboard in the foreground until interrupted; returns streamlit's exit code."""
    print(f"仪表盘：http://127.0.0.1:{port}/ （数据副本：{Path(warehouse).resolve().parent / 'serving.duckdb' if warehouse else '默认'}）")
    try:
        return subprocess.call(dashboard_command(port), env=dashboard_env(warehouse))
    except KeyboardInterrupt:
        return 0
