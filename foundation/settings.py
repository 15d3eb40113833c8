"""Settings every DuckDB connection shares."""

from __future__ import annotations

import os

# DuckDB takes 80 % of RAM by default; the whole pipeline (Dagster process + dbt subprocess)
# must stay within a few GiB, so every writer connection gets the same cap and spills to disk
# beyond it. The dbt profile reads the same variable.
DUCKDB_MEMORY_ENV = "SHEBAO_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY = "3GB"


def duckdb_config() -> dict[str, str | bool | int | float | list[str]]:
    """Settings for every DuckDB connection that writes (warehouse, serving copy)."""
    return {"memory_limit": os.environ.get(DUCKDB_MEMORY_ENV, DEFAULT_DUCKDB_MEMORY)}
