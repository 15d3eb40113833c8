"""The unit proof's roster folded into its 人明细 detail: one table, a person's rows numbered once.

Seed 002 prints the unit proof as a rates table and one N人明细 table; a separate roster table
would double the cells WeasyPrint lays out for a large unit (benchmarks/README.md).
"""

from __future__ import annotations


def folded_rows(roster: list[dict], details: list[dict]) -> list[dict]:
    """Seed 002's 参保缴费情况(N人明细) with the roster folded in: each person's condensed rows
    (rpt_unit_proof_runs) in roster order, numbered on the person's first row. The roster's own
    figures (first and last period due, months paid) are the detail's when the person has one
    run over exactly those months, every one paid; otherwise a 期间合计 row under the person's rows
    prints them, so no figure of the former roster table is lost."""
    by_person: dict[str, list[dict]] = {}
    for row in details:
        by_person.setdefault(row["person_id"], []).append(row)
    rows: list[dict] = []
    for number, person in enumerate(roster, 1):
        runs = by_person.get(person["person_id"], [])
        who = {"person_id": person["person_id"], "name": person["name"], "id_number_masked": person["id_number_masked"]}
        for k, run in enumerate(runs):
            rows.append(dict(run, **who, number=number if k == 0 else None, total=False))
        if not roster_evident(person, runs):
            rows.append(
                dict(
                    who,
                    number=None if runs else number,
                    total=True,
                    first_period=person["first_period"],
                    last_period=person["last_period"],
                    months_paid=person["months_paid"],
                )
            )
    return rows


def roster_evident(person: dict, runs: list[dict]) -> bool:
    """The person's one detail row shows the roster's figures: the same first and last period,
    and as many months paid as the row has months (缴费月数 = 月数)."""
    if len(runs) != 1:
        return False
    run = runs[0]
    return (
        run["first_period"] == person["first_period"]
        and run["last_period"] == person["last_period"]
        and run["months"] == person["months_paid"]
    )
