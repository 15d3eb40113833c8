"""`shebao query` on a small serving copy built in tmp_path (the mart tables created directly)."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest

from shebao import cli

FULL_ID = "320586198505059916"


@pytest.fixture()
def warehouse(tmp_path):
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute("create schema marts; create schema reference; create schema meta")
    con.execute("""
        create table marts.dim_retirement_age_rules as select * from (values
          (date '1965-05-01', 'male', '男职工', 722, '60岁2个月', date '2025-07-01', 720, 2, date '2025-05-01', 2025, 180,
           date '2025-05-01', date '2028-07-01'),
          (date '1976-06-01', 'female_worker', '原法定退休年龄50周岁的女职工', 609, '50岁9个月', date '2027-03-01', 600, 9,
           date '2026-06-01', 2027, 180, date '2026-06-01', date '2030-03-01'))
        t(birth_month, retirement_group, group_label, statutory_age_months, statutory_age_label, retirement_month,
          original_age_months, delay_months, original_retirement_month, retirement_year, required_months,
          earliest_flexible_month, latest_flexible_month)""")
    con.execute(f"""
        create table marts.dim_persons as select * from (values
          ('P1', '张三', '{FULL_ID}', '3205**********9916'),
          ('P2', '李四', '420106197606061234', '4201**********1234'))
        t(person_id, name, id_number, id_number_masked)""")
    con.execute("""
        create table marts.dim_units as select * from (values ('U1', '甲公司'), ('U2', '乙公司')) t(unit_id, unit_name)""")
    con.execute("""
        create table marts.rpt_retirement_due as select * from (values
          ('P1', '张三', '3205**********9916', '男', 'U1', '甲公司', 'male', date '1965-05-01', 722, '60岁2个月',
           date '2025-07-01', 200, 180, 0, date '2025-05-01', date '2028-07-01'),
          ('P2', '李四', '4201**********1234', '女', 'U2', '乙公司', 'female_worker', date '1976-06-01', 609, '50岁9个月',
           date '2027-03-01', 100, 180, 80, null, date '2030-03-01'))
        t(person_id, name, id_number_masked, sex, unit_id, unit_name, retirement_group, birth_month,
          statutory_age_months, statutory_age_label, retirement_month, contribution_months, required_months,
          shortfall_months, earliest_flexible_month, latest_flexible_month)""")
    con.execute("""
        create table marts.fct_arrears as select * from (values
          ('U1', '201105', '110', 'SZ_SIP', 1000.00::decimal(18,2), 0.00::decimal(18,2), 1000.00::decimal(18,2),
           0.00::decimal(18,2), date '2011-05-31', null::date, 40, 65.00::decimal(18,2), 0.00::decimal(18,2),
           65.00::decimal(18,2), true, date '2011-07-10'),
          ('U2', '201104', '210', 'HB_PROV', 177.80::decimal(18,2), 177.80::decimal(18,2), 0.00::decimal(18,2),
           177.80::decimal(18,2), date '2011-05-15', date '2011-06-20', 36, 0.00::decimal(18,2),
           12.80::decimal(18,2), 12.80::decimal(18,2), true, date '2011-07-10'))
        t(unit_id, fee_period, insurance_type, region_code, amount_due, amount_paid, outstanding, late_paid_amount,
          due_date, last_late_arrival_date, days_overdue, late_fee_on_owed, late_fee_on_paid_late, late_fee,
          has_late_fee, as_of_date)""")
    con.execute("""
        create table marts.rpt_unit_arrears as select * from (values
          ('U1', true, 1000.00::decimal(18,2), 65.00::decimal(18,2), 0.00::decimal(18,2)),
          ('U2', false, 0.00::decimal(18,2), 0.00::decimal(18,2), 12.80::decimal(18,2)))
        t(unit_id, is_owing, outstanding, late_fee_on_owed, late_fee_on_paid_late)""")
    con.execute("""
        create table marts.rpt_rights_statement as select * from (values
          ('P1', '202006', date '2019-07-01', date '2020-06-30', '110', 4, 5500.00::decimal(18,2),
           1760.00::decimal(18,2), 3520.00::decimal(18,2), 0, 0, 4, 'U1,U2', '甲公司,乙公司'))
        t(person_id, statement_period, period_start, period_end, insurance_type, months_paid, avg_base,
          personal_amount, unit_amount, back_paid_months, months_in_arrears, cumulative_months, unit_ids, unit_names)""")
    con.execute("""
        create table reference.insurance_types as select * from (values
          ('110', '企业职工基本养老保险', 10), ('210', '失业保险', 20)) t(insurance_type, insurance_name, sort_order)""")
    con.execute("""
        create table reference.retirement_reform_groups as select * from (values
          ('male', '男职工', '男职工'), ('female_worker', '原法定退休年龄50周岁的女职工', '女职工(原50周岁)'))
        t(retirement_group, group_label, group_short_label)""")
    con.execute(
        "create table meta.build_info as select timestamp '2011-07-10 08:00:00' as published_at, date '2011-07-10' as as_of"
    )
    con.close()
    return wh


def run(capsys, *argv):
    code = cli.main(["query", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_retirement_age_prints_chinese_age_and_month(warehouse, capsys):
    code, out, _ = run(capsys, "retirement-age", "--birth", "1965-05", "--group", "male", "--warehouse", str(warehouse))
    assert code == 0
    assert "60岁2个月" in out and "2025-07" in out


def test_retirement_age_json(warehouse, capsys):
    code, out, _ = run(
        capsys,
        "retirement-age",
        "--birth",
        "1976-06",
        "--group",
        "female_worker",
        "--json",
        "--warehouse",
        str(warehouse),
    )
    assert code == 0
    [row] = json.loads(out)
    assert row["statutory_age"] == "50岁9个月"
    assert row["statutory_age_months"] == 609
    assert row["retirement_month"] == "2027-03"


def test_retirement_age_unknown_birth_month_is_a_clear_error(warehouse, capsys):
    code, out, err = run(
        capsys, "retirement-age", "--birth", "1930-01", "--group", "male", "--warehouse", str(warehouse)
    )
    assert code == 2 and "不在法定退休年龄表范围内" in err and out == ""


def test_retirement_window_and_unit_filter(warehouse, capsys):
    code, out, _ = run(
        capsys, "retirement", "--from", "2025-01", "--to", "2027-12", "--format", "json", "--warehouse", str(warehouse)
    )
    rows = json.loads(out)
    assert code == 0 and [r["person_id"] for r in rows] == ["P1", "P2"]
    assert rows[1]["earliest_flexible_month"] is None and rows[1]["shortfall_months"] == 80
    assert [r["retirement_group"] for r in rows] == ["男职工", "女职工(原50周岁)"]  # labels from the seed
    code, out, _ = run(
        capsys, "retirement", "--from", "2025-07", "--to", "2025-07", "--unit", "U2", "--warehouse", str(warehouse)
    )
    assert code == 0 and "共 0 条" in out
    code, out, _ = run(capsys, "retirement", "--from", "2025-07", "--to", "2025-07", "--warehouse", str(warehouse))
    assert "3205**********9916" in out and FULL_ID not in out and "共 1 条" in out


def test_arrears_table_csv_and_totals(warehouse, capsys):
    code, out, _ = run(capsys, "arrears", "--warehouse", str(warehouse))
    assert code == 0
    assert "计算日 2011-07-10" in out
    assert (
        "欠费单位 1 家，逾期缴费单位 1 家；欠缴本金合计 1000.00 元，欠费滞纳金合计 65.00 元，逾期缴费滞纳金合计 12.80 元。"
        in out
    )
    code, out, _ = run(
        capsys, "arrears", "--unit", "U1", "--format", "csv", "--as-of", "2011-07-10", "--warehouse", str(warehouse)
    )
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(rows) == 1
    assert rows[0]["险种"] == "企业职工基本养老保险"
    assert rows[0]["欠缴本金"] == "1000.00" and rows[0]["欠费滞纳金"] == "65.00" and rows[0]["逾期天数"] == "40"
    assert rows[0]["逾期缴费滞纳金"] == "0.00" and rows[0]["缴费截止日期"] == "2011-05-31"


def test_arrears_other_as_of_is_refused(warehouse, capsys):
    code, out, err = run(capsys, "arrears", "--as-of", "2012-01-01", "--warehouse", str(warehouse))
    assert code == 2 and out == ""
    assert "按 2011-07-10 计算" in err and "shebao run --as-of 2012-01-01" in err


def test_statement_json(warehouse, capsys):
    code, out, _ = run(
        capsys, "statement", "--person", "P1", "--period", "202006", "--format", "json", "--warehouse", str(warehouse)
    )
    [row] = json.loads(out)
    assert code == 0
    assert row["insurance_name"] == "企业职工基本养老保险"
    assert row["avg_base"] == "5500.00" and row["personal_amount"] == "1760.00"
    assert row["unit_ids"] == "U1,U2" and row["cumulative_months"] == 4


def test_statement_table_header_masks_id(warehouse, capsys):
    code, out, _ = run(capsys, "statement", "--person", "P1", "--period", "202006", "--warehouse", str(warehouse))
    assert code == 0
    assert "2019-07-01 至 2020-06-30" in out and "3205**********9916" in out and FULL_ID not in out
    assert "不作为待遇计发凭证" in out


def test_missing_serving_copy(tmp_path, capsys):
    code, _, err = run(capsys, "arrears", "--warehouse", str(tmp_path / "none" / "warehouse.duckdb"))
    assert code == 2 and "找不到数据副本" in err
