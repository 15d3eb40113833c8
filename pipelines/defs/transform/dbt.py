"""The dbt project as Dagster assets: every model and seed an asset, every dbt test an asset check."""

import datetime as dt
import os
import shutil
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.build_state import (
    forget_seeds,
    inputs_fingerprint,
    last_built_fingerprint,
    ledger_period_fingerprints,
    record_build,
    scope_key,
    seed_state,
    seeds_in_place,
    served_fingerprint,
    touched_fee_periods,
)
from pipelines.defs.transform.dbt_child import ENV_OPTION, PARENT_OPTION
from pipelines.defs.transform.dbt_events import manifest_of, stream_build
from pipelines.defs.transform.dbt_server import server_for
from pipelines.defs.transform.project import dbt_project
from pipelines.engine import EngineResource, spark_dir
from pipelines.ingest.parquet_export import export_raw
from pipelines.resources import WarehouseResource
from pipelines.run_tags import AS_OF_TAG, FORCE_TAG
from pipelines.spark_marts import load_spark_tables

AS_OF_ENV = "SHEBAO_AS_OF"  # read by the as_of_date() macro; an env var keeps dbt's partial parsing valid
WAREHOUSE_ENV = "SHEBAO_WAREHOUSE"  # read by profiles.yml
TEST_PERIODS_ENV = "SHEBAO_TEST_FEE_PERIODS"  # read by macros/scoped_tests.sql; empty = every period
# The seeds and the tests on seeds alone; `cautious` keeps a test that also reads a model (relationships to a seed).
WITHOUT_SEEDS = ["--exclude", "resource_type:seed", "--indirect-selection", "cautious"]


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


def launcher_options(warehouse: Path, as_of: str, extra_env: Mapping[str, str] | None = None) -> list[str]:
    """What this dbt invocation needs and nothing else in the process gets: its parent and its environment."""
    env = {WAREHOUSE_ENV: str(warehouse), AS_OF_ENV: as_of, **(extra_env or {})}
    return [f"{PARENT_OPTION}{os.getpid()}", *(f"{ENV_OPTION}{name}={value}" for name, value in env.items())]


def warm_dbt_environment(warehouse: Path, engine: EngineResource) -> dict[str, str]:
    """The environment the warm dbt child is started with (and keyed by): one child per warehouse."""
    return {WAREHOUSE_ENV: str(warehouse), **engine.dbt_environment(warehouse)}


