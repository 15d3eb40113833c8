"""The landing sensor: a load-and-build run whenever files appear or change in the landing folder."""

import hashlib
import json

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from foundation.landing.schema import SOURCES
from pipelines.resources import LandingResource


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


def build_landing_sensor(job: UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Starts a load-and-build run when files appear or change in the landing folder.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource) -> dg.RunRequest | dg.SkipReason:
        current = landing_fingerprint(landing)
        previous = json.loads(context.cursor) if context.cursor else {}
        changed = sorted(k for k, v in current.items() if previous.get(k) != v)
        if not changed:
            return dg.SkipReason("landing folder unchanged")
        run_key = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:16]
        context.update_cursor(json.dumps(current, sort_keys=True))
        return dg.RunRequest(run_key=run_key, tags={"shebao/new_files": str(len(changed))})

    return landing_sensor
