"""花名册: current staff of the logged-in unit."""

import streamlit as st

from dashboards import data, ui

unit_id = ui.employer_unit()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"花名册 · {info['unit_name']}")
ui.stamp(r)
df = data.roster(r, unit_id)
st.metric("在册人数", f"{len(df):,}")
ui.table(df, f"花名册_{unit_id}", key="roster")
