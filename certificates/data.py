"""Every SQL query the documents run, in one place, against the marts of the serving copy.

Figures (amounts, months, arrears, totals, capital numerals) come from the marts; what
counts as a month paid is decided once, in fct_person_months (docs/rules.md). The queries
here only select, filter to the requesting unit and window (tenant isolation) and count or
sum the flagged rows a document prints. The serving copy is opened read-only, per document.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from foundation import serving


class DataError(LookupError):
    """The requested subject or period has nothing to print (message in Chinese)."""


class NoticeNotChosen(DataError):
    """A fee period with several payment notices and none chosen; `numbers` lists them."""

    def __init__(self, message: str, numbers: list[str]):
        super().__init__(message)
        self.numbers = numbers


@contextmanager
def connect(warehouse: Path | str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    with snapshot(warehouse) as snap:
        yield snap.con


@contextmanager
def snapshot(warehouse: Path | str | None) -> Iterator[serving.Snapshot]:
    """The serving copy as connect() opens it, with its identity (serving.still_current)."""
    try:
        snap = serving.open_snapshot(warehouse)
    except serving.ServingUnavailable as exc:
        raise DataError(str(exc)) from exc
    with snap:
        yield snap


def _rows(con, sql: str, params: list) -> list[dict]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _one(con, sql: str, params: list, missing: str) -> dict:
    rows = _rows(con, sql, params)
    if not rows:
        raise DataError(missing)
    return rows[0]


UNIT_SQL = """
select unit_id, unit_name, uscc, unit_type, region_code, region_name, risk_class, work_injury_rate,
    legal_representative
from marts.dim_units where unit_id = ?
"""

PERSON_SQL = """
select person_id, name, id_number_masked, sex, birth_date
from marts.dim_persons where person_id = ?
"""

# Per insurance at this unit (seed 002 §3.3.47: 当前单位费率 / 当前个人费率 / 缴费截止时间 /
# 缴费人数): the last month of the window with paid staff, its paid headcount and its rates.
UNIT_RATES_SQL = """
with months as (
    select * from marts.rpt_unit_proof_insurances
    where unit_id = ? and fee_period between ? and ?
),
paid_to as (
    select insurance_type, max(fee_period) as paid_to from months where paid_headcount > 0 group by insurance_type
),
insurances as (
    select insurance_type, any_value(insurance_name) as insurance_name, min(sort_order) as sort_order
    from months group by insurance_type
)
select
    i.insurance_type,
    i.insurance_name,
    p.paid_to,
    coalesce(m.paid_headcount, 0) as headcount,
    m.unit_rate,
    m.personal_rate,
    m.unit_fixed_amount,
    m.personal_fixed_amount
from insurances as i
left join paid_to as p on p.insurance_type = i.insurance_type
left join months as m on m.insurance_type = p.insurance_type and m.fee_period = p.paid_to
order by i.sort_order, i.insurance_type
"""

# One row per person with months due at this unit in the window: only this unit's rows
# (seeds 000, 004); a month is paid when every insurance due in it arrived. The chosen
# people (a list) or everyone (null).
PERSONS_FILTER = "(?::varchar[] is null or list_contains(?::varchar[], person_id))"

UNIT_ROSTER_SQL = f"""
select
    person_id,
    any_value(name) as name,
    any_value(id_number_masked) as id_number_masked,
    min(fee_period) as first_period,
    max(fee_period) as last_period,
    count(*) filter (where is_paid) as months_paid
from marts.rpt_unit_roster_months
where unit_id = ? and fee_period between ? and ? and is_due and {PERSONS_FILTER}
group by person_id
order by min(fee_period), person_id
"""

# Detail rows (seed 002's 参保缴费情况(N人明细)): the unchanged runs of rpt_unit_proof_runs that
# overlap the window, cut at its edges. A run's months are consecutive with one arrival delay,
# so the cut run keeps its attributes; its month count and arrival months follow from the cut.
UNIT_DETAIL_SQL = f"""
with bounds as (
    select
        cast(strptime(?, '%Y%m') as date) as window_first,
        cast(strptime(?, '%Y%m') as date) as window_last
),
runs as (
    select
        r.*,
        greatest(r.first_month, b.window_first) as cut_first,
        least(r.last_month, b.window_last) as cut_last
    from marts.rpt_unit_proof_runs as r, bounds as b
    where r.unit_id = ? and r.last_month >= b.window_first and r.first_month <= b.window_last
        and {PERSONS_FILTER}
)
select
    person_id,
    strftime(cut_first, '%Y%m') as first_period,
    strftime(cut_last, '%Y%m') as last_period,
    date_diff('month', cut_first, cut_last) + 1 as months,
    strftime(cut_first + to_months(paid_delay_months), '%Y%m') as first_paid,
    strftime(cut_last + to_months(paid_delay_months), '%Y%m') as last_paid,
    personal_base,
    insurances,
    paid_status,
    payment_type
