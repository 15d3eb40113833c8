"""总览: this month's key figures against the previous month."""

import altair as alt
import streamlit as st

from dashboards import data, ui

ui.require("analyst")
r = ui.reader()
st.title("总览")
ui.stamp(r)

k = data.overview(r)
cur, prev = k["current"], k["previous"]
st.subheader(f"费款所属期 {k['current_period'] or '—'}（对比 {k['previous_period'] or '—'}）")
c1, c2, c4 = st.columns(3)
c3, c5, _ = st.columns(3)
c1.metric("缴费人数", f"{cur['persons']:,}", delta=f"{cur['persons'] - prev['persons']:+,}")
c2.metric("缴费单位数", f"{cur['units']:,}", delta=f"{cur['units'] - prev['units']:+,}")
c3.metric("本月应缴金额", ui.yuan(cur["total"]), delta=f"{cur['total'] - prev['total']:+,.2f} 元")
if cur["arrival_rate"] is not None:
    rate_delta = (
        f"{cur['arrival_rate'] - prev['arrival_rate']:+.2f} 个百分点" if prev["arrival_rate"] is not None else None
    )
    c4.metric("到账率", f"{cur['arrival_rate']:.2f}%", delta=rate_delta)
else:
    c4.metric("到账率", "—")
c5.metric(
    "欠缴本金", ui.yuan(k["arrears_outstanding"]), delta=f"本月新增 {k['arrears_new']:,.2f} 元", delta_color="inverse"
)
st.caption(
    f"当前参保人数 {k['insured_now']:,} 人；欠费单位 {k['units_owing']:,} 家，"
    f"逾期缴费单位 {k['units_paid_late']:,} 家；欠费滞纳金 {ui.yuan(k['late_fee_on_owed'])}，"
    f"逾期缴费滞纳金 {ui.yuan(k['late_fee_on_paid_late'])}。"
)

monthly = data.monthly_totals(r)
if len(monthly):
    chart_df = monthly.assign(应缴金额=monthly["应缴金额"].astype(float), 到账金额=monthly["到账金额"].astype(float))
    long = chart_df.melt(
        id_vars="费款所属期", value_vars=["应缴金额", "到账金额"], var_name="指标", value_name="金额（元）"
    )
    st.altair_chart(
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X("费款所属期:O"),
            y=alt.Y("金额（元）:Q", axis=alt.Axis(format=",.2f")),
            color="指标:N",
            tooltip=["费款所属期", "指标", alt.Tooltip("金额（元）:Q", format=",.2f")],
        ),
        width="stretch",
    )
ui.table(monthly, "近12个月缴费", money=["应缴金额", "到账金额"], key="monthly")
