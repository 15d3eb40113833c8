"""Layout of a large unit's proof: seed 002's condensed detail (参保缴费情况(N人明细)), one table
flowing over the pages with its header on each.

The unit is tests/support/warehouse.py's large-unit landing run through the real pipeline:
one unit, 300 people, each paid 2025 Q1 unchanged (base 5000 + 10 x (i mod 100)), and
202504 too, when every 50th person's base rises by 500 (raise_every=50). Over Q1 that is
900 person-months in 300 detail rows, one per person; over 202501-202504 the six raised
people's runs split in two.
"""

from __future__ import annotations

import datetime as dt
import re

import pdfplumber
import pytest

from certificates.issue import issue_document
from foundation.landing.identifiers import id_check_char
from tests.support.warehouse import LARGE_UNIT_PERIODS, RAISE_AMOUNT, RAISE_PERIOD, build_large_unit_warehouse

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

ROSTER = 300
RAISE_EVERY = 50
RAISED = [i for i in range(1, ROSTER + 1) if i % RAISE_EVERY == 0]  # P00050, P00100, ... P00300
# the masked ID's last four, fee periods with their months in brackets, arrival months, base
DETAIL_LINE = r"\*{10}([\dX]{4}) (\d{6}(?:-\d{6})?)（(\d+)） (\d{6}(?:-\d{6})?) (\d,\d{3}\.\d{2}) "
# a person's 期间合计 row: the roster's figures where the detail rows do not show them at once
TOTAL_LINE = r"\*{10}([\dX]{4}) 期间合计：起始期号 (\d{6})\s*截止期号 (\d{6})\s*缴费月数 (\d+)"


@pytest.fixture(scope="module")
def large_unit(tmp_path_factory):
    directory = tmp_path_factory.mktemp("large_unit")
    warehouse = build_large_unit_warehouse(directory, ROSTER, as_of="2025-05-20", raise_every=RAISE_EVERY)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(directory / "home"))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)

        def pages(start: str, end: str, name: str) -> list[str]:
            params = {"unit": "U001", "from": start, "to": end}
            cert = issue_document("unit-proof", params, warehouse, out=directory / f"{name}.pdf")
            with pdfplumber.open(cert.path) as pdf:
                return [p.extract_text() or "" for p in pdf.pages]

        yield {
            "quarter": pages(LARGE_UNIT_PERIODS[0], LARGE_UNIT_PERIODS[-1], "quarter"),
            "four_months": pages(LARGE_UNIT_PERIODS[0], RAISE_PERIOD, "four_months"),
        }


def detail_rows(page: str) -> list[tuple[str, str, str, str, str]]:
    """(ID tail, fee periods, arrival months, months, base) of each detail row on a page."""
    return [(tail, periods, paid, months, base) for tail, periods, months, paid, base in re.findall(DETAIL_LINE, page)]


def person_name(i: int) -> str:
    """write_large_unit_landing's name of person i."""
    return "张" + "伟芳娜敏静丽强磊军洋"[i % 10] + "一二三四五六七八九十"[i // 10 % 10]


def id_tail(i: int) -> str:
    """The last four characters of person i's masked ID (write_large_unit_landing's numbers)."""
    first17 = "320506" + (dt.date(1970, 1, 1) + dt.timedelta(days=i)).strftime("%Y%m%d") + f"{i % 1000:03d}"
    return first17[-3:] + id_check_char(first17)


def test_unchanged_quarter_is_one_detail_row_per_person(large_unit):
    pages = large_unit["quarter"]
    text = "".join(pages).replace("\n", "")
    assert "期间内缴费人数合计：300人；缴费人月合计：900" in text  # the figures do not change
    assert "参保缴费情况（300人明细）" in text
    rows = [row for page in pages for row in detail_rows(page)]
    assert len(rows) == ROSTER  # 900 person-months, one row per person
    assert {row[1:4] for row in rows} == {("202501-202503", "202501-202503", "3")}
    assert sorted(row[0] for row in rows) == sorted(id_tail(i) for i in range(1, ROSTER + 1))
    # the roster is folded in: one run over the whole quarter, all paid, so no 期间合计 row,
    # and each person numbered once, in roster order
    assert not any(re.search(TOTAL_LINE, p) for p in pages)
    numbers = [int(n) for p in pages for n in re.findall(r"^(\d+) 张\S+ 3205\*{10}", p, re.M)]
    assert numbers == list(range(1, ROSTER + 1))


def test_folded_row_prints_the_figures_a_user_checks(large_unit):
    """Person 137 on the quarter: 序号, name, masked ID, fee periods with their month count (the
    roster's first/last period and months paid), arrival months, base, insurances, status, type."""
    lines = [line for page in large_unit["quarter"] for line in page.splitlines()]
    i = 137
    row = f"137 {person_name(i)} 3205**********{id_tail(i)} 202501-202503（3） 202501-202503 5,370.00 "
    found = [line for line in lines if line.startswith(row)]
    assert len(found) == 1, row
    assert found[0].endswith("已到账 正常")


def test_detail_flows_over_few_pages_with_the_header_on_each(large_unit):
    pages = large_unit["quarter"]
    # page 1 for the header and the rates, 7 for the 300 detail rows with the roster folded in
    # (15 pages with a separate roster; 246 pages for 2,000 people when the detail had its own
    # page per 10 people)
    assert len(pages) == 8
    for n, page in enumerate(pages, 1):
        assert f"第{n}页/共{len(pages)}页" in page
    detail_pages = [p for p in pages if detail_rows(p)]
    per_page = [len(detail_rows(p)) for p in detail_pages]
    assert len(detail_pages) == 7 and sum(per_page) == ROSTER
    full = per_page[1]  # the first detail page also carries the section heading
    assert per_page[1:-1] == [full] * (len(per_page) - 2) and per_page[0] <= full and 0 < per_page[-1] <= full
    assert "明细" in detail_pages[0] and not any("明细" in p for p in detail_pages[1:])  # one section
    for page in detail_pages:
        # thead repeated on every page, each label whole
        assert "序号" in page and "证件号码" in page and "缴费基数" in page and "缴费到账时间" in page
        assert "费款所属期（月数）" in page and "缴费状态" in page


def test_a_base_change_splits_the_run(large_unit):
    pages = large_unit["four_months"]
    text = "".join(pages).replace("\n", "")
    assert "期间内缴费人数合计：300人；缴费人月合计：1200" in text
    assert "参保缴费情况（300人明细）" in text
    rows = [row for page in pages for row in detail_rows(page)]
    assert len(rows) == ROSTER + len(RAISED)
    # a raised person's two rows, then the roster's figures on a 期间合计 row: 202501 to 202504,
    # 4 months paid; nobody else has one
    totals = [t for page in pages for t in re.findall(TOTAL_LINE, page)]
    assert sorted(totals) == sorted((id_tail(i), "202501", "202504", "4") for i in RAISED)
    by_person: dict[str, list[tuple[str, ...]]] = {}
    for row in rows:
        by_person.setdefault(row[0], []).append(row[1:])
    assert len(by_person) == ROSTER
    for i in range(1, ROSTER + 1):
        base = 5000 + 10 * (i % 100)
        if i in RAISED:  # Q1 at the old base, then 202504 alone at the new one
            expected = [
                ("202501-202503", "202501-202503", "3", f"{base:,}.00"),
                ("202504", "202504", "1", f"{base + RAISE_AMOUNT:,}.00"),
            ]
        else:
            expected = [("202501-202504", "202501-202504", "4", f"{base:,}.00")]
        assert by_person[id_tail(i)] == expected, i
