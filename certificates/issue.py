"""Issue a certificate: render, digest the printed text, sign the token, stamp the QR,
PAdES-sign the PDF and record it in the registry with the digest of its visible content
(voiding an earlier issue for the same subject and period only when asked).

Two-phase and crash-safe (pending.py): a pending registry row, the PDF written durably, the
audit entry, then the row completed. The figures and the build they come from (数据截至 and
the build id, printed in the footer and kept in the registry) are read in one snapshot of
the serving copy; if a newer build was published while the document was being signed, it
is read and signed again, so a certificate never comes from a superseded build.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from certificates import audit, config, data, documents, limits, pades, pdf_verify, pending, qr, render, visible
from certificates import code as codes
from certificates import token as tokens
from certificates.keys import KeyStore, add_months, iso, utcnow
from certificates.registry import Registry
from foundation import serving

REREAD_ATTEMPTS = 3  # publishes in a row while one document is signed before giving up
BUILD_ID_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


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
    build_id: str | None = None
    data_as_of: date | None = None


@dataclass(frozen=True)
class Build:
    """The serving build a document is read from (meta.build_info of the serving copy)."""

    id: str
    as_of: date | None


class StaleBuild(data.DataError):
    """New builds kept being published while a document was signed (message in Chinese)."""


def read_build(con) -> Build:
    """The build id (meta.build_info.build_id, or publish time and input fingerprint) and 数据截至."""
    try:  # one query (information_schema is slow to ask): an old copy has fewer columns, or none
        cursor = con.execute("select * from meta.build_info limit 1")
    except duckdb.CatalogException:
        return Build("unknown", None)
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchone() or ()))
    as_of = row.get("as_of")
    if row.get("build_id"):
        build_id = str(row["build_id"])
    else:
        published = row.get("published_at")
        stamp = published.strftime("%Y%m%d%H%M%S") if isinstance(published, datetime) else "unknown"
        fingerprint = str(row.get("inputs_fingerprint") or "")[:8]
        build_id = f"{stamp}-{fingerprint}" if fingerprint else stamp
    return Build(BUILD_ID_UNSAFE.sub("", build_id)[:40] or "unknown", as_of if isinstance(as_of, date) else None)


def read_document(
    kind: str, params: dict, warehouse: Path | str | None
) -> tuple[documents.Document, Build, serving.Identity]:
    """The document's figures, the build they belong to and the identity of the file read
    (serving.Snapshot.identity), from one snapshot."""
    if kind not in documents.BUILDERS:
        raise documents.DocumentError(f"未知的证明类型：{kind}")
    with data.snapshot(warehouse) as snap:
        return documents.BUILDERS[kind](snap.con, params), read_build(snap.con), snap.identity()


def current_build(warehouse: Path | str | None) -> Build:
    with data.connect(warehouse) as con:
        return read_build(con)


def build_unchanged(warehouse: Path | str | None, build: Build, identity: serving.Identity) -> bool:
    """Still the build the document was read from. The file read, unchanged and still the
    current one, is that build without opening it again; any other file is asked its build
    (a republish of the same build is not a change)."""
    return serving.still_current(warehouse, identity) or current_build(warehouse) == build


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
        if not registry.exists(cert_id):
            return cert_id


@dataclass(frozen=True)
class Signed:
    """A document rendered, its token signed and the PDF PAdES-signed, not yet recorded."""

    doc: documents.Document
    build: Build
    cert_id: str
    code: str
    claims: tokens.Claims
    kid: bytes
    token_b32: str
    url: str
    qr_version: int
    pdf: bytes
    visual_digest: bytes
    guard: Callable[[sqlite3.Connection], None]


def _sign(
    doc: documents.Document,
    build: Build,
    registry: Registry,
    keystore: KeyStore,
    kind: str,
    now: datetime | None,
    validity_months: int,
) -> Signed:
    issued_at = (now or utcnow()).replace(microsecond=0)
    guard = limits.guard(kind, doc.kind.code, doc.title, doc.subject, issued_at)
    with registry.connect() as con:  # refuse before the costly rendering; checked again on insert
        guard(con)
    expires_at = add_months(issued_at, validity_months)
    cert_id = new_cert_id(doc.kind, issued_at, registry)
    code = codes.new_code()

    def page_html(qr_svg: str | None) -> str:
        stamp = render.Stamp(cert_id, codes.display(code), issued_at, expires_at, qr_svg, build.as_of, build.id)
        return document_html(doc, stamp, validity_months)

    # One layout: the PDF with an empty QR square gives the printed text; the QR code, which
    # adds no text, is then drawn into that square.
    document = render.layout(page_html(None))
    # rounded as the QR stream prints it, so a verifier can redraw the code from the stream
    x, y, size = render.qr_box_points(document)
    box = (round(x, 3), round(y, 3), round(size, 3))
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
        visible=visible.of_draft(draft, box),
    )
    token_b32 = tokens.b32encode(tokens.sign(claims, kid, private_key))
    url = qr.verification_url(token_b32)
    final, version = qr.stamp_pdf(draft, url, box)
    signed = pades.sign_pdf(final, cert_id)
    return Signed(
        doc, build, cert_id, code, claims, kid, token_b32, url, version, signed, pdf_verify.visual_digest(signed), guard
    )


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
    pending.recover(registry)  # half-issued certificates of a crashed issuer go first
    for _ in range(REREAD_ATTEMPTS):
        doc, build, identity = read_document(kind, params, warehouse)
        s = _sign(doc, build, registry, keystore, kind, now, validity_months)
        if build_unchanged(warehouse, build, identity):
            break
    else:
        raise StaleBuild("开具期间数据副本连续更新，请稍后重试")
    pending.checkpoint("rendered")

    path = Path(out) if out else config.output_dir() / f"{doc.kind.name}-{s.cert_id}.pdf"
    earlier = [r.id for r in registry.find_valid(doc.kind.code, doc.period, doc.subject)]
    actor = actor or audit.cli_actor()
    with pending.issuing_lock(registry, s.cert_id):
        registry.begin(
            id=s.cert_id,
            code=s.code,
            doc_type=doc.kind.code,
            subject=doc.subject,
            period=doc.period,
            # the record's dates are the signed claims' own (one source, so lookup and token agree)
            issued_at=iso(s.claims.issued_at),
            expires_at=iso(s.claims.expires_at),
            digest=s.claims.digest.hex(),
            kid=s.kid.hex(),
            facts={"证明类型": doc.title, **doc.facts},
            file_path=str(path.absolute()),
            visual_digest=s.visual_digest.hex(),
            build_id=build.id,
            data_as_of=build.as_of.isoformat() if build.as_of else None,
            guard=s.guard,
        )
        pending.checkpoint("registered")
        try:
            pending.write_durably(path, s.pdf)
            pending.checkpoint("written")
            audit.record("issue", actor, s.cert_id, doc_type=doc.kind.name, of=doc.subject, period=doc.period)
            pending.checkpoint("audited")
            superseded = registry.complete(s.cert_id, void_previous=void_previous)
        except BaseException:
            pending.partial_path(path).unlink(missing_ok=True)
            if registry.discard_pending(s.cert_id):
                path.unlink(missing_ok=True)
            raise
        pending.checkpoint("completed")
    for old in superseded:
        audit.record("void", actor, old, replaced_by=s.cert_id)
    return IssuedCertificate(
        path,
        s.cert_id,
        codes.display(s.code),
        s.token_b32,
        s.url,
        s.kid.hex(),
        s.claims.digest.hex(),
        s.qr_version,
        s.claims.issued_at,
        s.claims.expires_at,
        tuple(superseded),
        tuple(i for i in earlier if i not in superseded),
        build.id,
        build.as_of,
    )
