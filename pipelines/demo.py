"""`shebao demo`: sample data generated on the spot, the whole pipeline, then the local services."""

from __future__ import annotations

import argparse
import shutil

from pipelines import settings


def cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.generate import generate_landing
    from pipelines.run import run_pipeline

    home = settings.shebao_home()
    landing = home / "demo-landing"
    warehouse = settings.default_warehouse()
    if landing.exists():
        shutil.rmtree(landing)
    print(f"Generating sample landing folder in {landing} ({args.persons} persons, months {args.months}) ...")
    start, end = args.months.split(":")
    generate_landing(landing, persons=args.persons, months=(start, end), seed=args.seed, inject_errors=True)
    print(f"Running every asset into {warehouse} ...")
    summary = run_pipeline(landing, warehouse, args.as_of)
    print("\n".join(summary.lines()))
    print()
    print("What was built:")
    print(f"  warehouse:     {warehouse}")
    print(f"  serving copy:  {settings.serving_path(warehouse)} (read-only snapshot for readers)")
    print(f"  landing:       {landing} (with deliberately bad rows; see raw.quarantine)")
    print("Open the Dagster UI (assets, checks, lineage, runs):")
    print(f"  SHEBAO_HOME={home} DAGSTER_HOME={settings.dagster_home()} .venv/bin/dagster dev -m pipelines.definitions")
    return 0 if summary.success else 1


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="generate sample data, run everything, start the local services")
    p.add_argument("--persons", type=int, default=400)
    p.add_argument("--months", default="202401:202610")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--as-of", default=None)
    p.set_defaults(func=cmd_demo)
