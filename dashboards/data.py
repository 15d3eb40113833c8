"""Every SQL statement the dashboard runs, in one place, against the serving copy.

Figures (amounts, ages, arrears, late fees) come from the dbt marts as they are; this
module only filters, sums and groups them for display. Employer functions take the unit id
as a bound parameter that the caller takes from the authenticated session, never from the
URL. Column names of the marts are those fixed by issue 3.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

from dashboards.db import Reader

# Ageing buckets for overdue money, in days overdue (presentation only; days come from fct_arrears).
AGEING_BUCKETS = (
    (0, 30, "30天以内"),
    (31, 90, "31-90天"),
    (91, 180, "91-180天"),
    (181, 365, "181-365天"),
    (366, None, "一年以上"),
)

GROUP_DIMENSIONS = {
    "insurance": ("险种", "coalesce(it.insurance_short_name, c.insurance_type)"),
    "region": ("参保地", "coalesce(rg.region_name, c.region_code)"),
    "unit_type": ("单位类型", "coalesce(u.unit_type, '未知')"),
    "none": ("合计", "'合计'"),
}


def _bucket_case(col: str) -> str:
    parts = []
    for low, high, label in AGEING_BUCKETS:
        cond = f"{col} >= {low}" + (f" and {col} <= {high}" if high is not None else "")
        parts.append(f"when {cond} then '{label}'")
    return "case " + " ".join(parts) + " else '未逾期' end"


def _bucket_order(col: str) -> str:
    parts = [f"when {col} = '{label}' then {i}" for i, (_, _, label) in enumerate(AGEING_BUCKETS)]
    return "case " + " ".join(parts) + " else 99 end"


def _in_list(column: str, values: list | tuple | None, params: list) -> str:
    if not values:
        return ""
    params.extend(values)
    return f" and {column} in ({', '.join('?' for _ in values)})"


# ---------------------------------------------------------------- build info and lookups


def build_info(r: Reader) -> dict:
    """published_at and as_of of the snapshot (meta.build_info); None values if absent."""
    if not r.has_table("meta", "build_info"):
        return {"published_at": None, "as_of": None}
    row = r.rows("select published_at, as_of from meta.build_info limit 1")
    if not row:
        return {"published_at": None, "as_of": None}
    return {"published_at": row[0][0], "as_of": row[0][1]}


def as_of_date(r: Reader) -> dt.date:
    return build_info(r)["as_of"] or dt.date.today()


def insurance_types(r: Reader) -> pd.DataFrame:
    return r.df("""select cast(insurance_type as varchar) as insurance_type, insurance_name,
                          insurance_short_name
                   from reference.insurance_types order by sort_order""")


def regions(r: Reader) -> pd.DataFrame:
    return r.df("select region_code, region_name from reference.regions order by region_code")


def units(r: Reader) -> pd.DataFrame:
    return r.df("select unit_id, unit_name, unit_type, region_code from marts.dim_units order by unit_id")


def unit(r: Reader, unit_id: str) -> dict | None:
    df = r.df(
        """select u.unit_id, u.unit_name, u.unit_type, u.region_code, rg.region_name
                 from marts.dim_units u left join reference.regions rg using (region_code)
                 where u.unit_id = ?""",
        [unit_id],
    )
    return df.iloc[0].to_dict() if len(df) else None


def fee_periods(r: Reader) -> list[str]:
    return [row[0] for row in r.rows("select distinct fee_period from marts.fct_contributions order by fee_period")]


def current_period(r: Reader) -> tuple[str | None, str | None]:
    """The latest fee period with lines, not after the as-of month, and the one before it."""
    as_of = as_of_date(r)
    rows = r.rows(
        """select distinct fee_period from marts.fct_contributions
           where fee_period <= strftime(?::date, '%Y%m') order by fee_period desc limit 2""",
        [as_of],
    )
    if not rows:
        rows = r.rows("select distinct fee_period from marts.fct_contributions order by fee_period desc limit 2")
    current = rows[0][0] if rows else None
    previous = rows[1][0] if len(rows) > 1 else None
    return current, previous


# ---------------------------------------------------------------- 总览


def overview(r: Reader) -> dict:
    """KPIs for the current and the previous fee period: people, units, money, arrival rate, arrears."""
    current, previous = current_period(r)

    def month(period: str | None) -> dict:
        if period is None:
            return {"persons": 0, "units": 0, "total": Decimal("0.00"), "paid": Decimal("0.00"), "arrival_rate": None}
        row = r.rows(
            """select count(distinct person_id), count(distinct unit_id),
                      coalesce(sum(total_amount), 0), coalesce(sum(paid_amount), 0)
               from marts.fct_contributions where fee_period = ?""",
            [period],
        )[0]
        total, paid = Decimal(row[2]), Decimal(row[3])
        rate = (paid / total * 100) if total else None
        return {"persons": row[0], "units": row[1], "total": total, "paid": paid, "arrival_rate": rate}

    arrears = r.rows(
        """select coalesce(sum(outstanding), 0),
                  coalesce(sum(outstanding) filter (where fee_period = ?), 0),
                  coalesce(sum(late_fee), 0),
                  count(distinct unit_id) filter (where outstanding > 0)
           from marts.fct_arrears""",
        [current],
    )[0]
    insured_now = r.scalar("select count(distinct person_id) from marts.fct_enrolments where is_current")
    return {
        "current_period": current,
        "previous_period": previous,
        "current": month(current),
        "previous": month(previous),
        "insured_now": insured_now,
        "arrears_outstanding": Decimal(arrears[0]),
        "arrears_new": Decimal(arrears[1]),
        "late_fee_total": Decimal(arrears[2]),
        "units_owing": arrears[3],
    }


def monthly_totals(r: Reader, last: int = 12) -> pd.DataFrame:
    return r.df(
        """select fee_period as 费款所属期, count(distinct person_id) as 缴费人数,
                  count(distinct unit_id) as 缴费单位数,
                  sum(total_amount) as 应缴金额, sum(paid_amount) as 到账金额
           from marts.fct_contributions
           group by fee_period order by fee_period desc limit ?""",
        [last],
    ).sort_values("费款所属期")


# ---------------------------------------------------------------- 缴费趋势


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
    where += _in_list("c.region_code", regions_, params)
    if unit_id:
        where += " and c.unit_id = ?"
        params.append(unit_id)
    where += _in_list("cast(c.insurance_type as varchar)", insurances, params)
    return r.df(
        f"""select c.fee_period as 费款所属期, {expr} as "{label}",
                   count(distinct c.person_id) as 缴费人数,
                   sum(c.personal_amount) as 个人缴费,
                   sum(c.unit_amount) as 单位缴费,
                   sum(c.total_amount) as 应缴金额,
                   sum(c.paid_amount) as 到账金额
            from marts.fct_contributions c
            left join marts.dim_units u on u.unit_id = c.unit_id
            left join reference.insurance_types it on cast(it.insurance_type as varchar) = cast(c.insurance_type as varchar)
            left join reference.regions rg on rg.region_code = c.region_code
            {where}
            group by all order by 1, 2""",
        params,
    )


# ---------------------------------------------------------------- 欠费


def _arrears_as_of_column(r: Reader) -> str | None:
    cols = r.columns("marts", "fct_arrears")
    return next((c for c in ("as_of_date", "as_of") if c in cols), None)


def arrears_as_of_dates(r: Reader) -> list[dt.date]:
    """Dates the arrears were computed as of: the mart's as-of column (newest first), else the build's."""
    col = _arrears_as_of_column(r)
    if col:
        dates = [row[0] for row in r.rows(f"select distinct {col} from marts.fct_arrears order by 1 desc")]
        if dates:
            return dates
    return [as_of_date(r)]


def _arrears_where(r: Reader, as_of: dt.date | None, unit_id: str | None, params: list) -> str:
    where = "where (a.outstanding > 0 or a.late_fee > 0)"  # money owed, or a late fee for money that came late
    col = _arrears_as_of_column(r)
    if as_of is not None and col:
        where += f" and a.{col} = ?"
        params.append(as_of)
    if unit_id:
        where += " and a.unit_id = ?"
        params.append(unit_id)
    return where


def arrears_totals(r: Reader, as_of: dt.date | None = None, unit_id: str | None = None) -> dict:
    params: list = []
    where = _arrears_where(r, as_of, unit_id, params)
    row = r.rows(
        f"""select coalesce(sum(outstanding), 0), coalesce(sum(late_fee), 0),
                           count(distinct unit_id), count(*)
                    from marts.fct_arrears a {where}""",
        params,
    )[0]
    return {"outstanding": Decimal(row[0]), "late_fee": Decimal(row[1]), "units": row[2], "lines": row[3]}


def arrears_ageing(r: Reader, as_of: dt.date | None = None, unit_id: str | None = None) -> pd.DataFrame:
    params: list = []
    where = _arrears_where(r, as_of, unit_id, params)
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
    where = _arrears_where(r, as_of, None, params)
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
    where = _arrears_where(r, as_of, unit_id, params)
    return r.df(
        f"""select a.fee_period as 费款所属期, coalesce(it.insurance_name, cast(a.insurance_type as varchar)) as 险种,
                   cast(a.insurance_type as varchar) as 险种代码,
                   a.amount_due as 应缴金额, a.amount_paid as 已到账金额, a.outstanding as 欠费金额,
                   a.due_date as 缴费截止日, a.days_overdue as 逾期天数, a.late_fee as 滞纳金
            from marts.fct_arrears a
            left join reference.insurance_types it on cast(it.insurance_type as varchar) = cast(a.insurance_type as varchar)
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


