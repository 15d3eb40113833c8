"""Ingestion: one asset per landing source, loading new files into schema raw.

Each asset loads only files it has not seen (by content hash), quarantines bad rows
with a Chinese reason, and records per-file counts as asset metadata. A sensor next to
the assets notices new files in the landing folder.
"""

import hashlib
import json

import dagster as dg

from foundation.landing.schema import SOURCES
from pipelines.ingest import loader
from pipelines.resources import LandingResource, WarehouseResource

INGESTION_GROUP = "ingestion"


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def _build_raw_asset(source: str) -> dg.AssetsDefinition:
    spec = SOURCES[source]
    upstream = {"persons": ["employers"], "enrolments": ["persons", "employers"], "ledgers": ["persons", "employers"]}

    @dg.asset(
        key=raw_asset_key(source),
        group_name=INGESTION_GROUP,
        description=(
            f"{spec.label} ({source}): rows loaded from landing/{source}/, bad rows quarantined in raw.quarantine, "
            "rows naming an unregistered person or unit held in raw.pending."
        ),
        deps=[raw_asset_key(u) for u in upstream.get(source, [])],
        kinds={"duckdb", "python"},
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource
    ) -> dg.MaterializeResult:
        try:  # a missing or empty landing folder fails the run with its Chinese message
            loader.check_landing(landing.folder)
        except loader.LandingFolderError as exc:
            raise dg.Failure(description=str(exc)) from None
        with warehouse.connect() as con:
            loader.ensure_raw_schema(con)
            report = loader.load_source(con, landing.folder, source)
            total = con.execute(f"select count(*) from raw.{source} where superseded_at is null").fetchone()[0]
        for line in report.summary_lines():
            context.log.info(line)
        metadata = report.to_metadata()
        metadata["summary"] = dg.MetadataValue.text("\n".join(report.summary_lines()))
        metadata["dagster/row_count"] = int(total)
        return dg.MaterializeResult(metadata=metadata)

    _asset.__name__ = f"raw_{source}"
    return _asset


raw_assets = [_build_raw_asset(name) for name in SOURCES]


def landing_fingerprint(landing: LandingResource) -> dict[str, str]:
    """Name, size and mtime of every landing file: cheap, and changes whenever a file is added or replaced."""
    fingerprint = {}
    for source in SOURCES:
        folder = landing.folder / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                fingerprint[f"{source}/{path.name}"] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return fingerprint


def build_landing_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Starts a load-and-build run when files appear or change in the landing folder.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource):
        current = landing_fingerprint(landing)
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(k for k, v in current.items() if previous.get(k) != v)
        if not changed:
            return dg.SkipReason("landing folder unchanged")
        run_key = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:16]
        context.update_cursor(json.dumps(current, sort_keys=True))
        return dg.RunRequest(run_key=run_key, tags={"shebao/new_files": str(len(changed))})

    return landing_sensor
