"""`shebao demo`: sample data generated on the spot, the whole pipeline, a sample certificate, then the services."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from foundation import paths as settings
from shebao.options import iso_date
from shebao.services import Services, Stopped, stop_on_signals, stopped_line, supervise

VERIFY_PORT = 8765  # the port certificates' default verification URL points at
DASHBOARD_PORT = 8501


def _first_units(warehouse: Path, n: int) -> list[str]:
    from foundation import serving

    with serving.connect(warehouse) as con:
        return [
            u
            for (u,) in con.execute(
                """select unit_id from marts.fct_contributions group by unit_id
               order by count(distinct person_id) desc, unit_id limit ?""",
                [n],
            ).fetchall()
        ]


def _issue_sample(warehouse: Path, unit_id: str) -> None:
    from certificates.issue import issue_document

    cert = issue_document("unit-proof", {"unit": unit_id, "from": "202501", "to": "202610"}, warehouse)
    print(f"  单位参保证明 {cert.id} (verification code {cert.code}): {cert.path}")
    print(f"  its QR code opens: {cert.url}")


def start_services(services: Services, warehouse: Path, verify_port: int, dashboard_port: int) -> None:
    """The verification service and the dashboards, each in its own process group (shebao/services.py)."""
    from shebao.dashboard_cli import dashboard_command, dashboard_env

    services.start("验证服务", [sys.executable, "-m", "shebao.cli", "serve", "verify", "--port", str(verify_port)])
    services.start("仪表盘", dashboard_command(dashboard_port), env=dashboard_env(warehouse))
    print(f"Verification service: http://127.0.0.1:{verify_port}/  (lookup by number and code: /lookup)")
    print(f"Dashboards:           http://127.0.0.1:{dashboard_port}/")
    print("Press Ctrl-C to stop the services.", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.run import RunInterrupted, run_pipeline
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
    try:
        summary = run_pipeline(landing, warehouse, args.as_of)
    except RunInterrupted as exc:
        print(f"已停止：{exc}", file=sys.stderr)
        return exc.exit_code
    print("\n".join(summary.lines()))
    if not summary.success:
        return 1
    try:
        with stop_on_signals():
            return _after_build(args, home, landing, warehouse)
    except Stopped as stop:
        print(stopped_line(stop.signum), file=sys.stderr)
        return 128 + stop.signum


def _after_build(args: argparse.Namespace, home: Path, landing: Path, warehouse: Path) -> int:
    from dashboards.users import ensure_demo_accounts
    from pipelines.run import dagster_home

    serving = settings.serving_path(warehouse)
    units = _first_units(warehouse, 2)
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
    print("Dagster UI (assets, checks, lineage, runs of this instance; the wrapper stops it on SIGTERM too):")
    print(
        f"  SHEBAO_HOME={home} DAGSTER_HOME={dagster_home()} "
        ".venv/bin/python -m shebao.services -- .venv/bin/dagster dev -m pipelines.definitions"
    )
    print("Queries, e.g.:  .venv/bin/shebao query arrears --unit " + units[0])
    if args.no_serve:
        print("Services not started (--no-serve): .venv/bin/shebao serve verify | .venv/bin/shebao serve dashboard")
        return 0
    return supervise(Services(), lambda s: start_services(s, warehouse, args.verify_port, args.dashboard_port))


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="generate sample data, run everything, start the local services")
    p.add_argument("--persons", type=int, default=400)
    p.add_argument("--months", default="202401:202610", help="fee-period window YYYYMM:YYYYMM")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--as-of", default=None, type=iso_date, help="ISO date arrears and ages are computed as of (default today)"
    )
    p.add_argument("--no-serve", action="store_true", help="build and print, without starting the services")
    p.add_argument("--verify-port", type=int, default=VERIFY_PORT, help="验证服务的端口（默认 8765）")
    p.add_argument("--dashboard-port", type=int, default=DASHBOARD_PORT, help="仪表盘的端口（默认 8501）")
    p.set_defaults(func=cmd_demo)
