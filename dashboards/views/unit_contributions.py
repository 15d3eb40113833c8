"""缴费明细: the unit's contribution lines, filtered by period and insurance."""

import streamlit as st

from dashboards import data, ui

unit_id = ui.employer_unit()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"缴费明细 · {info['unit_name']}")
ui.stamp(r)

periods = data.unit_periods(r, unit_id)
ins = data.insurance_types(r)
names = dict(zip(ins["insurance_type"], ins["insurance_name"]))
if not periods:
    st.info("本单位暂无缴费记录。")
    st.stop()
c1, c2 = st.columns(2)
p_from, p_to = (
    c1.select_slider("费款所属期", options=periods, value=(periods[0], periods[-1]), key="uc_period")
    if len(periods) > 1
    else (periods[0], periods[0])
)
sel = c2.multiselect("险种", list(names), format_func=lambda c: names[c], key="uc_ins", placeholder="全部险种")
df = data.unit_contributions(r, unit_id, p_from, p_to, sel)
MONEY = ["个人缴费", "单位缴费", "合计", "到账金额"]
m1, m2, m3 = st.columns(3)
m1.metric("记录数", f"{len(df):,}")
m2.metric("应缴合计", ui.yuan(df["合计"].sum() if len(df) else 0))
m3.metric("已到账合计", ui.yuan(df["到账金额"].dropna().sum() if len(df) else 0))
ui.table(df, f"缴费明细_{unit_id}_{p_from}_{p_to}", money=MONEY, key="unit_lines")
