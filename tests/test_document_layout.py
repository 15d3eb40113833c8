"""Every document type on A4 within a printer's 10 mm margins, read back with pdfplumber.

Two warehouses: the shared test warehouse (tests/support/warehouse.py) and a generated one
written below (a unit with a 29-character name paying eight insurances, people with long
names, a 补收 notice over three months, a statement period whose interest rate is a demo
assumption). For all five types on both: no character, line or box lies in the margin;
every table header label is printed whole on one line; every amount carries thousands
separators. Then the unit proof's 补收 line, the choice of people and the registry key.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pdfplumber
import pytest

from certificates import data
from certificates.issue import issue_document
from certificates.registry import Registry
from certificates.render import PRINTER_MARGIN_MM
from foundation.landing.identifiers import id_check_char, uscc_check_char
from foundation.landing.schema import EMPLOYERS, ENROLMENTS, LEDGERS, PERSONS
from tests.support.warehouse import _run, _write, id_number

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

MARGIN_PT = PRINTER_MARGIN_MM * 72 / 25.4
A4_PT = (595.28, 841.89)

HEADERS = {  # the column labels of each document's tables
    "unit-proof": [
        ["缴费险种", "当前单位费率", "当前个人费率", "缴费截止时间", "缴费人数"],
        # the roster folded into the detail (seed 002's N人明细), paired figures in one cell
        ["序号", "姓名", "证件号码", "费款所属期（月数）", "缴费到账时间", "缴费基数", "缴费险种", "缴费状态", "类型"],
    ],
    "summary-proof": [
        ["序号", "姓名", "证件号码", "险种", "起始年月", "截止年月", "缴费月数", "个人缴费合计", "单位缴费合计"]
    ],
    "rights-statement": [
        ["险种", "缴费月数", "平均缴费基数", "单位缴费", "个人缴费", "补缴月数", "欠费月数", "累计缴费月数"],
        ["期初余额", "本期记账额", "本期利息", "期末余额"],
    ],
    "contribution-record": [
        [
            "对应费款所属期",
            "险种类型",
            "个人实缴金额",
            "单位实缴金额",
            "人员缴费基数",
            "单位缴费基数",
            "划拨总金额",
            "划拨日期",
        ]
    ],
    "payment-notice": [
        [
            "序号",
            "险种类型",
            "费款所属期",
            "缴费类型",
            "个人缴费金额",
            "单位缴费金额",
            "利息",
            "滞纳金",
            "其他缴费金额",
            "金额",
        ]
    ],
}

FIXTURE_DOCS = {
    "unit-proof": {"unit": "U001", "from": "202401", "to": "202503"},
    "summary-proof": {"unit": "U002"},
    "rights-statement": {"person": "P001", "period": "202406"},
    "contribution-record": {"unit": "U001", "person": "P001", "from": "202401", "to": "202503"},
    "payment-notice": {"unit": "U001", "period": "202503"},
}

# ---------------------------------------------------------------- generated landing
WIDE_UNIT = ("W001", "苏州工业园区星海国际供应链管理与智能制造技术服务有限公司", "91320594MA1WTDE01")
WIDE_INSURANCES = ("110", "210", "310", "320", "330", "340", "410", "510")  # eight insurances
WIDE_RATES = {  # SZ_SIP 2024-2025 (unit, personal, personal fixed); 410 at risk class 2
    "110": ("0.16", "0.08", None),
    "210": ("0.005", "0.005", None),
    "310": ("0.06", "0.02", None),
    "320": ("0.01", "0", None),
    "330": ("0", "0", "5.00"),
    "340": ("0", "0", None),
    "410": ("0.004", "0", None),
    "510": ("0.008", "0", None),
}
WIDE_PERIODS = [f"2024{m:02d}" for m in range(7, 13)] + [f"2025{m:02d}" for m in range(1, 13)]
WIDE_AS_OF = "2026-01-20"
LONG_NAMES = ["欧阳娜仁格日勒图雅", "阿卜杜热合曼·买买提艾力", "司马长风", "上官婉儿", "诸葛明轩"]
WIDE_PEOPLE = 23  # more than one page of roster and detail rows
LATE_JOINER = "W0023"  # joined 202503, charged 202503-202505 later on one 补收 notice


def _money(x: Decimal) -> str:
    return str(x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def wide_person(i: int) -> tuple[str, str, str]:
    """(person_id, name, id_number) of the generated person i (1-based)."""
    birth = dt.date(1975, 1, 1) + dt.timedelta(days=97 * i)
    first17 = "320506" + birth.strftime("%Y%m%d") + f"{i:03d}"
    name = LONG_NAMES[i % len(LONG_NAMES)] + ("" if i < 6 else str(i))
    return f"W{i:04d}", name, first17 + id_check_char(first17)


def wide_base(i: int, period: str) -> str:
    base = 8000 + 1250 * i  # up to 36,750: five-figure bases and six-figure totals
    return str(base + (1000 if i == 2 and period >= "202501" else 0))  # W0002's base rises in 2025


def write_wide_landing(landing: Path) -> Path:
    unit_id, unit_name, uscc17 = WIDE_UNIT
    _write(
        landing / "employers" / "employers.csv",
        EMPLOYERS,
        [
            {
                "unit_id": unit_id,
                "unit_name": unit_name,
                "uscc": uscc17 + uscc_check_char(uscc17),
                "unit_type": "企业",
                "region": "苏州工业园区",
                "risk_class": "2",
                "legal_representative": "欧阳娜仁格日勒图雅",
                "status": "正常",
            }
        ],
    )
    persons, enrolments, ledgers = [], [], {p: [] for p in WIDE_PERIODS}
    for i in range(1, WIDE_PEOPLE + 1):
        person_id, name, number = wide_person(i)
        persons.append(
            {
                "person_id": person_id,
                "name": name,
                "id_type": "居民身份证",
                "id_number": number,
                "sex": "男" if int(number[16]) % 2 else "女",
                "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
                "post_category": "管理岗",
            }
        )
        first = "202503" if person_id == LATE_JOINER else WIDE_PERIODS[0]
        for insurance in WIDE_INSURANCES:
            enrolments.append(
                {
                    "person_id": person_id,
                    "unit_id": unit_id,
                    "insurance_type": insurance,
                    "start_period": first,
                    "status": "正常参保",
                }
            )
        for period in WIDE_PERIODS:
            if period < first:
                continue
            back = person_id == LATE_JOINER and period <= "202505"
            base = Decimal(wide_base(i, period))
            for insurance in WIDE_INSURANCES:
                unit_rate, personal_rate, fixed = WIDE_RATES[insurance]
                personal = Decimal(fixed) if fixed else base * Decimal(personal_rate)
                ledgers[period].append(
                    {
                        "unit_id": unit_id,
                        "unit_name": unit_name,
                        "person_id": person_id,
                        "name": name,
                        "id_type": "居民身份证",
                        "id_number": number,
                        "fee_period": period,
                        "insurance_type": insurance,
                        "contribution_type": "补收" if back else "正常应缴",
                        "personal_base": str(base),
                        "unit_base": str(base),
                        "personal_amount": _money(personal),
                        "unit_amount": _money(base * Decimal(unit_rate)),
                        "account_credit": _money(personal) if insurance == "110" else "0.00",
                        "paid_status": "已到账",
                        "paid_date": "2025-05-20" if back else f"{period[:4]}-{period[4:]}-15",
                        "notice_no": f"B-{unit_id}-202505" if back else f"N-{unit_id}-{period}",
                        "region": "苏州工业园区",
                    }
                )
    _write(landing / "persons" / "persons.csv", PERSONS, persons)
    _write(landing / "enrolments" / "enrolments.csv", ENROLMENTS, enrolments)
    for period, rows in ledgers.items():
        _write(landing / "ledgers" / f"{period}.csv", LEDGERS, rows)
    return landing


WIDE_DOCS = {
    "unit-proof": {"unit": "W001"},  # the default range: the last 12 months, 202501-202512
    "summary-proof": {"unit": "W001", "all": True},
    "rights-statement": {"person": "W0002", "period": "202606"},
    "contribution-record": {"unit": "W001", "person": "W0002", "from": "202407", "to": "202512"},
    "payment-notice": {"unit": "W001", "period": "202505", "notice": "B-W001-202505"},
}


# ---------------------------------------------------------------- fixtures and readers
@pytest.fixture(scope="module")
def wide_warehouse(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("wide")
    return _run(directory, write_wide_landing(directory / "landing"), WIDE_AS_OF)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("layout_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(path))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        yield path


@pytest.fixture(scope="module")
def issued(home, built_warehouse, wide_warehouse) -> dict:
    out = {}
    for source, warehouse, docs in (("fixture", built_warehouse, FIXTURE_DOCS), ("wide", wide_warehouse, WIDE_DOCS)):
        for kind, params in docs.items():
            cert = issue_document(kind, params, warehouse, out=home / source / f"{kind}.pdf")
            out[(source, kind)] = cert
    return out


def page_lines(path: Path) -> list[list[str]]:
    with pdfplumber.open(path) as pdf:
        return [[line["text"] for line in page.extract_text_lines()] for page in pdf.pages]


def text_of(path: Path) -> str:
    return "\n".join("\n".join(lines) for lines in page_lines(path))


def outside_margin(path: Path) -> list[str]:
    """Every character, line, box and image closer than the printer margin to the paper's edge."""
    found = []
    with pdfplumber.open(path) as pdf:
        for n, page in enumerate(pdf.pages, 1):
            assert (round(float(page.width), 2), round(float(page.height), 2)) == A4_PT
            right, bottom = float(page.width) - MARGIN_PT, float(page.height) - MARGIN_PT
            objects = [("char", o) for o in page.chars] + [("rect", o) for o in page.rects]
            objects += [("line", o) for o in page.lines] + [("image", o) for o in page.images]
            for what, o in objects:
                if o["x0"] < MARGIN_PT or o["x1"] > right or o["top"] < MARGIN_PT or o["bottom"] > bottom:
                    label = o.get("text", "")
                    found.append(f"page {n} {what} {label!r} at x {o['x0']:.1f}-{o['x1']:.1f} y {o['top']:.1f}")
    return found


