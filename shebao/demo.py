"""`shebao demo`: sample data generated on the spot, the whole pipeline, a sample certificate, then the services."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from foundation import paths as settings
from shebao.options import iso_date, period_range
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
    print(f"  单位参保证明 {cert.id}（验证码 {cert.code}）：{cert.path}")
    print(f"  二维码指向：{cert.url}")


def start_services(services: Services, warehouse: Path, verify_port: int, dashboard_port: int) -> None:
    """The verification service and the dashboards, each in its own process group (shebao/services.py)."""
    from shebao.dashboard_cli import dashboard_command, dashboard_env

    services.start("验证服务", [sys.executable, "-m", "shebao.cli", "serve", "verify", "--port", str(verify_port)])
    services.start("仪表盘", dashboard_command(dashboard_port), env=dashboard_env(warehouse))
    print(f"验证服务：http://127.0.0.1:{verify_port}/（按证明编号和验证码查询：/lookup）")
    print(f"看板：    http://127.0.0.1:{dashboard_port}/")
    print("按 Ctrl-C 停止服务。", flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.run import RunInterrupted, run_pipeline
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
    try:
        with output_to_file(log):
            summary = run_pipeline(landing, warehouse, args.as_of, log_level="WARNING" if args.verbose else "INFO")
    except RunInterrupted as exc:
        print(f"已停止：{exc}", file=sys.stderr)
        return exc.exit_code
    summary.log_file = log
    print("\n".join(summary.verbose_lines() if args.verbose else summary.lines()))
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
    print("构建结果：")
    print(f"  数据仓库：{warehouse}")
    print(f"  数据副本：{serving}（所有查询和看板只读打开的快照）")
    print(f"  落地目录：{landing}（错误的行及原因见看板“数据质量”页）")
    print("示例证明：")
    _issue_sample(warehouse, units[0])
    print("看板账号（每次运行示例都会生成新密码）：")
    for username, role, password in ensure_demo_accounts(units):
        print(f"  {role:<9} {username:<14} 密码 {password}")
    print("Dagster 界面（资产、检查、血缘、本实例的运行；包装进程收到 SIGTERM 时也会停止它）：")
    print(
        f"  SHEBAO_HOME={home} DAGSTER_HOME={dagster_home()} "
        ".venv/bin/python -m shebao.services -- .venv/bin/dagster dev -m pipelines.definitions"
    )
    print("查询示例：.venv/bin/shebao query arrears --unit " + units[0])
    if args.no_serve:
        print("未启动服务（--no-serve）：.venv/bin/shebao serve verify | .venv/bin/shebao serve dashboard")
        return 0
    return supervise(Services(), lambda s: start_services(s, warehouse, args.verify_port, args.dashboard_port))


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
    p.add_argument("--verify-port", type=int, default=VERIFY_PORT, metavar="端口", help="验证服务的端口（默认 8765）")
    p.add_argument(
        "--dashboard-port", type=int, default=DASHBOARD_PORT, metavar="端口", help="仪表盘的端口（默认 8501）"
    )
    p.set_defaults(func=cmd_demo)