from runs
order by person_id, first_period, payment_type, insurance_types, first_paid
"""

# Whom a proof may list: people with lines at the unit, and whether any fall in the window.
UNIT_PERSONS_SQL = """
select person_id, bool_or(fee_period between ? and ?) as in_window
from marts.rpt_unit_roster_months
where unit_id = ? and list_contains(?::varchar[], person_id)
group by person_id
"""

PERSONS_KNOWN_SQL = "select person_id from marts.dim_persons where list_contains(?::varchar[], person_id)"

# Summary proof (seed 000): per person and insurance, this unit's paid months and amounts.
SUMMARY_SQL = """
select
    pm.person_id,
    p.name,
    p.id_number_masked,
    pm.insurance_type,
    any_value(it.insurance_name) as insurance_name,
    min(pm.fee_period) filter (where pm.is_paid) as first_period,
    max(pm.fee_period) filter (where pm.is_paid) as last_period,
    count(*) filter (where pm.is_paid) as months_paid,
    coalesce(sum(pm.personal_amount), 0) as personal_amount,
    coalesce(sum(pm.unit_amount), 0) as unit_amount
from marts.fct_person_months as pm
join marts.dim_persons as p on p.person_id = pm.person_id
left join reference.insurance_types as it on it.insurance_type = pm.insurance_type
where pm.unit_id = ? and pm.fee_period between ? and ?
group by pm.person_id, p.name, p.id_number_masked, pm.insurance_type, it.sort_order
having count(*) filter (where pm.is_paid) > 0
order by pm.person_id, it.sort_order
"""

# Staff with a paid insurance month, fully paid person-months and the money that arrived.
SUMMARY_TOTALS_SQL = f"""
select
    count(distinct person_id) filter (where has_paid_insurance) as headcount,
    count(*) filter (where is_paid) as person_months,
    coalesce(sum(personal_amount), 0) as personal_amount,
    coalesce(sum(unit_amount), 0) as unit_amount,
    coalesce(sum(total_amount), 0) as total_amount
from marts.rpt_unit_roster_months
where unit_id = ? and fee_period between ? and ? and {PERSONS_FILTER}
"""

PERIOD_BOUNDS_SQL = """
select min(fee_period) as first_period, max(fee_period) as last_period
from marts.fct_contributions where unit_id = ?
"""

RIGHTS_SQL = """
select r.*, it.insurance_name, coalesce(it.is_pension, false) as is_pension
from marts.rpt_rights_statement as r
left join reference.insurance_types as it on cast(it.insurance_type as varchar) = cast(r.insurance_type as varchar)
where r.person_id = ? and r.statement_period = ?
order by it.sort_order, r.insurance_type
"""

# The account within the statement period (opening, credits, interest of closed years, closing).
STATEMENT_ACCOUNT_SQL = """
select * from marts.rpt_rights_statement_account where person_id = ? and statement_period = ?
"""

PENSION_ESTIMATE_SQL = "select * from marts.rpt_pension_estimate where person_id = ?"

# Seed 004: a record printed by an employer shows that unit's rows only; rows at other
# units are hidden as if absent.
RECORD_LINES_SQL = """
select
    u.unit_name,
    c.fee_period,
    c.personal_amount,
    c.unit_amount,
    c.personal_base,
    c.unit_base,
    it.insurance_name,
    coalesce(c.account_credit, 0) as account_credit,
    c.paid_date
from marts.fct_contributions as c
join marts.dim_units as u on u.unit_id = c.unit_id
left join reference.insurance_types as it on cast(it.insurance_type as varchar) = cast(c.insurance_type as varchar)
where c.unit_id = ? and c.person_id = ? and c.fee_period between ? and ?
order by c.fee_period, it.sort_order desc, c.ledger_line_id
"""

RECORD_TOTALS_SQL = """
select
    count(*) as line_count,
    count(distinct fee_period) as months,
    coalesce(sum(personal_amount), 0) as personal_amount,
    coalesce(sum(unit_amount), 0) as unit_amount,
    coalesce(sum(account_credit), 0) as account_credit
