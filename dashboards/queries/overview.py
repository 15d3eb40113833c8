"""总览 and 缴费趋势: KPIs per fee period (rpt_arrival_by_period) and the trend by dimension."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from dashboards.db import Reader
from dashboards.queries.common import GROUP_DIMENSIONS, current_period, in_list


def _month(r: Reader, period: str | None) -> dict:
    empty = {"persons": 0, "units": 0, "total": Decimal("0.00"), "paid": Decimal("0.00"), "arrival_rate": None}
    if period is None:
        return empty
    rows = r.rows(
        """select person_count, unit_count, amount_due, amount_paid, arrival_rate
           from marts.rpt_arrival_by_period where fee_period = ?""",
        [period],
    )
    if not rows:
        return empty
    persons, units, total, paid, rate = rows[0]
    return {"persons": persons, "units": units, "total": total, "paid": paid, "arrival_rate": rate}


def overview(r: Reader) -> dict:
    """KPIs for the current and the previous fee period: people, units, money, arrival rate, arrears."""
    current, previous = current_period(r)
    arrears = r.rows(
        """select coalesce(sum(outstanding), 0),
                  coalesce(sum(outstanding) filter (where fee_period = ?), 0),
                  coalesce(sum(late_fee_on_owed), 0),
                  coalesce(sum(late_fee_on_paid_late), 0)
           from marts.fct_arrears""",
        [current],
    )[0]
    # units in arrears as the 欠费 page counts them (rpt_unit_arrears)
    units = r.rows(
        """select count(*) filter (where is_owing), count(*) filter (where not is_owing)
           from marts.rpt_unit_arrears"""
    )[0]
    insured_now = r.scalar("select count(distinct person_id) from marts.fct_enrolments where is_current")
    return {
        "current_period": current,
        "previous_period": previous,
        "current": _month(r, current),
        "previous": _month(r, previous),
        "insured_now": insured_now,
        "arrears_outstanding": Decimal(arrears[0]),
        "arrears_new": Decimal(arrears[1]),
        "late_fee_on_owed": Decimal(arrears[2]),
        "late_fee_on_paid_late": Decimal(arrears[3]),
        "units_owing": units[0],
        "units_paid_late": units[1],
    }


def monthly_totals(r: Reader, last: int = 12) -> pd.DataFrame:
    return r.df(
        """select fee_period as 费款所属期, person_count as 缴费人数, unit_count as 缴费单位数,
                  amount_due as 应缴金额, amount_paid as 到账金额
           from marts.rpt_arrival_by_period
           order by fee_period desc limit ?""",
        [last],
    ).sort_values("费款所属期")


def trend(
    r: Reader,
    period_from: str | None,
    period_to: str | None,
    regions_: list[str] | None,
    unit_id: str | None,
    insurances: list[str] | None,
    by: str = "insurance",
) -> pd.DataFrame:
    """Money and headcount per month and chosen dimension, filtered as the URL says."""
    label, expr = GROUP_DIMENSIONS.get(by, GROUP_DIMENSIONS["insurance"])
    params: list = []
    where = "where 1 = 1"
    if period_from:
        where += " and c.fee_period >= ?"
        params.append(period_from)
    if period_to:
        where += " and c.fee_period <= ?"
        params.append(period_to)
    where += in_list("c.region_code", regions_, params)
    if unit_id:
        where += " and c.unit_id = ?"
        params.append(unit_id)
    where += in_list("cast(c.insurance_type as varchar)", insurances, params)
    return r.df(
        f"""select c.fee_period as 费款所属期, {expr} as "{label}",
                   count(distinct c.person_id) as 缴费人数,
                   sum(c.personal_amount) as 个人缴费,
                   sum(c.unit_amount) as 单位缴费,
                   sum(c.total_amount) as 应缴金额,
                   sum(c.paid_amount) as 到账金额
            from marts.fct_contributions c
            left join marts.dim_units u on u.unit_id = c.unit_id
            left join reference.insurance_types it
              on cast(it.insurance_type as varchar) = cast(c.insurance_type as varchar)
            left join reference.regions rg on rg.region_code = c.region_code
            {where}
            group by all order by 1, 2""",
        params,
    )
