"""Options every `shebao` command shares."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from foundation import paths


def add_warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="DuckDB warehouse file (default $SHEBAO_HOME/warehouse.duckdb; readers use serving.duckdb beside it)",
    )


def warehouse(args: argparse.Namespace) -> Path:
    return paths.warehouse_or_default(getattr(args, "warehouse", None))


def iso_date(text: str) -> str:
    """An argparse type: a calendar date as YYYY-MM-DD, refused with a one-line Chinese message."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期 {text!r} 无效，请写成 YYYY-MM-DD（例如 2025-04-15）") from None
