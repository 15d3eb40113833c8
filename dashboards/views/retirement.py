"""退休到龄: the next 36 months of statutory retirements by group, beside the pre-2025 ages."""

import altair as alt
import streamlit as st

from dashboards import data, ui

ui.require("analyst")
r = ui.reader()
st.title("退休到龄")
ui.stamp(r)

start = data.as_of_date(r).replace(day=1)
wave = data.retirement_wave(r, start, 36)
st.caption(
    f"统计区间：{start:%Y-%m} 起 36 个月。“改革前”按 2025 年以前的原法定退休年龄"
    "（男60、女干部55、女工人50）计算，用于对照渐进式延迟退休的影响。"
)
c1, c2, c3 = st.columns(3)
now_total, old_total = int(wave["现行法定到龄人数"].sum()), int(wave["改革前到龄人数"].sum())
c1.metric("36个月内到龄（现行）", f"{now_total:,}")
c2.metric("36个月内到龄（改革前年龄）", f"{old_total:,}")
c3.metric("差额", f"{now_total - old_total:+,}")

long = wave.melt(
    id_vars=["月份", "人员类别"], value_vars=["现行法定到龄人数", "改革前到龄人数"], var_name="口径", value_name="人数"
)
st.altair_chart(
    alt.Chart(long)
    .mark_bar()
    .encode(
        x=alt.X("月份:O"),
        y=alt.Y("sum(人数):Q", title="人数", axis=alt.Axis(format="d", tickMinStep=1)),
        color="口径:N",
        xOffset="口径:N",
        tooltip=["月份", "人员类别", "口径", "人数"],
    ),
    width="stretch",
)
ui.table(wave[(wave["现行法定到龄人数"] > 0) | (wave["改革前到龄人数"] > 0)], "退休到龄_按月", key="wave")

st.subheader("36个月内到龄人员")
people = data.retirement_people(r, start, 36)
ui.table(people, "退休到龄人员", key="people")
st.subheader("缴费年限不足")
short = data.retirement_people(r, start, 36, short_only=True)
st.caption(f"到龄时累计缴费月数低于最低缴费年限的人员：{len(short)} 人。")
ui.table(short, "缴费年限不足人员", key="short")
