"""Dagster resources: the warehouse file and the landing folder, injected into every asset."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from foundation import paths as settings
from foundation.settings import duckdb_config


class WarehouseResource(dg.ConfigurableResource):
    """The single-writer DuckDB warehouse; connections are short-lived so dbt can take the lock."""

    path: str

    @property
    def file(self) -> Path:
        return Path(self.path).resolve()

    @property
    def serving_file(self) -> Path:
        return settings.serving_path(self.file)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.file), read_only=read_only, config=duckdb_config())
        try:
            yield con
        finally:
            con.close()


class LandingResource(dg.ConfigurableResource):
    """The landing folder the agency's exports and employer templates are dropped into."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path).resolve()


def default_resources(landing: Path | None = None, warehouse: Path | None = None) -> dict:
    warehouse = Path(warehouse or os.environ.get("SHEBAO_WAREHOUSE") or settings.default_warehouse()).resolve()
    landing = Path(landing or settings.default_landing()).resolve()
    # dbt reads the warehouse path from the environment (profiles.yml).
    os.environ["SHEBAO_WAREHOUSE"] = str(warehouse)
    return {
        "warehouse": WarehouseResource(path=str(warehouse)),
        "landing": LandingResource(path=str(landing)),
    }
