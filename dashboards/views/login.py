"""Login: a unit's accounts (单位编号 + 用户名) or an analyst, each checked in its own table."""

import streamlit as st

from dashboards import auth

st.title("登录")
st.write("验证证书无需登录，请在左侧选择“验证”。")
if st.session_state.pop(auth.EXPIRED_KEY, False):
    st.info("登录已失效（30 分钟无操作即超时），请重新登录。")
kind = st.radio("登录身份", ["参保单位", "分析人员"], horizontal=True, key="login_role")
with st.form("login"):
    unit_id = st.text_input("单位编号", key="login_unit") if kind == "参保单位" else None
    username = st.text_input("用户名", key="login_username", help="单位账号：法定代表人、单位管理员或经办人的用户名")
    password = st.text_input("密码", type="password", key="login_password")
    submitted = st.form_submit_button("登录", type="primary")
if submitted:
    role = "employer" if kind == "参保单位" else "analyst"
    result = auth.sign_in(role, username, password, unit_id)
    if result.user is None:
        st.error(result.message or "登录失败。")
    else:
        st.rerun()
