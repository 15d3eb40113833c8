"""Login for employers (unit number) and analysts."""

import streamlit as st

from dashboards import ui, users

st.title("登录")
st.write("参保单位请使用单位编号登录；分析人员使用分配的账号。验证证书无需登录，请在左侧选择“验证”。")
with st.form("login"):
    username = st.text_input("单位编号 / 账号", key="login_username")
    password = st.text_input("密码", type="password", key="login_password")
    submitted = st.form_submit_button("登录", type="primary")
if submitted:
    user = users.verify_user(username.strip(), password)
    if user is None:
        st.error("账号或密码不正确。")
    else:
        ui.login(user)
        st.rerun()
