"""The employer portal in Debian's Chromium: sessions that survive a reload, a new tab and a
bookmark; login throttling; the 经办人's grants; every document type from 证明下载 as a PDF
whose text names the unit and the people chosen.
"""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pdfplumber
import pytest
from playwright import sync_api

from dashboards import users
from shebao import dashboard_cli as cli
from tests.test_e2e_browser import _free_port, assert_no_error, open_nav, settle

CHROMIUM, CHROMIUM_ARGS = cli.CHROMIUM, cli.CHROMIUM_ARGS
UNIT_NAME = "苏州甲科技有限公司"  # U001
PASSWORDS = {("U001", "法人"): "unit-one-pass", ("U001", "zhao"): "clerk-pass-1", ("U003", "法人"): "unit-three-pass"}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make system-packages)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_warehouse):
    home = tmp_path_factory.mktemp("portal_home")
    db = users.users_db_path(home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_WAREHOUSE", str(built_warehouse))  # accounts only for registered units
        boss = users.add_user("U001", PASSWORDS[("U001", "法人")], path=db)
        users.add_user("U003", PASSWORDS[("U003", "法人")], path=db)
    users.add_unit_account("U001", "zhao", PASSWORDS[("U001", "zhao")], users.CLERK, [users.VIEW], by=boss, path=db)
    port = _free_port()
    env = cli.dashboard_env(built_warehouse)
    env["SHEBAO_HOME"] = str(home)
    log = open(home / "streamlit.log", "w")  # noqa: SIM115 (the server writes to it until teardown)
    proc = subprocess.Popen(cli.dashboard_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    if not cli.wait_until_healthy(base, proc, 30):
        proc.kill()
        pytest.fail("streamlit did not start: " + (home / "streamlit.log").read_text())
    yield {"base": base, "home": home, "db": db}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def new_page(context) -> sync_api.Page:
    return context.new_page()


def heading(page) -> str:
    return page.locator("h1").first.inner_text()


def login(page, base: str, unit: str, user: str, password: str | None = None) -> None:
    page.goto(base + "/")
    settle(page)
    page.get_by_text("参保单位", exact=True).click()
    settle(page)
    page.get_by_role("textbox", name="单位编号").fill(unit)
    page.get_by_role("textbox", name="用户名").fill(user)
    page.get_by_label("密码", exact=True).fill(password or PASSWORDS[(unit, user)])
    page.get_by_role("button", name="登录").click()
    # done when a page other than the login shows, or the form shows its error
    page.wait_for_function(
        "document.querySelector('[data-testid=\"stAlertContentError\"]') !== null"
        " || (document.querySelector('h1') && document.querySelector('h1').innerText !== '登录')",
        timeout=30000,
    )
    settle(page)


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox or multiselect by its label."""
    box = page.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']").filter(has_text=label).first
    box.locator("input").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")  # a multiselect keeps its list open
    settle(page)


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages)


def test_a_login_survives_reload_new_tab_and_bookmark_and_ends_on_logout(server, browser):
    base = server["base"]
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, locale="zh-CN")
    page = new_page(context)
    login(page, base, "U001", "法人")
    assert heading(page).startswith("花名册"), page.locator("body").inner_text()
    open_nav(page, "证明下载")
    cookie = next(c for c in context.cookies() if c["name"] == "shebao_session")
    assert cookie["sameSite"] == "Strict" and len(cookie["value"]) >= 40
    page.reload()
    settle(page)
    assert heading(page).startswith("证明下载")  # the same page, still logged in
    tab = new_page(context)
    tab.goto(base + "/unit_arrears")  # a bookmarked link in a new tab
    settle(tab)
    assert heading(tab).startswith("欠费")
    assert tab.get_by_text(UNIT_NAME).count() >= 1
    # the cookie is only a reference: a forged one opens nothing
    other = browser.new_context(locale="zh-CN")
    other.add_cookies([dict(cookie, value="forged" + cookie["value"][6:])])
    stranger = new_page(other)
    stranger.goto(base + "/unit_roster")
    settle(stranger)
    assert heading(stranger) == "登录"
    # logout ends the session server-side: the cookie, replayed elsewhere, opens nothing
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="退出登录").first.click()
    page.locator("h1").filter(has_text="登录").first.wait_for(timeout=20000)
    settle(page)
    assert not [c for c in context.cookies() if c["name"] == "shebao_session" and c["value"]]
    replay = browser.new_context(locale="zh-CN")
    replay.add_cookies([cookie])
    again = new_page(replay)
    again.goto(base + "/unit_roster")
    settle(again)
    assert heading(again) == "登录"
    tab.reload()
    settle(tab)
    assert heading(tab) == "登录"
    for c in (context, other, replay):
        c.close()


def test_the_sixth_wrong_password_is_throttled(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    for n in range(1, 6):
        login(page, server["base"], "U003", "法人", f"wrong-pass-{n}")
        assert (
            page.locator("[data-testid='stAlertContentError']")
            .first.inner_text()
            .startswith("单位编号、用户名或密码不正确。")
        )
    login(page, server["base"], "U003", "法人", "wrong-pass-6")
    refused = page.locator("[data-testid='stAlertContentError']").first.inner_text()
    # 30 s, less the seconds the next form submit took
    assert re.fullmatch(r"登录失败次数过多，请 ([1-9]|[12]\d|30) 秒后再试。", refused), refused
    login(page, server["base"], "U003", "法人")  # the right password while closed
    assert "登录失败次数过多" in page.locator("[data-testid='stAlertContentError']").first.inner_text()
    assert heading(page) == "登录"
    page.close()
    from certificates.audit import AuditLog

    attempts = [e for e in AuditLog(server["home"] / "audit").entries() if e["subject"] == "U003/法人"]
    assert [e["details"]["reason"] for e in attempts] == ["wrong_password_or_account"] * 5 + ["throttled"] * 2


def test_a_clerk_without_the_download_grant_cannot_issue_a_proof(server, browser):
    base = server["base"]
    page = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="zh-CN")
    login(page, base, "U001", "zhao")
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "花名册" in nav and "证明下载" not in nav and "我的账号" in nav
    page.goto(base + "/unit_documents")  # typed or bookmarked: the page is not registered
    settle(page)
    assert not heading(page).startswith("证明下载")
    assert page.get_by_role("button", name="生成证明").count() == 0
    assert page.get_by_role("button", name="导出 CSV").count() == 0  # no 导出数据 grant either
    # the 法人 grants 下载证明; the clerk's next page load has it
    users.grant(
        "U001",
        "zhao",
        [users.VIEW, users.DOWNLOAD],
        by=users.get_unit_account("U001", "法人", server["db"]),
        path=server["db"],
    )
    page.goto(base + "/unit_documents")
    settle(page)
    assert heading(page).startswith("证明下载")
    assert page.get_by_role("button", name="生成证明").count() == 1
    page.close()


def issue_and_download(page, button: str) -> bytes:
    assert_no_error(page, button)
    page.get_by_role("button", name=button).click(timeout=10000)
    download = page.get_by_role("button", name="下载 PDF")
    download.wait_for(timeout=90000)
    settle(page)
    assert_no_error(page, button)
    with page.expect_download() as info:
        download.click()
    return Path(info.value.path()).read_bytes()


def test_an_employer_downloads_every_document_type(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1600}, locale="zh-CN", accept_downloads=True)
    login(page, server["base"], "U001", "法人")
    open_nav(page, "证明下载")

    # 单位参保证明 for two chosen people over the default last 12 months
    choose(page, "选择人员", "P002 李娜")
    choose(page, "选择人员", "P008 吴婷")
    text = pdf_text(issue_and_download(page, "生成证明"))
    assert "单位参保证明" in text and UNIT_NAME in text and "李娜" in text and "吴婷" in text

    # 缴费人员汇总参保证明 over 全部
    choose(page, "证明类型", "缴费人员汇总参保证明")
    page.get_by_text("全部期间").click()
    settle(page)
    text = pdf_text(issue_and_download(page, "生成证明"))
    assert "缴费人员汇总参保证明" in text and UNIT_NAME in text and "全部" in text
    assert "张伟" in text  # P001 paid at U001 in 2024 H1, inside 全部

    # 个人缴费记录明细 of P008
    choose(page, "证明类型", "个人缴费记录明细")
    choose(page, "选择人员", "P008 吴婷")
    text = pdf_text(issue_and_download(page, "生成证明"))
    assert "个人缴费记录明细" in text and "吴婷" in text and UNIT_NAME in text

    # 个人权益记录单 of P002
    choose(page, "证明类型", "个人权益记录单")
    choose(page, "选择人员", "P002 李娜")
    text = pdf_text(issue_and_download(page, "生成证明"))
    assert "个人权益记录单" in text and "李娜" in text

    # 征集缴费通知单: 202401 lists two notices; print the 补收 one
    choose(page, "证明类型", "征集缴费通知单")
    choose(page, "费款所属期", "2024年01月")
    body = page.locator("body").inner_text()
    assert "共 2 张通知单" in body and "--notice" not in body
    text = pdf_text(issue_and_download(page, "打印通知单 B-U001-202401"))
    assert "征集缴费通知单" in text and "B-U001-202401" in text and "补收" in text and UNIT_NAME in text
    page.close()
