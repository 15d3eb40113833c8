"""One Chromium session across a publish: the running dashboard shows the new build and issues from it.

The test warehouse is copied into this module's own home. The dashboard is opened and a unit
proof issued; then a person joins U001 (new landing files), the real pipeline re-runs and
publishes, and in the same browser session the roster, the 数据副本发布于 stamp and a new
proof all show the new build, with no restart of the server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright import sync_api

from dashboards import certs, users
from foundation import paths
from foundation.landing.identifiers import id_check_char
from shebao import dashboard_cli as cli
from tests.support.processes import free_port
from tests.support.warehouse import AS_OF, ENROLMENTS, INSURANCES, LEDGERS, PERSONS, _ledger_row, _run, _write
from tests.test_e2e_browser import PASSWORDS, login, open_nav, settle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(cli.CHROMIUM).exists(), reason="Debian chromium not installed (make system-packages)"),
]

NEW_PERSON = ("P009", "周杰", "32050619950707013")  # ID number without its check character
NEW_PERIODS = ("202501", "202502", "202503")


def add_new_hire(landing: Path) -> None:
    """P009 joins U001 in 202501 at base 7000 and is paid in full for 202501-202503 (new files only)."""
    person_id, name, first17 = NEW_PERSON
    number = first17 + id_check_char(first17)
    person = {
        "person_id": person_id,
        "name": name,
        "id_type": "居民身份证",
        "id_number": number,
        "sex": "男",
        "birth_date": "1995-07-07",
        "hukou_type": "城镇户口",
        "work_start_date": "2019-07-01",
        "post_category": "专业技术岗",
        "mobile": "13800000000",
    }
    _write(landing / "persons" / "persons-2025-new.csv", PERSONS, [person])
    enrolments = [
        {
            "person_id": person_id,
            "unit_id": "U001",
            "insurance_type": insurance,
            "start_period": NEW_PERIODS[0],
            "end_period": "",
            "status": "正常参保",
            "change_reason": "新参保",
        }
        for insurance in INSURANCES
    ]
    _write(landing / "enrolments" / "enrolments-2025-new.csv", ENROLMENTS, enrolments)
    lines = [
        {
            **_ledger_row("P002", "U001", period, insurance, "7000"),
            "person_id": person_id,
            "name": name,
            "id_number": number,
        }
        for period in NEW_PERIODS
        for insurance in INSURANCES
    ]
    _write(landing / "ledgers" / "2025q1-new-hire.csv", LEDGERS, lines)


@pytest.fixture(scope="module")
def home(built_warehouse) -> Iterator[Path]:
    """A copy of the test warehouse, its landing folder and serving copy, that this module may rebuild.

    In its own folder, not pytest's rotating basetemp, which other sessions on the machine may prune.
    """
    with tempfile.TemporaryDirectory(prefix="shebao-publish-") as tmp:
        path = Path(tmp) / "home"
        shutil.copytree(built_warehouse.parent, path, ignore=shutil.ignore_patterns("dagster", "*.lock", "*.wal"))
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SHEBAO_WAREHOUSE", str(path / "warehouse.duckdb"))  # accounts only for registered units
            users.add_user("U001", PASSWORDS["U001"], path=users.users_db_path(path))
        yield path


@pytest.fixture(scope="module")
def server(home):
    port = free_port()
    env = cli.dashboard_env(home / "warehouse.duckdb")
    env["SHEBAO_HOME"] = str(home)
    log = open(home / "streamlit.log", "w")  # noqa: SIM115 (the server writes to it until teardown)
    proc = subprocess.Popen(cli.dashboard_command(port), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    if not cli.wait_until_healthy(base, proc, 60):
        proc.kill()
        pytest.fail("streamlit did not start: " + (home / "streamlit.log").read_text())
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def roster_count(page) -> int:
    open_nav(page, "花名册")
    found = re.search(r"在册人数\n+(\d+)", page.locator("body").inner_text())
    assert found, page.locator("body").inner_text()[:2000]
    return int(found.group(1))


def published_stamp(page) -> str:
    text = page.get_by_text(re.compile("数据副本发布于")).first.inner_text()
    found = re.search(r"数据截至 (\S+)（数据副本发布于 ([0-9: -]+)）", text)
    assert found, text
    assert found.group(1) == AS_OF.isoformat()
    return found.group(2)


def choose(page, label: str, option: str) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    settle(page)


def issue_proof(page, folder: Path, name: str, home: Path, monkeypatch) -> dict:
    """Issue a 单位参保证明 for 202401-202503 on 证明下载, download it and verify it: its facts."""
    open_nav(page, "证明下载")
    choose(page, "起始费款所属期", "202401")
    choose(page, "截止费款所属期", "202503")
    page.get_by_role("button", name="生成证明").click()
    settle(page)
    button = page.get_by_role("button", name="下载 PDF")
    button.wait_for(timeout=120000)
    with page.expect_download() as info:
        button.click()
    pdf = folder / name
    info.value.save_as(pdf)
    monkeypatch.setenv("SHEBAO_HOME", str(home))  # the keys the server signed with
    verdict = certs.verify_pdf(pdf)
    assert verdict.ok, verdict
    return verdict.facts


def served_published_at(home: Path) -> str:
    con = duckdb.connect(str(paths.serving_path(home / "warehouse.duckdb")), read_only=True)
    try:
        row = con.execute("select published_at from meta.build_info").fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0].strftime("%Y-%m-%d %H:%M:%S")


def test_a_session_open_across_a_publish_shows_and_issues_the_new_build(home, server, monkeypatch):
    first_version = paths.serving_path(home / "warehouse.duckdb")
    downloads = home / "downloads"
    downloads.mkdir()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=cli.CHROMIUM, args=cli.CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1500}, locale="zh-CN", accept_downloads=True)
            login(page, server, "U001")

            assert roster_count(page) == 2  # P002 and P008 (P001 left U001 in 202406)
            before = published_stamp(page)
            assert before == served_published_at(home)
            facts = issue_proof(page, downloads, "before.pdf", home, monkeypatch)
            # P001 6 + P002 14 + P008 15 fully paid person-months (P002's 202409 medical never arrived)
            assert (facts["缴费人数"], facts["缴费人月"]) == ("3人", "35")

            # A new hire arrives; the real pipeline re-runs and publishes while the page stays open.
            add_new_hire(home / "landing")
            _run(home, home / "landing", AS_OF.isoformat())
            second_version = paths.serving_path(home / "warehouse.duckdb")
            assert second_version != first_version and first_version.exists()  # still held by the server

            assert roster_count(page) == 3  # P002, P008 and the new P009, same session, no reload
            after = published_stamp(page)
            assert after != before and after == served_published_at(home)
            facts = issue_proof(page, downloads, "after.pdf", home, monkeypatch)
            # P009 adds 3 fully paid months (202501-202503)
            assert (facts["单位编号"], facts["缴费人数"], facts["缴费人月"]) == ("U001", "4人", "38")
            assert facts["缴费截止时间"] == "202503"
            page.close()
        finally:
            browser.close()
