"""The one Definitions object: ingestion, GX checks, dbt models, the serving copy, the sensor and schedule.

Importing this module does nothing. Dagster (`dagster dev -m pipelines.definitions`,
`dagster definitions validate -m pipelines.definitions`) calls `defs()` to load the code
location, and `shebao run` calls `build_defs()`; either prepares the dbt manifest first.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.defs.ingestion.assets import raw_assets
from pipelines.defs.ingestion.sensors import build_landing_sensor
from pipelines.defs.quality.checks import contribution_amounts_check, raw_checks
from pipelines.defs.serving.assets import build_serving_asset
from pipelines.defs.transform.dbt import dbt_models, seed_keys
from pipelines.defs.transform.resources import dbt_resource
from pipelines.defs.transform.schedules import build_nightly_schedule
from pipelines.resources import default_resources

LOAD_AND_BUILD_JOB = "load_and_build"


def build_defs(landing: Path | None = None, warehouse: Path | None = None, engine: str | None = None) -> dg.Definitions:
    models = dbt_models()
    # The seeds reach the serving copy through the marts that read them (a build may leave them out).
    seeds = seed_keys()
    mart_keys = [key for key in models.keys if not key.path[-1].startswith("stg_") and key not in seeds]
    serving_copy = build_serving_asset(sorted(mart_keys, key=lambda k: k.to_user_string()))
    load_and_build = dg.define_asset_job(
        LOAD_AND_BUILD_JOB,
        selection=dg.AssetSelection.all(),
        description="Load new landing files, run the GX checks, build every dbt model, publish the serving copy.",
    )
    return dg.Definitions(
        assets=[*raw_assets, models, serving_copy],
        asset_checks=[*raw_checks, contribution_amounts_check],
        jobs=[load_and_build],
        sensors=[build_landing_sensor(load_and_build)],
        schedules=[build_nightly_schedule(load_and_build)],
        resources={**default_resources(landing, warehouse, engine), "dbt": dbt_resource()},
        # One writer per DuckDB file: steps run one after another in the run's own process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location Dagster loads: the default landing folder and warehouse (SHEBAO_HOME)."""
    return build_defs()
