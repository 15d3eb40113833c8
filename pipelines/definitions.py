"""The one Definitions object: ingestion, GX checks, dbt models, the serving copy, the landing sensor."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.defs.ingestion.assets import build_landing_sensor, raw_assets
from pipelines.defs.quality.checks import contribution_amounts_check, raw_checks
from pipelines.defs.serving.assets import build_serving_asset
from pipelines.defs.transform.dbt import dbt_resource, shebao_dbt_models
from pipelines.resources import default_resources

LOAD_AND_BUILD_JOB = "load_and_build"


def build_defs(landing: Path | None = None, warehouse: Path | None = None) -> dg.Definitions:
    mart_keys = [key for key in shebao_dbt_models.keys if not key.path[-1].startswith("stg_")]
    serving_copy = build_serving_asset(sorted(mart_keys, key=lambda k: k.to_user_string()))
    load_and_build = dg.define_asset_job(
        LOAD_AND_BUILD_JOB,
        selection=dg.AssetSelection.all(),
        description="Load new landing files, run the GX checks, build every dbt model, publish the serving copy.",
    )
    return dg.Definitions(
        assets=[*raw_assets, shebao_dbt_models, serving_copy],
        asset_checks=[*raw_checks, contribution_amounts_check],
        jobs=[load_and_build],
        sensors=[build_landing_sensor(load_and_build)],
        resources={**default_resources(landing, warehouse), "dbt": dbt_resource()},
        # One writer per DuckDB file: run steps one after another in one process.
        executor=dg.in_process_executor,
    )


defs = build_defs()
