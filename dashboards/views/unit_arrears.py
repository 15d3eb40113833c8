"""欠费: the unit's money still owed and each late fee with what it is computed from."""

import streamlit as st

from dashboards import data, ui

unit_id = ui.employer_unit()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"欠费 · {info['unit_name']}")
ui.stamp(r)
as_of = data.arrears_as_of_dates(r)[0]
totals = data.arrears_totals(r, as_of, unit_id)
c1, c2, c3, c4 = st.columns(4)
c1.metric("欠缴本金", ui.yuan(totals["outstanding"]))
c2.metric("欠费滞纳金", ui.yuan(totals["late_fee_on_owed"]))
c3.metric("逾期缴费滞纳金", ui.yuan(totals["late_fee_on_paid_late"]))
c4.metric("合计应补缴", ui.yuan(totals["outstanding"] + totals["late_fee"]))
st.caption(
    f"滞纳金计算至 {as_of.isoformat()}：自缴费截止日期次日起按日计收，日费率万分之五"
    "（2011年7月1日前为千分之二），单利；住房公积金不计滞纳金。"
    "欠费滞纳金计至计算日，逾期缴费滞纳金计至到账日期。"
)
periods = data.arrears_periods(r, unit_id, as_of)
st.subheader("欠费明细")
ui.table(periods.drop(columns=["险种代码"]), f"欠费_{unit_id}", money=data.ARREARS_MONEY, key="unit_arrears")
st.subheader("滞纳金明细")
st.caption("每笔滞纳金 = 计费金额 × 日费率 × 逾期天数（计费起始日至计费截止日，含首尾），按元四舍五入到分。")
ui.table(data.late_fees(r, unit_id, as_of), f"滞纳金明细_{unit_id}", money=data.LATE_FEE_MONEY, key="unit_late_fees")