AMOUNT = re.compile(r"(?<![\d,.])\d[\d,]*\.\d{2}(?!\d)")
GROUPED = re.compile(r"^\d{1,3}(,\d{3})*\.\d{2}$")

CASES = [(source, kind) for source in ("fixture", "wide") for kind in HEADERS]


@pytest.mark.parametrize(("source", "kind"), CASES)
def test_nothing_printed_in_the_printer_margin(issued, source, kind):
    path = issued[(source, kind)].path
    assert outside_margin(path) == []
    with pdfplumber.open(path) as pdf:
        assert pdf.pages[0].chars  # the check saw text


@pytest.mark.parametrize(("source", "kind"), CASES)
def test_header_labels_whole_on_one_line(issued, source, kind):
    pages = page_lines(issued[(source, kind)].path)
    for labels in HEADERS[kind]:
        seen = 0
        for lines in pages:
            # the header row: a line with nearly all of the table's labels (tables share a few)
            header = [line for line in lines if sum(label in line for label in labels) >= max(2, len(labels) - 2)]
            if not header:
                continue
            seen += 1
            for label in labels:  # every label of a header row printed whole on that row's line
                assert any(label in line for line in header), (label, header)
        assert seen, f"no header row of {labels} found"
    text = "\n".join("\n".join(lines) for lines in pages)
    assert "缴费状\n态" not in text and "缴费类\n型" not in text


