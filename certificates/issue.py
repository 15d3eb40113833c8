"""Issue a certificate: render, digest the printed text, sign the token, stamp the QR,
PAdES-sign the PDF and record it in the registry with the digest of its visible content
(voiding an earlier issue for the same subject and period only when asked)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from certificates import audit, config, documents, limits, pades, pdf_verify, qr, render
from certificates import code as codes
from certificates import token as tokens
from certificates.keys import KeyStore, add_months, iso, utcnow
from certificates.registry import Registry


@dataclass(frozen=True)
class IssuedCertificate:
    path: Path
    id: str
    code: str  # as printed, XXXX-XXXX-XXXX-XXXX
    token: str  # Base32 COSE_Sign1
    url: str  # what the QR code says
    kid: str
    digest: str
    qr_version: int
    issued_at: datetime
    expires_at: datetime
    superseded: tuple[str, ...] = ()  # voided by this issue (void_previous)
    still_valid: tuple[str, ...] = ()  # earlier certificates for the same document left valid


def document_html(doc: documents.Document, stamp: render.Stamp, validity_months: int = config.VALIDITY_MONTHS) -> str:
    notes = [n.format(noun=doc.kind.noun, months=validity_months) for n in doc.notes]
    return render.html(
        doc.kind.template,
        stamp,
        title=doc.title,
        notes=notes,
        issue_date=render.local_date(stamp.issued_at).isoformat(),
        **doc.context,
    )


def new_cert_id(kind: documents.Kind, now: datetime, registry: Registry) -> str:
    """18 digits a person can type: issue date, document type, 9 random digits."""
    while True:
        cert_id = f"{render.local_date(now):%Y%m%d}{kind.digit}{secrets.randbelow(10**9):09d}"
        if registry.get(cert_id) is None:
            return cert_id


def issue_document(
    kind: str,
    params: dict,
    warehouse: Path | str | None = None,
    *,
    out: Path | str | None = None,
    registry: Registry | None = None,
    keystore: KeyStore | None = None,
    now: datetime | None = None,
    validity_months: int = config.VALIDITY_MONTHS,
    void_previous: bool = False,
    actor: str | None = None,
) -> IssuedCertificate:
    registry = registry or Registry()
    keystore = keystore or KeyStore()
    doc = documents.build(kind, params, warehouse)
    issued_at = (now or utcnow()).replace(microsecond=0)
    guard = limits.guard(kind, doc.kind.code, doc.title, doc.subject, issued_at)
    with registry.connect() as con:  # refuse before the costly rendering; checked again on insert
        guard(con)
    expires_at = add_months(issued_at, validity_months)
    cert_id = new_cert_id(doc.kind, issued_at, registry)
    code = codes.new_code()

    def page_html(qr_svg: str | None) -> str:
        stamp = render.Stamp(cert_id, codes.display(code), issued_at, expires_at, qr_svg)
        return document_html(doc, stamp, validity_months)

    # One layout: the PDF with an empty QR square gives the printed text; the QR code, which
    # adds no text, is then drawn into that square.
    document = render.layout(page_html(None))
    box = render.qr_box_points(document)
    draft = render.write(document)
    digest = render.text_digest(render.canonical_text(draft))
    kid, private_key = keystore.signing_key()
    claims = tokens.Claims(
        cert_id=cert_id,
        doc_type=doc.kind.code,
        subject=doc.subject,
        period=doc.period,
        figures=doc.figures,
        digest=digest,
        issued_at=issued_at,
        not_before=issued_at,
        expires_at=expires_at,
    )
    raw = tokens.sign(claims, kid, private_key)
    token_b32 = tokens.b32encode(raw)
    url = qr.verification_url(token_b32)
    final, version = qr.stamp_pdf(draft, url, box)
    signed = pades.sign_pdf(final, cert_id)
    visual = pdf_verify.visual_digest(signed)

    path = Path(out) if out else config.output_dir() / f"{doc.kind.name}-{cert_id}.pdf"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(signed)
    earlier = [r.id for r in registry.find_valid(doc.kind.code, doc.period, doc.subject)]
    try:
        superseded = registry.add(
            id=cert_id,
            code=code,
            doc_type=doc.kind.code,
            subject=doc.subject,
            period=doc.period,
            # the record's dates are the signed claims' own (one source, so lookup and token agree)
            issued_at=iso(claims.issued_at),
            expires_at=iso(claims.expires_at),
            digest=digest.hex(),
            kid=kid.hex(),
            facts={"证明类型": doc.title, **doc.facts},
            file_path=str(path),
            visual_digest=visual.hex(),
            void_previous=void_previous,
            guard=guard,
        )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    actor = actor or audit.cli_actor()
    audit.record("issue", actor, cert_id, doc_type=doc.kind.name, of=doc.subject, period=doc.period)
    for old in superseded:
        audit.record("void", actor, old, replaced_by=cert_id)
    return IssuedCertificate(
        path,
        cert_id,
        codes.display(code),
        token_b32,
        url,
        kid.hex(),
        digest.hex(),
        version,
        issued_at,
        expires_at,
        tuple(superseded),
        tuple(i for i in earlier if i not in superseded),
    )
