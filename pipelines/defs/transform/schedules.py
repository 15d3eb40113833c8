"""The nightly rebuild: arrears and ages move with the date, so a new day is a new build even without new files."""

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from pipelines.run_tags import AS_OF_TAG

TIMEZONE = "Asia/Shanghai"


def build_nightly_schedule(job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(
        job=job,
        cron_schedule="30 2 * * *",
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Every night at 02:30 Beijing time: load anything new and rebuild as of that day.",
    )
    def nightly_build(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        as_of = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(run_key=f"nightly-{as_of}", tags={AS_OF_TAG: as_of})

    return nightly_build
