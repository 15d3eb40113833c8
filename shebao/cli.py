"""The `shebao` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shebao import audit_cli, cert_cli, users_cli
from shebao.options import ChineseArgumentParser, add_warehouse_option, iso_date, localise_argparse, warehouse


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.engine import SparkMissing, UnknownEngine
    from pipelines.ingest.discovery import LandingFolderError, check_landing
    from pipelines.resources import WriterBusy
    from pipelines.run import RunInterrupted, run_pipeline
    from pipelines.run_logs import new_log_path, output_to_file

    try:  # nothing to load is one line and a non-zero exit, not a run of empty steps
        check_landing(Path(args.landing).resolve())
    except LandingFolderError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    log = None if args.verbose else new_log_path("run")
    level = args.log_level or ("WARNING" if args.verbose else "INFO")
    try:
        with output_to_file(log):
            summary = run_pipeline(
                Path(args.landing).resolve(),
                warehouse(args),
                args.as_of,
                log_level=level,
                wait_seconds=args.wait,
                engine=args.engine,
            )
    except (WriterBusy, UnknownEngine, SparkMissing) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except RunInterrupted as exc:
        print(f"已停止：{exc}", file=sys.stderr)
        return exc.exit_code
    summary.log_file = log
    print("\n".join(summary.verbose_lines() if args.verbose else summary.lines()))
    return 0 if summary.success else 1


def add_run_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="加载落地目录并构建全部资产（数据加载、校验、dbt、数据副本）")
    p.add_argument(
        "--landing",
        required=True,
        type=Path,
        metavar="目录",
        help="落地目录（employers/、persons/、enrolments/、ledgers/，可选 legacy_history/）",
    )
    add_warehouse_option(p)
    add_as_of_option(p)
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="秒",
        help="另一个运行正在写同一数据仓库时最多等待的秒数（默认 $SHEBAO_WRITER_WAIT_SECONDS 或 600）",
    )
    p.add_argument(
        "--engine",
        default=None,
        choices=["duckdb", "spark"],
        metavar="引擎",
        help="构建 dbt 项目的引擎：duckdb 或 spark（默认 $SHEBAO_ENGINE 或 duckdb；spark 需先安装 Spark 扩展）",
    )
    add_verbose_options(p)
    p.set_defaults(func=cmd_run)


def add_as_of_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as-of", default=None, type=iso_date, metavar="YYYY-MM-DD", help="欠费和年龄的计算日期（默认今天）"
    )


def add_verbose_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--verbose",
        action="store_true",
        help="在终端显示 Dagster 和 dbt 的日志（默认写入 $SHEBAO_HOME/logs/，终端只显示摘要）",
    )
    p.add_argument(
        "--log-level",
        default=None,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Dagster 日志级别（默认：写入文件时 INFO，--verbose 时 WARNING）",
    )


def cmd_serve_dashboard(args: argparse.Namespace) -> int:
    from shebao.dashboard_cli import serve_dashboard

    return serve_dashboard(args.port, warehouse(args))


def add_serve_parser(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="启动本地服务")
    ssub = serve.add_subparsers(dest="serve_command", required=True, metavar="{verify,dashboard}")
    cert_cli.add_serve_parser(ssub)
    dash = ssub.add_parser("dashboard", help="看板（Streamlit：分析员、参保单位、验证方）")
    dash.add_argument("--port", type=int, default=8501, metavar="端口", help="监听端口（默认 8501）")
    add_warehouse_option(dash)
    dash.set_defaults(func=cmd_serve_dashboard)


def build_parser() -> argparse.ArgumentParser:
    from shebao import demo, generate, queries

    localise_argparse()
    parser = ChineseArgumentParser(prog="shebao", description="社保数据仓库、报表与证明服务")
    subparsers = parser.add_subparsers(
        dest="command", required=True, title="命令", metavar="命令", help="用 shebao 命令 --help 查看各命令的用法"
    )
    generate.add_parser(subparsers)
    add_run_parser(subparsers)
    demo.add_parser(subparsers)
    queries.add_parser(subparsers)
    cert_cli.add_parser(subparsers)
    users_cli.add_parser(subparsers)
    audit_cli.add_parser(subparsers)
    add_serve_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
