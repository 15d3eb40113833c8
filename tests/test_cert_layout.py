"""Layout of a large unit's proof: seed 002's detail pages of 10 people, the header on each.

The unit is tests/support/warehouse.py's large-unit landing (one unit, 150 people, 2025 Q1)
run through the real pipeline: 150 x 3 = 450 person-months, one unchanged run per person,
so 150 detail rows on 15 detail pages.
"""

from __future__ import annotations

import re

import pdfplumber
import pytest

from certificates.issue import issue_document
from tests.support.warehouse import LARGE_UNIT_PERIODS, build_large_unit_warehouse

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

ROSTER = 150


@pytest.fixture(scope="module")
def proof_pages(tmp_path_factory):
    directory = tmp_path_factory.mktemp("large_unit")
    warehouse = build_large_unit_warehouse(directory, ROSTER)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(directory / "home"))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        params = {"unit": "U001", "from": LARGE_UNIT_PERIODS[0], "to": LARGE_UNIT_PERIODS[-1]}
        cert = issue_document("unit-proof", params, warehouse, out=directory / "proof.pdf")
    with pdfplumber.open(cert.path) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def test_large_roster_paginates_with_repeated_headers(proof_pages):
    pages = proof_pages
    # masked ID, the run's fee periods and arrival months, 3 months, the base with its separator
    detail_line = r"\*{10}[\dX]{4} 202501-202503 202501-202503 3 \d,\d{3}\.\d{2}"
    detail_pages = [p for p in pages if re.search(detail_line, p)]
    assert [len(re.findall(detail_line, p)) for p in detail_pages] == [10] * 15  # 10 people a page
    for page in detail_pages:
        # thead repeated on every page, each label whole
        assert "证件号码" in page and "缴费基数" in page and "缴费类型" in page and "缴费到账时间" in page
    for n, page in enumerate(pages, 1):
        assert f"第{n}页/共{len(pages)}页" in page
    roster_rows = sum(len(re.findall(r"\*{10}[\dX]{4} 202501 202503 3\b", p)) for p in pages)
    assert roster_rows == ROSTER  # each person once on the roster: first, last period, 3 months paid
    assert "期间内缴费人数合计：150人；缴费人月合计：450" in "".join(pages).replace("\n", "")
