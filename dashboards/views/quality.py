"""数据质量: quarantined rows by reason and file, expectation results, soft findings."""

import streamlit as st

from dashboards import data, ui

ui.require("analyst")
r = ui.reader()
st.title("数据质量")
ui.stamp(r)

by_reason = data.quarantine_by_category(r)
by_file = data.quarantine_by_file(r)
c1, c2 = st.columns(2)
c1.metric("隔离行数", f"{int(by_reason['行数'].sum()) if len(by_reason) else 0:,}")
files = data.load_files(r)
c2.metric("已接收文件数", f"{len(files):,}")

st.subheader("按问题类别")
ui.table(by_reason, "隔离问题类别", key="q_reason")
st.subheader("按文件")
ui.table(by_file, "隔离文件", key="q_file")

st.subheader("隔离行")
reason = st.selectbox(
    "问题",
    [""] + list(by_reason["问题"]) if len(by_reason) else [""],
    format_func=lambda v: v or "全部问题",
    key="q_pick_reason",
)
file_ = st.selectbox(
    "文件",
    [""] + list(by_file["文件"]) if len(by_file) else [""],
    format_func=lambda v: v or "全部文件",
    key="q_pick_file",
)
ui.table(data.quarantine_rows(r, reason or None, file_ or None), "隔离行", key="q_rows")

st.subheader("文件接收记录")
ui.table(files, "文件接收记录", key="q_files")

st.subheader("期望校验结果")
gx = data.expectation_results(r)
if gx.empty:
    st.info("尚无期望校验结果（请在 Dagster 界面查看资产检查）。")
else:
    ui.table(gx, "期望校验结果", key="q_gx")

st.subheader("软性问题（已入库，需关注）")
soft = data.soft_findings(r)
st.caption(f"共 {len(soft):,} 条。")
ui.table(soft, "软性问题", money=data.SOFT_FINDING_MONEY, key="q_soft")
