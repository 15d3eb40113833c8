"""欠费: money still owed and both kinds of late fee as of a snapshot date, ageing, units, drill-down."""

import altair as alt
import streamlit as st

from dashboards import data, ui

ui.require("analyst")
r = ui.reader()
st.title("欠费")
ui.stamp(r)

dates = data.arrears_as_of_dates(r)
as_of = st.selectbox(
    "计算截至日期",
    dates,
    format_func=lambda d: d.isoformat(),
    key="arrears_as_of",
    help="欠费与滞纳金由数据管道按截至日期计算（shebao run --as-of 日期）。",
)
totals = data.arrears_totals(r, as_of)
c1, c2, c3 = st.columns(3)
c4, c5, _ = st.columns(3)
c1.metric("欠缴本金", ui.yuan(totals["outstanding"]))
c2.metric("欠费滞纳金", ui.yuan(totals["late_fee_on_owed"]))
c3.metric("逾期缴费滞纳金", ui.yuan(totals["late_fee_on_paid_late"]))
c4.metric("欠费单位数", f"{totals['units_owing']:,}")
c5.metric("逾期缴费单位数", f"{totals['units_paid_late']:,}")
st.caption(
    "欠缴本金：截止日后仍未到账的应缴费款；欠费滞纳金：欠缴本金自截止日次日起按日计收；"
    "逾期缴费滞纳金：截止日后才到账的费款，自截止日次日至到账日按日计收。"
    "欠费单位仍有欠缴本金；逾期缴费单位已无欠缴本金，仅有逾期缴费滞纳金。"
)

MONEY = data.ARREARS_MONEY
st.subheader("欠缴本金账龄分布")
ageing = data.arrears_ageing(r, as_of)
if len(ageing):
    st.altair_chart(
        alt.Chart(ageing.assign(欠缴本金=ageing["欠缴本金"].astype(float)))
        .mark_bar()
        .encode(
            x=alt.X("账龄:N", sort=list(ageing["账龄"]), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("欠缴本金:Q", title="欠缴本金（元）", axis=alt.Axis(format=",.2f")),
            tooltip=["账龄", alt.Tooltip("欠缴本金:Q", format=",.2f"), "笔数"],
        ),
        width="stretch",
    )
ui.table(ageing, "欠缴本金账龄", money=MONEY, key="ageing")

st.subheader("欠费单位与逾期缴费单位")
top = data.arrears_units(r, as_of)
event = ui.table(top, "欠费单位", money=MONEY, key="top_units", on_select="rerun", selection_mode="single-row")

st.subheader("单位明细")
if len(top):
    options = list(top["单位编号"])
    names = dict(zip(top["单位编号"], top["单位名称"]))
    selected_rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if selected_rows:
        st.session_state["drill_unit"] = options[selected_rows[0]]
    unit_id = st.selectbox(
        "选择单位（或在上表中点选一行）", options, format_func=lambda u: f"{u} {names[u]}", key="drill_unit"
    )
    periods = data.arrears_periods(r, unit_id, as_of)
    ui.table(periods, f"欠费明细_{unit_id}", money=MONEY, key="drill_periods")
    st.markdown("**滞纳金明细**（计费金额 × 日费率 × 逾期天数，按元四舍五入到分）")
    ui.table(data.late_fees(r, unit_id, as_of), f"滞纳金明细_{unit_id}", money=data.LATE_FEE_MONEY, key="drill_fees")
    choices = [f"{p} {n}" for p, n in zip(periods["费款所属期"], periods["险种"])]
    if choices:
        pick = st.selectbox("查看缴费明细行", range(len(choices)), format_func=lambda i: choices[i], key="drill_line")
        row = periods.iloc[pick]
        lines = data.arrears_lines(r, unit_id, row["费款所属期"], row["险种代码"])
        ui.table(lines, f"缴费明细_{unit_id}_{row['费款所属期']}", money=["应缴金额", "到账金额"], key="drill_lines")
else:
    st.success("当前没有欠费。")