def keep_partial_parse(run_target: Path, target: Path, keep: int = 5) -> None:
    """Carry dbt's parse state to the next run and drop old per-run folders.

    dagster-dbt gives every invocation its own target folder, seeded with the project's
    partial_parse.msgpack; copying the run's state back means the next run in this
    warehouse parses only what changed. Only the newest few run folders are kept.
    """
    state = Path(run_target) / "partial_parse.msgpack"
    if state.exists():
        tmp = target / f"partial_parse.msgpack.tmp-{os.getpid()}"
        shutil.copyfile(state, tmp)
        os.replace(tmp, target / "partial_parse.msgpack")
    runs = sorted(target.glob("shebao_dbt_models-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def seed_keys() -> set[dg.AssetKey]:
    """The seeds' assets. A build may leave them out (unchanged since loaded and tested), so no step may
    wait on them: a Dagster step whose upstream output was not yielded is skipped."""
    nodes = manifest_of(dbt_project())["nodes"].values()
    translator = ShebaoDbtTranslator()
    return {translator.get_asset_key(n) for n in nodes if n["resource_type"] == "seed"}


def seeds_unchanged(warehouse: Path, engine: EngineResource) -> bool:
    """Whether a run may leave the seed assets out of its selection, decided before it starts.

    Left out of the run (not only of dbt's selection), the seeds and their checks are not even
    planned: 86 fewer Dagster events. Nothing a run loads changes a seed, so the answer holds
    for the run; the dbt step checks again and fails rather than build on changed seeds.
    """
    if engine.is_spark or not warehouse.exists():
        return False
    manifest = dbt_project().manifest_path
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return seeds_in_place(con, seed_state(manifest, engine.target), manifest)
    finally:
        con.close()


@cache
def dbt_models() -> dg.AssetsDefinition:
    """Built on first use, after the manifest is prepared (never at import)."""
    project = dbt_project()

    translator = ShebaoDbtTranslator()

    @dbt_assets(manifest=project.manifest_path, project=project, dagster_dbt_translator=translator)
    def shebao_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, engine: EngineResource
    ) -> Iterator[Any]:
        tags = context.run.tags if context.run else {}
        as_of = tags.get(AS_OF_TAG) or ""
        # Every asset of the dbt project (`assets_def.keys` is only the run's selection of them).
        left_out = set(context.assets_def.node_keys_by_output_name.values()) - context.selected_asset_keys
        seeds_left_out = bool(left_out) and left_out == seed_keys()  # the run selected no seed (`seeds_unchanged`)
        whole_project = not left_out or seeds_left_out
        warm = whole_project and not engine.is_spark  # a subset or Spark: dagster-dbt's one-shot dbt process
        with warehouse.connect() as con:
            fingerprint = inputs_fingerprint(
                con, as_of or dt.date.today().isoformat(), project.manifest_path, engine.target
            )
            built = last_built_fingerprint(con)
        forced = tags.get(FORCE_TAG) == "true"
        if (
            built == fingerprint
            and whole_project
            and not forced
            and fingerprint == served_fingerprint(warehouse.serving_file)
        ):
            # Nothing to do: the outputs are skippable, so the serving copy is skipped too.
            context.log.info(
                f"Inputs unchanged since the last build (same files, as-of date and dbt project); "
                f"dbt build skipped. Tag {FORCE_TAG}=true forces it."
            )
            return
        with warehouse.connect() as con:
            key = scope_key(con, project.manifest_path, engine.target) if warm else None
            periods = ledger_period_fingerprints(con) if warm else None
            touched = touched_fee_periods(con, key, periods) if key and periods is not None else None
            seeds = seed_state(project.manifest_path, engine.target) if warm else None
            # Same seed files, project and engine as when the seed tables were loaded and tested: leave them out.
            keep_seeds = seeds is not None and not forced and seeds_in_place(con, seeds, project.manifest_path)
        if engine.is_spark:  # Spark reads the raw layer from Parquet: export it first
            with warehouse.connect(read_only=True) as con:
                exported = export_raw(con, project.manifest_path, spark_dir(warehouse.file) / "raw")
            context.log.info(f"Raw tables exported to Parquet for Spark: {exported}")
        build = ["build", "--target", engine.target, "--exclude-resource-type", "unit_test"]
        if seeds_left_out and not keep_seeds:  # a seed file changed since the run started
            raise dg.Failure("参考数据（种子文件）在运行开始后发生变化，请重新运行。")
        if keep_seeds:
            build += WITHOUT_SEEDS
            context.log.info("Seeds unchanged since they were last loaded and tested: not reloaded, not re-tested.")
        else:  # until this build is recorded, the seed tables are not known to match their files
            with warehouse.connect() as con:
                forget_seeds(con)
        if warm:  # the warm dbt child: no process start, no parse
            server = server_for(project.project_dir, warm_dbt_environment(warehouse.file, engine))
            scope = "" if touched is None else (",".join(touched) or "none")
            context.log.info(
                "Tests on the fee-period marts: "
                + ("every period" if touched is None else f"the touched fee periods only ({scope})")
            )
            env = {AS_OF_ENV: as_of, TEST_PERIODS_ENV: scope}
            yield from stream_build(context, server, build, env, project, translator)
            keep_partial_parse(server.target_path, project.project_dir / "target")
        else:
            args = [*launcher_options(warehouse.file, as_of, engine.dbt_environment(warehouse.file)), *build]
            invocation = dbt.cli(args, context=context)
            yield from invocation.stream()
            keep_partial_parse(invocation.target_path, project.project_dir / "target")
            if engine.is_spark:  # readers, GX and the serving copy read DuckDB: bring Spark's tables back
                with warehouse.connect() as con:
                    loaded = load_spark_tables(
                        con, Path(invocation.target_path) / "manifest.json", spark_dir(warehouse.file) / "warehouse"
                    )
                context.log.info(f"Spark tables loaded into the DuckDB warehouse: {loaded}")
        if whole_project:
            with warehouse.connect() as con:
                record_build(con, fingerprint, as_of, key, periods, seeds)

    return shebao_dbt_models
