"""Issue -> PDF -> 150 dpi PNG -> zxing-cpp -> verify through the running service and offline;
PAdES checked by pdfsig; forged PDFs (pasted QR, edited text) and status changes rejected."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import threading
import time
from datetime import timedelta

import httpx
import pdfplumber
import pytest
import uvicorn
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from certificates import documents, pades, pdf_verify, qr, render, verify
from certificates import token as tokens
from certificates.issue import document_html, issue_document
from certificates.keys import KeyStore
from certificates.registry import Registry
from certificates.service import create_app
from shebao import cli
from tests.verify_cases import unsigned_pages

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

NOTICE = {"unit": "U001", "period": "202503"}
RECORD = {"unit": "U002", "person": "P001", "from": "202407", "to": "202503"}


@pytest.fixture(scope="module")
def env(tmp_path_factory, built_warehouse):
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        warehouse = built_warehouse
        notice = issue_document("payment-notice", NOTICE, warehouse, out=home / "notice.pdf")
        record = issue_document("contribution-record", RECORD, warehouse, out=home / "record.pdf")
        yield {"home": home, "warehouse": warehouse, "notice": notice, "record": record}


def scan(pdf_path) -> list:
    png = subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf_path)], capture_output=True, check=True
    ).stdout
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)


def printed_id(pdf_path) -> str:
    with pdfplumber.open(pdf_path) as pdf:
        return re.search(r"证明编号：(\d{18})", pdf.pages[0].extract_text()).group(1)


def test_round_trip_scan_service_offline(env):
    cert = env["notice"]
    results = scan(cert.path)
    assert len(results) == 1 and results[0].text == cert.url and results[0].ec_level == "Q"
    assert results[0].extra["Version"] == "15"
    token = qr.token_from_url(results[0].text)
    claims = tokens.peek_claims(tokens.b32decode(token))
    assert claims.cert_id == cert.id == printed_id(cert.path)
    assert claims.figures == {"t": "5278.88", "l": "4"}  # U001 202503: 2004.00 + 3274.88 on 4 insurance lines
    assert claims.digest == render.content_digest(cert.path.read_bytes())

    client = TestClient(create_app())
    page = client.get(f"/C/{token}")
    assert page.status_code == 200 and "有效" in page.text and "5,278.88" in page.text
    assert "viewport" in page.text
    api = client.get(f"/api/verify/{token}").json()
    assert (api["valid"], api["status"], api["status_zh"], api["cert_id"]) == (True, "valid", "有效", cert.id)
    assert api["verification_count"] == 2  # every verification counted
    offline = pdf_verify.verify_pdf(cert.path, KeyStore().trust_list())
    assert offline.valid and offline.cert_id == cert.id and not offline.online
    assert Registry().get(cert.id).verification_count == 2
    assert cli.main(["cert", "verify", str(cert.path)]) == 0
    assert cli.main(["cert", "verify", cert.url]) == 0
    assert cli.main(["cert", "verify", token, "--offline"]) == 1  # no signed revocation list cached yet
    assert cli.main(["cert", "sync"]) == 0
    assert cli.main(["cert", "verify", token, "--offline"]) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_uvicorn_service(env):
    cert = env["record"]
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        token = qr.token_from_url(scan(cert.path)[0].text)
        page = httpx.get(f"{base}/C/{token}", timeout=10)
        assert page.status_code == 200 and "有效" in page.text and "张*" in page.text
        assert "3205**********0115" in page.text and "12000" not in page.text  # masked, no wage (base 12000)
        body = httpx.get(f"{base}/api/verify/{token}", timeout=10).json()
        assert body["reason"] == "ok" and body["cert_id"] == cert.id
        keys = httpx.get(f"{base}/.well-known/shebao-keys.json", timeout=10).json()
        assert cert.kid in [k["kid"] for k in keys["keys"]]
        assert httpx.get(f"{base}/api/verify/{token}XYZ", timeout=10).json()["valid"] is False
    finally:
        server.should_exit = True
        thread.join(10)


def test_pdfsig_reports_valid_signature_and_catches_byte_edit(env, tmp_path):
    cert = env["notice"]
    out = subprocess.run(["pdfsig", str(cert.path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out and "Total document signed" in out
    assert "示例市社会保险事业管理中心" in out
    data = bytearray(cert.path.read_bytes())
    i = data.index(b"/Type /Page") if b"/Type /Page" in data else 2000
    data[i + 1] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    out = subprocess.run(["pdfsig", str(tampered)], capture_output=True, text=True).stdout
    assert "Signature is Valid." not in out


def _forged_pdf(env, params, stamp_of, edit=None) -> bytes:
    """Re-render a document's content under a given certificate's stamp and QR (what a forger can do)."""
    doc = documents.build("payment-notice", params, env["warehouse"])
    stamp = render.Stamp(
        stamp_of.id,
        stamp_of.code,
        stamp_of.issued_at,
        stamp_of.expires_at,
        qr.svg(stamp_of.url)[0],
        stamp_of.data_as_of,
        stamp_of.build_id,
    )
    html = document_html(doc, stamp)
    if edit:
        html = html.replace(*edit)
    return render.pdf(html)


# The forgeries are PAdES-signed with the issuer's own PDF key (the strongest forger: one
# who holds the PDF key but not the token key), so only the token and content checks stand
# between them and 有效; unsigned, they fail earlier as 文件没有电子签名.
@pytest.fixture
def genuine_rerender(env):
    return pades.sign_pdf(_forged_pdf(env, NOTICE, env["notice"]), env["notice"].id)


@pytest.fixture
def text_edited(env):
    return pades.sign_pdf(_forged_pdf(env, NOTICE, env["notice"], edit=("5,278.88", "5,978.88")), env["notice"].id)


@pytest.fixture
def pasted_qr(env):
    # another valid certificate's QR and number
    return pades.sign_pdf(_forged_pdf(env, NOTICE, env["record"]), env["record"].id)


def test_rerender_control_verifies(env, genuine_rerender):
    """The issued pages re-signed verify; a re-render of the same content does not, even
    though its text matches: the token binds the drawn pages, not only their text."""
    trust = KeyStore().trust_list()
    resigned = pades.sign_pdf(unsigned_pages(env["notice"].path.read_bytes()), env["notice"].id)
    assert pdf_verify.verify_pdf(resigned, trust).reason == "ok"
    verdict = pdf_verify.verify_pdf(genuine_rerender, trust)
    assert (verdict.reason, verdict.detail) == ("content_mismatch", "page 1 does not carry the QR code as issued")
    unsigned = _forged_pdf(env, NOTICE, env["notice"])
    assert pdf_verify.verify_pdf(unsigned, trust).reason == "pdf_unsigned"


def test_pdf_text_edited_after_signing(env, text_edited, tmp_path):
    v = pdf_verify.verify_pdf(text_edited, KeyStore().trust_list(), Registry())
    assert (v.reason, v.status_zh) == ("content_mismatch", "无效: 内容与签名不符")
    path = tmp_path / "edited.pdf"
    path.write_bytes(text_edited)
    assert cli.main(["cert", "verify", str(path)]) == 1


def test_other_certificates_qr_pasted(pasted_qr):
    v = pdf_verify.verify_pdf(pasted_qr, KeyStore().trust_list(), Registry())
    assert (v.reason, v.status_zh) == ("content_mismatch", "无效: 内容与签名不符")


def test_expired_certificate_offline_and_online(env):
    cert = env["notice"]
    later = cert.expires_at + timedelta(seconds=1)
    v = verify.verify_token(cert.token, KeyStore().trust_list(), Registry(), now=later)
    assert (v.reason, v.status_zh) == ("expired", "已过期")


def test_reissue_supersedes_then_revoke(env, capsys):
    old = env["record"]
    new = issue_document(
        "contribution-record", RECORD, env["warehouse"], out=env["home"] / "record2.pdf", void_previous=True
    )
    assert new.superseded == (old.id,)
    client = TestClient(create_app())
    body = client.get(f"/api/verify/{old.token}").json()
    assert (body["status"], body["status_zh"]) == ("superseded", "已被替换")
    assert cli.main(["cert", "verify", str(old.path)]) == 1
    assert cli.main(["cert", "revoke", new.id, "--reason", "单位申请作废"]) == 0
    body = client.get(f"/api/verify/{new.token}").json()
    assert (body["status"], body["status_zh"], body["detail"]) == ("revoked", "已撤销", "单位申请作废")
    capsys.readouterr()
    assert cli.main(["cert", "verify", str(new.path)]) == 1
    assert "已撤销" in capsys.readouterr().out
    # offline, the revocation is known once a fresh signed revocation list is cached
    assert cli.main(["cert", "sync"]) == 0
    capsys.readouterr()
    assert cli.main(["cert", "verify", str(new.path), "--offline"]) == 1
    assert capsys.readouterr().out.startswith("已撤销（revoked）")


def test_batch_issue_with_progress(env, capsys):
    out = env["home"] / "batch"
    wh = ["--out", str(out), "--warehouse", str(env["warehouse"])]
    rc = cli.main(["cert", "batch-issue", "--unit-type", "企业", "--kind", "payment-notice", "--period", "202503", *wh])
    captured = capsys.readouterr()
    assert rc == 0 and sorted(p.name for p in out.iterdir()) == [
        "payment-notice-U001.pdf",
        "payment-notice-U002.pdf",
        "payment-notice-U003.pdf",
    ]
    assert "完成：3 份，未开具 0 份" in captured.out
    assert "开具payment-notice" in captured.err  # tqdm progress bar
    assert pdf_verify.verify_pdf(out / "payment-notice-U001.pdf", KeyStore().trust_list(), Registry()).valid
    with pdfplumber.open(out / "payment-notice-U002.pdf") as pdf:  # U002's own notice only
        text = pdf.pages[0].extract_text()
    # P001 3984.00 + P007 3320.00 (P005 left after 202502)
    assert "N-U002-202503" in text and "7,304.00" in text and "柒仟叁佰零肆圆整" in text
    assert "5,278.88" not in text and "苏州甲科技有限公司" not in text
    rc = cli.main(
        ["cert", "batch-issue", "--unit-type", "机关事业单位", "--kind", "payment-notice", "--period", "202312", *wh]
    )
    assert rc == 1 and "U004: 未开具（单位 U004 没有 202312 费款所属期的征集缴费通知单）" in capsys.readouterr().out
    assert cli.main(["cert", "batch-issue", "--unit-type", "个体工商户", *wh]) == 1
