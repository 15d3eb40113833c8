"""Build info, code lists and the small SQL helpers every page shares."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboards.db import Reader

GROUP_DIMENSIONS = {
    "insurance": ("险种", "coalesce(it.insurance_short_name, c.insurance_type)"),
    "region": ("参保地", "coalesce(rg.region_name, c.region_code)"),
    "unit_type": ("单位类型", "coalesce(u.unit_type, '未知')"),
    "none": ("合计", "'合计'"),
}


def in_list(column: str, values: list | tuple | None, params: list) -> str:
    if not values:
        return ""
    params.extend(values)
    return f" and {column} in ({', '.join('?' for _ in values)})"


def build_info(r: Reader) -> dict:
    """published_at and as_of of the snapshot (meta.build_info, written by every publish)."""
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
    return [row[0] for row in r.rows("select fee_period from marts.rpt_arrival_by_period order by fee_period")]


def current_period(r: Reader) -> tuple[str | None, str | None]:
    """The latest fee period with lines, not after the as-of month, and the one before it."""
    as_of = as_of_date(r)
    rows = r.rows(
        """select fee_period from marts.rpt_arrival_by_period
           where fee_period <= strftime(?::date, '%Y%m') order by fee_period desc limit 2""",
        [as_of],
    )
    if not rows:
        rows = r.rows("select fee_period from marts.rpt_arrival_by_period order by fee_period desc limit 2")
    current = rows[0][0] if rows else None
    previous = rows[1][0] if len(rows) > 1 else None
    return current, previous
