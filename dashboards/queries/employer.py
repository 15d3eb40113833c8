"""Employer pages: one unit's roster, contributions and fee periods (the unit id is bound by the caller)."""

from __future__ import annotations

import pandas as pd

from dashboards.db import Reader
from dashboards.queries.common import in_list


def roster(r: Reader, unit_id: str) -> pd.DataFrame:
    """Current staff of one unit with the insurances they are enrolled in there."""
    return r.df(
        """select e.person_id as 个人编号, p.name as 姓名, p.id_number_masked as 证件号码, p.sex as 性别,
                  string_agg(coalesce(it.insurance_short_name, cast(e.insurance_type as varchar)), '、'
                             order by e.insurance_type) as 参保险种,
                  min(e.start_month) as 参保开始年月
           from marts.fct_enrolments e
           join marts.dim_persons p on p.person_id = e.person_id
           left join reference.insurance_types it
              on cast(it.insurance_type as varchar) = cast(e.insurance_type as varchar)
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
    where += in_list("cast(c.insurance_type as varchar)", insurances, params)
    return r.df(
        f"""select c.fee_period as 费款所属期, c.person_id as 个人编号, p.name as 姓名,
                   coalesce(it.insurance_name, cast(c.insurance_type as varchar)) as 险种,
                   c.contribution_type as 缴费类型, c.personal_amount as 个人缴费, c.unit_amount as 单位缴费,
                   c.total_amount as 合计, c.paid_status as 到账标志, c.paid_amount as 到账金额
            from marts.fct_contributions c
            left join marts.dim_persons p on p.person_id = c.person_id
            left join reference.insurance_types it
              on cast(it.insurance_type as varchar) = cast(c.insurance_type as varchar)
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
