"""The dbt project as Dagster assets: every model and seed an asset, every dbt test an asset check."""


import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipelines import settings


def _dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def prepare_manifest(project_dir: Path = settings.DBT_PROJECT_DIR) -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file."""
    manifest = project_dir / "target" / "manifest.json"
    sources = [p for p in project_dir.rglob("*") if p.suffix in {".sql", ".yml", ".yaml", ".csv"}
               and "target" not in p.parts and "logs" not in p.parts]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    env = dict(os.environ)
    env.setdefault("SHEBAO_WAREHOUSE", str(settings.default_warehouse()))
    subprocess.run(
        [_dbt_executable(), "parse", "--quiet", "--profiles-dir", str(project_dir)],
        cwd=project_dir, env=env, check=True,
    )
    return manifest


dbt_project = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
prepare_manifest()


class ShebaoDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the raw ingestion assets; models are grouped by their folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transformations"


def dbt_vars(as_of: str | None) -> list[str]:
    """The `--vars` argument: the as-of date arrears and ages are computed for."""
    return ["--vars", json.dumps({"as_of": as_of or ""})]


AS_OF_TAG = "shebao/as_of"  # run tag: ISO date arrears and ages are computed as of (default today)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=ShebaoDbtTranslator(),
    pool="duckdb",
)
def shebao_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    as_of = context.run.tags.get(AS_OF_TAG) if context.run else None
    yield from dbt.cli(["build", "--exclude-resource-type", "unit_test", *dbt_vars(as_of)], context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(settings.DBT_PROJECT_DIR),
                          dbt_executable=_dbt_executable())