# ---------------------------------------------------------------- 退休到龄


def _window(start: dt.date, months: int) -> tuple[dt.date, str]:
    return start.replace(day=1), f"{months} months"


def retirement_wave(r: Reader, start: dt.date, months: int = 36, unit_id: str | None = None) -> pd.DataFrame:
    """Per month and group in the window: people reaching statutory age now vs under the pre-2025 ages.

    The pre-2025 month is the mart's original_retirement_month (birth month + the group's
    original age from reference.retirement_reform_groups).
    """
    first, span = _window(start, months)
    params: list = [first, first, span]
    unit_filter = ""
    if unit_id:
        unit_filter = " and d.unit_id = ?"
    sql = f"""
        with months as (
            select cast(m as date) as month
            from range(?::date, ?::date + ?::interval, interval 1 month) t(m)
        ),
        people as (
            select d.person_id, d.retirement_group, d.retirement_month, rules.original_retirement_month
            from marts.rpt_retirement_due d
            left join marts.dim_retirement_age_rules rules
              on rules.birth_month = d.birth_month and rules.retirement_group = d.retirement_group
            where 1 = 1 {unit_filter}
        ),
        groups as (select retirement_group, group_label from reference.retirement_reform_groups)
        select strftime(m.month, '%Y-%m') as 月份, g.group_label as 人员类别,
               (select count(*) from people p where p.retirement_group = g.retirement_group
                  and p.retirement_month = m.month) as 现行法定到龄人数,
               (select count(*) from people p where p.retirement_group = g.retirement_group
                  and p.original_retirement_month = m.month) as 改革前到龄人数
        from months m cross join groups g
        order by 1, g.retirement_group"""
    if unit_id:
        params.append(unit_id)
    return r.df(sql, params)


