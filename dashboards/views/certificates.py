"""证书: certificates issued, verified and revoked, by type and over time (from the registry),
and the audit trail of every issue, void, revocation, key change, login and verification."""

import altair as alt
import streamlit as st

from dashboards import certs, ui

ui.require("analyst")
r = ui.reader()
st.title("证书")
ui.stamp(r)
try:
    reg = certs.registry_frame()
except certs.CertificatesUnavailable as exc:
    st.warning(str(exc))
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("已签发", f"{len(reg):,}")
c2.metric("验证次数", f"{int(reg['验证次数'].sum()) if len(reg) else 0:,}")
c3.metric("已撤销", f"{int((reg['状态'] == '已撤销').sum()) if len(reg) else 0:,}")
c4.metric("有效", f"{int((reg['状态'] == '有效').sum()) if len(reg) else 0:,}")
if len(reg):
    by_type = reg.groupby(["证书类型", "状态"], as_index=False).agg(
        张数=("证书编号", "count"), 验证次数=("验证次数", "sum")
    )
    st.subheader("按类型")
    ui.table(by_type, "证书_按类型", key="c_type")
    daily = (
        reg.assign(签发日期=reg["签发时间"].astype(str).str[:10])
        .groupby(["签发日期", "证书类型"], as_index=False)
        .agg(张数=("证书编号", "count"))
    )
    st.subheader("按日期")
    st.altair_chart(
        alt.Chart(daily)
        .mark_bar()
        .encode(
            x=alt.X("签发日期:O", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("张数:Q", axis=alt.Axis(format="d", tickMinStep=1)),
            color="证书类型:N",
            tooltip=["签发日期", "证书类型", "张数"],
        ),
        width="stretch",
    )
    st.subheader("证书清单")
    ui.table(reg.fillna({"最近验证": ""}), "证书清单", key="c_list")

st.subheader("审计日志")
audit_log, breaks = certs.audit_frame()
if breaks:
    st.error("审计日志哈希链断裂（记录被修改、删除或调换）：" + "；".join(breaks[:5]))
else:
    st.caption(f"哈希链完整，共 {len(audit_log):,} 条记录（与 shebao audit verify 一致）。")
ui.table(audit_log, "审计日志", key="c_audit")