@pytest.mark.parametrize(("source", "kind"), CASES)
def test_every_amount_has_thousands_separators(issued, source, kind):
    text = text_of(issued[(source, kind)].path)
    amounts = AMOUNT.findall(text)
    assert amounts
    assert [a for a in amounts if not GROUPED.match(a)] == []
    assert any("," in a for a in amounts)  # the documents do print amounts of 1,000 and more


# ---------------------------------------------------------------- the unit proof
def masked(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


def test_unit_proof_back_payment_row_says_补收(issued):
    """P008's 202401 was charged later (补收, arrived 2024-06-12): its own condensed row."""
    lines = [line for lines in page_lines(issued[("fixture", "unit-proof")].path) for line in lines]
    p008 = masked(id_number("P008"))
    rows = [line for line in lines if re.match(rf"(\d+ )?吴婷 {re.escape(p008)} ", line)]
    # P008: the 补收 month, then 202402-202503 in one row; insurances may wrap onto a second line
    assert rows[0].startswith(f"3 吴婷 {p008} 202401（1） 202406 9,805.00 ") and rows[0].endswith("已到账 补收")
    assert rows[1].startswith(f"吴婷 {p008} 202402-202503（14） 202402-202503 9,805.00 ")
    assert rows[1].endswith("已到账 正常")
    # two rows, so the roster's figures follow on the person's 期间合计 row: 15 months paid
    assert rows[2] == f"吴婷 {p008} 期间合计：起始期号 202401 截止期号 202503 缴费月数 15"


def test_unit_proof_rows_are_condensed_runs(issued):
    """U001 202401-202503: P001 1 row, P002 4 (202409's medical line never arrived: the arrived
    part, the unpaid part, and the months before and after), P008 2: 7 rows for 37 person-months;
    the roster is folded in (numbered on each person's first row), with a 期间合计 row for P002
    and P008, whose months paid the rows do not show at once."""
    lines = [line for lines in page_lines(issued[("fixture", "unit-proof")].path) for line in lines]
    rows = [line for line in lines if re.match(r"(\d+ )?\S+ 3205\*{10}[\dX]{4} 202\d{3}", line)]
    numbered = [line for line in lines if re.match(r"\d+ \S+ 3205\*{10}", line)]
    totals = [line for line in lines if "期间合计" in line]
    assert len(numbered) == 3 and len(rows) == 7 and len(totals) == 2
    p001, p002 = masked(id_number("P001")), masked(id_number("P002"))
    assert f"李娜 {p002} 202409（1） 6,000.00 医疗 未到账 正常" in lines
    assert f"李娜 {p002} 期间合计：起始期号 202401 截止期号 202503 缴费月数 14" in lines
    # P001 (张伟) has one run over the window, every month paid: the row is the roster's line
    assert [line for line in numbered if p001 in line] == [
        f"1 张伟 {p001} 202401-202406（6） 202401-202406 8,000.00 养老、失业、医疗、工伤 已到账 正常"
    ]
    assert not any(p001 in line for line in totals)


def test_wide_unit_proof_detail_is_one_section_for_everyone(issued):
    """Seed 002's 参保缴费情况(N人明细): one table for all 23 people, flowing over the pages."""
    pages = page_lines(issued[("wide", "unit-proof")].path)
    text = "\n".join("\n".join(p) for p in pages)
    assert text.count("人明细") == 1 and "参保缴费情况（23人明细）（2025年01月 至 2025年12月）" in text
    first = next(n for n, p in enumerate(pages) if any("人明细" in line for line in p))
    detail = "\n".join("\n".join(p) for p in pages[first:])
    people = set(re.findall(r"3205\*{10}[\dX]{4}", detail))  # long names wrap in their cell, the ID does not
    assert people == {masked(wide_person(i)[2]) for i in range(1, WIDE_PEOPLE + 1)}
    assert "2025年01月 至 2025年12月" in text  # the default range
    assert "期间内缴费人数合计：23人；缴费人月合计：274" in text.replace("\n", "")  # 22 x 12 + W0023's 202503-202512
    assert "法定代表人 欧阳娜仁格日勒图雅" in text


def test_unit_proof_for_three_chosen_people(issued, wide_warehouse, home):
    chosen = ["W0003", "W0011", "W0017"]
    cert = issue_document(
        "unit-proof",
        {"unit": "W001", "persons": chosen},
        wide_warehouse,
        out=home / "chosen.pdf",
    )
    pages = page_lines(cert.path)
    text = "\n".join("\n".join(p) for p in pages)
    detail = text[text.index("人明细") :]
    # long names wrap in their cell and push the ID to the next line: IDs from the whole detail
    listed = set(re.findall(r"3205\*{10}[\dX]{4}", detail))
    numbers = {masked(wide_person(int(p[1:]))[2]) for p in chosen}
    assert listed == numbers
    assert "本证明列出所选3人；期间内缴费人数合计：3人；缴费人月合计：36" in text.replace("\n", "")
    record = Registry().get(cert.id)
    assert re.fullmatch(r"W001/[0-9a-f]{8}", record.subject)
    assert record.facts["缴费人数"] == "3人"


def test_chosen_set_is_part_of_the_registry_key(built_warehouse, home):
    params = {"unit": "U001", "from": "202401", "to": "202503"}
    everyone = issue_document("unit-proof", params, built_warehouse, out=home / "key-all.pdf")
    first = issue_document("unit-proof", {**params, "persons": "P001,P008"}, built_warehouse, out=home / "key-1.pdf")
    again = issue_document(
        "unit-proof",
        {**params, "persons": ["P008", "P001"]},
        built_warehouse,
        out=home / "key-2.pdf",
        void_previous=True,
    )
    assert again.superseded == (first.id,)  # the same set in another order is the same document
    assert Registry().get(everyone.id).status == "valid"
    with data.connect(built_warehouse) as con:
        chosen = data.unit_proof(con, "U001", "202401", "202503", ["P001", "P008"])
    assert chosen["totals"]["headcount"] == 2 and chosen["totals"]["person_months"] == 21  # P001 6 + P008 15


@pytest.mark.parametrize(
    ("persons", "message"),
    [
        ("P999", "个人编号 P999 不存在"),
        ("P001,P003", "个人编号 P003 不是单位 U001 的参保人员"),  # U003's
        ("P001;DROP", "个人编号格式不正确"),
    ],
)
def test_unknown_or_foreign_person_is_refused_by_number(built_warehouse, home, persons, message):
    from certificates.data import DataError
    from certificates.documents import DocumentError

    with pytest.raises((DataError, DocumentError), match=message):
        issue_document("unit-proof", {"unit": "U001", "persons": persons}, built_warehouse, out=home / "no.pdf")
    assert not (home / "no.pdf").exists()


def test_person_outside_the_window_is_refused(built_warehouse, home):
    from certificates.data import DataError

    with pytest.raises(DataError, match="个人编号 P001 在 202407 至 202503 期间没有在单位 U001 的缴费记录"):
        issue_document(
            "unit-proof",
            {"unit": "U001", "from": "202407", "to": "202503", "persons": "P001"},
            built_warehouse,
            out=home / "no.pdf",
        )


# ---------------------------------------------------------------- names, numbers, notices, statements
def test_one_field_name_for_the_id_number(issued):
    for (_, kind), cert in issued.items():
        text = text_of(cert.path)
        assert "社会保障号" not in text and "公民身份号码" not in text, kind
        if kind != "payment-notice":
            assert "证件号码" in text, kind


def test_summary_proof_numbers_people(issued):
    lines = [line for lines in page_lines(issued[("fixture", "summary-proof")].path) for line in lines]
    numbered = [int(m.group(1)) for line in lines if (m := re.match(r"(\d+) \S+ 3205\*{10}", line))]
    assert numbered == [1, 2, 3]  # U002's three people, not their 12 person-insurance rows
    assert "缴费总额：155,376.05元" in "".join(lines)


def test_contribution_record_prints_the_unit_name_once(issued):
    for source in ("fixture", "wide"):
        text = text_of(issued[(source, "contribution-record")].path)
        name = "苏州甲科技有限公司" if source == "fixture" else WIDE_UNIT[1]
        assert text.replace("\n", "").count(name) == 1
    lines = [line for lines in page_lines(issued[("wide", "contribution-record")].path) for line in lines]
    rows = [line for line in lines if re.match(r"20\d{4} \S+ [\d,]+\.\d{2} ", line)]
    assert len(rows) == 18 * 8  # 18 months x 8 insurances, each row on one line (nothing wraps)


def test_payment_notices_show_the_whole_period_and_the_due_date(issued):
    back = text_of(issued[("wide", "payment-notice")].path)
    assert "费款所属期 202503 至 202505" in back
    assert "缴费截止日期 2025年05月31日" in back  # SZ_SIP: last day of the latest fee period
    regular = text_of(issued[("fixture", "payment-notice")].path)
    assert "缴费截止日期 2025年03月31日" in regular


def test_rights_statement_account_within_the_period(issued):
    text = text_of(issued[("fixture", "rights-statement")].path)
    # 202406 = 2023-07-01..2024-06-30: nothing before 2024, U001's six months of 640.00, no year
    # closed with interest inside the period
    assert "0.00 3,840.00 0.00 3,840.00" in text
    assert "本期内无已结息年度" in text
    assert "缴费年限不足" not in text  # P001 is projected to 24.17 years of the 20 required


def test_rights_statement_says_when_the_minimum_years_are_not_met(built_warehouse, home):
    """P002 retires 2025-09 with 1.67 projected years: the estimate stays, marked as below the minimum.
    202506 = 2024-07-01..2025-06-30: opening 2,880.00 (six months of 480.00 in 2024), credits 4,320.00
    (202407-202503), interest of 2024 at 2.62 % 13.62, closing 7,213.62."""
    cert = issue_document(
        "rights-statement", {"person": "P002", "period": "202506"}, built_warehouse, out=home / "p002.pdf"
    )
    text = text_of(cert.path).replace("\n", "")
    assert "2,880.00 4,320.00 13.62 7,213.62" in text
    assert "本期利息为2024年度结息，记账利率2.62%。" in text
    assert "缴费年限不足15年：预计至法定退休年龄累计缴费1.67年，不满足按月领取基本养老金条件" in text


def test_rights_statement_labels_an_assumed_rate(issued):
    text = text_of(issued[("wide", "rights-statement")].path).replace("\n", "")
    assert "本期利息为2025年度结息，记账利率1.50%（演示用假设利率）" in text


def test_cli_persons_option_and_one_line_refusal(built_warehouse, home, capsys):
    from shebao import cli

    wh = ["--warehouse", str(built_warehouse)]
    rc = cli.main(["cert", "issue", "unit-proof", "--unit", "U001", "--persons", "P001,P003", *wh])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == "开具失败：个人编号 P003 不是单位 U001 的参保人员，不能列入本单位的证明"
    out = home / "cli-chosen.pdf"
    rc = cli.main(["cert", "issue", "unit-proof", "--unit", "U001", "--persons", "P008", "--out", str(out), *wh])
    assert rc == 0
    text = text_of(out).replace("\n", "")
    # the default range: U001's last 12 months, 202404-202503; P008 paid all twelve
    assert "2024年04月 至 2025年03月" in text and "本证明列出所选1人；期间内缴费人数合计：1人；缴费人月合计：12" in text
    rc = cli.main(["cert", "issue", "payment-notice", "--unit", "U001", "--period", "202401", *wh])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.endswith("请指定其中一张的通知单号（用 --notice 指定）") and "\n" not in err
