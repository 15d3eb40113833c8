"""Options every `shebao` command shares."""

from __future__ import annotations

import argparse
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