def retirement_people(
    r: Reader, start: dt.date, months: int = 36, unit_id: str | None = None, short_only: bool = False
) -> pd.DataFrame:
    first, span = _window(start, months)
    params: list = [first, first, span]
    where = "where d.retirement_month >= ? and d.retirement_month < ?::date + ?::interval"
    if unit_id:
        where += " and d.unit_id = ?"
        params.append(unit_id)
    if short_only:
        where += " and d.shortfall_months > 0"
    return r.df(
        f"""select d.person_id as 个人编号, d.name as 姓名, d.id_number_masked as 证件号码,
                   d.unit_id as 单位编号, d.unit_name as 单位名称, g.group_label as 人员类别,
                   strftime(d.birth_month, '%Y-%m') as 出生年月,
                   d.statutory_age_label as 法定退休年龄,
                   strftime(d.retirement_month, '%Y-%m') as 法定退休年月,
                   strftime(rules.original_retirement_month, '%Y-%m') as 改革前退休年月,
                   d.contribution_months as 已缴费月数, d.required_months as 最低缴费月数,
                   d.shortfall_months as 尚缺月数
            from marts.rpt_retirement_due d
            left join marts.dim_retirement_age_rules rules
              on rules.birth_month = d.birth_month and rules.retirement_group = d.retirement_group
            left join reference.retirement_reform_groups g on g.retirement_group = d.retirement_group
            {where}
            order by d.retirement_month, d.person_id""",
        params,
    )


