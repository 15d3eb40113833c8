"""Great Expectations suites (expectations/) run as Dagster asset checks.

The raw-table suites block everything downstream when they fail; the soft suite over
contribution lines checked against reference data only reports.
"""


import json

import dagster as dg

from expectations import run as gx_run
from pipelines.assets.ingestion import raw_asset_key
from pipelines.ingest.schema import SOURCES
from pipelines.resources import WarehouseResource

SOFT_CHECK_MODEL = dg.AssetKey(["int_contribution_checks"])


def record_outcome(con, check_name: str, blocking: bool, outcome: gx_run.CheckOutcome) -> None:
    """Keep every GX result in the warehouse so the serving copy (and the 数据质量 page) can show it."""
    con.execute("""create table if not exists raw.expectation_results (
        check_name varchar, suite varchar, blocking boolean, success boolean, row_count bigint,
        evaluated_expectations integer, successful_expectations integer, failures varchar, checked_at timestamp)""")
    con.execute(
        "insert into raw.expectation_results values (?, ?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
        [check_name, outcome.suite, blocking, outcome.success, outcome.row_count, outcome.evaluated_expectations,
         outcome.successful_expectations, json.dumps(outcome.to_metadata()["failures"], ensure_ascii=False)],
    )


def _build_raw_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_asset_key(source),
        name=f"gx_{source}",
        blocking=True,
        description=f"Great Expectations suite '{source}' on the loaded rows of raw.{source} (blocking).",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            outcome = gx_run.validate_table(con, source)
            record_outcome(con, f"gx_{source}", True, outcome)
        return dg.AssetCheckResult(passed=outcome.success, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=outcome.to_metadata())

    _check.__name__ = f"gx_{source}"
    return _check


raw_checks = [_build_raw_check(name) for name in SOURCES]


@dg.asset_check(
    asset=SOFT_CHECK_MODEL,
    name="gx_contribution_amounts",
    blocking=False,
    description="Soft findings: amount vs base x rate beyond 0.01, base outside the year's floor and cap.",
)
def contribution_amounts_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        outcome = gx_run.validate_contribution_checks(con)
        record_outcome(con, "gx_contribution_amounts", False, outcome)
    return dg.AssetCheckResult(passed=outcome.success, severity=dg.AssetCheckSeverity.WARN,
                               metadata=outcome.to_metadata())
