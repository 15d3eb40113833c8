"""`shebao generate`: write a sample landing folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def _months(text: str) -> tuple[str, str]:
    parts = text.split(":")
    if len(parts) != 2 or not all(len(p) == 6 and p.isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected YYYYMM:YYYYMM, got {text!r}")
    return parts[0], parts[1]


def cmd_generate(args: argparse.Namespace) -> int:
    from shebao.generate.core import generate_landing

    started = time.perf_counter()
    summary = generate_landing(
        Path(args.out),
        persons=args.persons,
        scale=args.scale,
        months=args.months,
        seed=args.seed,
        inject_errors=args.with_errors,
        progress=True,
        fmt=args.format,
    )
    elapsed = time.perf_counter() - started
    files = summary["files"]
    print(
        f"Wrote landing folder {summary['out_dir']} in {elapsed:.1f} s (seed {summary['seed']}, "
        f"fee periods {summary['months'][0]}-{summary['months'][1]})"
    )
    print(f"  units:      {summary['units']} in {len(files['employers'])} file(s)")
    print(f"  persons:    {summary['persons']} in {len(files['persons'])} file(s)")
    enrol_rows = sum(summary["rows"][f] for f in files["enrolments"])
    print(f"  enrolments: {enrol_rows} rows in {len(files['enrolments'])} file(s)")
    print(
        f"  ledgers:    {summary['ledger_lines']} lines in {len(files['ledgers'])} file(s) (CSV, some GB18030 and XLSX)"
        if summary["ledger_format"] == "csv"
        else f"  ledgers:    {summary['ledger_lines']} lines in {len(files['ledgers'])} file(s) (Parquet)"
    )
    if args.with_errors:
        print(f"  injected errors: {summary['expected_errors']} (listed in expected_errors.json)")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "generate", help="write a sample landing folder (employers, persons, enrolments, ledgers)"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="landing folder to create")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="SF",
        help="scale factor: SF 1 is about one million ledger lines (default 0.1)",
    )
    size.add_argument("--persons", type=int, default=None, metavar="N", help="number of insured people")
    p.add_argument(
        "--months",
        type=_months,
        default=("202401", "202610"),
        metavar="YYYYMM:YYYYMM",
        help="fee periods to generate (default 202401:202610)",
    )
    p.add_argument("--seed", type=int, default=42, help="random seed; same seed and options give identical files")
    p.add_argument(
        "--with-errors", action="store_true", help="add deliberately bad rows and files, listed in expected_errors.json"
    )
    p.add_argument(
        "--format",
        choices=("auto", "csv", "parquet"),
        default="auto",
        help="ledger file format: auto writes Parquet above 200k lines",
    )
    p.set_defaults(func=cmd_generate)
    return p
