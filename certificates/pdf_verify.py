"""Everything a PDF file can prove, checked in one place (CLI, service and dashboard use it).

In order, each failure with its own reason:
1. the PAdES signature (pyHanko) must be intact, cryptographically valid and chain to the
   issuer's PDF-signing root from the trust list; it must cover the whole file, or only be
   followed by what the issuer itself may add (DSS / document timestamps, pyHanko's
   difference analysis): an appended image, annotation or form field is 文件签名后被修改;
2. the QR token on page 1 must verify (as a scanned URL would) and name the certificate
   the signature was made for (the signature's /Reason carries its number);
3. the printed text must match the digest signed in the token;
4. the visible content: online, every page's content streams, resources and annotation
   appearances must match the digest the registry recorded at issuing; offline (or for a
   number the registry does not hold), the pages must match the visible-content digest the
   token carries (visible.py). Either way an overlay that leaves the text layer alone is
   caught even without pyHanko's word on it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from certificates import config, qr, visible
from certificates import token as tokens
from certificates.keys import KeyStore, TrustList
from certificates.registry import Registry
from certificates.verify import Verdict, verify_token, verify_url

# pyHanko logs a traceback for every suspicious revision; the verdict reports it instead
logging.getLogger("pyhanko.sign.diff_analysis").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class SignatureCheck:
    reason: str  # "ok" or a pdf_* reason
    detail: str = ""
    signed_for: str = ""  # the /Reason text of the issuer's signature


def visual_digest_of(reader) -> bytes:
    """SHA-256 over everything that draws each page: content, resources, annotations, boxes."""
    h = hashlib.sha256(visible.VISUAL_DOMAIN)
    seen: dict[tuple[int, int], int] = {}
    for number, page in enumerate(visible.pages(reader.root["/Pages"], [])):
        h.update(b"page%d" % number)
        visible.digest_dict(page, h, seen)
    return h.digest()


def visual_digest(pdf_bytes: bytes) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return visual_digest_of(PdfFileReader(io.BytesIO(pdf_bytes), strict=False))


def _load_roots(pem_list: list[bytes]):
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    roots = []
    for data in pem_list:
        if asn1_pem.detect(data):
            _, _, data = asn1_pem.unarmor(data)
        roots.append(asn1_x509.Certificate.load(data))
    return roots


def _run_coroutine(make):
    """Run pyHanko's async validation to completion, also from a thread that already runs an
    event loop (a browser test, a notebook), where asyncio.run() would refuse."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def check_signature(reader, roots: list[bytes]) -> SignatureCheck:
    """The issuer's PAdES signature, its trust chain, its coverage and what came after it."""
    from pyhanko.pdf_utils import misc
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from certificates.pades import FIELD_NAME

    try:
        signatures = reader.embedded_signatures
    except (misc.PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureCheck("pdf_bad_signature", f"signature dictionary unreadable: {exc}")
    ours = [s for s in signatures if s.field_name == FIELD_NAME]
    if not ours:
        return SignatureCheck("pdf_unsigned", "no issuer signature field" if signatures else "no signature")
    if len(ours) > 1:
        return SignatureCheck("pdf_modified", "more than one issuer signature field")
    sig = ours[0]
    context = ValidationContext(trust_roots=_load_roots(roots), allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = _run_coroutine(lambda: async_validate_pdf_signature(sig, context))
    except Exception as exc:  # pyHanko raises many types for a corrupted CMS blob
        return SignatureCheck("pdf_bad_signature", f"CMS signature unreadable: {type(exc).__name__}")
    if not status.intact:
        return SignatureCheck("pdf_digest_mismatch", "signed byte ranges do not match the signed digest")
    if not status.valid:
        return SignatureCheck("pdf_bad_signature", "signature value does not verify")
    if not status.trusted:
        return SignatureCheck("pdf_untrusted", "signer does not chain to the issuer's PDF root")
    level = status.modification_level
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        pass
    elif status.coverage != SignatureCoverageLevel.ENTIRE_REVISION or level is None:
        return SignatureCheck("pdf_modified", f"signature covers {status.coverage.name}")
    elif level > ModificationLevel.LTA_UPDATES or not status.docmdp_ok:
        return SignatureCheck("pdf_modified", f"changed after signing: {level.name}")
    reason_text = str(sig.sig_object.get("/Reason", ""))
    return SignatureCheck("ok", signed_for=reason_text)


def read_qr_texts(pdf_bytes: bytes, dpi: int = 150, pages: int | None = 1) -> list[str]:
    """The QR codes on the first `pages` pages as a phone camera would read them (pdfium + zxing-cpp)."""
    import pypdfium2 as pdfium
    import zxingcpp

    doc = pdfium.PdfDocument(pdf_bytes)
    texts = []
    try:
        for index in range(len(doc) if pages is None else min(pages, len(doc))):
            page = doc[index]
            image = page.render(scale=dpi / 72).to_pil()
            page.close()
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
            texts += [r.text for r in found if r.valid]
    finally:
        doc.close()
    return texts


def warm_up() -> None:
    """Import the PDF stack ahead of the first upload (about a second of imports)."""
    import pypdfium2  # noqa: F401
    import zxingcpp  # noqa: F401
    from pyhanko.sign import validation  # noqa: F401
    from pyhanko_certvalidator import ValidationContext  # noqa: F401


def verify_pdf_bytes(pdf_bytes: bytes, trust, registry=None, *, base: str | None = None, **kw):
    """The verdict on one PDF file (see the module docstring for the order of checks)."""
    from pyhanko.pdf_utils import misc
    from pyhanko.pdf_utils.reader import PdfFileReader

    from certificates import render

    if len(pdf_bytes) > config.MAX_PDF_BYTES:
        return Verdict("too_large", f"{len(pdf_bytes)} bytes")
    if pdf_bytes.lstrip()[:5] != b"%PDF-":
        return Verdict("pdf_malformed", "not a PDF file")
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        signature = check_signature(reader, trust.pdf_roots)
    except (misc.PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        return Verdict("pdf_malformed", f"PDF unreadable: {exc}")
    if signature.reason != "ok":
        return Verdict(signature.reason, signature.detail)

    prefix = qr.verification_url("", base)
    found = [t for t in read_qr_texts(pdf_bytes) if t.startswith(prefix)]
    if not found:
        return Verdict("no_qr")
    if len(set(found)) > 1:
        return Verdict("content_mismatch", "more than one verification QR code")
    verdict = verify_url(found[0], trust, registry, base=base, **kw)
    if verdict.cert_id is None:
        return verdict
    claims = tokens.peek_claims(tokens.b32decode(qr.token_from_url(found[0], base)))
    if claims is None or claims.cert_id not in signature.signed_for.split():
        verdict.reason, verdict.detail = "content_mismatch", "the QR code belongs to another certificate"
        return verdict
    record = registry.get(claims.cert_id) if registry is not None and verdict.online else None
    if record is not None and record.visual_digest and verdict.reason not in ("unknown_certificate", "bad_signature"):
        # Online the file must be the one issued: same content streams, fonts and images on
        # every page, hence the same text, so the text extraction (most of the time on a long
        # file) is not needed.
        if not hmac.compare_digest(bytes.fromhex(record.visual_digest), visual_digest_of(reader)):
            verdict.reason, verdict.detail = "content_mismatch", "visible page content differs from the issued file"
        return verdict
    if claims.visible is not None:  # offline too: the token binds what the pages show
        try:
            problem = visible.check(reader, found[0], claims.visible)
        except (misc.PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            problem = f"page structure unreadable: {type(exc).__name__}"
        if problem:
            verdict.reason, verdict.detail = "content_mismatch", problem
            return verdict
    text = render.canonical_text(pdf_bytes)
    if not hmac.compare_digest(render.text_digest(text), claims.digest):
        verdict.reason, verdict.detail = "content_mismatch", "printed text does not match the signed digest"
    elif claims.cert_id not in text:
        verdict.reason, verdict.detail = "content_mismatch", "printed certificate number differs"
    return verdict


def verify_pdf(
    pdf: bytes | Path | str, trust: TrustList, registry: Registry | None = None, *, base: str | None = None, **kw
) -> Verdict:
    """A PDF file: its PAdES signature, QR token, printed text and visible content."""
    pdf_bytes = pdf if isinstance(pdf, bytes) else Path(pdf).read_bytes()
    return verify_pdf_bytes(pdf_bytes, trust, registry, base=base, **kw)


def verify_any(value: str, trust: TrustList | None = None, registry: Registry | None = None, **kw) -> Verdict:
    """CLI entry: a PDF file, a scanned URL or a bare Base32 token."""
    trust = trust or KeyStore().trust_list()
    path = Path(value)
    looks_like_file = len(value) < 255 and ("/" in value or "." in value) and not value.upper().startswith("HTTP")
    if value.lower().endswith(".pdf") or (looks_like_file and path.is_file()):
        if not path.is_file():
            return Verdict("malformed", f"找不到文件 {value}")
        return verify_pdf(path, trust, registry, **kw)
    if "://" in value or value.upper().startswith("HTTP"):
        return verify_url(value, trust, registry, **kw)
    return verify_token(value, trust, registry, **kw)
