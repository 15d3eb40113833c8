"""The optional legacy-history source (历史缴费记录): contract, quarantine reasons, held rows, reloads."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from expectations import run as gx_run
from foundation.landing.identifiers import id_check_char, uscc_check_char
from foundation.landing.schema import LEGACY_HISTORY, SOURCES
from pipelines.ingest import loader

pytestmark = pytest.mark.unit

ID_A = "32058119900101123" + id_check_char("32058119900101123")
USCC = "91320594MA1XYK12"
USCC = USCC + "3"
USCC = USCC[:17] + uscc_check_char(USCC[:17])
EMPLOYERS = "单位编号,单位名称,统一社会信用代码,单位类型,参保地,行业风险类别,单位状态,法定代表人,地址,成立日期\n"
PERSONS = "个人编号,姓名,证件号码,性别,出生日期,户籍性质,参加工作日期,岗位类别\n"
HEADER = "个人编号,姓名,单位编号,单位名称,险种类型,起始年月,终止年月,缴费月数,缴费基数,个人账户迁移金额,参保地"
ROWS = [
    "P001,张伟,OLD1,苏州市第三纺织厂,企业职工基本养老保险,200001,202312,288,4000.00,52345.60,苏州工业园区",  # 2
    "P001,张伟,OLD1,苏州市第三纺织厂,职工基本医疗保险,200001,,288,4000,,苏州工业园区",  # 3: start + months
    "P001,张伟,,,110,199801,199912,,3000,1200.50,苏州工业园区",  # 4: end only, codes accepted
    "P001,张伟,,,310,201001,200912,,3000,,苏州工业园区",  # 5: ends before it starts
    "P001,张伟,,,210,201001,201012,10,3000,5.00,苏州工业园区",  # 6: 10 months stated, 12 in the range; no account
    "P001,张伟,,,110,2010-13,,,3000,,苏州工业园区",  # 7: no such month
    "P009,某人,,,110,201001,201012,,3000,,苏州工业园区",  # 8: person not registered yet: held
    "P001,张伟,OLD1,苏州市第三纺织厂,企业职工基本养老保险,200001,202312,288,4000.00,52345.60,苏州工业园区",  # 9: dup
    "P001,张伟,,,110,199001,,601,3000,,苏州工业园区",  # 10: more than 600 months
]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


@pytest.fixture
def loaded(tmp_path):
    landing = tmp_path / "landing"
    write(landing / "employers" / "e.csv", EMPLOYERS + f"U001,星湖科技,{USCC},企业,苏州工业园区,2,正常,,,\n")
    write(landing / "persons" / "p.csv", PERSONS + f"P001,张伟,{ID_A},男,1990-01-01,,,\n")
    write(landing / "legacy_history" / "h.csv", "\n".join([HEADER, *ROWS]) + "\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    reports = loader.load_landing(con, landing)
    yield landing, con, reports
    con.close()


def test_contract_is_one_source_among_the_others():
    assert SOURCES["legacy_history"] is LEGACY_HISTORY and LEGACY_HISTORY.label == "历史缴费记录"
    assert loader.SOURCE_ORDER[-1] == "legacy_history"  # after persons, whose registry it needs


def test_rows_load_quarantine_and_hold_with_reasons_naming_file_row_and_field(loaded):
    _landing, con, reports = loaded
    assert [f.status for r in ("employers", "persons") for f in reports[r].files] == ["loaded", "loaded"]
    (rep,) = reports["legacy_history"].files
    assert (rep.status, rep.rows_read, rep.rows_loaded, rep.rows_quarantined, rep.rows_held) == ("loaded", 9, 3, 5, 1)
    reasons = dict(
        con.execute("select source_row, reason from raw.quarantine where source = 'legacy_history'").fetchall()
    )
    f = "文件 legacy_history/h.csv "
    assert reasons == {
        5: f + "第5行 字段“终止年月”(end_period)：终止年月早于起始年月，值为“200912”",
        6: f + "第6行 字段“缴费月数”(month_count)：与起止年月不符（起止年月共12个月），值为“10”；"
        "字段“个人账户迁移金额”(account_balance)：只有养老保险可以填写个人账户迁移金额，值为“5.00”",
        7: f + "第7行 字段“起始年月”(start_period)：年月无效（应为YYYYMM格式，月份为01-12），值为“2010-13”",
        9: f + "第9行 重复记录：自然键（个人编号、险种类型、起始年月）与本文件第2行相同，值为“P001|110|200001”",
        10: f + "第10行 字段“缴费月数”(month_count)：应为1-600之间的整数，值为“601”",
    }
    (held,) = con.execute("select source_row, reason from raw.pending where source = 'legacy_history'").fetchall()
    assert held == (
        8,
        f
        + "第8行 字段“个人编号”(person_id)：人员未登记（人员信息中没有个人编号为“P009”的有效记录），暂挂，登记后自动加载",
    )
    stored = con.execute(
        "select source_row, insurance_type, start_period, end_period, month_count, base, account_balance, unit_id "
        "from raw.legacy_history order by source_row"
    ).fetchall()
    assert stored == [
        (2, "110", "200001", "202312", 288, Decimal("4000.00"), Decimal("52345.60"), "OLD1"),
        (3, "310", "200001", None, 288, Decimal("4000.00"), None, "OLD1"),
        (4, "110", "199801", "199912", None, Decimal("3000.00"), Decimal("1200.50"), None),
    ]


def test_a_held_spell_is_released_when_its_person_arrives_and_reloads_change_nothing(loaded):
    landing, con, _reports = loaded
    again = loader.load_landing(con, landing)
    assert [f.status for f in again["legacy_history"].files] == ["already_loaded"]
    assert con.execute("select count(*) from raw.legacy_history").fetchone()[0] == 3
    born = "1985-12-31"
    id_b = "42010619851231002" + id_check_char("42010619851231002")
    write(landing / "persons" / "p2.csv", PERSONS + f"P009,某人,{id_b},女,{born},,,\n")
    released = loader.load_landing(con, landing)
    assert released["legacy_history"].rows_released == 1
    assert con.execute("select count(*) from raw.legacy_history").fetchone()[0] == 4
    counts = con.execute(
        "select rows_read, rows_loaded, rows_quarantined, rows_held from raw.load_files where source = 'legacy_history'"
    ).fetchone()
    assert counts == (9, 4, 5, 0)
    loader.load_landing(con, landing)
    assert con.execute("select count(*) from raw.legacy_history").fetchone()[0] == 4


def test_the_gx_suite_passes_what_loaded_and_catches_what_slipped_past(loaded):
    _landing, con, _reports = loaded
    assert gx_run.validate_table(con, "legacy_history").success
    con.execute(
        "insert into raw.legacy_history by name select * replace ('199712' as end_period, 99 as source_row) "
        "from raw.legacy_history where source_row = 4"
    )
    outcome = gx_run.validate_table(con, "legacy_history")
    failed = {f["description"] for f in outcome.failures}
    assert failed == {"终止年月不早于起始年月", "同一个人编号+险种类型+起始年月不能有重复记录"}