# ---------------------------------------------------------------- 数据质量


def _source_label(col: str) -> str:
    """The landing source's Chinese name from the input contract (pipelines/ingest/schema.py)."""
    from foundation.landing.schema import SOURCES

    whens = " ".join(f"when '{name}' then '{src.label}'" for name, src in SOURCES.items())
    return f"case {col} {whens} else {col} end"


def _current_quarantine(r: Reader) -> str:
    """Rows of superseded file versions no longer count."""
    return "superseded_at is null" if "superseded_at" in r.columns("raw", "quarantine") else "true"


def quarantine_by_reason(r: Reader) -> pd.DataFrame:
    return r.df(f"""select {_source_label("source")} as 数据源, reason as 原因, count(*) as 行数
                   from raw.quarantine where {_current_quarantine(r)} group by all order by 行数 desc, 原因""")


def quarantine_by_file(r: Reader) -> pd.DataFrame:
    return r.df(f"""select {_source_label("source")} as 数据源, source_file as 文件, count(*) as 隔离行数
                   from raw.quarantine where {_current_quarantine(r)} group by all order by 文件""")


def quarantine_rows(r: Reader, reason: str | None = None, source_file: str | None = None) -> pd.DataFrame:
    params: list = []
    where = f"where {_current_quarantine(r)}"
    if reason:
        where += " and reason = ?"
        params.append(reason)
    if source_file:
        where += " and source_file = ?"
        params.append(source_file)
    return r.df(
        f"""select {_source_label("source")} as 数据源, source_file as 文件, source_row as 行号, field as 字段,
                           value as 值, reason as 原因
                    from raw.quarantine {where} order by source_file, source_row, field""",
        params,
    )


LOAD_FILE_COLUMNS = (
    ("source_file", "文件"),
    ("version", "版本"),
    ("status", "状态"),
    ("rows_read", "读取行数"),
    ("rows_loaded", "入库行数"),
    ("rows_quarantined", "隔离行数"),
    ("rows_skipped", "跳过模板行数"),
    ("error", "错误"),
    ("loaded_at", "接收时间"),
    ("replaced_by", "被替换为"),
)


def load_files(r: Reader) -> pd.DataFrame:
    """Per landing file: what was read, loaded, quarantined (raw.load_files, labelled in Chinese)."""
    cols = r.columns("raw", "load_files")
    picked = [f'{c} as "{label}"' for c, label in LOAD_FILE_COLUMNS if c in cols]
    source = f"{_source_label('source')} as 数据源, " if "source" in cols else ""
    order = "source, source_file" if {"source", "source_file"} <= cols else "1"
    return r.df(f"select {source}{', '.join(picked) or '*'} from raw.load_files order by {order}")


def expectation_results(r: Reader) -> pd.DataFrame | None:
    """GX outcomes if the serving copy carries them (meta.expectation_results)."""
    if not r.has_table("meta", "expectation_results"):
        return None
    return r.df("""select check_name as 检查, suite as 校验套件,
                          case when blocking then '阻断' else '仅报告' end as 级别,
                          case when success then '通过' else '未通过' end as 结果,
                          row_count as 校验行数, evaluated_expectations as 期望数,
                          successful_expectations as 通过期望数, failures as 未通过详情, checked_at as 校验时间
                   from meta.expectation_results order by blocking desc, check_name""")


