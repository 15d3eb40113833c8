"""Layout of a large unit's proof: pagination with the table header repeated on every detail page.

The unit comes from the synthetic generator run through the real pipeline (a second build,
about two minutes), the largest unit of that landing folder.
"""

from __future__ import annotations

import re

import pdfplumber
import pytest

from certificates import data
from certificates.issue import issue_document
from tests.support.warehouse import build_generated_warehouse

pytestmark = [pytest.mark.dbt, pytest.mark.slow]


@pytest.fixture(scope="module")
def large_unit(tmp_path_factory):
    warehouse = build_generated_warehouse(tmp_path_factory.mktemp("generated"), persons=150)
    with data.connect(warehouse) as con:
        unit_id, start, end, detail_rows = con.execute(
            """select unit_id, min(fee_period), max(fee_period),
                      count(distinct (person_id, fee_period, coalesce(strftime(paid_date, '%Y%m'), ''),
                                      personal_base, paid_status, contribution_type))
               from marts.fct_contributions group by unit_id
               order by count(distinct person_id) desc, unit_id limit 1"""
        ).fetchone()
    return warehouse, unit_id, start, end, detail_rows


def test_large_roster_paginates_with_repeated_headers(large_unit, tmp_path, monkeypatch):
    warehouse, unit_id, start, end, detail_rows = large_unit
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    cert = issue_document("unit-proof", {"unit": unit_id, "from": start, "to": end}, warehouse, out=tmp_path / "p.pdf")
    with pdfplumber.open(cert.path) as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
    assert detail_rows > 60  # more than one page of detail lines
    detail_line = r"\*{10}[\dX]{4} \d{6} (?:\d{6} )?\d+\.\d{2}"  # masked ID, period, arrival month, base
    detail_pages = [p for p in pages if re.search(detail_line, p)]
    assert len(detail_pages) >= 2
    for page in detail_pages:
        # thead repeated on every page (its narrow cells wrap 费款所属期 and 缴费到账时间 over two lines)
        assert "社会保障号" in page and "缴费基数" in page and "缴费类型" in page
    for n, page in enumerate(pages, 1):
        assert f"第{n}页/共{len(pages)}页" in page
    printed = sum(len(re.findall(detail_line, p)) for p in detail_pages)
    assert printed == detail_rows  # every detail line printed once
