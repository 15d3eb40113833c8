"""验证: paste a QR text or URL, type a certificate number with its code, or upload the PDF."""

import streamlit as st

from dashboards import certs

st.title("证书验证")
st.write(
    "扫描纸质证明上的二维码后粘贴其内容，或输入证明编号和校验码，或上传收到的PDF文件。"
    "验证结果与验证服务一致，可多次验证。"
)
tab_qr, tab_code, tab_pdf = st.tabs(["二维码内容 / 链接", "编号 + 校验码", "PDF文件"])
verdict = None
try:
    with tab_qr, st.form("verify_qr"):
        text = st.text_area("二维码内容或链接", key="v_text", height=100)
        if st.form_submit_button("验证", type="primary") and text.strip():
            verdict = certs.verify_text(text.strip())
    with tab_code, st.form("verify_code"):
        number = st.text_input("证明编号", key="v_number")
        code = st.text_input("校验码", key="v_code")
        if st.form_submit_button("验证", type="primary") and number.strip() and code.strip():
            verdict = certs.verify_code(number.strip(), code.strip(), client=st.context.ip_address or "")
    with tab_pdf, st.form("verify_pdf"):
        upload = st.file_uploader("PDF文件（核验电子签名、二维码和文件内容）", type=["pdf"], key="v_pdf")
        if st.form_submit_button("验证", type="primary") and upload is not None:
            verdict = certs.verify_pdf(upload.getvalue())
except certs.CertificatesUnavailable as exc:
    st.warning(str(exc))

if verdict is not None:
    (st.success if verdict.ok else st.error)(f"验证结果：{verdict.status}")
    if verdict.facts:
        st.table({"项目": list(verdict.facts), "内容": [str(v) for v in verdict.facts.values()]})
