"""AppTest tests of the analyst pages on the fixture serving copy, asserting the figures shown."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from dashboards.testing_fixture import app_test, frame, login, metrics, open_page, prepare_home, stamp_shown


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One fixture serving copy and account file for the module (the pages only read them)."""
    path = tmp_path_factory.mktemp("shebao_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(path))
        mp.setenv("SHEBAO_WAREHOUSE", str(path / "warehouse.duckdb"))
        yield prepare_home(path)


def test_login_rejects_a_wrong_password(home):
    at = app_test()
    at.run()
    at.text_input(key="login_username").input("U001")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["账号或密码不正确。"]
    assert at.title[0].value == "登录"


def test_overview_figures(home):
    at = open_page(login("ana"), "overview")
    assert stamp_shown(at)
    m = metrics(at)
    assert m["缴费人数"] == ("5", "-1")
    assert m["缴费单位数"] == ("3", "+0")
    assert m["本月应缴金额"] == ("¥11,040.00", "-2,488.64 元")
    assert m["到账率"] == ("56.52%", "-43.48 个百分点")
    assert m["欠费余额"] == ("¥5,880.00", "本月新增 4,800.00 元")
    assert any("当前参保人数 5 人；欠费单位 2 家；滞纳金合计 ¥143.64" in c.value for c in at.caption)
    monthly = frame(at)
    assert list(monthly["费款所属期"]) == ["202410", "202501", "202502", "202503"]
    assert [str(v) for v in monthly["应缴金额"]] == ["1080.00", "13528.64", "13528.64", "11040.00"]


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
    # U002 (Hubei): P004 + P005, pension 1440 + 2160, medical 480 + 720 each month
    assert rows == {
        ("202502", "养老保险"): (2, "3600.00"),
        ("202502", "医疗保险"): (2, "1200.00"),
        ("202503", "养老保险"): (2, "3600.00"),
        ("202503", "医疗保险"): (2, "1200.00"),
    }
    # a sidebar change is written back to the URL
    at.sidebar.radio(key="f_by").set_value("unit_type").run()
    assert at.query_params["by"] == ["unit_type"] or at.query_params["by"] == "unit_type"
    df = frame(at)
    assert set(df["单位类型"]) == {"企业"}


def test_trend_unit_filter_from_url(home):
    at = login("ana")
    at.query_params["unit"] = "U003"
    at.query_params["by"] = "none"
    open_page(at, "trend")
    df = frame(at)
    assert list(df["费款所属期"]) == ["202410", "202501", "202502", "202503"]
    assert [str(v) for v in df["应缴金额"]] == ["1080.00", "1440.00", "1440.00", "1440.00"]


def test_arrears_ageing_top_units_and_drill_down(home):
    at = open_page(login("ana"), "arrears")
    assert stamp_shown(at)
    m = metrics(at)
    assert m["欠费余额"][0] == "¥5,880.00"
    assert m["滞纳金"][0] == "¥143.64"
    assert m["涉及单位数"][0] == "3"
    ageing = frame(at, index=0)
    assert list(ageing["账龄"]) == ["30天以内", "91-180天"]
    assert [str(v) for v in ageing["欠费金额"]] == ["4800.00", "1080.00"]
    assert [str(v) for v in ageing["滞纳金"]] == ["54.00", "89.64"]
    top = frame(at, index=1)
    assert list(top["单位编号"]) == ["U002", "U003", "U001"]
    assert [str(v) for v in top["欠费金额"]] == ["4800.00", "1080.00", "0.00"]
    # drill-down: U002 -> its periods -> the lines of 202503 pension
    periods = frame(at, index=2)
    assert list(zip(periods["费款所属期"], periods["险种代码"])) == [("202503", "110"), ("202503", "310")]
    lines = frame(at, index=3)
    assert list(lines["姓名"]) == ["赵六", "钱七"]
    assert [str(v) for v in lines["应缴金额"]] == ["1440.00", "2160.00"]
    at.selectbox(key="drill_unit").set_value("U003").run()
    periods = frame(at, index=2)
    assert list(periods["费款所属期"]) == ["202410"] and str(periods["滞纳金"][0]) == "89.64"
    assert list(frame(at, index=3)["姓名"]) == ["孙八"]


def test_retirement_wave_against_pre_reform_ages(home):
    at = open_page(login("ana"), "retirement")
    assert stamp_shown(at)
    m = metrics(at)
    assert m["36个月内到龄（现行）"][0] == "4"
    assert m["36个月内到龄（改革前年龄）"][0] == "3"
    wave = frame(at, index=0)
    shown = {
        (mo, g): (int(a), int(b))
        for mo, g, a, b in zip(wave["月份"], wave["人员类别"], wave["现行法定到龄人数"], wave["改革前到龄人数"])
    }
    assert shown == {
        ("2025-04", "男职工"): (1, 0),
        ("2025-06", "原法定退休年龄50周岁的女职工"): (0, 1),
        ("2025-08", "原法定退休年龄55周岁的女职工"): (0, 1),
        ("2025-09", "原法定退休年龄50周岁的女职工"): (1, 0),
        ("2025-10", "原法定退休年龄55周岁的女职工"): (1, 0),
        ("2026-01", "男职工"): (0, 1),
        ("2026-05", "男职工"): (1, 0),
    }
    people = frame(at, index=1)
    assert list(people["姓名"]) == ["张三", "李四", "赵六", "钱七"]
    assert list(people["法定退休年龄"]) == ["60岁1个月", "50岁3个月", "55岁2个月", "60岁4个月"]
    short = frame(at, index=2)
    assert list(zip(short["姓名"], short["尚缺月数"])) == [("张三", 10), ("李四", 80)]


def test_data_quality_page(home):
    at = open_page(login("ana"), "quality")
    assert stamp_shown(at)
    assert metrics(at)["隔离行数"][0] == "4"
    by_reason = frame(at, index=0)
    assert list(zip(by_reason["原因"], by_reason["行数"])) == [
        ("证件号码校验位错误", 2),
        ("出生日期与证件号码不符", 1),
        ("费款所属期格式错误", 1),
    ]
    rows = frame(at, index=2)
    assert len(rows) == 4
    at.selectbox(key="q_pick_reason").set_value("费款所属期格式错误").run()
    rows = frame(at, index=2)
    assert list(zip(rows["文件"], rows["行号"], rows["值"])) == [("ledgers/2025-03.csv", 9, "2025-13")]
    gx = frame(at, index=4)
    assert list(zip(gx["检查"], gx["级别"], gx["结果"])) == [
        ("gx_ledgers", "阻断", "通过"),
        ("gx_contribution_amounts", "仅报告", "未通过"),
    ]
    soft = frame(at, index=5)
    assert list(soft["说明"]) == ["个人缴费金额与基数×费率相差超过0.01元"] and list(soft["行号"]) == [7]
    assert [str(v) for v in soft["个人缴费"]] == ["622.20"] and [str(v) for v in soft["按费率应为（个人）"]] == [
        "622.16"
    ]


def test_exports_are_the_filtered_view(home):
    at = login("ana")
    at.query_params["region"] = "SZ_CITY"
    at.query_params["by"] = "none"
    open_page(at, "trend")
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels[:2] == ["导出 CSV", "导出 Excel"]
    # the export content is the frame shown: U003 only
    df = frame(at)
    assert [str(v) for v in df["应缴金额"]] == ["1080.00", "1440.00", "1440.00", "1440.00"]


def test_export_helpers_write_exact_money():
    from decimal import Decimal

    from dashboards import ui

    df = pd.DataFrame({"单位": ["甲"], "欠费金额": [Decimal("1234567.80")]})
    book = pd.read_excel(io.BytesIO(ui._xlsx(df, ["欠费金额"])), engine="calamine")
    assert book.iloc[0]["欠费金额"] == pytest.approx(1234567.80)
    assert df.to_csv(index=False).splitlines()[1] == "甲,1234567.80"
    assert ui.yuan(Decimal("1234567.8")) == "¥1,234,567.80"
