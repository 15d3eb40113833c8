"""`shebao demo`: sample data generated on the spot, the whole pipeline, a sample certificate, then the services."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from foundation import paths as settings
from shebao.options import iso_date, period_range

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
    print(f"  单位参保证明 {cert.id}（验证码 {cert.code}）：{cert.path}")
    print(f"  二维码指向：{cert.url}")


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
    from pipelines.run_logs import new_log_path, output_to_file

    start, end = args.months
    print(f"生成示例落地目录 {landing}（{args.persons} 人，{start}-{end}，含故意写错的行）……")
    generate_landing(landing, persons=args.persons, months=(start, end), seed=args.seed, inject_errors=True)
    print(f"运行全部资产，写入 {warehouse} ……")
    log = None if args.verbose else new_log_path("demo")
    with output_to_file(log):
        summary = run_pipeline(landing, warehouse, args.as_of, log_level="WARNING" if args.verbose else "INFO")
    summary.log_file = log
    print("\n".join(summary.verbose_lines() if args.verbose else summary.lines()))
    if not summary.success:
        return 1
    serving = settings.serving_path(warehouse)
    units = _first_units(serving, 2)
    print()
    print("构建结果：")
    print(f"  数据仓库：{warehouse}")
    print(f"  数据副本：{serving}（所有查询和看板只读打开的快照）")
    print(f"  落地目录：{landing}（错误的行及原因见看板“数据质量”页）")
    print("示例证明：")
    _issue_sample(warehouse, units[0])
    print("看板账号（每次运行示例都会生成新密码）：")
    for username, role, password in ensure_demo_accounts(units):
        print(f"  {role:<9} {username:<14} 密码 {password}")
    print("Dagster 界面（资产、检查、血缘、本实例的运行）：")
    print(f"  SHEBAO_HOME={home} DAGSTER_HOME={dagster_home()} .venv/bin/dagster dev -m pipelines.definitions")
    print("查询示例：.venv/bin/shebao query arrears --unit " + units[0])
    if args.no_serve:
        print("未启动服务（--no-serve）：.venv/bin/shebao serve verify | .venv/bin/shebao serve dashboard")
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
    p = subparsers.add_parser("demo", help="生成示例数据、运行全部流程、启动本地服务")
    p.add_argument("--persons", type=int, default=400, metavar="人数", help="示例人数（默认 400）")
    p.add_argument(
        "--months",
        type=period_range,
        default=("202401", "202610"),
        metavar="起:止",
        help="费款所属期范围，YYYYMM:YYYYMM 或 YYYY-MM:YYYY-MM（默认 202401:202610）",
    )
    p.add_argument("--seed", type=int, default=42, metavar="种子", help="随机种子（默认 42）")
    p.add_argument(
        "--as-of", default=None, type=iso_date, metavar="YYYY-MM-DD", help="欠费和年龄的计算日期（默认今天）"
    )
    p.add_argument("--no-serve", action="store_true", help="只构建并显示结果，不启动服务")
    p.add_argument(
        "--verbose",
        action="store_true",
        help="在终端显示 Dagster 和 dbt 的日志（默认写入 $SHEBAO_HOME/logs/，终端只显示摘要）",
    )
    p.set_defaults(func=cmd_demo)
