"""AppTest tests of the analyst pages on the built test warehouse, asserting the figures shown.

Every figure follows from the landing rows of tests/support/warehouse.py (see its docstring for
each person's monthly lines); the arithmetic is in the comments.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from tests.support.dashboard import app_test, fill_login, frame, login, metrics, open_page, prepare_home, stamp_shown

pytestmark = pytest.mark.dbt

# Monthly totals due: U001 + U002 + U003 + U004
H1_2024 = "22543.48"  # 7950.88 (2672.00 + 2004.00 + 3274.88) + 8300.00 (4980 + 3320) + 4284.00 + 2008.60
H2_2024 = "23855.48"  # 5278.88 (P001 gone) + 12284.00 (P001 3984 joins) + 4284.00 + 2008.60
M202501 = "23855.53"  # the soft finding's 800.05 instead of 800.00
M202503 = "18875.48"  # P005 (4980.00) has left U002


@pytest.fixture(scope="module")
def home(tmp_path_factory, built_warehouse):
    """Accounts in a module home; the pages read the built serving copy (they only read)."""
    path = tmp_path_factory.mktemp("shebao_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(path))
        mp.setenv("SHEBAO_WAREHOUSE", str(built_warehouse))
        yield prepare_home(path)


def test_login_rejects_a_wrong_password(home):
    at = app_test()
    at.run()
    fill_login(at, "U001", "wrong-password")
    assert [e.value for e in at.error] == ["单位编号、用户名或密码不正确。"]
    assert at.title[0].value == "登录"
    fill_login(at, "ana", "unit-one-pass")  # a unit's password never opens an analyst account
    assert [e.value for e in at.error] == ["用户名或密码不正确。"]


def test_overview_figures(home):
    at = open_page(login("ana"), "overview")
    assert stamp_shown(at)
    m = metrics(at)
    assert m["缴费人数"] == ("7", "-1")  # 202503 without P005
    assert m["缴费单位数"] == ("4", "+0")
    assert m["本月应缴金额"] == ("¥18,875.48", "-4,980.00 元")
    # 202503 arrived 18875.48 - 4284.00 (U003) = 14591.48 -> 77.30 %; 202502 19571.48 / 23855.48 = 82.04 %
    assert m["到账率"] == ("77.30%", "-4.74 个百分点")
    # outstanding: U001 202409 medical 480.00 + U003 202502 4284.00; 202503 is due 2025-04-15, not overdue yet
    assert m["欠缴本金"] == ("¥4,764.00", "本月新增 0.00 元")
    # insured now: 8 people less P005; owing: U001, U003; U002 only paid late. Late fees on money still
    # owed 47.28 + 66.40; on money paid late 217.78 (U001's 补收, 133 days) + 61.42 (U002, 10 days)
    assert any(
        "当前参保人数 7 人；欠费单位 2 家，逾期缴费单位 1 家；欠费滞纳金 ¥113.68，逾期缴费滞纳金 ¥279.20。" in c.value
        for c in at.caption
    )
    monthly = frame(at)
    assert list(monthly["费款所属期"]) == [f"2024{m:02d}" for m in range(4, 13)] + ["202501", "202502", "202503"]
    assert [str(v) for v in monthly["应缴金额"]] == [H1_2024] * 3 + [H2_2024] * 6 + [M202501, H2_2024, M202503]
    # arrived: 202409 lacks P002's medical 480.00 (23375.48), 202502 lacks U003 (19571.48)
    assert [str(v) for v in monthly["到账金额"]][4:8] == [H2_2024, "23375.48", H2_2024, H2_2024]


def test_trend_filters_round_trip_through_the_url(home):
    at = login("ana")
    at.query_params["from"] = "202502"
    at.query_params["to"] = "202503"
    at.query_params["region"] = "HB_PROV"
    at.query_params["by"] = "insurance"
    open_page(at, "trend")
    assert stamp_shown(at)
    df = frame(at)
    assert list(df.columns[:3]) == ["费款所属期", "险种", "缴费人数"]
    rows = {(p, i): (n, str(t)) for p, i, n, t in zip(df["费款所属期"], df["险种"], df["缴费人数"], df["应缴金额"])}
    # U003 (Hubei): P003 base 7000 + P004 base 5000 = 12000 of bases each month
    each_month = {
        "养老保险": (2, "2880.00"),  # 12000 x 24 %
        "失业保险": (2, "120.00"),  # 12000 x 1 %
        "医疗保险": (2, "1200.00"),  # 12000 x 10 %
        "工伤保险": (2, "84.00"),  # 12000 x 0.7 % (risk class 3)
    }
    assert rows == {(p, i): v for p in ("202502", "202503") for i, v in each_month.items()}
    # a sidebar change is written back to the URL
    at.sidebar.radio(key="f_by").set_value("unit_type").run()
    assert at.query_params["by"] == ["unit_type"] or at.query_params["by"] == "unit_type"
    df = frame(at)
    assert set(df["单位类型"]) == {"企业"}


def test_trend_unit_filter_from_url(home):
    at = login("ana")
    at.query_params["unit"] = "U004"
    at.query_params["by"] = "none"
    open_page(at, "trend")
    df = frame(at)
    assert list(df["费款所属期"])[:2] == ["202401", "202402"] and len(df) == 15
    assert {str(v) for v in df["应缴金额"]} == {"2008.60"}  # P006 base 6050 x 33.2 %


def test_arrears_ageing_top_units_and_drill_down(home):
    at = open_page(login("ana"), "arrears")
    assert stamp_shown(at)
    m = metrics(at)
    assert m["欠缴本金"][0] == "¥4,764.00"
    assert (m["欠费滞纳金"][0], m["逾期缴费滞纳金"][0]) == ("¥113.68", "¥279.20")  # 392.88 together
    # the same units as 总览: U001 and U003 still owe; U002 owes nothing but paid 202412 late
    assert (m["欠费单位数"][0], m["逾期缴费单位数"][0]) == ("2", "1")
    ageing = frame(at, index=0)
    # money still owed only: U003 202502 31 days; U001 202409 197 days (money paid late is not owed)
    assert list(ageing["账龄"]) == ["31-90天", "181-365天"]
    assert [str(v) for v in ageing["欠缴本金"]] == ["4284.00", "480.00"]
    # 4284 x 0.05 % x 31 per line: 44.64 + 1.86 + 18.60 + 1.30; 480 x 0.05 % x 197 = 47.28
    assert [str(v) for v in ageing["欠费滞纳金"]] == ["66.40", "47.28"]
    top = frame(at, index=1)
    assert list(zip(top["单位编号"], top["类别"])) == [
        ("U003", "欠费单位"),
        ("U001", "欠费单位"),
        ("U002", "逾期缴费单位"),
    ]
    assert [str(v) for v in top["欠缴本金"]] == ["4284.00", "480.00", "0.00"]
    # 12284 x 0.05 % x 10 per line: 44.40 + 1.85 + 14.80 + 0.37; 3274.88 x 0.05 % x 133: 156.49 + 6.52 + 52.16 + 2.61
    assert [str(v) for v in top["逾期缴费滞纳金"]] == ["0.00", "217.78", "61.42"]
    assert list(top["最长逾期缴费天数"].fillna(0)) == [0, 133, 10]
    # drill-down: U003 -> its periods -> the lines of 202502 pension
    periods = frame(at, index=2)
    assert list(zip(periods["费款所属期"], periods["险种代码"])) == [
        ("202502", c) for c in ("110", "210", "310", "410")
    ]
    fees = frame(at, index=3)  # U003's late fees: 202502, 31 days, still owed
    assert [str(v) for v in fees["滞纳金"]] == ["44.64", "1.86", "18.60", "1.30"]
    lines = frame(at, index=4)
    assert list(lines["姓名"]) == ["王芳", "赵强"]
    assert [str(v) for v in lines["应缴金额"]] == ["1680.00", "1200.00"]  # 7000 x 24 %, 5000 x 24 %
    at.selectbox(key="drill_unit").set_value("U001").run()
    periods = frame(at, index=2)
    assert list(periods["费款所属期"]) == ["202401"] * 4 + ["202409"]
    assert str(periods["欠缴本金"].iloc[-1]) == "480.00" and str(periods["欠费滞纳金"].iloc[-1]) == "47.28"
    assert [str(v) for v in periods["逾期缴费滞纳金"]] == ["156.49", "6.52", "52.16", "2.61", "0.00"]
    lines = frame(at, index=4)  # 202401 pension: two regular lines and P008's 补收
    assert list(zip(lines["姓名"], lines["缴费类型"])) == [("张伟", "正常应缴"), ("李娜", "正常应缴"), ("吴婷", "补收")]
    assert [str(v) for v in lines["应缴金额"]] == ["1920.00", "1440.00", "2353.20"]


def test_retirement_wave_against_pre_reform_ages(home):
    at = open_page(login("ana"), "retirement")
    assert stamp_shown(at)
    m = metrics(at)
    # 2025-04 .. 2028-03: P004, P002, P003, P007 now; under the old ages P004 (2025-03) falls before the window
    assert m["36个月内到龄（现行）"][0] == "4"
    assert m["36个月内到龄（改革前年龄）"][0] == "3"
    wave = frame(at, index=0)
    shown = {
        (mo, g): (int(a), int(b))
        for mo, g, a, b in zip(wave["月份"], wave["人员类别"], wave["现行法定到龄人数"], wave["改革前到龄人数"])
    }
    assert shown == {
        ("2025-04", "男职工"): (1, 0),  # P004 born 1965-03: 1 month of delay -> 60y1m
        ("2025-06", "原法定退休年龄50周岁的女职工"): (0, 1),  # P002 born 1975-06 at 50
        ("2025-08", "原法定退休年龄55周岁的女职工"): (0, 1),  # P003 born 1970-08 at 55
        ("2025-09", "原法定退休年龄50周岁的女职工"): (1, 0),  # P002: d = 5, 5 // 2 + 1 = 3 months
        ("2025-10", "原法定退休年龄55周岁的女职工"): (1, 0),  # P003: d = 7, 7 // 4 + 1 = 2 months
        ("2026-01", "男职工"): (0, 1),  # P007 born 1966-01 at 60
        ("2026-05", "男职工"): (1, 0),  # P007: d = 12, 12 // 4 + 1 = 4 months
    }
    people = frame(at, index=1)
    assert list(people["姓名"]) == ["赵强", "李娜", "王芳", "孙磊"]
    assert list(people["法定退休年龄"]) == ["60岁1个月", "50岁3个月", "55岁2个月", "60岁4个月"]
    short = frame(at, index=2)
    # 180 months required; paid pension months: P004 13 (U003 202502-03 unpaid), P002 15, P003 13, P007 15
    assert list(zip(short["姓名"], short["尚缺月数"])) == [("赵强", 167), ("李娜", 165), ("王芳", 167), ("孙磊", 165)]


def test_data_quality_page(home):
    at = open_page(login("ana"), "quality")
    assert stamp_shown(at)
    m = metrics(at)
    assert m["隔离行数"][0] == "2"
    assert m["已接收文件数"][0] == "18"  # employers, persons, enrolments and 15 monthly ledgers
    by_reason = frame(at, index=0)
    # grouped by the quality mart's categories (seed quality_reasons), Chinese labels only
    assert list(zip(by_reason["问题类别"], by_reason["问题"], by_reason["行数"], by_reason["数据源"])) == [
        ("证件号码与信用代码校验", "证件号码校验位错误", 1, "缴费明细"),
        ("格式错误", "年月格式错误", 1, "缴费明细"),
    ]
    assert len(frame(at, index=2)) == 2
    at.selectbox(key="q_pick_reason").set_value("年月格式错误").run()
    rows = frame(at, index=2)
    assert list(zip(rows["文件"], rows["行号"], rows["问题类别"], rows["值"])) == [
        ("ledgers/202503.csv", 31, "格式错误", "2025-13")
    ]
    at.selectbox(key="q_pick_reason").set_value("证件号码校验位错误").run()
    rows = frame(at, index=2)
    assert list(rows["值"]) == ["3205**********0710"]  # the bad ID number, masked
    files = frame(at, index=3)
    row = files[files["文件"] == "ledgers/202503.csv"].iloc[0]
    # 7 people x 4 lines, then the 2 bad rows (sheet rows 30 and 31 under the header)
    assert (row["读取行数"], row["入库行数"], row["隔离行数"]) == (30, 28, 2)
    gx = frame(at, index=4)
    assert dict(zip(gx["检查"], zip(gx["级别"], gx["结果"]))) == {
        "单位信息入库校验": ("阻断", "通过"),
        "人员信息入库校验": ("阻断", "通过"),
        "参保登记入库校验": ("阻断", "通过"),
        "缴费明细入库校验": ("阻断", "通过"),
        "缴费金额与基数核对": ("仅报告", "未通过"),
    }
    soft_gx = gx[gx["检查"] == "缴费金额与基数核对"].iloc[0]
    assert soft_gx["校验规则"] == "缴费金额与基数核对规则"
    assert "1 行未通过" in soft_gx["未通过详情"] and "{" not in soft_gx["未通过详情"]
    soft = frame(at, index=5)
    # ledgers/202501.csv row 18: P007's pension (the 17th line after the header), 10000 x 8 % = 800.00
    assert list(zip(soft["文件"], soft["行号"], soft["问题类型"], soft["险种"])) == [
        ("ledgers/202501.csv", 18, "个人缴费金额与基数×费率不符", "企业职工基本养老保险")
    ]
    assert [str(v) for v in soft["个人缴费"]] == ["800.05"]
    assert [str(v) for v in soft["按费率应为（个人）"]] == ["800.00"]
    # no frame on the page (nor its export) shows a full ID number, an English code, "None" or JSON
    shown = [str(v) for df in (frame(at, index=i) for i in range(len(at.dataframe))) for v in df.to_numpy().ravel()]
    assert not [v for v in shown if re.search(r"[0-9]{17}[0-9Xx]|[0-9]{15}", v)]
    codes = ("gx_", "raw_", "_mismatch", "id_number", "invalid_", "None", "{", "expect_")
    assert not [v for v in shown if any(code in v for code in codes)]


def test_exports_are_the_filtered_view(home):
    at = login("ana")
    at.query_params["region"] = "SZ_CITY"
    at.query_params["by"] = "none"
    open_page(at, "trend")
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels[:2] == ["导出 CSV", "导出 Excel"]
    # the export content is the frame shown: U004 only
    df = frame(at)
    assert [str(v) for v in df["应缴金额"]] == ["2008.60"] * 15


def test_export_helpers_write_exact_money():
    from decimal import Decimal

    from dashboards import ui

    df = pd.DataFrame({"单位": ["甲"], "欠费金额": [Decimal("1234567.80")]})
    book = pd.read_excel(io.BytesIO(ui._xlsx(df, ["欠费金额"])), engine="calamine")
    assert book.iloc[0]["欠费金额"] == pytest.approx(1234567.80)
    assert df.to_csv(index=False).splitlines()[1] == "甲,1234567.80"
    assert ui.yuan(Decimal("1234567.8")) == "¥1,234,567.80"
