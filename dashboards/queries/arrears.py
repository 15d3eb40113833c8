"""欠费: totals, ageing, units and the drill-down, from the arrears marts as computed by dbt.

One vocabulary on every page: 欠缴本金 (money still owed after its due date), 欠费滞纳金 (late
fees on that money), 逾期缴费滞纳金 (late fees on money that arrived after its due date),
欠费单位 (a unit that still owes) and 逾期缴费单位 (a unit that only paid late), read from
fct_arrears, fct_late_fees and rpt_unit_arrears.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from dashboards.db import Reader
from dashboards.queries.common import as_of_date

# Ageing buckets of money still owed, in days owed (presentation only; days come from fct_arrears).
AGEING_BUCKETS = (
    (0, 30, "30天以内"),
    (31, 90, "31-90天"),
    (91, 180, "91-180天"),
    (181, 365, "181-365天"),
    (366, None, "一年以上"),
)
ARREARS_MONEY = [
    "应缴金额",
    "已到账金额",
    "欠缴本金",
    "欠费滞纳金",
    "逾期到账金额",
    "逾期缴费滞纳金",
    "滞纳金合计",
    "应补缴合计",
]
LATE_FEE_MONEY = ["计费金额", "滞纳金"]


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


def _where(alias: str, as_of: dt.date | None, unit_id: str | None, params: list, base: str = "true") -> str:
    where = f"where {base}"
    if as_of is not None:
        where += f" and {alias}.as_of_date = ?"
        params.append(as_of)
    if unit_id:
        where += f" and {alias}.unit_id = ?"
        params.append(unit_id)
    return where


def arrears_totals(r: Reader, as_of: dt.date | None = None, unit_id: str | None = None) -> dict:
    """欠缴本金, both late fees and the units in arrears (rpt_unit_arrears: 欠费单位 / 逾期缴费单位)."""
    params: list = []
    where = _where("a", as_of, unit_id, params)
    row = r.rows(
        f"""select coalesce(sum(outstanding), 0), coalesce(sum(late_fee_on_owed), 0),
                   coalesce(sum(late_fee_on_paid_late), 0), coalesce(sum(late_fee), 0),
                   count(*) filter (where is_owing), count(*) filter (where not is_owing)
            from marts.rpt_unit_arrears a {where}""",
        params,
    )[0]
    return {
        "outstanding": Decimal(row[0]),
        "late_fee_on_owed": Decimal(row[1]),
        "late_fee_on_paid_late": Decimal(row[2]),
        "late_fee": Decimal(row[3]),
        "units_owing": row[4],
        "units_paid_late": row[5],
    }


def arrears_ageing(r: Reader, as_of: dt.date | None = None, unit_id: str | None = None) -> pd.DataFrame:
    """欠缴本金 and 欠费滞纳金 by how long the money has been owed (money paid late is not owed)."""
    params: list = []
    where = _where("a", as_of, unit_id, params, base="a.is_owed")
    return r.df(
        f"""select {_bucket_case("a.days_owed")} as 账龄, count(*) as 笔数,
                   count(distinct a.unit_id) as 单位数,
                   sum(a.outstanding) as 欠缴本金, sum(a.late_fee_on_owed) as 欠费滞纳金
            from marts.fct_arrears a {where}
            group by 1 order by {_bucket_order("账龄")}""",
        params,
    )


def arrears_units(r: Reader, as_of: dt.date | None = None, limit: int = 20) -> pd.DataFrame:
    """Units in arrears first (by 欠缴本金), then units that only paid late (by 逾期缴费滞纳金)."""
    params: list = []
    where = _where("a", as_of, None, params)
    params.append(limit)
    return r.df(
        f"""select a.unit_id as 单位编号, a.unit_name as 单位名称, a.arrears_status_label as 类别,
                   a.owed_period_count as 欠费月数, a.outstanding as 欠缴本金, a.late_fee_on_owed as 欠费滞纳金,
                   a.late_fee_on_paid_late as 逾期缴费滞纳金, a.total_payable as 应补缴合计,
                   a.max_days_owed as 最长欠费天数, a.max_days_paid_late as 最长逾期缴费天数
            from marts.rpt_unit_arrears a {where}
            order by a.is_owing desc, a.outstanding desc, a.late_fee desc, a.unit_id limit ?""",
        params,
    )


def arrears_periods(r: Reader, unit_id: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """One unit's arrears by fee period and insurance (the drill-down's first level)."""
    params: list = []
    where = _where("a", as_of, unit_id, params)
    return r.df(
        f"""select a.fee_period as 费款所属期, coalesce(it.insurance_name, cast(a.insurance_type as varchar)) as 险种,
                   cast(a.insurance_type as varchar) as 险种代码,
                   a.amount_due as 应缴金额, a.amount_paid as 已到账金额, a.due_date as 缴费截止日期,
                   a.outstanding as 欠缴本金, a.days_owed as 欠费天数, a.late_fee_on_owed as 欠费滞纳金,
                   a.late_paid_amount as 逾期到账金额, a.last_late_arrival_date as 到账日期,
                   a.days_paid_late as 逾期缴费天数, a.late_fee_on_paid_late as 逾期缴费滞纳金
            from marts.fct_arrears a
            left join reference.insurance_types it
              on cast(it.insurance_type as varchar) = cast(a.insurance_type as varchar)
            {where}
            order by a.fee_period, a.insurance_type""",
        params,
    )


def late_fees(r: Reader, unit_id: str, as_of: dt.date | None = None) -> pd.DataFrame:
    """Each late fee with what it is computed from: 计费金额 x 日费率 x 逾期天数 = 滞纳金 (fct_late_fees)."""
    params: list = []
    where = _where("f", as_of, unit_id, params)
    return r.df(
        f"""select f.fee_period as 费款所属期, coalesce(it.insurance_name, cast(f.insurance_type as varchar)) as 险种,
                   f.contribution_type as 缴费类型, f.fee_kind_label as 滞纳金类型,
                   f.charged_amount as 计费金额, f.due_date as 缴费截止日期, f.arrival_date as 到账日期,
                   f.charged_from as 计费起始日, f.charged_to as 计费截止日, f.days_overdue as 逾期天数,
                   f.daily_rate as 日费率, f.late_fee as 滞纳金
            from marts.fct_late_fees f
            left join reference.insurance_types it
              on cast(it.insurance_type as varchar) = cast(f.insurance_type as varchar)
            {where}
            order by f.fee_period, coalesce(it.sort_order, 999), f.contribution_type, f.fee_kind,
                     f.end_date, f.charged_from""",
        params,
    )


def arrears_lines(r: Reader, unit_id: str, fee_period: str, insurance_type: str) -> pd.DataFrame:
    """The contribution lines behind one arrears row (the drill-down's second level)."""
    return r.df(
        """select c.person_id as 个人编号, p.name as 姓名, p.id_number_masked as 证件号码,
                  c.contribution_type as 缴费类型, c.total_amount as 应缴金额,
                  c.paid_amount as 到账金额, c.paid_status as 到账标志, c.paid_date as 到账日期
           from marts.fct_contributions c left join marts.dim_persons p on p.person_id = c.person_id
           where c.unit_id = ? and c.fee_period = ? and cast(c.insurance_type as varchar) = ?
           order by c.person_id, c.contribution_type""",
        [unit_id, fee_period, str(insurance_type)],
    )
