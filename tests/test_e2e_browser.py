"""End to end in Debian's Chromium (Playwright, no browser download): the real app on a free loopback port.

Screenshots of every page go to $SHEBAO_SCREENSHOTS (default: the test's tmp_path).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from playwright import sync_api

from dashboards import certs, users
from shebao import dashboard_cli as cli

CHROMIUM, CHROMIUM_ARGS = cli.CHROMIUM, cli.CHROMIUM_ARGS
PASSWORDS = {"ana": "analyst-pass-1", "U001": "unit-one-pass"}
ANALYST_PAGES = ["总览", "缴费趋势", "欠费", "退休到龄", "数据质量", "证书", "验证"]
EMPLOYER_PAGES = ["花名册", "缴费明细", "欠费", "退休到龄", "证明下载"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.dbt,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make system-packages)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    path = Path(os.environ.get("SHEBAO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_warehouse):
    home = tmp_path_factory.mktemp("e2e_home")
    users.add_user("ana", PASSWORDS["ana"], role="analyst", path=users.users_db_path(home))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_WAREHOUSE", str(built_warehouse))  # accounts only for registered units
        users.add_user("U001", PASSWORDS["U001"], path=users.users_db_path(home))
    port = _free_port()
    env = cli.dashboard_env(built_warehouse)
    env["SHEBAO_HOME"] = str(home)
    log = open(home / "streamlit.log", "w")  # noqa: SIM115 (the server writes to it until teardown)
    proc = subprocess.Popen(cli.dashboard_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    # While the server boots: create the signing keys and put one certificate in the registry
    # (the 证书 page then has something to count), through the same adapter the pages use.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        certs.issue("summary-proof", "U002", "202501", "202503", warehouse=built_warehouse)
    if not cli.wait_until_healthy(base, proc, 30):
        proc.kill()
        pytest.fail("streamlit did not start: " + (home / "streamlit.log").read_text())
    yield {"base": base, "home": home}
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


def settle(page) -> None:
    """Streamlit's own e2e wait: connected, no running script, no stale element, then the debounce."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=20000)
    page.wait_for_timeout(150)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=20000)
    page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=20000)
    page.wait_for_selector("[data-testid='stSkeleton']", state="detached", timeout=20000)
    page.wait_for_timeout(250)


def assert_no_error(page, where: str) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, f"exception on {where}"
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, f"error on {where}: {errors.all_inner_texts()}"


def login(page, base: str, username: str) -> None:
    page.goto(base + "/")
    settle(page)
    if username.startswith("U"):  # a unit's 法人
        page.get_by_role("textbox", name="单位编号").fill(username)
        page.get_by_role("textbox", name="用户名").fill("法人")
    else:
        page.get_by_text("分析人员", exact=True).click()  # 登录身份
        settle(page)
        page.get_by_role("textbox", name="用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORDS[username])
    page.get_by_role("button", name="登录").click()
    # done when a page other than the login shows, or the form shows its error
    page.wait_for_function(
        "document.querySelector('[data-testid=\"stAlertContentError\"]') !== null"
        " || (document.querySelector('h1') && document.querySelector('h1').innerText !== '登录')",
        timeout=30000,
    )
    settle(page)


def open_nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    page.locator("h1").filter(has_text=title).first.wait_for(timeout=20000)
    settle(page)


def test_analyst_opens_every_page(server, browser, shots):
    page = browser.new_page(viewport={"width": 1400, "height": 1500}, locale="zh-CN")
    login(page, server["base"], "ana")
    for i, title in enumerate(ANALYST_PAGES):
        t0 = time.time()
        open_nav(page, title)
        print(title, round(time.time() - t0, 2))
        page.wait_for_timeout(600)  # let charts draw before the screenshot
        page.screenshot(path=str(shots / f"analyst_{i + 1}_{title}.png"), full_page=True)
        assert_no_error(page, title)
        if title != "验证":
            assert page.get_by_text("数据截至 2025-04-15").count() >= 1, title
    # the overview's figures as rendered in the browser
    open_nav(page, "总览")
    metrics = page.locator("[data-testid='stMetric']").all_inner_texts()
    assert any("¥18,875.48" in m for m in metrics)  # 202503 due (see tests/test_dashboard.py)
    assert any("¥4,764.00" in m for m in metrics)  # arrears outstanding
    # trend filters land in the URL
    open_nav(page, "缴费趋势")
    page.locator("[data-testid='stSidebar'] label").filter(has_text="单位类型").click()
    settle(page)
    assert "by=unit_type" in page.url
    page.close()


def test_employer_logs_in_and_downloads_a_verifiable_proof(server, browser, shots, tmp_path, monkeypatch):
    page = browser.new_page(viewport={"width": 1400, "height": 1500}, locale="zh-CN", accept_downloads=True)
    login(page, server["base"], "U001")
    for i, title in enumerate(EMPLOYER_PAGES):
        open_nav(page, title)
        assert_no_error(page, title)
        assert page.get_by_text("苏州甲科技有限公司").count() >= 1
        page.screenshot(path=str(shots / f"employer_{i + 1}_{title}.png"), full_page=True)
        if title == "花名册":
            body = page.locator("body").inner_text()
            # the grid draws on a canvas: the count is text, the names are not
            assert "在册人数\n\n2" in body  # P002 and P008 (P001 left U001 in 202406)
            assert "孙磊" not in body and "刘洋" not in body  # not U002's staff
    page.get_by_role("button", name="生成证明").click()
    download_button = page.get_by_role("button", name="下载 PDF")
    download_button.wait_for(timeout=60000)
    settle(page)
    page.screenshot(path=str(shots / "employer_6_证明已生成.png"), full_page=True)
    with page.expect_download() as info:
        download_button.click()
    pdf = tmp_path / "proof.pdf"
    info.value.save_as(pdf)
    page.close()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    monkeypatch.setenv("SHEBAO_HOME", str(server["home"]))  # the keys the server signed with
    verdict = certs.verify_pdf(pdf)
    assert verdict.ok, verdict
    # the default range is the last 12 months, 202404-202503: P001 3 (left in 202406) + P002 11 + P008 12
    # person-months (P002's 202409 medical never arrived: not a fully paid person-month)
    assert (verdict.facts["单位编号"], verdict.facts["缴费人数"], verdict.facts["缴费人月"]) == ("U001", "3人", "26")
    assert verdict.facts["缴费截止时间"] == "202503"
