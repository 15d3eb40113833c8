"""Every document type rendered from the built test warehouse: text, figures, pages, fonts, QR, isolation.

Figures follow from the landing rows of tests/support/warehouse.py (arithmetic in the comments).
"""

from __future__ import annotations

import io
import re
import subprocess
from decimal import Decimal

import pdfplumber
import pytest
import zxingcpp
from PIL import Image

from certificates import data
from certificates.issue import issue_document
from tests.support.warehouse import id_number, uscc

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

DOCS = {
    "unit-proof": {"unit": "U001", "from": "202401", "to": "202503"},
    "summary-proof": {"unit": "U002"},
    "rights-statement": {"person": "P001", "period": "202406"},
    "contribution-record": {"unit": "U001", "person": "P001", "from": "202401", "to": "202503"},
    "payment-notice": {"unit": "U001", "period": "202503"},
}


def masked(person_id: str) -> str:
    """First 4 and last 4 characters of the ID number, as every document prints it."""
    number = id_number(person_id)
    return number[:4] + "*" * 10 + number[-4:]


@pytest.fixture(scope="module")
def issued(tmp_path_factory, built_warehouse):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        out = {}
        for kind, params in DOCS.items():
            cert = issue_document(kind, params, built_warehouse, out=home / "out" / f"{kind}.pdf")
            with pdfplumber.open(cert.path) as pdf:
                pages = [p.extract_text() or "" for p in pdf.pages]
            out[kind] = (cert, pages)
        yield out, built_warehouse


def _all(pages):
    return "\n".join(pages)


EXPECTED = {
    "unit-proof": [
        "单位参保证明",
        "苏州甲科技有限公司",
        uscc("U001"),
        "企业职工基本养老保险",
        "16.0%",
        "8.0%",
        "0.4%",  # work injury, risk class 2
        "202503 / 2人",  # paid up to 202503 by P002 and P008 (P001 left in 202406)
        "期间内缴费人数合计：3人",
        # P001 6 + P002 14 + P008 15: P002's 202409 medical line never arrived, so that month is
        # paid for the pension but is not a fully paid person-month (fct_person_months)
        "缴费人月合计：35",
        masked("P002"),
        "9,805.00",  # P008's base
        "补收",  # P008's 202401
        "未到账",  # P002's 202409 medical
        "单位：元",
        "本证明已签具电子印章，不再加盖鲜章。",
    ],
    "summary-proof": [
        "缴费人员汇总参保证明",
        "苏州乙软件有限公司",
        "全部（2024年01月 至 2025年03月）",
        "缴费人数：3人",
        "缴费人月：38",  # P001 9 (202407-202503) + P005 14 (202401-202502) + P007 15
        # 9 x 3984.00 + 14 x 4980.00 + 15 x 3320.00 + 0.05 (P007's 800.05) = 35856 + 69720 + 49800.05
        "缴费总额：155,376.05元",
        "8,640.00",  # P001 pension personal 9 x 960.00
        "17,280.00",  # P001 pension unit 9 x 1920.00
        "参保单位只能打印本单位缴纳社保和公积金的参保人员在本单位的汇总缴费情况。",
    ],
    "rights-statement": [
        "个人权益记录单",
        "张伟",
        masked("P001"),
        "2023年07月01日 至 2024年06月30日",  # SZ_SIP statement year July-June
        "苏州甲科技有限公司",  # only U001 in 202401-202406
        "7,680.00",  # pension unit 6 x 1280.00
        "3,840.00",  # pension personal 6 x 640.00
        # the account within the period 2023-07-01..2024-06-30 (rpt_rights_statement_account):
        # nothing before it, 6 x 640.00 credited at U001, no year closed inside it with interest
        "0.00 3,840.00 0.00 3,840.00",
        "本期内无已结息年度",
        "养老金测算（估算值",
        "不作为计发社会保险待遇的依据",
    ],
    "contribution-record": [
        "个人缴费记录明细",
        "张伟",
        masked("P001"),
        "202401 至 202503",
        "640.00",  # 8000 x 8 %
        "1,280.00",  # 8000 x 16 %
        "仅可打印该职工在本单位下的缴费记录明细",
    ],
    "payment-notice": [
        "征集缴费通知单",
        "N-U001-202503",
        "2,528.80",  # pension unit: P002 960.00 + P008 1568.80
        "1,264.40",  # pension personal: 480.00 + 784.40
        "79.03",  # unemployment each side: 30.00 + 49.03
        "948.30",  # medical unit: 360.00 + 588.30
        "63.22",  # work injury: 24.00 + 39.22
        "1,659.53",  # personal subtotal
        "3,619.35",  # unit subtotal
        "5,278.88",  # 2004.00 + 3274.88
        "伍仟贰佰柒拾捌圆捌角捌分",  # 5278.88 in capital numerals: 5 仟 2 佰 7 拾 8 圆 8 角 8 分
        "正常应缴",
        "缴费截止日期 2025年03月31日",  # SZ_SIP: the last day of the fee period (due_date_rules)
    ],
}


