"""Great Expectations suites (expectations/) run as Dagster asset checks.

The raw-table suites block everything downstream when they fail; the soft suite over
contribution lines checked against reference data only reports.

Each check validates the loads it has not yet passed (raw.gx_validated_loads), not the
whole history again: a new month costs what the month costs. Uniqueness of the natural
key still covers old rows, because the scope includes every live row sharing a key with a
new row. A load that failed a check stays unvalidated, so the check keeps failing until
the data are corrected.
"""

import json

import dagster as dg

from expectations import run as gx_run
from foundation.landing.schema import SOURCES, raw_column_name
from pipelines.defs.ingestion.assets import raw_asset_key
from pipelines.resources import WarehouseResource

SOFT_CHECK_MODEL = dg.AssetKey(["int_contribution_checks"])
VALIDATED_LOADS = "raw.gx_validated_loads"


def record_outcome(con, check_name: str, blocking: bool, outcome: gx_run.CheckOutcome) -> None:
    """Keep every GX result in the warehouse so the serving copy (and the 数据质量 page) can show it."""
    con.execute("""create table if not exists raw.expectation_results (
        check_name varchar, suite varchar, blocking boolean, success boolean, row_count bigint,
        evaluated_expectations integer, successful_expectations integer, failures varchar, checked_at timestamp)""")
    con.execute(
        "insert into raw.expectation_results values (?, ?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
        [
            check_name,
            outcome.suite,
            blocking,
            outcome.success,
            outcome.row_count,
            outcome.evaluated_expectations,
            outcome.successful_expectations,
            json.dumps(outcome.to_metadata()["failures"], ensure_ascii=False),
        ],
    )


def pending_loads(con, check_name: str, relation: str) -> tuple[list[str], bool]:
    """(loads of `relation` this check has not passed with their current row count, whether it passed any).

    Counting live rows per load means a row changed behind the loader's back (added to or
    superseded in an old load) puts that load back in scope.
    """
    con.execute(
        f"create table if not exists {VALIDATED_LOADS} "
        "(check_name varchar, load_id varchar, live_rows bigint, validated_at timestamp)"
    )
    con.execute(
        f"""create or replace temp table gx_live_loads as
                   select load_id, count(*) as live_rows from {relation} where superseded_at is null group by 1"""
    )
    done = con.execute(f"select count(*) from {VALIDATED_LOADS} where check_name = ?", [check_name]).fetchone()[0]
    pending = [
        r[0]
        for r in con.execute(
            f"""select l.load_id from gx_live_loads as l
            left join (select load_id, arg_max(live_rows, validated_at) as live_rows
                       from {VALIDATED_LOADS} where check_name = ? group by 1) as v using (load_id)
            where v.live_rows is distinct from l.live_rows
            order by 1""",
            [check_name],
        ).fetchall()
    ]
    return pending, done > 0


def mark_validated(con, check_name: str, load_ids: list[str]) -> None:
    con.execute(
        f"""insert into {VALIDATED_LOADS}
                    select ?, load_id, live_rows, current_localtimestamp()
                    from gx_live_loads where load_id in (select unnest(?::varchar[]))""",
        [check_name, load_ids],
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
        description=f"Great Expectations suite '{source}' on the rows of raw.{source} loaded since its last pass (blocking).",
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

    _check.__name__ = check_name
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
