"""Stage 7: time to first full render of each analyst page, in a real browser, at --dashboard-scale.

The real app (`shebao serve dashboard`'s command, `shebao.dashboard_cli.dashboard_command`)
serves the serving copy of a pipeline build; Playwright drives Debian's /usr/bin/chromium
(never `playwright install`). An analyst logs in through the login form; each page is
opened from the sidebar and timed from the click until Streamlit's own "settled" state
(connected, no running script, no stale or skeleton element: the same wait as
tests/test_e2e_browser.py). The first session meets cold caches; later sessions (one per
repeat) show the warm figure. The limit is the verification page (no warehouse query),
the app's own floor.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from benchmarks.harness import Context, Metric, PeakRSS, StageResult, check_target, summarise
from benchmarks.stages.built import built_home, copy_serving

PAGES = ["总览", "缴费趋势", "欠费", "退休到龄", "数据质量", "证书"]
FLOOR_PAGE = "验证"
PASSWORD = "bench-analyst-pass"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60000)
    page.wait_for_timeout(150)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=60000)
    page.wait_for_function("document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=60000)
    page.wait_for_selector("[data-testid='stSkeleton']", state="detached", timeout=60000)


def open_nav(page, title: str) -> float:
    t0 = time.perf_counter()
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    page.locator("h1").filter(has_text=title).first.wait_for(timeout=60000)
    settle(page)
    return time.perf_counter() - t0 - 0.15  # the fixed 150 ms pause inside settle()


def run(ctx: Context, result: StageResult) -> None:
    from playwright.sync_api import sync_playwright

    from dashboards import users
    from shebao import dashboard_cli as cli

    scale = float(ctx.options.get("dashboard_scale", 1.0))
    home = ctx.scratch / "homes" / "dashboard"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    # scale 0 (smoke runs): the tests' small landing folder built by the real pipeline
    copy_serving(built_home(ctx, scale), home)
    users.add_user("bench", PASSWORD, role="analyst", path=users.users_db_path(home))
    port = _free_port()
    env = cli.dashboard_env(home / "warehouse.duckdb")
    env["SHEBAO_HOME"] = str(home)
    log = open(home / "streamlit.log", "w")  # noqa: SIM115 (the server writes to it until the end)
    proc = subprocess.Popen(cli.dashboard_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    first, warm = {}, {t: [] for t in PAGES + [FLOOR_PAGE]}
    try:
        if not cli.wait_until_healthy(base, proc, 60):
            raise RuntimeError("streamlit did not start: " + (home / "streamlit.log").read_text()[-2000:])
        with PeakRSS(root=proc.pid) as mem, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=cli.CHROMIUM, args=cli.CHROMIUM_ARGS, headless=True)
            for session in range(1 + ctx.repeats):
                page = browser.new_page(viewport={"width": 1400, "height": 1500}, locale="zh-CN")
                page.goto(base + "/")
                settle(page)
                page.get_by_text("分析人员", exact=True).click()  # 登录身份
                settle(page)
                page.get_by_role("textbox", name="用户名").fill("bench")
                page.get_by_label("密码", exact=True).fill(PASSWORD)
                page.get_by_role("button", name="登录").click()
                # logged in once the analyst pages are in the sidebar
                page.locator("[data-testid='stSidebarNav'] a").filter(has_text=PAGES[0]).first.wait_for(timeout=60000)
                settle(page)
                for title in [FLOOR_PAGE] + PAGES:
                    sec = open_nav(page, title)
                    errors = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
                    if errors.count():
                        raise RuntimeError(f"page {title} shows an error: {errors.all_inner_texts()[:2]}")
                    if session == 0:
                        first[title] = sec
                    else:
                        warm[title].append(sec)
                page.close()
            browser.close()
        result.memory["streamlit server"] = mem.as_dict()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    floor = summarise(warm[FLOOR_PAGE])
    for title in PAGES:
        s = summarise(warm[title])
        m = result.add(
            Metric(
                f"{title}: first render, cold server cache",
                round(first[title], 3),
                "s",
                None,
                round(first[FLOOR_PAGE], 3),
                f"{FLOOR_PAGE} page (no query), cold",
            )
        )
        check_target(m, max_value=2)
        m = result.add(
            Metric(
                f"{title}: first render in a new session (warm cache)",
                s["median"],
                "s",
                s,
                floor["median"],
                f"{FLOOR_PAGE} page (no query), warm",
                floor,
            )
        )
        check_target(m, max_value=2)
    result.notes.append(
        "Playwright 1.65 driving Debian Chromium (headless); timed from the sidebar click until "
        "Streamlit reports the script finished and no element is stale or loading; charts are "
        "drawn by the browser after that point (Vega), which is not included"
    )