@pytest.mark.parametrize("kind", list(DOCS))
def test_document_text_figures_and_stamp(kind, issued):
    (cert, pages), _ = issued[0][kind], None
    text = _all(pages)
    flat = re.sub(r"\s+", "", text)  # table cells and wrapped lines
    for expected in EXPECTED[kind] + ["示例市社会保险事业管理中心", "电子印章", "可多次验证", cert.code]:
        assert re.sub(r"\s+", "", expected) in flat, expected
    assert re.search(r"证明编号：(\d{18})", text).group(1) == cert.id
    for n, page in enumerate(pages, 1):
        assert f"第{n}页/共{len(pages)}页" in page
        assert f"证明编号 {cert.id}" in page and f"校验码 {cert.code}" in page
    assert not re.search(r"\d{17}[\dX]", text.replace(cert.id, "")), "a full ID number is printed"
    expires = cert.expires_at
    assert f"有效期至：{expires.year}年" in text and "（6个月）" in text


def test_detail_pages_print_every_line_once(issued):
    _, pages = issued[0]["unit-proof"]
    detail_pages = [p for p in pages if "缴费到账时间" in p]
    assert detail_pages
    for page in detail_pages:
        assert "缴费状态" in page and "费款所属期（月数）" in page  # the table header on every detail page
    rows = sum(len(re.findall(r"3205\*{10}[\dX]{4} 202[45]\d\d", p)) for p in detail_pages)
    # one row per unchanged run of months (37 person-month rows before): P001 1, P002 4 (202401-08,
    # 202409's arrived part, its unpaid medical line, 202410-202503), P008 2 (its 补收 month, then the rest)
    assert rows == 7


def test_rights_statement_prints_the_estimate_of_the_mart(issued):
    """The estimate's formula is the dbt model's (tested there); the document prints its figure."""
    _, warehouse = issued
    with data.connect(warehouse) as con:
        estimate = con.execute(
            "select estimated_monthly_pension from marts.rpt_pension_estimate where person_id = 'P001'"
        ).fetchone()[0]
    assert estimate > 0
    assert f"{estimate:,.2f}" in _all(issued[0]["rights-statement"][1])


def test_fonts_embedded_and_subset(issued):
    for cert, _ in issued[0].values():
        out = subprocess.run(["pdffonts", str(cert.path)], capture_output=True, text=True, check=True).stdout
        rows = out.splitlines()[2:]
        assert rows
        for row in rows:
            cols = row.split()
            emb, sub = cols[-5], cols[-4]
            assert (emb, sub) == ("yes", "yes"), row
        # the CJK subset built once (certificates/fonts.py), not the system collection
        assert "Shebao-Serif-SC" in out and "Noto-Serif-CJK-SC" not in out


def test_qr_version_level_and_size(issued):
    cert, _ = issued[0]["payment-notice"]
    png = subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(cert.path)], capture_output=True, check=True
    ).stdout
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1 and results[0].valid
    r = results[0]
    assert r.text == cert.url and r.ec_level == "Q" and r.extra["Version"] == "15" == str(cert.qr_version)
    xs = [p.x for p in (r.position.top_left, r.position.top_right)]
    width_mm = (max(xs) - min(xs)) / 150 * 25.4
    assert width_mm >= 29.5  # 77 modules, ~0.4 mm each; with the quiet zone the printed code is 34 mm


def test_tenant_isolation_for_a_person_who_moved(issued):
    _, warehouse = issued
    # the U001 documents never show what P001 paid at U002 (base 12000 from 202407)
    for kind in ("unit-proof", "contribution-record"):
        text = _all(issued[0][kind][1])
        assert "12,000.00" not in text and "苏州乙软件有限公司" not in text
    record_text = _all(issued[0]["contribution-record"][1]).replace("202401 至 202503", "")
    assert "202406" in record_text and not re.search(r"\b20240[7-9]\b|\b20241[0-2]\b|\b20250[1-3]\b", record_text)
    summary = _all(issued[0]["summary-proof"][1])  # U002: P001 only from 202407, none of U001's months
    assert "苏州甲科技有限公司" not in summary and "8,000.00" not in summary
    assert f"1 张伟 {masked('P001')} 企业职工基本养老保险 202407 202503 9 8,640.00 17,280.00" in summary
    with data.connect(warehouse) as con:
        u002 = data.contribution_record(con, "U002", "P001", "202401", "202503")
        assert {line["fee_period"] for line in u002["lines"]} == {
            "202407",
            "202408",
            "202409",
            "202410",
            "202411",
            "202412",
            "202501",
            "202502",
            "202503",
        }
        assert {line["unit_name"] for line in u002["lines"]} == {"苏州乙软件有限公司"}
        u001 = data.contribution_record(con, "U001", "P001", "202401", "202503")
        assert {line["fee_period"] for line in u001["lines"]} == {f"2024{m:02d}" for m in range(1, 7)}
        assert u001["totals"]["personal_amount"] == 6 * Decimal("840.00")  # 640 + 40 + 160 a month
        roster = data.unit_proof(con, "U002", "202401", "202503")["roster"]
        assert [(r["person_id"], r["first_period"], r["months_paid"]) for r in roster] == [
            ("P005", "202401", 14),
            ("P007", "202401", 15),
            ("P001", "202407", 9),
        ]