SOFT_FINDING_COLUMNS = (
    ("source_file", "文件"),
    ("source_row", "行号"),
    ("finding_type", "问题类型"),
    ("message", "说明"),
    ("unit_id", "单位编号"),
    ("person_id", "个人编号"),
    ("fee_period", "费款所属期"),
    ("insurance_type", "险种"),
    ("personal_base", "个人缴费基数"),
    ("personal_amount", "个人缴费"),
    ("expected_personal_amount", "按费率应为（个人）"),
    ("unit_amount", "单位缴费"),
    ("expected_unit_amount", "按费率应为（单位）"),
    ("base_floor", "基数下限"),
    ("base_cap", "基数上限"),
)
SOFT_FINDING_MONEY = [
    "个人缴费基数",
    "个人缴费",
    "按费率应为（个人）",
    "单位缴费",
    "按费率应为（单位）",
    "基数下限",
    "基数上限",
]


def soft_findings(r: Reader) -> pd.DataFrame | None:
    """rpt_data_quality_findings with its known columns labelled in Chinese (the row and the reason)."""
    if not r.has_table("marts", "rpt_data_quality_findings"):
        return None
    cols = r.columns("marts", "rpt_data_quality_findings")
    picked = [f'{c} as "{label}"' for c, label in SOFT_FINDING_COLUMNS if c in cols]
    if not picked:
        return r.df("select * from marts.rpt_data_quality_findings")
    order = ", ".join(c for c in ("source_file", "source_row") if c in cols) or "1"
    return r.df(f"select {', '.join(picked)} from marts.rpt_data_quality_findings order by {order}")


# ---------------------------------------------------------------- employer pages (unit bound)


def roster(r: Reader, unit_id: str) -> pd.DataFrame:
    """Current staff of one unit with the insurances they are enrolled in there."""
    return r.df(
        """select e.person_id as 个人编号, p.name as 姓名, p.id_number_masked as 证件号码, p.sex as 性别,
                  string_agg(coalesce(it.insurance_short_name, cast(e.insurance_type as varchar)), '、'
                             order by e.insurance_type) as 参保险种,
                  min(e.start_month) as 参保开始年月
           from marts.fct_enrolments e
           join marts.dim_persons p on p.person_id = e.person_id
           left join reference.insurance_types it on cast(it.insurance_type as varchar) = cast(e.insurance_type as varchar)
           where e.unit_id = ? and e.is_current
           group by all order by e.person_id""",
        [unit_id],
    )


def unit_contributions(
    r: Reader, unit_id: str, period_from: str | None, period_to: str | None, insurances: list[str] | None
) -> pd.DataFrame:
    params: list = [unit_id]
    where = "where c.unit_id = ?"
    if period_from:
        where += " and c.fee_period >= ?"
        params.append(period_from)
    if period_to:
        where += " and c.fee_period <= ?"
        params.append(period_to)
    where += _in_list("cast(c.insurance_type as varchar)", insurances, params)
    return r.df(
        f"""select c.fee_period as 费款所属期, c.person_id as 个人编号, p.name as 姓名,
                   coalesce(it.insurance_name, cast(c.insurance_type as varchar)) as 险种,
                   c.contribution_type as 缴费类型, c.personal_amount as 个人缴费, c.unit_amount as 单位缴费,
                   c.total_amount as 合计, c.paid_status as 到账标志, c.paid_amount as 到账金额
            from marts.fct_contributions c
            left join marts.dim_persons p on p.person_id = c.person_id
            left join reference.insurance_types it on cast(it.insurance_type as varchar) = cast(c.insurance_type as varchar)
            {where}
            order by c.fee_period, c.person_id, c.insurance_type, c.contribution_type""",
        params,
    )


def unit_periods(r: Reader, unit_id: str) -> list[str]:
    return [
        row[0]
        for row in r.rows(
            "select distinct fee_period from marts.fct_contributions where unit_id = ? order by 1", [unit_id]
        )
    ]
