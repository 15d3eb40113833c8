"""shebao dashboard entry point: `streamlit run dashboards/app.py` (or `shebao serve dashboard`).

A router (st.navigation) that registers only the pages the session's account may open:
analysts see everything (IDs masked); an employer account only its own unit's pages, and of
those only the services its level or grants allow (seed 003); everyone the verification page.
Pages live in dashboards/views/; each page checks the account again itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboards import auth, ui, users  # noqa: E402

HERE = Path(__file__).resolve().parent
VIEWS = HERE / "views"


def page(name: str, title: str, icon: str, default: bool = False) -> st.Page:
    return st.Page(str(VIEWS / f"{name}.py"), title=title, icon=icon, url_path=name, default=default)


st.set_page_config(page_title="社保数据服务", page_icon=":material/account_balance:", layout="wide")

user = ui.current_user()
verify = page("verify", "验证", ":material/verified:")
if user is None:
    pages = {"": [page("login", "登录", ":material/login:", default=True), verify]}
elif user.role == "analyst":
    pages = {
        "分析": [
            page("overview", "总览", ":material/dashboard:", default=True),
            page("trend", "缴费趋势", ":material/show_chart:"),
            page("arrears", "欠费", ":material/account_balance_wallet:"),
            page("retirement", "退休到龄", ":material/elderly:"),
            page("quality", "数据质量", ":material/rule:"),
            page("certificates", "证书", ":material/workspace_premium:"),
        ],
        "其他": [verify, page("logout", "退出登录", ":material/logout:")],
    }
else:
    unit_pages: list[tuple[str, str, str]] = []
    if user.can(users.VIEW):
        unit_pages += [
            ("unit_roster", "花名册", ":material/groups:"),
            ("unit_contributions", "缴费明细", ":material/receipt_long:"),
            ("unit_arrears", "欠费", ":material/account_balance_wallet:"),
            ("unit_retirement", "退休到龄", ":material/elderly:"),
        ]
    if user.can(users.DOWNLOAD):
        unit_pages.append(("unit_documents", "证明下载", ":material/picture_as_pdf:"))
    unit_pages.append(("unit_accounts", "账号管理" if user.manages else "我的账号", ":material/manage_accounts:"))
    pages = {
        "本单位": [page(*spec, default=i == 0) for i, spec in enumerate(unit_pages)],
        "其他": [verify, page("logout", "退出登录", ":material/logout:")],
    }

if user is not None:
    st.sidebar.caption(f"当前登录：{user.label}")
auth.sync_cookie()

st.navigation(pages).run()
