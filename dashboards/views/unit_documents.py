"""证明下载: issue a document for the logged-in unit and download the PDF."""

import streamlit as st

from dashboards import certs, data, ui

unit_id = ui.employer_unit()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"证明下载 · {info['unit_name']}")
ui.stamp(r)

periods = data.unit_periods(r, unit_id)
if not periods:
    st.info("本单位暂无缴费记录，无法开具证明。")
    st.stop()
docs = {code: (title, ranged) for code, title, ranged in certs.EMPLOYER_DOCUMENTS}
doc = st.selectbox("证明类型", list(docs), format_func=lambda c: docs[c][0], key="doc_type")
if docs[doc][1]:
    c1, c2 = st.columns(2)
    p_from = c1.selectbox("起始费款所属期", periods, index=0, key="doc_from")
    p_to = c2.selectbox("截止费款所属期", periods, index=len(periods) - 1, key="doc_to")
else:
    p_from = p_to = st.selectbox("费款所属期", periods, index=len(periods) - 1, key="doc_period")
if p_from > p_to:
    st.error("起始期不能晚于截止期。")
    st.stop()

earlier = certs.previous_valid(doc, unit_id, p_from, p_to)
void = False
if earlier:
    st.info("本单位同一证明期间已开具的有效证明：" + "、".join(earlier) + "。重新开具不会影响它们，除非勾选作废。")
    void = st.checkbox("作废证明 " + "、".join(earlier) + "（已交给他人的该证明将显示为已被替换）", key="doc_void")

if st.button("生成证明", type="primary", key="doc_issue"):
    try:
        with st.status("正在生成证明……", expanded=True) as status:
            st.write("读取本单位缴费数据、排版并签名。")
            issued = certs.issue(doc, unit_id, p_from, p_to, **({"void_previous": True} if void else {}))
            status.update(label="证明已生成", state="complete")
        # Keep only this session's own unit's document; the unit is part of the key.
        st.session_state["_issued_doc"] = (unit_id, issued)
    except certs.CertificatesUnavailable as exc:
        st.warning(str(exc))
    except Exception as exc:  # the issuing code's own Chinese message
        st.error(f"生成失败：{exc}")

held = st.session_state.get("_issued_doc")
if held and held[0] == unit_id:
    issued = held[1]
    st.success(f"证明编号 {issued.cert_id}" + (f"，验证码 {issued.code}" if issued.code else ""))
    if getattr(issued, "voided", ()):
        st.warning("已作废：" + "、".join(issued.voided) + "（验证时显示为已被替换，并指向本证明）")
    st.download_button(
        "下载 PDF",
        issued.pdf,
        file_name=issued.filename,
        mime="application/pdf",
        key="doc_download",
        type="primary",
        on_click="ignore",
    )
