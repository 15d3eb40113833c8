"""Where things live: the source tree's folders, and runtime state under SHEBAO_HOME (default ./var).

Every package resolves these through here, so one environment variable moves the whole
runtime state and nothing is ever written into the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
REFERENCE_SEEDS_DIR = DBT_PROJECT_DIR / "seeds" / "reference"

WAREHOUSE_FILE = "warehouse.duckdb"
SERVING_FILE = "serving.duckdb"


def shebao_home() -> Path:
    home = Path(os.environ.get("SHEBAO_HOME", "var")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def default_warehouse() -> Path:
    """SHEBAO_WAREHOUSE when set (the dashboard's subprocess gets it), else $SHEBAO_HOME/warehouse.duckdb."""
    explicit = os.environ.get("SHEBAO_WAREHOUSE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    return shebao_home() / WAREHOUSE_FILE


def warehouse_or_default(warehouse: Path | str | None) -> Path:
    return Path(warehouse).expanduser().resolve() if warehouse else default_warehouse()


def default_landing() -> Path:
    return Path(os.environ.get("SHEBAO_LANDING", shebao_home() / "landing")).resolve()


def serving_path(warehouse: Path | str | None = None) -> Path:
    """The read-only copy for dashboards, certificates and queries sits beside the warehouse."""
    return warehouse_or_default(warehouse).parent / SERVING_FILE
