"""The dashboard's queries, one module per page under dashboards/queries/, re-exported here.

The views call `data.<function>`; the SQL lives in the page modules, which read only marts,
reference data and meta tables of the serving copy and never decide a rule themselves.
"""

from __future__ import annotations

from dashboards.queries.arrears import (
    AGEING_BUCKETS,
    ARREARS_MONEY,
    LATE_FEE_MONEY,
    arrears_ageing,
    arrears_as_of_dates,
    arrears_lines,
    arrears_periods,
    arrears_totals,
    arrears_units,
    late_fees,
)
from dashboards.queries.common import (
    GROUP_DIMENSIONS,
    as_of_date,
    build_info,
    current_period,
    fee_periods,
    insurance_types,
    regions,
    unit,
    units,
)
from dashboards.queries.employer import roster, unit_contributions, unit_periods
from dashboards.queries.overview import monthly_totals, overview, trend
from dashboards.queries.quality import (
    SOFT_FINDING_COLUMNS,
    SOFT_FINDING_MONEY,
    describe_failures,
    expectation_results,
    load_files,
    mask_frame,
    mask_ids,
    quarantine_by_category,
    quarantine_by_file,
    quarantine_rows,
    soft_findings,
)
from dashboards.queries.retirement import retirement_people, retirement_wave

__all__ = [
    "AGEING_BUCKETS",
    "ARREARS_MONEY",
    "GROUP_DIMENSIONS",
    "LATE_FEE_MONEY",
    "SOFT_FINDING_COLUMNS",
    "SOFT_FINDING_MONEY",
    "arrears_ageing",
    "arrears_as_of_dates",
    "arrears_lines",
    "arrears_periods",
    "arrears_totals",
    "arrears_units",
    "as_of_date",
    "build_info",
    "current_period",
    "describe_failures",
    "expectation_results",
    "fee_periods",
    "insurance_types",
    "late_fees",
    "load_files",
    "mask_frame",
    "mask_ids",
    "monthly_totals",
    "overview",
    "quarantine_by_category",
    "quarantine_by_file",
    "quarantine_rows",
    "regions",
    "retirement_people",
    "retirement_wave",
    "roster",
    "soft_findings",
    "trend",
    "unit",
    "unit_contributions",
    "unit_periods",
    "units",
]
