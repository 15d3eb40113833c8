"""账号管理 (seed 003): the 法定代表人 adds and removes 单位管理员 and 经办人, a 单位管理员 adds and
removes 经办人, both grant an 经办人 its services; every account can change its own password.
All rules are enforced in dashboards/users.py; this page only collects the input."""

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from dashboards import auth, users

user = auth.require("employer")
unit_id = user.unit_id or ""
st.title("账号管理" if user.manages else "我的账号")
st.write(
    f"单位编号 {unit_id} · 用户名 {user.username} · {user.level} · 可用事项："
    + ("、".join(s for s in users.SERVICES if user.can(s)) or "无（请联系本单位法定代表人或单位管理员授权）")
)


def beijing(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return str(iso)


def done(message: str) -> None:
    st.session_state["_accounts_msg"] = message
    st.rerun()


if msg := st.session_state.pop("_accounts_msg", None):
    st.success(msg)

if user.manages:
    accounts = users.list_unit_accounts(unit_id)
    st.subheader("本单位账号")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "用户名": a["username"],
                    "级别": a["level"],
                    "授权事项": "全部" if a["level"] != users.CLERK else ("、".join(a["services"]) or "无"),
                    "创建人": {"agency": "经办机构", "migrated": "经办机构"}.get(a["created_by"], a["created_by"]),
                    "创建时间": beijing(a["created_at"]),
                }
                for a in accounts
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    lower = [lv for lv in users.LEVELS if users.RANK[lv] < users.RANK[user.level or users.CLERK]]
    managed = [a for a in accounts if a["level"] in lower]

    st.subheader("新增账号")
    with st.form("acc_add", clear_on_submit=True):
        c1, c2 = st.columns(2)
        name = c1.text_input("用户名", key="acc_new_name")
        level = c2.selectbox("级别", lower, key="acc_new_level")
        services = st.multiselect(
            "授权事项（仅经办人；单位管理员拥有全部权限）",
            list(users.SERVICES),
            key="acc_new_services",
            placeholder="请选择",
        )
        p1, p2 = st.columns(2)
        pw = p1.text_input(
            "初始密码", type="password", key="acc_new_pw", help="至少 8 位，不能全为数字，不能与单位编号或用户名相同"
        )
        pw2 = p2.text_input("确认密码", type="password", key="acc_new_pw2")
        if st.form_submit_button("新增", type="primary"):
            if pw != pw2:
                st.error("两次输入的密码不一致。")
            else:
                try:
                    made = users.add_unit_account(unit_id, name, pw, level, services, by=user)
                    done(f"已新增{made.level}账号 {made.username}。")
                except users.AccountError as exc:
                    st.error(str(exc))

    clerks = [a["username"] for a in managed if a["level"] == users.CLERK]
    if clerks:
        st.subheader("经办人授权")
        who = st.selectbox("经办人", clerks, key="acc_grant_who")
        current = next(a["services"] for a in managed if a["username"] == who)
        with st.form("acc_grant"):
            chosen = st.multiselect(
                "授权事项", list(users.SERVICES), default=current, key=f"acc_grant_{who}", placeholder="请选择"
            )
            if st.form_submit_button("保存授权"):
                try:
                    users.grant(unit_id, who, chosen, by=user)
                    done(f"已更新经办人 {who} 的授权：{'、'.join(chosen) or '无'}。")
                except users.AccountError as exc:
                    st.error(str(exc))

    if managed:
        st.subheader("删除账号")
        with st.form("acc_remove"):
            target = st.selectbox(
                "账号", [a["username"] for a in managed], key="acc_remove_who", format_func=lambda u: u
            )
            sure = st.checkbox("确认删除该账号（其登录会话随即结束）", key="acc_remove_sure")
            if st.form_submit_button("删除"):
                if not sure:
                    st.error("请先勾选确认。")
                else:
                    try:
                        users.remove_unit_account(unit_id, target, by=user)
                        done(f"已删除账号 {target}。")
                    except users.AccountError as exc:
                        st.error(str(exc))

st.subheader("修改密码")
with st.form("acc_password", clear_on_submit=True):
    old = st.text_input("原密码", type="password", key="acc_pw_old")
    new = st.text_input("新密码", type="password", key="acc_pw_new")
    new2 = st.text_input("确认新密码", type="password", key="acc_pw_new2")
    if st.form_submit_button("修改密码"):
        if new != new2:
            st.error("两次输入的新密码不一致。")
        else:
            try:
                users.change_password(user, old, new)
                done("密码已修改。")
            except users.AccountError as exc:
                st.error(str(exc))
