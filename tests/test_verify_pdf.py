"""The negative catalogue of PDFs and tokens: each forgery gets its exact verdict from the CLI
and from the HTTP service, and the same verdict as poppler's pdfsig where pdfsig can judge."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from certificates import documents, pades, pdf_verify, qr, render, verify
from certificates.issue import document_html, issue_document
from certificates.keys import KeyStore
from certificates.registry import Registry
from certificates.service import create_app
from shebao import cli
from tests.verify_cases import (
    appended_annotation,
    appended_form_field,
    appended_image,
    byte_flip_in_stream,
    corrupt_cms,
    pdfsig_verdict,
    sign_with,
    unsigned_pages,
)

pytestmark = pytest.mark.dbt

NOTICE = {"unit": "U001", "period": "202503"}
RECORD = {"unit": "U002", "person": "P001", "from": "202407", "to": "202503"}

MODIFIED = ("pdf_modified", "无效: 文件签名后被修改")
MISMATCH = ("content_mismatch", "无效: 内容与签名不符")
EXPECTED = {  # case -> (reason, Chinese status)
    "genuine": ("ok", "有效"),
    "byte_flip": ("pdf_digest_mismatch", "无效: 文件签名后被修改"),
    "corrupt_cms": ("pdf_bad_signature", "无效: 签名无效"),
    "appended_image": MODIFIED,
    "appended_annotation": MODIFIED,
    "appended_form_field": MODIFIED,
    "text_edited_unsigned": ("pdf_unsigned", "无效: 文件没有电子签名"),
    "text_edited_resigned": MISMATCH,
    "qr_of_other_document": MISMATCH,
    "overlay_resigned": MISMATCH,
    "foreign_signer": ("pdf_untrusted", "无效: 签名无效"),
    "not_a_pdf": ("pdf_malformed", "无效: 无法读取文件"),
}
# our verdict -> what pdfsig prints for it (pdfsig cannot judge trust, QR or content)
PDFSIG = {"ok": "valid", "pdf_digest_mismatch": "digest_mismatch", "pdf_bad_signature": "invalid"}
PDFSIG.update(pdf_modified="modified", pdf_unsigned="unsigned")


@pytest.fixture(scope="module")
def env(tmp_path_factory, built_warehouse):
    """One serving copy, two issued certificates and the catalogue of altered files."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        mp.delenv("SHEBAO_VERIFY_BASE", raising=False)
        mp.delenv("SHEBAO_TRUSTED_PROXIES", raising=False)
        warehouse = built_warehouse
        notice = issue_document("payment-notice", NOTICE, warehouse, out=home / "notice.pdf")
        record = issue_document("contribution-record", RECORD, warehouse, out=home / "record.pdf")
        genuine = notice.path.read_bytes()

        def rerender(stamp_of, edit=None) -> bytes:
            """The notice's content under some certificate's stamp and QR, as a forger can draw it."""
            doc = documents.build("payment-notice", NOTICE, warehouse)
            svg = qr.svg(stamp_of.url)[0]
            stamp = render.Stamp(
                stamp_of.id,
                stamp_of.code,
                stamp_of.issued_at,
                stamp_of.expires_at,
                svg,
                stamp_of.data_as_of,
                stamp_of.build_id,
            )
            html = document_html(doc, stamp)
            return render.pdf(html.replace(*edit) if edit else html)

        edited = rerender(notice, edit=("5,278.88", "5,978.88"))
        foreign = pades.PadesMaterial(home / "forger-pades")  # a look-alike CA and seal of a forger
        cases = {
            "genuine": genuine,
            "byte_flip": byte_flip_in_stream(genuine),
            "corrupt_cms": corrupt_cms(genuine),
            "appended_image": appended_image(genuine),
            "appended_annotation": appended_annotation(genuine),
            "appended_form_field": appended_form_field(genuine),
            "text_edited_unsigned": edited,
            # the strongest forger: holds the issuer's PDF key but not the token key
            "text_edited_resigned": pades.sign_pdf(edited, notice.id),
            "qr_of_other_document": pades.sign_pdf(rerender(record), record.id),
            "overlay_resigned": pades.sign_pdf(appended_image(rerender(notice)), notice.id),
            "foreign_signer": sign_with(rerender(notice), notice.id, foreign),
            "not_a_pdf": b"<html>not a pdf</html>",
        }
        paths = {}
        for name, data in cases.items():
            paths[name] = home / "catalogue" / f"{name}.pdf"
            paths[name].parent.mkdir(exist_ok=True)
            paths[name].write_bytes(data)
        yield {"home": home, "warehouse": warehouse, "notice": notice, "record": record, "paths": paths}


@pytest.fixture
def client(env):
    return TestClient(create_app())


def cli_json(capsys, *args) -> tuple[int, dict]:
    capsys.readouterr()
    rc = cli.main(["cert", "verify", *args, "--json"])
    return rc, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("case", list(EXPECTED))
def test_pdf_catalogue_through_cli(env, case, capsys):
    rc, body = cli_json(capsys, str(env["paths"][case]))
    assert (body["reason"], body["status_zh"]) == EXPECTED[case]
    assert rc == (0 if case == "genuine" else 1)
    capsys.readouterr()
    cli.main(["cert", "verify", str(env["paths"][case])])
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{EXPECTED[case][1]}（{EXPECTED[case][0]}）：")


@pytest.mark.parametrize("case", list(EXPECTED))
def test_pdf_catalogue_through_http(env, case, client):
    data = env["paths"][case].read_bytes()
    body = client.post("/api/verify-pdf", files={"file": (f"{case}.pdf", data, "application/pdf")}).json()
    assert (body["reason"], body["status_zh"]) == EXPECTED[case]
    page = client.post("/pdf", files={"file": (f"{case}.pdf", data, "application/pdf")})
    assert page.status_code == 200 and EXPECTED[case][1] in page.text
    assert verify.REASON_ZH[EXPECTED[case][0]] in page.text


