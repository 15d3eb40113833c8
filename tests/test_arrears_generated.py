"""The arrears vocabulary on generated data: every late fee reproducible from its row, and every page
and the CLI counting the same units in arrears (the fixture's figures are in test_dashboard*.py)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from dashboards import data as dash_data
from dashboards.db import Reader
from foundation import paths
from tests.support.warehouse import build_generated_warehouse

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return build_generated_warehouse(tmp_path_factory.mktemp("arrears_generated"), persons=60)


def test_every_late_fee_reproducible_and_pages_agree(generated):
    con = duckdb.connect(str(paths.serving_path(generated)), read_only=True)
    try:
        fees = con.execute(
            """select unit_id, fee_period, insurance_type, fee_kind, charged_amount, due_date, arrival_date, end_date,
                      charged_from, charged_to, days_overdue, daily_rate, late_fee, as_of_date
               from marts.fct_late_fees"""
        ).fetchall()
        arrears = {
            (u, p, i): (owed, fee_owed, fee_late)
            for u, p, i, owed, fee_owed, fee_late in con.execute(
                """select unit_id, fee_period, insurance_type, outstanding, late_fee_on_owed, late_fee_on_paid_late
                   from marts.fct_arrears"""
            ).fetchall()
        }
        r = Reader(con)
        overview, totals = dash_data.overview(r), dash_data.arrears_totals(r)
        units = dash_data.arrears_units(r, limit=10_000)
    finally:
        con.close()
    assert fees, "the generated data has late fees"
    summed: dict[tuple, list[Decimal]] = {}
    for unit, period, ins, kind, amount, due, arrival, end, start, stop, days, rate, fee, as_of in fees:
        assert start == due + dt.timedelta(days=1) or start.day == 1  # the day after the due date, or a rate's start
        assert days == (stop - start).days + 1 and stop <= end
        assert end == (arrival if kind == "paid_late" else as_of)
        assert fee == (amount * rate * days).quantize(Decimal("0.01"), ROUND_HALF_UP)
        pair = summed.setdefault((unit, period, ins), [Decimal("0.00"), Decimal("0.00")])
        pair[0 if kind == "owed" else 1] += fee
    for key, (owed_fee, late_fee) in summed.items():
        assert arrears[key][1:] == (owed_fee, late_fee), key
    owing = {u for (u, _, _), (owed, _, _) in arrears.items() if owed > 0}
    assert overview["units_owing"] == totals["units_owing"] == len(owing)
    assert list(units["类别"]).count("欠费单位") == len(owing)
    assert overview["arrears_outstanding"] == totals["outstanding"] == sum(v[0] for v in arrears.values())
