"""Ingestion: one asset per landing source, loading new files into schema raw.

Each asset loads only files it has not seen (by content hash), quarantines bad rows
with a Chinese reason, and records per-file counts as asset metadata. The landing sensor
beside this module (sensors.py) notices new files.
"""

import dagster as dg

from foundation.landing.schema import SOURCES
from pipelines.ingest import loader
from pipelines.resources import LandingResource, WarehouseResource

INGESTION_GROUP = "ingestion"


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def _build_raw_asset(source: str) -> dg.AssetsDefinition:
    spec = SOURCES[source]
    upstream = {
        "persons": ["employers"],
        "enrolments": ["persons", "employers"],
        "ledgers": ["persons", "employers"],
        "legacy_history": ["persons"],
    }

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
            live = con.execute(f"select count(*) from raw.{source} where superseded_at is null").fetchone()
        for line in report.summary_lines():
            context.log.info(line)
        metadata = report.to_metadata()
        metadata["summary"] = dg.MetadataValue.text("\n".join(report.summary_lines()))
        metadata["dagster/row_count"] = int(live[0]) if live else 0
        return dg.MaterializeResult(metadata=metadata)

    return _asset


raw_assets = [_build_raw_asset(name) for name in SOURCES]