from marts.fct_contributions
where unit_id = ? and person_id = ? and fee_period between ? and ?
"""

NOTICE_LINES_SQL = """
select n.*, coalesce(it.insurance_name, cast(n.insurance_type as varchar)) as insurance_label
from marts.rpt_payment_notice_lines as n
left join reference.insurance_types as it on cast(it.insurance_type as varchar) = cast(n.insurance_type as varchar)
where n.unit_id = ? and n.notice_key = ?
order by n.contribution_type = '正常应缴' desc, n.contribution_type, n.fee_period, it.sort_order
"""

# A unit can have several notices in a fee period (正常应缴 and 补收, seed 004).
NOTICE_SQL = """
select * from marts.rpt_payment_notices
where unit_id = ? and fee_period = ? and (? is null or notice_no = ?)
order by notice_no
"""

UNITS_BY_TYPE_SQL = "select unit_id from marts.dim_units where unit_type = ? order by unit_id"


def unit(con, unit_id: str) -> dict:
    return _one(con, UNIT_SQL, [unit_id], f"单位编号 {unit_id} 不存在")


def person(con, person_id: str) -> dict:
    return _one(con, PERSON_SQL, [person_id], f"个人编号 {person_id} 不存在")


def check_persons(con, unit_id: str, start: str, end: str, persons: list[str]) -> None:
    """Refuse, by number, a person who does not exist, never had lines at this unit, or none in the window."""
    known = {r["person_id"] for r in _rows(con, PERSONS_KNOWN_SQL, [persons])}
    at_unit = {r["person_id"]: r["in_window"] for r in _rows(con, UNIT_PERSONS_SQL, [start, end, unit_id, persons])}
    for person_id in persons:
        if person_id not in known:
            raise DataError(f"个人编号 {person_id} 不存在")
        if person_id not in at_unit:
            raise DataError(f"个人编号 {person_id} 不是单位 {unit_id} 的参保人员，不能列入本单位的证明")
        if not at_unit[person_id]:
            raise DataError(f"个人编号 {person_id} 在 {start} 至 {end} 期间没有在单位 {unit_id} 的缴费记录")


def unit_proof(con, unit_id: str, start: str, end: str, persons: list[str] | None = None) -> dict:
    """The proof's figures for everyone at the unit in the window, or for the chosen people only."""
    unit_row = unit(con, unit_id)
    if persons:
        check_persons(con, unit_id, start, end, persons)
    chosen = [unit_id, start, end, persons, persons]
    roster = _rows(con, UNIT_ROSTER_SQL, chosen)
    if not roster:
        raise DataError(f"单位 {unit_id} 在 {start} 至 {end} 期间没有缴费记录")
    return {
        "unit": unit_row,
        "rates": _rows(con, UNIT_RATES_SQL, [unit_id, start, end]),
        "roster": roster,
        "details": _rows(con, UNIT_DETAIL_SQL, [start, end, unit_id, persons, persons]),
        "totals": _one(con, SUMMARY_TOTALS_SQL, chosen, "无汇总"),
    }


def last_period(con, unit_id: str) -> str:
    """The unit's latest fee period with lines: the end of a proof's default range."""
    return period_bounds(con, unit_id)[1]


def period_bounds(con, unit_id: str) -> tuple[str, str]:
    row = _one(con, PERIOD_BOUNDS_SQL, [unit_id], f"单位 {unit_id} 没有缴费记录")
    if row["first_period"] is None:
        raise DataError(f"单位 {unit_id} 没有缴费记录")
    return row["first_period"], row["last_period"]


def summary_proof(con, unit_id: str, start: str, end: str) -> dict:
    rows = _rows(con, SUMMARY_SQL, [unit_id, start, end])
    if not rows:
        raise DataError(f"单位 {unit_id} 在 {start} 至 {end} 期间没有已到账的缴费")
    return {
        "unit": unit(con, unit_id),
        "rows": rows,
        "totals": _one(con, SUMMARY_TOTALS_SQL, [unit_id, start, end, None, None], "无汇总"),
    }


def rights_statement(con, person_id: str, period: str) -> dict:
    rows = _rows(con, RIGHTS_SQL, [person_id, period])
    if not rows:
        raise DataError(f"个人 {person_id} 没有 {period} 期次的权益记录")
    account = _rows(con, STATEMENT_ACCOUNT_SQL, [person_id, period])
    estimate = _rows(con, PENSION_ESTIMATE_SQL, [person_id])
    return {
        "person": person(con, person_id),
        "rows": rows,
        "account": account[0] if account else None,
        "estimate": estimate[0] if estimate else None,
    }


def contribution_record(con, unit_id: str, person_id: str, start: str, end: str) -> dict:
    return {
        "unit": unit(con, unit_id),
        "person": person(con, person_id),
        "lines": _rows(con, RECORD_LINES_SQL, [unit_id, person_id, start, end]),
        "totals": _one(con, RECORD_TOTALS_SQL, [unit_id, person_id, start, end], "无汇总"),
    }


def payment_notices(con, unit_id: str, period: str) -> list[dict]:
    """The unit's notices of one fee period (seed 004 lists them, each printable), by number."""
    return _rows(con, NOTICE_SQL, [unit_id, period, None, None])


def payment_notice(con, unit_id: str, period: str, notice_no: str | None = None) -> dict:
    notices = _rows(con, NOTICE_SQL, [unit_id, period, notice_no, notice_no])
    if not notices:
        raise DataError(f"单位 {unit_id} 没有 {period} 费款所属期的征集缴费通知单")
    if len(notices) > 1:
        numbers = [str(n["notice_no"]) for n in notices]
        raise NoticeNotChosen(
            f"单位 {unit_id} 在 {period} 有多张通知单（{'、'.join(numbers)}），请指定其中一张的通知单号", numbers
        )
    notice = notices[0]
    lines = _rows(con, NOTICE_LINES_SQL, [unit_id, notice["notice_key"]])
    return {"unit": unit(con, unit_id), "lines": lines, "notice": notice}


def units_of_type(con, unit_type: str) -> list[str]:
    return [r["unit_id"] for r in _rows(con, UNITS_BY_TYPE_SQL, [unit_type])]
