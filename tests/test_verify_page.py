"""The verification page and API match the paper: Beijing dates as the PDF prints them, the
PDF's names, revocation date and reason, the successor of a replaced certificate, a next
step on 无效, a landing page; the lookup limiter's client address and its memory; and
phone-sized screenshots of every status (set SHEBAO_SCREENSHOTS_DIR to keep them)."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pdfplumber
import pytest
import uvicorn
from fastapi.testclient import TestClient

from certificates import code as codes
from certificates import keys, verify
from certificates.issue import issue_document
from certificates.registry import Registry
from certificates.service import RateLimiter, create_app
from shebao.dashboard_cli import CHROMIUM, CHROMIUM_ARGS
from tests.verify_cases import appended_image

pytestmark = pytest.mark.unit

NOTICE = {"unit": "U001", "period": "202503"}
PROOF = {"unit": "U002", "from": "202407", "to": "202412"}


@pytest.fixture(scope="module")
def env(tmp_path_factory, built_warehouse):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        mp.delenv("SHEBAO_TRUSTED_PROXIES", raising=False)
        warehouse = built_warehouse
        # issued eight months ago by a key of that time: expired today
        past = keys.utcnow() - timedelta(days=240)
        mp.setattr(keys, "utcnow", lambda: past)
        expired = issue_document("payment-notice", NOTICE, warehouse, out=home / "expired.pdf", now=past)
        mp.undo()
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        mp.delenv("SHEBAO_TRUSTED_PROXIES", raising=False)
        valid = issue_document("payment-notice", NOTICE, warehouse, out=home / "valid.pdf")
        revoked = issue_document("unit-proof", PROOF, warehouse, out=home / "revoked.pdf")
        Registry().revoke(revoked.id, "单位申请作废")
        replaced = issue_document("unit-proof", {**PROOF, "to": "202411"}, warehouse, out=home / "replaced.pdf")
        successor = issue_document(
            "unit-proof", {**PROOF, "to": "202411"}, warehouse, out=home / "successor.pdf", void_previous=True
        )
        tampered = home / "tampered.pdf"
        tampered.write_bytes(appended_image(valid.path.read_bytes()))
        yield {
            "home": home,
            "valid": valid,
            "revoked": revoked,
            "replaced": replaced,
            "successor": successor,
            "expired": expired,
            "tampered": tampered,
        }


@pytest.fixture
def client(env):
    return TestClient(create_app())


def printed(path: Path, label: str) -> str:
    with pdfplumber.open(path) as pdf:
        return re.search(label + r"：(\d{4}年\d{2}月\d{2}日)", pdf.pages[0].extract_text()).group(1)


def row(html: str, label: str) -> str:
    match = re.search(rf'<td class="k">{label}</td><td>([^<]*)</td>', html)
    assert match, f"no row {label}"
    return match.group(1)


def test_dates_and_names_as_the_pdf_prints_them(env, client):
    cert = env["valid"]
    html = client.get(f"/C/{cert.token}").text
    assert row(html, "开具日期") == printed(cert.path, "开具日期")
    assert row(html, "有效期至") == printed(cert.path, "有效期至")
    assert row(html, "证明编号") == cert.id
    assert "T" not in row(html, "开具日期") and "开具时间" not in html
    body = client.get(f"/api/verify/{cert.token}").json()
    assert body["issued_date_zh"] == printed(cert.path, "开具日期")
    assert body["expires_date_zh"] == printed(cert.path, "有效期至")


def test_revoked_shows_date_and_reason(env, client):
    html = client.get(f"/C/{env['revoked'].token}").text
    record = Registry().get(env["revoked"].id)
    assert "已撤销" in html and row(html, "撤销原因") == "单位申请作废"
    assert row(html, "撤销日期") == verify._date_zh(record.status_changed_at)
    assert "此证明不能再作为有效证明使用" in html


def test_replaced_names_its_successor(env, client):
    html = client.get(f"/C/{env['replaced'].token}").text
    assert "已被替换" in html and row(html, "替换为证明编号") == env["successor"].id
    body = client.get(f"/api/verify/{env['replaced'].token}").json()
    assert (body["reason"], body["superseded_by"]) == ("superseded", env["successor"].id)


def test_expired_is_expired_online_offline_and_by_lookup(env, client):
    cert = env["expired"]
    assert client.get(f"/api/verify/{cert.token}").json()["reason"] == "expired"
    code = Registry().get(cert.id).code
    assert verify.lookup(Registry(), cert.id, code).reason == "expired"
    assert verify.verify_token(cert.token, keys.KeyStore().trust_list()).reason == "expired"


def test_wrong_code_shows_no_empty_fields_and_a_next_step(env, client):
    data = "1" * 15
    html = client.get("/lookup", params={"number": env["valid"].id, "code": data + codes.check_char(data)}).text
    assert "未知证书" in html and "None" not in html and "开具日期" not in html
    assert "请在" in html and "联系出具机构" in html


def test_invalid_token_has_a_next_step(env, client):
    html = client.get(f"/C/{env['valid'].token[:-8]}").text
    assert "无效" in html and "下一步" in html and "联系出具机构" in html


def test_landing_page(client):
    page = client.get("/")
    assert page.status_code == 200 and "电子证明验证服务" in page.text
    assert 'href="/lookup"' in page.text and 'href="/pdf"' in page.text


def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(env):
    number, code = env["valid"].id, "0" * 16
    app = create_app(lookup_limit=3, trusted_proxies=frozenset())
    c = TestClient(app)
    statuses = [
        c.get("/api/lookup", params={"number": number, "code": code}, headers={"X-Forwarded-For": f"10.0.0.{i}"})
        for i in range(5)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]  # one client, whatever it claims
    proxied = TestClient(create_app(lookup_limit=3, trusted_proxies=frozenset({"testclient"})))
    statuses = [
        proxied.get("/api/lookup", params={"number": number, "code": code}, headers={"X-Forwarded-For": f"10.0.0.{i}"})
        for i in range(5)
    ]
    assert [r.status_code for r in statuses] == [200] * 5  # five clients behind our own proxy


def test_limiter_forgets_idle_clients_and_is_bounded():
    limiter = RateLimiter(limit=2, window=60.0, max_clients=100)
    for i in range(1000):
        assert limiter.allow(f"c{i}", now=float(i % 10))
    assert len(limiter.hits) == 100
    assert limiter.allow("late", now=200.0) and list(limiter.hits) == ["late"]  # idle for a window: forgotten
    assert limiter.allow("late", now=201.0) and not limiter.allow("late", now=202.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.browser
def test_screenshots_at_phone_size(env, tmp_path):
    from playwright import sync_api

    out = Path(os.environ.get("SHEBAO_SCREENSHOTS_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    unknown_code = "2" * 15
    shots = {
        "valid": (f"/C/{env['valid'].token}", "有效"),
        "revoked": (f"/C/{env['revoked'].token}", "已撤销"),
        "replaced": (f"/C/{env['replaced'].token}", "已被替换"),
        "expired": (f"/C/{env['expired'].token}", "已过期"),
        "unknown": (
            f"/lookup?number={env['valid'].id}&code={unknown_code}{codes.check_char(unknown_code)}",
            "未知证书",
        ),
    }
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            for name, (path, status) in shots.items():
                page.goto(base + path)
                assert page.locator(".status .big").inner_text().startswith(status)
                page.screenshot(path=str(out / f"verify-{name}.png"), full_page=False)
            page.goto(base + "/pdf")
            page.set_input_files("input[type=file]", str(env["tampered"]))
            page.get_by_role("button", name="上传验证").click()
            page.wait_for_selector(".status .big")
            assert page.locator(".status .big").inner_text() == "无效: 文件签名后被修改"
            page.screenshot(path=str(out / "verify-tampered.png"), full_page=False)
            page.goto(base + f"/C/{env['valid'].token}")
            shown = page.locator("td", has_text="开具日期").locator("xpath=following-sibling::td").inner_text()
            assert shown == printed(env["valid"].path, "开具日期")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    assert sorted(f.name for f in out.glob("verify-*.png")) == [f"verify-{n}.png" for n in sorted([*shots, "tampered"])]
