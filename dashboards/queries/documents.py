"""证明下载: what the pickers offer, one unit at a time (the unit id is bound by the caller)."""

from __future__ import annotations

from dashboards.db import Reader


def unit_people(r: Reader, unit_id: str) -> list[tuple[str, str]]:
    """(person id, name) of everyone who ever paid at this unit: the people its documents may name."""
    return [
        (row[0], row[1] or "")
        for row in r.rows(
            """select c.person_id, any_value(p.name)
               from marts.fct_contributions c
               left join marts.dim_persons p on p.person_id = c.person_id
               where c.unit_id = ?
               group by c.person_id order by c.person_id""",
            [unit_id],
        )
    ]


def person_periods(r: Reader, unit_id: str, person_id: str) -> list[str]:
    """The fee periods a person paid at this unit."""
    return [
        row[0]
        for row in r.rows(
            "select distinct fee_period from marts.fct_contributions where unit_id = ? and person_id = ? order by 1",
            [unit_id, person_id],
        )
    ]


def rights_periods(r: Reader, unit_id: str, person_id: str) -> list[str]:
    """Statement periods (each ends on 30 June or 31 December) of a person of this unit."""
    return [
        row[0]
        for row in r.rows(
            """select distinct s.statement_period from marts.rpt_rights_statement s
               where s.person_id = ?
                 and exists (select 1 from marts.fct_contributions c where c.unit_id = ? and c.person_id = s.person_id)
               order by 1""",
            [person_id, unit_id],
        )
    ]


def notice_periods(r: Reader, unit_id: str) -> list[str]:
    return [
        row[0]
        for row in r.rows(
            "select distinct fee_period from marts.rpt_payment_notices where unit_id = ? order by 1", [unit_id]
        )
    ]


def unit_notices(r: Reader, unit_id: str, period: str) -> list[dict]:
    """The month's payment notices (seed 004: one line each, each printable)."""
    rows = r.rows(
        """select notice_no, fee_periods, contribution_types, unit_amount, personal_amount, total_amount
           from marts.rpt_payment_notices where unit_id = ? and fee_period = ? order by notice_no""",
        [unit_id, period],
    )
    keys = ("notice_no", "fee_periods", "contribution_types", "unit_amount", "personal_amount", "total_amount")
    return [dict(zip(keys, row, strict=True)) for row in rows]
