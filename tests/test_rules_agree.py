"""The unit proof, the summary proof, the rights statement and the retirement check agree on
a person's months paid, on a month where one line arrived and another did not.

A small landing folder goes through the real loader, a real `dbt build` and the real
publisher of the serving copy; the figures are read through the certificates' and the
dashboard's own reader functions. Worked out by hand:

- U1 in Suzhou SIP pays pension (110) and medical (310) for P1 and P2, 202401-202406.
- In 202403 P1's pension arrived and his medical did not (未到账).
- P1: pension 6 months paid, medical 5 paid and 1 in arrears; 5 fully paid months.
- P2: every line arrived, 6 months in both insurances, 6 fully paid months.
- Statement period 202406 (SZ_SIP: 2023-07-01..2024-06-30) holds the same window.
- One persons row carries an ID number failing its check character: it is quarantined
  and the serving copy shows it masked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from certificates import data as cert_data
from dashboards import data as dash_data
from dashboards.db import Reader
from foundation import paths
from foundation.landing.identifiers import id_check_char, uscc_check_char
from pipelines.defs.serving.assets import publish_serving_copy
from pipelines.ingest.loader import load_landing

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).parent / "dbt"
AS_OF = "2024-07-20"
PERIODS = [f"2024{m:02d}" for m in range(1, 7)]
START, END = PERIODS[0], PERIODS[-1]
D = Decimal


def _id(first17: str) -> str:
    return first17 + id_check_char(first17)


P1_ID = _id("32058619800101123")  # man born 1980-01
P2_ID = _id("32058619850202234")  # woman born 1985-02 on a professional post
USCC = "91320594MA1XXXXX0" + uscc_check_char("91320594MA1XXXXX0")
BAD_ID = P2_ID[:-1] + ("0" if P2_ID[-1] != "0" else "1")  # wrong check character


# An 18-character resident ID: region, birth date, sequence, check character (not inside a longer number).
ID_LIKE = re.compile(r"(?<![0-9])[0-9]{6}(19|20)[0-9]{2}(0[1-9]|1[0-2])[0-3][0-9][0-9]{3}[0-9Xx](?![0-9])")


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_landing(landing: Path) -> None:
    _csv(
        landing / "employers" / "units.csv",
        [
            "单位编号",
            "单位名称",
            "统一社会信用代码",
            "单位类型",
            "参保地",
            "行业风险类别",
            "法定代表人",
            "地址",
            "成立日期",
            "单位状态",
        ],
        [["U1", "甲公司", USCC, "企业", "苏州工业园区", 1, "赵六", "苏州工业园区星湖街1号", "2010-01-01", "正常"]],
    )
    _csv(
        landing / "persons" / "persons.csv",
        ["个人编号", "姓名", "证件号码", "性别", "出生日期", "户籍性质", "参加工作日期", "岗位类别"],
        [
            ["P1", "张三", P1_ID, "男", "1980-01-01", "城镇", "2002-07-01", "生产岗"],
            ["P2", "李四", P2_ID, "女", "1985-02-02", "城镇", "2007-07-01", "专业技术岗"],
            ["P3", "王五", BAD_ID, "女", "1985-02-02", "城镇", "2007-07-01", "工勤岗"],
        ],
    )
    _csv(
        landing / "enrolments" / "enrolments.csv",
        ["个人编号", "单位编号", "险种类型", "参保开始年月", "参保终止年月", "参保状态"],
        [[p, "U1", ins, START, None, "正常参保"] for p in ("P1", "P2") for ins in ("110", "310")],
    )
    header = [
        "单位编号",
        "个人编号",
        "证件号码",
        "费款所属期",
        "险种类型",
        "缴费类型",
        "个人缴费基数",
        "单位缴费基数",
        "个人缴费金额",
        "单位缴费金额",
        "到账标志",
        "到账金额",
        "到账日期",
        "参保地",
    ]
    rates = {"110": (D("0.08"), D("0.16")), "310": (D("0.02"), D("0.06"))}
    rows = []
    for person, id_number in (("P1", P1_ID), ("P2", P2_ID)):
        for period in PERIODS:
            for ins, (pr, ur) in rates.items():
                base = D("8000.00")
                personal, unit = base * pr, base * ur
                arrived = not (person == "P1" and period == "202403" and ins == "310")
                paid_on = dt.date(int(period[:4]), int(period[4:]), 15)
                rows.append(
                    [
                        "U1",
                        person,
                        id_number,
                        period,
                        ins,
                        "正常应缴",
                        base,
                        base,
                        f"{personal:.2f}",
                        f"{unit:.2f}",
                        "已到账" if arrived else "未到账",
                        f"{personal + unit:.2f}" if arrived else None,
                        paid_on.isoformat() if arrived else None,
                        "苏州工业园区",
                    ]
                )
    _csv(landing / "ledgers" / "ledger-2024h1.csv", header, rows)


def _dbt(warehouse: Path, tmp: Path, *args: str) -> str:
    env = {**os.environ, "SHEBAO_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    project = str(ROOT / "dbt_project")
    cmd = [str(DBT), *args, "--project-dir", project, "--profiles-dir", project]
    cmd += ["--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("rules")
    landing, warehouse = tmp / "landing", tmp / "warehouse.duckdb"
    write_landing(landing)
    con = duckdb.connect(str(warehouse))
    try:
        reports = load_landing(con, landing)
    finally:
        con.close()
    assert reports["employers"].rows_loaded == 1 and reports["ledgers"].rows_loaded == 24
    assert reports["persons"].rows_quarantined == 1
    stdout = _dbt(warehouse, tmp, "build", "--vars", json.dumps({"as_of": AS_OF}))
    # The rule's own dbt unit test (a month with one line arrived and another not) ran and passed.
    assert re.search(r"PASS fct_person_months::person_month_one_line_arrived_another_not", stdout), stdout[-3000:]
    publish_serving_copy(warehouse, AS_OF)
    return warehouse


def _proof_figures(warehouse: Path) -> tuple:
    with cert_data.connect(warehouse) as con:
        proof = cert_data.unit_proof(con, "U1", START, END)
        summary = cert_data.summary_proof(con, "U1", START, END)
        statement = cert_data.rights_statement(con, "P1", END)
    return proof["roster"], proof["rates"], proof["totals"], summary["rows"], statement["rows"]


def test_months_paid_agree_across_proofs_statement_and_retirement(served):
    with cert_data.connect(served) as con:
        proof = cert_data.unit_proof(con, "U1", START, END)
        summary = cert_data.summary_proof(con, "U1", START, END)
        statement = cert_data.rights_statement(con, "P1", END)
        due = con.execute(
            "select person_id, contribution_months from marts.rpt_retirement_due order by person_id"
        ).fetchall()

    per_insurance_summary = {(r["person_id"], r["insurance_type"]): r["months_paid"] for r in summary["rows"]}
    per_insurance_statement = {r["insurance_type"]: r["months_paid"] for r in statement["rows"]}
    arrears_statement = {r["insurance_type"]: r["months_in_arrears"] for r in statement["rows"]}
    roster = {r["person_id"]: r["months_paid"] for r in proof["roster"]}

    # Per insurance, the summary proof and the rights statement count the same months.
    assert per_insurance_summary == {("P1", "110"): 6, ("P1", "310"): 5, ("P2", "110"): 6, ("P2", "310"): 6}
    assert per_insurance_statement == {"110": 6, "310": 5}
    assert arrears_statement == {"110": 0, "310": 1}
    assert all(per_insurance_statement[ins] == per_insurance_summary[("P1", ins)] for ins in ("110", "310"))
    # The unit proof counts a person's month paid when every insurance of it arrived: 202403
    # is paid for P1's pension, in arrears for his medical, so not one of his paid months.
    assert roster == {"P1": 5, "P2": 6}
    assert roster["P1"] == min(per_insurance_statement.values())
    assert [(r["first_period"], r["last_period"]) for r in proof["roster"]] == [(START, END), (START, END)]
    assert proof["totals"]["person_months"] == 11 == summary["totals"]["person_months"]
    assert proof["totals"]["headcount"] == 2
    # The retirement check counts the pension months the rights statement counts.
    assert due == [("P1", 6), ("P2", 6)]


def test_unit_proof_rates_headcount_and_money_from_marts(served):
    with cert_data.connect(served) as con:
        proof = cert_data.unit_proof(con, "U1", START, END)
        marts_202403 = con.execute(
            """select insurance_type, due_headcount, paid_headcount from marts.rpt_unit_proof_insurances
               where unit_id = 'U1' and fee_period = '202403' order by 1"""
        ).fetchall()
    rates = {r["insurance_type"]: r for r in proof["rates"]}
    assert {k: (v["paid_to"], v["headcount"]) for k, v in rates.items()} == {"110": (END, 2), "310": (END, 2)}
    assert (rates["110"]["unit_rate"], rates["110"]["personal_rate"]) == (D("0.16"), D("0.08"))
    assert marts_202403 == [("110", 2, 2), ("310", 2, 1)]
    # Money arrived on 23 of 24 lines: personal 800.00 and unit 1760.00 a month x 2 persons x 6 months,
    # less P1's medical of 202403 not arrived (personal 160.00, unit 480.00).
    totals = proof["totals"]
    assert (totals["personal_amount"], totals["unit_amount"]) == (D("9440.00"), D("20640.00"))
    assert totals["total_amount"] == D("30080.00")


def test_window_inside_the_month_in_arrears(served):
    """A window of just 202403: P1 has no fully paid month; the summary still lists his pension."""
    with cert_data.connect(served) as con:
        proof = cert_data.unit_proof(con, "U1", "202403", "202403")
        summary = cert_data.summary_proof(con, "U1", "202403", "202403")
    assert {r["person_id"]: r["months_paid"] for r in proof["roster"]} == {"P1": 0, "P2": 1}
    assert {(r["person_id"], r["insurance_type"]) for r in summary["rows"]} == {
        ("P1", "110"),
        ("P2", "110"),
        ("P2", "310"),
    }
    assert summary["totals"]["headcount"] == 2 and summary["totals"]["person_months"] == 1


def test_serving_copy_has_no_raw_schema_and_no_full_id_number(served):
    serving = paths.serving_path(served)
    con = duckdb.connect(str(serving), read_only=True)
    try:
        schemas = {r[0] for r in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        assert schemas == {"marts", "reference", "meta"}
        full_ids = {P1_ID, P2_ID, BAD_ID}
        for schema, table, column in con.execute(
            """select schema_name, table_name, column_name from duckdb_columns()
               where data_type = 'VARCHAR' and schema_name in ('marts', 'meta')"""
        ).fetchall():
            values = con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall()
            found = {v for (v,) in values if v and (ID_LIKE.search(v) or any(i in v for i in full_ids))}
            assert not found, (schema, table, column, found)
    finally:
        con.close()


def test_dashboard_quality_page_reads_the_quality_marts(served):
    con = duckdb.connect(str(paths.serving_path(served)), read_only=True)
    try:
        r = Reader(con)
        rows = dash_data.quarantine_rows(r)
        files = dash_data.load_files(r)
        gx = dash_data.expectation_results(r)
        arrival = dash_data.overview(r)
    finally:
        con.close()
    assert rows[["数据源", "文件", "行号", "问题类别", "问题", "字段"]].values.tolist() == [
        ["人员信息", "persons/persons.csv", 4, "证件号码与信用代码校验", "证件号码校验位错误", "证件号码"]
    ]
    assert "(id_number)" not in rows["原因"].iloc[0]  # Chinese labels only
    masked = BAD_ID[:4] + "*" * 10 + BAD_ID[-4:]
    assert rows["值"].tolist() == [masked]
    assert f"值为“{masked}”" in rows["原因"].iloc[0] and BAD_ID not in rows["原因"].iloc[0]
    by_file = {
        f: (label, read, loaded, quarantined)
        for f, label, read, loaded, quarantined in files[
            ["文件", "状态", "读取行数", "入库行数", "隔离行数"]
        ].values.tolist()
    }
    assert by_file["persons/persons.csv"] == ("已入库", 3, 2, 1)
    assert by_file["ledgers/ledger-2024h1.csv"] == ("已入库", 24, 24, 0)
    assert gx.empty  # no GX check ran in this build; the table is still there
    # 202406 is the current period (as of 2024-07-20): every line arrived, 100.00 %.
    assert arrival["current_period"] == "202406" and arrival["current"]["arrival_rate"] == D("100.00")
    assert arrival["previous"]["persons"] == 2


def test_overview_arrears_page_and_query_agree_on_units_in_arrears(served, capsys):
    """总览, 欠费 and `shebao query arrears` read one mart and say the same: U1 owes P1's 202403 medical."""
    from shebao import cli

    con = duckdb.connect(str(paths.serving_path(served)), read_only=True)
    try:
        r = Reader(con)
        overview, totals = dash_data.overview(r), dash_data.arrears_totals(r)
        units, fees = dash_data.arrears_units(r), dash_data.late_fees(r, "U1")
    finally:
        con.close()
    assert overview["units_owing"] == totals["units_owing"] == len(units[units["类别"] == "欠费单位"]) == 1
    assert overview["units_paid_late"] == totals["units_paid_late"] == 0
    # 8000 x 8 % = 640.00 due 2024-03-31, owed 111 days on 2024-07-20: 640.00 x 0.0005 x 111 = 35.52
    assert overview["arrears_outstanding"] == totals["outstanding"] == D("640.00")
    assert overview["late_fee_on_owed"] == totals["late_fee_on_owed"] == D("35.52")
    assert [
        (str(a), pd.Timestamp(d).date(), n, str(rate), str(fee))
        for a, d, n, rate, fee in fees[["计费金额", "缴费截止日期", "逾期天数", "日费率", "滞纳金"]].values.tolist()
    ] == [("640.00", dt.date(2024, 3, 31), 111, "0.000500", "35.52")]
    assert cli.main(["query", "arrears", "--warehouse", str(served)]) == 0
    out = capsys.readouterr().out
    assert (
        "欠费单位 1 家，逾期缴费单位 0 家；欠缴本金合计 640.00 元，欠费滞纳金合计 35.52 元，逾期缴费滞纳金合计 0.00 元。"
        in out
    )


def test_incremental_rerun_changes_no_figure(served, tmp_path):
    """A second, incremental dbt run over the same lines rebuilds nothing and moves no figure."""
    before = _proof_figures(served)
    _dbt(served, tmp_path, "run", "--vars", json.dumps({"as_of": AS_OF}))
    publish_serving_copy(served, AS_OF)
    assert _proof_figures(served) == before