def test_a_unit_with_two_notices_in_a_month_must_name_one(issued):
    """U001's 202401 has the regular notice and the 补收 notice of P008's month."""
    _, warehouse = issued
    with data.connect(warehouse) as con:
        with pytest.raises(data.DataError, match="B-U001-202401、N-U001-202401"):
            data.payment_notice(con, "U001", "202401")
        back = data.payment_notice(con, "U001", "202401", "B-U001-202401")
    assert {line["contribution_type"] for line in back["lines"]} == {"补收"}
    # P008 base 9805: 1568.80 + 784.40 + 49.03 + 49.03 + 588.30 + 196.10 + 39.22
    assert str(back["notice"]["total_amount"]) == "3274.88"
    assert back["notice"]["total_amount_capital"] == "叁仟贰佰柒拾肆圆捌角捌分"


@pytest.fixture(scope="module")
def legacy_statement(tmp_path_factory):
    """The test landing with P004's legacy history (LEGACY_SPELLS), and P004's rights statement 202412."""
    from tests.support.warehouse import build_test_warehouse

    home = tmp_path_factory.mktemp("legacy")
    warehouse = build_test_warehouse(home / "build", legacy=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        cert = issue_document(
            "rights-statement", {"person": "P004", "period": "202412"}, warehouse, out=home / "rs.pdf"
        )
        with pdfplumber.open(cert.path) as pdf:
            text = "\n".join(p.extract_text() or "" for p in pdf.pages)
    return warehouse, text


def test_rights_statement_with_migrated_history(legacy_statement):
    """P004's 348 migrated months count in 累计缴费月数, and the account opens with the migrated 52,345.60."""
    warehouse, text = legacy_statement

    def fen(x: Decimal) -> Decimal:
        return x.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")

    # Hubei cut-off 202312 (December): the balance earns interest from 2024-01 at 2.62 %, with 12 x 400.00
    # credited in 2024 (base 5000 x 8 %) and 400.00 for 202501 at 1.50 % (202502-03 have not arrived).
    migrated, credits_2024, credit_2025 = Decimal("52345.60"), Decimal("4800.00"), Decimal("400.00")
    interest_2024 = fen(migrated * Decimal("0.0262") + credits_2024 * Decimal("0.0262") * Decimal("1.083") / 12)
    closing_2024 = migrated + credits_2024 + interest_2024
    interest_2025 = fen(closing_2024 * Decimal("0.0150") + credit_2025 * Decimal("0.0150") * Decimal("1.083") / 12)
    closing_2025 = closing_2024 + credit_2025 + interest_2025
    assert (interest_2024, closing_2024, closing_2025) == (Decimal("1382.80"), Decimal("58528.40"), Decimal("59806.87"))
    with data.connect(warehouse) as con:
        estimate = con.execute(
            "select contribution_months_to_date, current_account_balance, projected_account_balance "
            "from marts.rpt_pension_estimate where person_id = 'P004'"
        ).fetchone()
    # 348 migrated + 13 ledger months (202401-202501); retiring 2025-04, nothing is projected beyond them
    assert estimate == (361, closing_2025, closing_2025)  # without the history: 13 months, 5,284.06
    flat = re.sub(r"\s+", "", text)
    for expected in (
        "2024年01月01日 至 2024年12月31日",  # Hubei: calendar statement year
        "企业职工基本养老保险累计缴费月数360个月，含历史缴费（系统迁移前的缴费记录）348个月、本系统缴费12个月。",
        # opening = the migrated balance on 2024-01-01; credits; 2024's interest; closing
        f"{migrated:,} {credits_2024:,} {interest_2024:,} {closing_2024:,}",
        f"{closing_2025:,}",  # 预计个人账户储存额 of the estimate
    ):
        assert re.sub(r"\s+", "", expected) in flat, expected
    assert "历史缴费转入" not in text  # the migration (202312) is before this period
    pension_row = re.search(r"企业职工基本养老保险 12 ([\d,.]+) .* (\d+)\n", text)
    assert pension_row and pension_row.group(2) == "360", text  # 累计缴费月数: 348 + 12