@pytest.mark.parametrize("case", [c for c in EXPECTED if EXPECTED[c][0] in PDFSIG])
def test_same_verdict_as_pdfsig(env, case):
    assert pdfsig_verdict(env["paths"][case]) == PDFSIG[EXPECTED[case][0]]


def _qr_redrawn(pdf: bytes) -> bytes:
    """The QR update's stream with one more rectangle drawn after the code (inside the same stream)."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    ref = page["/Contents"].raw_get(len(page["/Contents"]) - 1)
    stream = ref.get_object()
    writer.mark_update(ref)
    stream._data = stream.data + b"q 1 g 300 600 180 45 re f Q\n"
    stream._encoded_data = None
    stream.pop("/Filter", None)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_overlay_with_the_issuers_pdf_key_is_caught_offline_too(env):
    """A forger holding the issuer's PDF key (not the token key) re-signs a file with an overlay:
    the signature and the text agree, but the token's visible-content digest does not."""
    trust = KeyStore().trust_list()
    notice = env["notice"].id
    prefix = unsigned_pages(env["paths"]["genuine"].read_bytes())
    forged = {
        "re-rendered with an image": env["paths"]["overlay_resigned"].read_bytes(),
        "image appended to the issued pages": pades.sign_pdf(appended_image(prefix), notice),
        "annotation appended to the issued pages": pades.sign_pdf(appended_annotation(prefix), notice),
        "drawn inside the QR code's stream": pades.sign_pdf(_qr_redrawn(prefix), notice),
    }
    verdicts = {name: pdf_verify.verify_pdf(data, trust) for name, data in forged.items()}
    assert {name: (v.reason, v.status_zh, v.online) for name, v in verdicts.items()} == {
        name: ("content_mismatch", "无效: 内容与签名不符", False) for name in forged
    }
    assert verdicts["image appended to the issued pages"].detail == "page 1 content differs from the issued layout"
    assert verdicts["annotation appended to the issued pages"].detail == (
        "visible page content differs from the signed digest"
    )
    assert verdicts["drawn inside the QR code's stream"].detail == "the QR code drawn differs from the token's"
    # control: the same pages re-signed without a change still verify offline
    assert pdf_verify.verify_pdf(pades.sign_pdf(prefix, notice), trust).reason == "ok"
    # online the registry's digest of the whole issued file decides as before
    genuine = env["paths"]["genuine"].read_bytes()
    recorded = Registry().get(notice).visual_digest
    assert pdf_verify.visual_digest(genuine).hex() == recorded
    assert pdf_verify.visual_digest(env["paths"]["appended_image"].read_bytes()).hex() != recorded


@pytest.mark.parametrize("case", ["genuine", "text_edited_resigned", "qr_of_other_document", "byte_flip"])
def test_offline_checks_the_printed_text_against_the_token(env, case):
    verdict = pdf_verify.verify_pdf(env["paths"][case].read_bytes(), KeyStore().trust_list())
    assert (verdict.reason, verdict.status_zh, verdict.online) == (*EXPECTED[case], False)


def test_verifies_from_inside_a_running_event_loop(env):
    """Streamlit, notebooks and browser tests call from a thread that runs an asyncio loop."""
    import asyncio

    async def inside() -> str:
        return pdf_verify.verify_pdf(env["paths"]["genuine"].read_bytes(), KeyStore().trust_list()).reason

    assert asyncio.run(inside()) == "ok"


def test_every_verdict_has_its_own_chinese_reason():
    reasons = {verify.REASON_ZH[r] for r, _ in EXPECTED.values()}
    assert len(reasons) == len({r for r, _ in EXPECTED.values()})


def test_upload_too_large_is_refused(env, client, monkeypatch):
    monkeypatch.setattr("certificates.config.MAX_PDF_BYTES", 1000)
    body = client.post("/api/verify-pdf", files={"file": ("big.pdf", b"%PDF-" + b"0" * 2000, "application/pdf")})
    assert body.status_code == 413 and body.json()["reason"] == "too_large"


def test_uploads_are_rate_limited(env):
    client = TestClient(create_app(pdf_limit=1))
    data = env["paths"]["not_a_pdf"].read_bytes()
    first = client.post("/api/verify-pdf", files={"file": ("a.pdf", data)})
    second = client.post("/api/verify-pdf", files={"file": ("a.pdf", data)})
    assert (first.status_code, second.status_code, second.json()["reason"]) == (200, 429, "rate_limited")


def _token_cases(token: str) -> dict[str, tuple[str, str]]:
    changed_at = len(token) - 10
    swap = "A" if token[changed_at] != "A" else "B"
    return {
        token: ("ok", "有效"),
        token.lower(): ("ok", "有效"),
        token[:-8]: ("malformed", "无效: 签名或内容不符"),
        token + "AAAAAAAA": ("trailing_data", "无效: 签名或内容不符"),
        token[:changed_at] + swap + token[changed_at + 1 :]: ("bad_signature", "无效: 签名或内容不符"),
    }


def test_token_catalogue_through_cli_and_http(env, client, capsys):
    for text, expected in _token_cases(env["record"].token).items():
        body = client.get(f"/api/verify/{text}").json()
        assert (body["reason"], body["status_zh"]) == expected, text
        rc, cli_body = cli_json(capsys, text)
        assert (cli_body["reason"], cli_body["status_zh"]) == expected and rc == (expected[0] != "ok")
