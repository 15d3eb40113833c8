"""The unit proof's roster folded into its 人明细 detail (certificates/folded.py folded_rows):
every roster figure (序号, first and last period, months paid) stays on the paper, on the
person's one row when that row shows it, else on a 期间合计 row. No warehouse needed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from certificates import render
from certificates.folded import folded_rows, roster_evident

pytestmark = pytest.mark.unit


def person(pid: str, first: str, last: str, paid: int, name: str = "张伟") -> dict:
    return {
        "person_id": pid,
        "name": name,
        "id_number_masked": "3205**********0115",
        "first_period": first,
        "last_period": last,
        "months_paid": paid,
    }


def run(pid: str, first: str, last: str, months: int, status: str = "已到账", base: str = "8000") -> dict:
    return {
        "person_id": pid,
        "first_period": first,
        "last_period": last,
        "months": months,
        "first_paid": first,
        "last_paid": last,
        "personal_base": Decimal(base),
        "insurances": "养老、失业、医疗、工伤",
        "paid_status": status,
        "payment_type": "正常",
    }


def test_one_paid_run_over_the_roster_months_is_one_numbered_row():
    rows = folded_rows([person("P1", "202501", "202503", 3)], [run("P1", "202501", "202503", 3)])
    assert len(rows) == 1
    row = rows[0]
    assert (row["number"], row["name"], row["id_number_masked"], row["total"]) == (
        1,
        "张伟",
        "3205**********0115",
        False,
    )
    # what the row prints: 202501-202503（3）, the roster's first/last period and months paid
    assert render.period_range(row["first_period"], row["last_period"]) == "202501-202503" and row["months"] == 3
    assert render.money(row["personal_base"]) == "8,000.00"


def test_several_runs_get_a_total_row_with_the_roster_figures():
    roster = [person("P1", "202401", "202503", 14, "李娜"), person("P2", "202501", "202503", 3, "吴婷")]
    details = [
        run("P1", "202401", "202408", 8),
        run("P1", "202409", "202409", 1, "未到账"),
        run("P1", "202410", "202503", 6),
        run("P2", "202501", "202503", 3),
    ]
    rows = folded_rows(roster, details)
    assert [(r["person_id"], r["number"], r["total"]) for r in rows] == [
        ("P1", 1, False),
        ("P1", None, False),
        ("P1", None, False),
        ("P1", None, True),
        ("P2", 2, False),
    ]
    total = rows[3]
    assert (total["first_period"], total["last_period"], total["months_paid"]) == ("202401", "202503", 14)
    assert total["name"] == "李娜"


def test_one_run_that_does_not_show_the_roster_figures_keeps_them_on_a_total_row():
    # unpaid months: the row's 月数 3 is not the roster's 缴费月数 0
    rows = folded_rows([person("P1", "202501", "202503", 0)], [run("P1", "202501", "202503", 3, "未到账")])
    assert [r["total"] for r in rows] == [False, True] and rows[1]["months_paid"] == 0
    # a due month outside the run: the roster's range is wider than the row's
    assert not roster_evident(person("P1", "202412", "202503", 3), [run("P1", "202501", "202503", 3)])
    assert not roster_evident(person("P1", "202501", "202503", 3), [])


def test_a_person_without_detail_rows_is_still_listed_with_the_roster_figures():
    rows = folded_rows([person("P1", "202501", "202503", 0)], [])
    assert len(rows) == 1 and rows[0]["total"] and rows[0]["number"] == 1 and rows[0]["months_paid"] == 0
