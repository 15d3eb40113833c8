"""The dbt project as Dagster assets: every model and seed an asset, every dbt test an asset check."""

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging import version

from foundation import paths as settings
from pipelines.defs.serving.assets import served_fingerprint
from pipelines.resources import WarehouseResource
from pipelines.run_tags import AS_OF_TAG, FORCE_TAG


def _dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def prepare_manifest(project_dir: Path = settings.DBT_PROJECT_DIR) -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file."""
    manifest = project_dir / "target" / "manifest.json"
    sources = [
        p
        for p in project_dir.rglob("*")
        if p.suffix in {".sql", ".yml", ".yaml", ".csv"} and "target" not in p.parts and "logs" not in p.parts
    ]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    env = dict(os.environ)
    env.setdefault("SHEBAO_WAREHOUSE", str(settings.default_warehouse()))
    subprocess.run(
        [_dbt_executable(), "parse", "--quiet", "--profiles-dir", str(project_dir)],
        cwd=project_dir,
        env=env,
        check=True,
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


AS_OF_ENV = "SHEBAO_AS_OF"  # read by the as_of_date() macro; an env var keeps dbt's partial parsing valid
BUILD_STATE = "meta.dbt_build_state"


def inputs_fingerprint(con, as_of: str, manifest_path: Path) -> str:
    """What a build depends on: every loaded, superseded or failed file, the as-of date, the dbt project.

    Every change to raw goes through raw.load_files (new load, correction superseding rows),
    so equal fingerprints mean a new build would produce the same tables.
    """
    files = con.execute(
        """select coalesce(string_agg(concat_ws('|', source, source_file, file_hash, status, load_id, replaced_by),
                                      '\n' order by source, source_file, file_hash), '')
           from raw.load_files"""
    ).fetchone()[0]
    nodes = json.loads(manifest_path.read_text("utf-8"))["nodes"]
    code = "\n".join(f"{k}:{v.get('checksum', {}).get('checksum', '')}" for k, v in sorted(nodes.items()))
    return hashlib.sha256("\x00".join([files, as_of, code]).encode("utf-8")).hexdigest()


def keep_partial_parse(run_target: Path, target: Path, keep: int = 5) -> None:
    """Carry dbt's parse state to the next run and drop old per-run folders.

    dagster-dbt gives every invocation its own target folder, seeded with the project's
    partial_parse.msgpack; copying the run's state back means the next run in this
    warehouse parses only what changed. Only the newest few run folders are kept.
    """
    state = Path(run_target) / "partial_parse.msgpack"
    if state.exists():
        tmp = target / "partial_parse.msgpack.tmp"
        shutil.copyfile(state, tmp)
        os.replace(tmp, target / "partial_parse.msgpack")
    runs = sorted(target.glob("shebao_dbt_models-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def last_built_fingerprint(con) -> str | None:
    con.execute("create schema if not exists meta")
    con.execute(f"create table if not exists {BUILD_STATE} (fingerprint varchar, as_of varchar, built_at timestamp)")
    row = con.execute(f"select fingerprint from {BUILD_STATE} order by built_at desc limit 1").fetchone()
    return row[0] if row else None


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=ShebaoDbtTranslator(),
    pool="duckdb",
)
def shebao_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    tags = context.run.tags if context.run else {}
    as_of = tags.get(AS_OF_TAG) or ""
    whole_project = context.selected_asset_keys == set(context.assets_def.keys)
    with warehouse.connect() as con:
        fingerprint = inputs_fingerprint(con, as_of or dt.date.today().isoformat(), dbt_project.manifest_path)
        built = last_built_fingerprint(con)
    unchanged = built == fingerprint == served_fingerprint(warehouse.serving_file)
    if unchanged and whole_project and tags.get(FORCE_TAG) != "true":
        # Nothing to do: the outputs are skippable, so the serving copy is skipped too.
        context.log.info(
            f"Inputs unchanged since the last build (same files, as-of date and dbt project); "
            f"dbt build skipped. Tag {FORCE_TAG}=true forces it."
        )
        return
    if as_of:
        os.environ[AS_OF_ENV] = as_of
    else:
        os.environ.pop(AS_OF_ENV, None)
    invocation = dbt.cli(["build", "--exclude-resource-type", "unit_test"], context=context)
    yield from invocation.stream()
    keep_partial_parse(invocation.target_path, dbt_project.project_dir / "target")
    if whole_project:
        with warehouse.connect() as con:
            last_built_fingerprint(con)
            con.execute(f"insert into {BUILD_STATE} values (?, ?, current_localtimestamp())", [fingerprint, as_of])


class ShebaoDbtCliResource(DbtCliResource):
    """dbt run by the dbt-core installed beside Dagster.

    dagster-dbt learns the dbt version by starting `dbt --version` once per resource
    instance, i.e. once per run (about 5 s here); the executable is this environment's own,
    so its version is the imported dbt-core's.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if (
            Path(self.dbt_executable).resolve() == Path(_dbt_executable()).resolve()
            and Path(self.dbt_executable).exists()
        ):
            from dbt.version import __version__

            return version.parse(__version__)
        return super()._cli_version


def dbt_resource() -> DbtCliResource:
    return ShebaoDbtCliResource(
        project_dir=dbt_project, profiles_dir=str(settings.DBT_PROJECT_DIR), dbt_executable=_dbt_executable()
    )
