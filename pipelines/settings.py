"""Where runtime state lives: everything under SHEBAO_HOME (default ./var), never in the source tree."""

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
    return shebao_home() / WAREHOUSE_FILE


def default_landing() -> Path:
    return Path(os.environ.get("SHEBAO_LANDING", shebao_home() / "landing")).resolve()


def serving_path(warehouse: Path | str) -> Path:
    """The read-only copy for dashboards, certificates and queries sits beside the warehouse."""
    return Path(warehouse).resolve().parent / SERVING_FILE


# DuckDB takes 80 % of RAM by default; the whole pipeline (Dagster process + dbt subprocess)
# must stay within a few GiB, so every writer connection gets the same cap and spills to disk
# beyond it. The dbt profile reads the same variable.
DUCKDB_MEMORY_ENV = "SHEBAO_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY = "3GB"


def duckdb_config() -> dict[str, str]:
    """Settings for every DuckDB connection that writes (warehouse, serving copy)."""
    return {"memory_limit": os.environ.get(DUCKDB_MEMORY_ENV, DEFAULT_DUCKDB_MEMORY)}


def dagster_home() -> Path:
    """Runs launched from the CLI land in the same instance `dagster dev` shows."""
    path = Path(os.environ.get("DAGSTER_HOME", shebao_home() / "dagster")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        # The network is closed here; one DuckDB writer at a time.
        config.write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    os.environ["DAGSTER_HOME"] = str(path)
    return path
