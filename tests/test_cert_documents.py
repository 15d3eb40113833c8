"""Every document type rendered from the fixture marts: text, figures, pages, fonts, QR, isolation."""

from __future__ import annotations

import io
import re
import subprocess

import pdfplumber
import pytest
import zxingcpp
from PIL import Image

from certificates import data
from certificates.issue import issue_document
from certificates.testing import NOTICE_CAPITAL, build_serving

DOCS = {
    "unit-proof": {"unit": "U001", "from": "202301", "to": "202312"},
    "summary-proof": {"unit": "U002"},
    "rights-statement": {"person": "P001", "period": "202406"},
    "contribution-record": {"unit": "U001", "person": "P001", "from": "202301", "to": "202312"},
    "payment-notice": {"unit": "U001", "period": "202309"},
}


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        warehouse = build_serving(home / "wh")
        out = {}
        for kind, params in DOCS.items():
            cert = issue_document(kind, params, warehouse, out=home / "out" / f"{kind}.pdf")
            with pdfplumber.open(cert.path) as pdf:
                pages = [p.extract_text() or "" for p in pdf.pages]
            out[kind] = (cert, pages)
        yield out, warehouse


def _all(pages):
    return "\n".join(pages)


EXPECTED = {
    "unit-proof": [
        "单位参保证明",
        "示例精密机械有限公司",
        "91320594MA1TEST01X",
        "企业职工基本养老保险",
        "16.0%",
        "8.0%",
        "0.4%",
        "202306 / 22人",
        "期间内缴费人数合计：23人",
        "缴费人月合计：137",
        "3205**********0011",
        "8890.00",
        "补收",
        "未到账",
        "单位：元",
        "本证明已签具电子印章，不再加盖鲜章。",
    ],
    "summary-proof": [
        "缴费人员汇总参保证明",
        "示例软件科技有限公司",
        "全部（2023年01月 至 2023年12月）",
        "缴费人数：2人",
        "缴费人月：18",
        "缴费总额：83664.00元",
        "5760.00",
        "11520.00",
        "14400.00",
        "参保单位只能打印本单位缴纳社保和公积金的参保人员在本单位的汇总缴费情况。",
    ],
    "rights-statement": [
        "个人权益记录单",
        "张伟",
        "3205**********0011",
        "2023年07月01日 至 2024年06月30日",
        "示例软件科技有限公司",
        "11520.00",
        "5760.00",
        "10260.36",
        "261.96",
        "养老金测算（估算值",
        "7479.83",
        "不作为计发社会保险待遇的依据",
    ],
    "contribution-record": [
        "个人缴费记录明细",
        "张伟",
        "3205**********0011",
        "202301 至 202312",
        "711.20",
        "1422.40",
        "仅可打印该职工在本单位下的缴费记录明细",
    ],
    "payment-notice": [
        "征集缴费通知单",
        "320522C066",
        "44819.60",
        "50200.00",
        "11394.90",
        "93899.08",
        "105293.98",
        NOTICE_CAPITAL,
        "正常应缴",
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


def test_large_roster_paginates_with_repeated_headers(issued):
    cert, pages = issued[0]["unit-proof"]
    assert len(pages) >= 4
    detail_pages = [p for p in pages[1:] if "202306" in p and "已到账" in p]
    assert len(detail_pages) >= 3
    for page in detail_pages:
        assert "缴费到账时间" in page and "缴费类型" in page  # thead repeated on every page
    rows = sum(len(re.findall(r"3205\*{10}\d{4} 2023\d\d", p)) for p in detail_pages)
    assert rows == 139  # every detail line printed once


def test_fonts_embedded_and_subset(issued):
    for kind, (cert, _) in issued[0].items():
        out = subprocess.run(["pdffonts", str(cert.path)], capture_output=True, text=True, check=True).stdout
        rows = out.splitlines()[2:]
        assert rows
        for row in rows:
            cols = row.split()
            emb, sub = cols[-5], cols[-4]
            assert (emb, sub) == ("yes", "yes"), row
        assert "Noto-Serif-CJK-SC" in out


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
    # the U001 documents never show what P001 paid at U002 (12000 base from 202307)
    for kind in ("unit-proof", "contribution-record"):
        text = _all(issued[0][kind][1])
        assert "12000.00" not in text and "示例软件科技有限公司" not in text
    record_text = _all(issued[0]["contribution-record"][1]).replace("202301 至 202312", "")
    assert "202306" in record_text and not re.search(r"\b20230[7-9]\b|\b20231[0-2]\b", record_text)
    summary = _all(issued[0]["summary-proof"][1])  # U002: P001 only from 202307, none of U001's months
    assert "示例精密机械有限公司" not in summary and "8890" not in summary
    assert "张伟 3205**********0011 企业职工基本养老保险 202307 202312 6 5760.00 11520.00" in summary
    with data.connect(warehouse) as con:
        u002 = data.contribution_record(con, "U002", "P001", "202301", "202312")
        assert {line["fee_period"] for line in u002["lines"]} == {f"2023{m:02d}" for m in range(7, 13)}
        assert {line["unit_name"] for line in u002["lines"]} == {"示例软件科技有限公司"}
        u001 = data.contribution_record(con, "U001", "P001", "202301", "202312")
        assert {line["fee_period"] for line in u001["lines"]} == {f"2023{m:02d}" for m in range(1, 7)}
        assert u001["totals"]["personal_amount"] == sum(line["personal_amount"] for line in u001["lines"])
        roster = data.unit_proof(con, "U002", "202301", "202312")["roster"]
        assert [(r["person_id"], r["first_period"], r["months_paid"]) for r in roster] == [
            ("P003", "202301", 12),
            ("P001", "202307", 6),
        ]
