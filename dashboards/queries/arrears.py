"""欠费: totals, ageing, top units and the drill-down, from fct_arrears as computed by dbt."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from dashboards.db import Reader
from dashboards.queries.common import as_of_date

# Ageing buckets for overdue money, in days overdue (presentation only; days come from fct_arrears).
AGEING_BUCKETS = (
    (0, 30, "30天以内"),
    (31, 90, "31-90天"),
    (91, 180, "91-180天"),
    (181, 365, "181-365天"),
    (366, None, "一年以上"),
)


def _bucket_case(col: str) -> str:
    parts = []
    for low, high, label in AGEING_BUCKETS:
        cond = f"{col} >= {low}" + (f" and {col} <= {high}" if high is not None else "")
        parts.append(f"when {cond} then '{label}'")
    return "case " + " ".join(parts) + " else '未逾期' end"


def _bucket_order(col: str) -> str:
    parts = [f"when {col} = '{label}' then {i}" for i, (_, _, label) in enumerate(AGEING_BUCKETS)]
    return "case " + " ".join(parts) + " else 99 end"


def arrears_as_of_dates(r: Reader) -> list[dt.date]:
    """Dates the arrears were computed as of (newest first); the build's as-of date when none are owed."""
    dates = [row[0] for row in r.rows("select distinct as_of_date from marts.fct_arrears order by 1 desc")]
    return dates or [as_of_date(r)]


def _arrears_where(as_of: dt.date | None, unit_id: str | None, params: list) -> str:
    where = "where (a.outstanding > 0 or a.late_fee > 0)"  # money owed, or a late fee for money that came late
    if as_of is not None:
        where += " and a.as_of_date = ?"
        params.append(as_of)
    if unit_id:
        where += " and a.unit_id = ?"
        params.append(unit_id)
    return where


def arrears_totals(r: Reader, as_of: dt.date | None = None, unit_id: str | None = None) -> dict:
    params: list = []
    where = _arrears_where(as_of, unit_id, params)
    row = r.rows(
        f"""select coalesce(sum(outstanding), 0), coalesce(sum(late_fee), 0),
                           count(distinct unit_id), count(*)
                    from marts.fct_arrears a {where}""",
        params,
    )[0]
    return {"outstanding": Decimal(row[0]), "late_fee": Decimal(row[1]), "units": row[2], "lines": row[3]}


def arrears_ageing(r: Reader, as_of: dt.date | None = None, unit_id: str | None = None) -> pd.DataFrame:
    params: list = []
    where = _arrears_where(as_of, unit_id, params)
    return r.df(
        f"""select {_bucket_case("a.days_overdue")} as 账龄, count(*) as 笔数,
                   count(distinct a.unit_id) as 单位数,
                   sum(a.outstanding) as 欠费金额, sum(a.late_fee) as 滞纳金
            from marts.fct_arrears a {where}
            group by 1 order by {_bucket_order("账龄")}""",
        params,
    )


def arrears_top_units(r: Reader, as_of: dt.date | None = None, limit: int = 20) -> pd.DataFrame:
    params: list = []
    where = _arrears_where(as_of, None, params)
    params.append(limit)
    return r.df(
        f"""select a.unit_id as 单位编号, u.unit_name as 单位名称,
                   count(distinct a.fee_period) as 欠费月数,
                   sum(a.outstanding) as 欠费金额, sum(a.late_fee) as 滞纳金,
                   max(a.days_overdue) as 最长逾期天数
            from marts.fct_arrears a left join marts.dim_units u on u.unit_id = a.unit_id
            {where}
            group by all order by 欠费金额 desc, 单位编号 limit ?""",
        params,
    )


def arrears_periods(r: Reader, unit_id: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """One unit's arrears by fee period and insurance (the drill-down's first level)."""
    params: list = []
    where = _arrears_where(as_of, unit_id, params)
    return r.df(
        f"""select a.fee_period as 费款所属期, coalesce(it.insurance_name, cast(a.insurance_type as varchar)) as 险种,
                   cast(a.insurance_type as varchar) as 险种代码,
                   a.amount_due as 应缴金额, a.amount_paid as 已到账金额, a.outstanding as 欠费金额,
                   a.due_date as 缴费截止日, a.days_overdue as 逾期天数, a.late_fee as 滞纳金
            from marts.fct_arrears a
            left join reference.insurance_types it
              on cast(it.insurance_type as varchar) = cast(a.insurance_type as varchar)
            {where}
            order by a.fee_period, a.insurance_type""",
        params,
    )


def arrears_lines(r: Reader, unit_id: str, fee_period: str, insurance_type: str) -> pd.DataFrame:
    """The contribution lines behind one arrears row (the drill-down's second level)."""
    return r.df(
        """select c.person_id as 个人编号, p.name as 姓名, p.id_number_masked as 证件号码,
                  c.contribution_type as 缴费类型, c.total_amount as 应缴金额,
                  c.paid_amount as 到账金额, c.paid_status as 到账标志
           from marts.fct_contributions c left join marts.dim_persons p on p.person_id = c.person_id
           where c.unit_id = ? and c.fee_period = ? and cast(c.insurance_type as varchar) = ?
           order by c.person_id, c.contribution_type""",
        [unit_id, fee_period, str(insurance_type)],
    )
