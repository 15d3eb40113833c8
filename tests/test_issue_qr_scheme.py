"""Certificates whose QR code qrcode drew with its own mask scoring (before the scoring moved
to NumPy) still verify offline, where the check redraws the code; a code drawn under another
mask than the token's URL gets is refused even though it scans to the same text."""

from __future__ import annotations

import pytest

from certificates import qr
from certificates.issue import issue_document
from certificates.keys import KeyStore
from certificates.pdf_verify import read_qr_texts, verify_pdf
from tests.test_cert_qr_mask import reference

pytestmark = pytest.mark.dbt

PARAMS = {"unit": "U004", "from": "202401", "to": "202503"}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    monkeypatch.delenv("SHEBAO_AUDIT_DIR", raising=False)
    monkeypatch.delenv("SHEBAO_CERT_REGISTRY", raising=False)
    return tmp_path / "home"


def issued_with(matrix, home, warehouse, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(qr, "matrix", matrix)
        return issue_document("unit-proof", PARAMS, warehouse, out=home / "c.pdf")


def test_a_certificate_drawn_by_qrcodes_own_scoring_still_verifies(home, built_warehouse, monkeypatch):
    def old_scheme(text):
        code = reference(text)
        return code.get_matrix(), code.version

    cert = issued_with(old_scheme, home, built_warehouse, monkeypatch)
    assert read_qr_texts(cert.path.read_bytes()) == [cert.url]
    # every object at its own offset (render.write): no object stream for a reader to re-index
    assert b"/ObjStm" not in cert.path.read_bytes()
    verdict = verify_pdf(cert.path, KeyStore().trust_list())  # offline: the check redraws the code
    assert verdict.valid and verdict.reason == "ok" and not verdict.online and verdict.cert_id == cert.id


def test_a_code_drawn_under_another_mask_is_refused(home, built_warehouse, monkeypatch):
    def other_mask(text):
        code = reference(text, mask=(reference(text).best_mask_pattern() + 1) % 8)
        return code.get_matrix(), code.version

    cert = issued_with(other_mask, home, built_warehouse, monkeypatch)
    assert read_qr_texts(cert.path.read_bytes()) == [cert.url]  # it scans to the same URL
    verdict = verify_pdf(cert.path, KeyStore().trust_list())
    assert not verdict.valid and verdict.reason == "content_mismatch"
    assert verdict.detail == "the QR code drawn differs from the token's"
