"""The `shebao` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shebao import audit_cli, cert_cli, users_cli
from shebao.options import add_warehouse_option, iso_date, warehouse


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.engine import SparkMissing, UnknownEngine
    from pipelines.ingest.discovery import LandingFolderError, check_landing
    from pipelines.resources import WriterBusy
    from pipelines.run import RunInterrupted, run_pipeline

    try:  # nothing to load is one line and a non-zero exit, not a run of empty steps
        check_landing(Path(args.landing).resolve())
    except LandingFolderError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    try:
        summary = run_pipeline(
            Path(args.landing).resolve(),
            warehouse(args),
            args.as_of,
            log_level=args.log_level,
            wait_seconds=args.wait,
            engine=args.engine,
        )
    except (WriterBusy, UnknownEngine, SparkMissing) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except RunInterrupted as exc:
        print(f"已停止：{exc}", file=sys.stderr)
        return exc.exit_code
    print("\n".join(summary.lines()))
    return 0 if summary.success else 1


def add_run_parser(subparsers) -> None:
    p = subparsers.add_parser("run", help="load a landing folder and build every asset into a warehouse")
    p.add_argument(
        "--landing", required=True, type=Path, help="landing folder (employers/, persons/, enrolments/, ledgers/)"
    )
    add_warehouse_option(p)
    p.add_argument(
        "--as-of", default=None, type=iso_date, help="ISO date arrears and ages are computed as of (default today)"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for another run writing the same warehouse (default $SHEBAO_WRITER_WAIT_SECONDS or 600)",
    )
    p.add_argument(
        "--engine",
        default=None,
        choices=["duckdb", "spark"],
        help="engine that builds the dbt project (default $SHEBAO_ENGINE or duckdb; spark needs `make spark`)",
    )
    p.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Dagster console log level",
    )
    p.set_defaults(func=cmd_run)


def cmd_serve_dashboard(args: argparse.Namespace) -> int:
    from shebao.dashboard_cli import serve_dashboard

    return serve_dashboard(args.port, warehouse(args))


def add_serve_parser(subparsers) -> None:
    serve = subparsers.add_parser("serve", help="run a local service")
    ssub = serve.add_subparsers(dest="serve_command", required=True)
    cert_cli.add_serve_parser(ssub)
    dash = ssub.add_parser("dashboard", help="the Streamlit app (analysts, employers, verifiers)")
    dash.add_argument("--port", type=int, default=8501)
    add_warehouse_option(dash)
    dash.set_defaults(func=cmd_serve_dashboard)


def build_parser() -> argparse.ArgumentParser:
    from shebao import demo, generate, queries

    parser = argparse.ArgumentParser(
        prog="shebao", description="Social-insurance data warehouse, reports and certificates"
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
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
