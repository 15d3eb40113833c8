"""`shebao demo`: sample data generated on the spot, the whole pipeline, a sample certificate, then the services."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from foundation import paths as settings
from shebao.options import iso_date

VERIFY_PORT = 8765  # the port certificates' default verification URL points at
DASHBOARD_PORT = 8501


def _first_units(serving: Path, n: int) -> list[str]:
    import duckdb

    con = duckdb.connect(str(serving), read_only=True)
    try:
        return [
            u
            for (u,) in con.execute(
                """select unit_id from marts.fct_contributions group by unit_id
               order by count(distinct person_id) desc, unit_id limit ?""",
                [n],
            ).fetchall()
        ]
    finally:
        con.close()


def _issue_sample(warehouse: Path, unit_id: str) -> None:
    from certificates.issue import issue_document

    cert = issue_document("unit-proof", {"unit": unit_id, "from": "202501", "to": "202610"}, warehouse)
    print(f"  单位参保证明 {cert.id} (verification code {cert.code}): {cert.path}")
    print(f"  its QR code opens: {cert.url}")


def start_services(warehouse: Path) -> list[subprocess.Popen]:
    from shebao.dashboard_cli import dashboard_command, dashboard_env

    verify = subprocess.Popen([sys.executable, "-m", "shebao.cli", "serve", "verify", "--port", str(VERIFY_PORT)])
    dashboard = subprocess.Popen(dashboard_command(DASHBOARD_PORT), env=dashboard_env(warehouse))
    return [verify, dashboard]


def cmd_demo(args: argparse.Namespace) -> int:
    from dashboards.users import ensure_demo_accounts
    from pipelines.run import dagster_home, run_pipeline
    from shebao.generate import generate_landing

    home = settings.shebao_home()
    landing = home / "demo-landing"
    warehouse = settings.default_warehouse()
    if landing.exists():
        shutil.rmtree(landing)
    start, end = args.months.split(":")
    print(
        f"Generating a sample landing folder in {landing} "
        f"({args.persons} persons, {start}-{end}, with deliberately bad rows) ..."
    )
    generate_landing(landing, persons=args.persons, months=(start, end), seed=args.seed, inject_errors=True)
    print(f"Running every asset into {warehouse} ...")
    summary = run_pipeline(landing, warehouse, args.as_of)
    print("\n".join(summary.lines()))
    if not summary.success:
        return 1
    serving = settings.serving_path(warehouse)
    units = _first_units(serving, 2)
    print()
    print("What was built:")
    print(f"  warehouse:     {warehouse}")
    print(f"  serving copy:  {serving} (read-only snapshot every reader opens)")
    print(f"  landing:       {landing} (bad rows are listed with their reasons on the dashboard's 数据质量 page)")
    print("A sample certificate:")
    _issue_sample(warehouse, units[0])
    print("Dashboard accounts (passwords are new on every demo run):")
    for username, role, password in ensure_demo_accounts(units):
        print(f"  {role:<9} {username:<14} password {password}")
    print("Dagster UI (assets, checks, lineage, runs of this instance):")
    print(f"  SHEBAO_HOME={home} DAGSTER_HOME={dagster_home()} .venv/bin/dagster dev -m pipelines.definitions")
    print("Queries, e.g.:  .venv/bin/shebao query arrears --unit " + units[0])
    if args.no_serve:
        print("Services not started (--no-serve): .venv/bin/shebao serve verify | .venv/bin/shebao serve dashboard")
        return 0
    processes = start_services(warehouse)
    print(f"Verification service: http://127.0.0.1:{VERIFY_PORT}/  (lookup by number and code: /lookup)")
    print(f"Dashboards:           http://127.0.0.1:{DASHBOARD_PORT}/")
    print("Press Ctrl-C to stop the services.")
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            p.wait(timeout=10)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="generate sample data, run everything, start the local services")
    p.add_argument("--persons", type=int, default=400)
    p.add_argument("--months", default="202401:202610", help="fee-period window YYYYMM:YYYYMM")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--as-of", default=None, type=iso_date, help="ISO date arrears and ages are computed as of (default today)"
    )
    p.add_argument("--no-serve", action="store_true", help="build and print, without starting the services")
    p.set_defaults(func=cmd_demo)
