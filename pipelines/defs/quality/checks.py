"""Great Expectations suites (expectations/) run as Dagster asset checks.

The raw-table suites block everything downstream when they fail; the soft suite over
contribution lines checked against reference data only reports.

Each check validates the loads it has not yet passed (raw.gx_validated_loads, see pipelines/build_state.py), not the
whole history again: a new month costs what the month costs. Uniqueness of the natural
key still covers old rows, because the scope includes every live row sharing a key with a
new row. A load that failed a check stays unvalidated, so the check keeps failing until
the data are corrected.
"""

import dagster as dg
import duckdb

from expectations import run as gx_run
from foundation.landing.schema import SOURCES, raw_column_name
from pipelines.build_state import mark_validated, pending_loads, record_check_result
from pipelines.defs.ingestion.assets import raw_asset_key
from pipelines.resources import WarehouseResource

SOFT_CHECK_MODEL = dg.AssetKey(["int_contribution_checks"])


def record_outcome(
    con: duckdb.DuckDBPyConnection, check_name: str, blocking: bool, outcome: gx_run.CheckOutcome
) -> None:
    record_check_result(
        con,
        check_name,
        outcome.suite,
        blocking,
        outcome.success,
        outcome.row_count,
        outcome.evaluated_expectations,
        outcome.successful_expectations,
        outcome.to_metadata()["failures"],
    )


def raw_scope(source: str) -> str:
    """Rows of new loads, and every live row sharing a natural key with one (for uniqueness)."""
    spec = SOURCES[source]
    key = [raw_column_name(spec.column(k)) for k in spec.natural_key]
    same_key = " and ".join(f'n."{k}" = {source}."{k}"' for k in key)
    return (
        f"load_id in (select unnest(?::varchar[])) or exists (select 1 from raw.{source} as n "
        f"where n.superseded_at is null and n.load_id in (select unnest(?::varchar[])) and {same_key})"
    )


def _nothing_new(check_name: str, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=True,
        severity=severity,
        metadata={"rows_validated": 0, "note": f"{check_name}: no load since the last pass"},
    )


def _build_raw_check(source: str) -> dg.AssetChecksDefinition:
    check_name = f"gx_{source}"

    @dg.asset_check(
        asset=raw_asset_key(source),
        name=check_name,
        blocking=True,
        description=(
            f"Great Expectations suite '{source}' on the rows of raw.{source} loaded since its last pass (blocking)."
        ),
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            pending, passed_before = pending_loads(con, check_name, f"raw.{source}")
            if not pending:
                return _nothing_new(check_name, dg.AssetCheckSeverity.ERROR)
            if passed_before and None not in pending:
                outcome = gx_run.validate_table(con, source, raw_scope(source), params=[pending, pending])
            else:
                outcome = gx_run.validate_table(con, source)
            record_outcome(con, check_name, True, outcome)
            if outcome.success:
                mark_validated(con, check_name, pending)
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={**outcome.to_metadata(), "loads_validated": len(pending)},
        )

    return _check


raw_checks = [_build_raw_check(name) for name in SOURCES]


@dg.asset_check(
    asset=SOFT_CHECK_MODEL,
    name="gx_contribution_amounts",
    blocking=False,
    description="Soft findings on lines loaded since the last pass: amount vs base x rate beyond 0.01, "
    "base outside the year's floor and cap.",
)
def contribution_amounts_check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    check_name = "gx_contribution_amounts"
    with warehouse.connect() as con:
        # The loads come from raw (cheap); the checks view prices every line it is asked for.
        pending, passed_before = pending_loads(con, check_name, "raw.ledgers")
        if not pending:
            return _nothing_new(check_name, dg.AssetCheckSeverity.WARN)
        if passed_before and None not in pending:
            outcome = gx_run.validate_contribution_checks(
                con,
                "source_file in (select distinct source_file from raw.ledgers "
                "where superseded_at is null and load_id in (select unnest(?::varchar[])))",
                params=[pending],
            )
        else:
            outcome = gx_run.validate_contribution_checks(con)
        record_outcome(con, check_name, False, outcome)
        # Findings are reported, never blocking: the lines count as seen either way.
        mark_validated(con, check_name, pending)
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={**outcome.to_metadata(), "loads_validated": len(pending)},
    )
