"""欠费: the unit's outstanding money with the late fee."""

import streamlit as st

from dashboards import data, ui

unit_id = ui.employer_unit()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"欠费 · {info['unit_name']}")
ui.stamp(r)
as_of = data.arrears_as_of_dates(r)[0]
totals = data.arrears_totals(r, as_of, unit_id)
c1, c2, c3 = st.columns(3)
c1.metric("欠费余额", ui.yuan(totals["outstanding"]))
c2.metric("滞纳金", ui.yuan(totals["late_fee"]))
c3.metric("合计应补缴", ui.yuan(totals["outstanding"] + totals["late_fee"]))
st.caption(
    f"滞纳金计算至 {as_of.isoformat()}，按日万分之五（2011年7月1日前为千分之二）单利计算；住房公积金不计滞纳金。"
)
periods = data.arrears_periods(r, unit_id, as_of)
ui.table(
    periods.drop(columns=["险种代码"]),
    f"欠费_{unit_id}",
    money=["应缴金额", "已到账金额", "欠费金额", "滞纳金"],
    key="unit_arrears",
)
