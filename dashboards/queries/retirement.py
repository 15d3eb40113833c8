"""退休到龄: the retirement wave and the people reaching statutory age (rpt_retirement_due)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboards.db import Reader


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
