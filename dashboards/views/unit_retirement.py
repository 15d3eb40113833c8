"""退休到龄: the unit's staff reaching statutory retirement age."""

import streamlit as st

from dashboards import data, ui

unit_id = ui.employer_unit()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"退休到龄 · {info['unit_name']}")
ui.stamp(r)
start = data.as_of_date(r).replace(day=1)
months = st.slider("未来月数", 6, 120, 36, step=6, key="ur_months")
people = data.retirement_people(r, start, months, unit_id=unit_id)
short = int((people["尚缺月数"] > 0).sum()) if len(people) else 0
c1, c2 = st.columns(2)
c1.metric(f"{months}个月内到龄人数", f"{len(people):,}")
c2.metric("其中缴费年限不足", f"{short:,}")
ui.table(people.drop(columns=["单位编号", "单位名称"]), f"退休到龄_{unit_id}", key="unit_retire")
