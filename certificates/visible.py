"""The visible content of a certificate, bound into its token, so an offline verifier catches an
overlay that leaves the text layer alone (an image or a shape over a figure).

A certificate's PDF is three revisions: WeasyPrint's pages (the draft), the QR code drawn in
an incremental update (a `q` stream before and a `Q` + QR stream after page 1's content), and
the PAdES signature (its widget, the seal, on page 1). The token carries a digest of the
draft's pages (every content stream, resource, font and image, in a canonical walk) together
with the QR square. A verifier recomputes it from the file as it stands: page 1's content
must be exactly `q`, the draft's streams, and the QR code of the token's own URL in that
square; the only annotation added is the issuer's signature widget over the seal. Anything
else drawn anywhere changes the digest or breaks that shape.
"""

from __future__ import annotations

import hashlib
import re

VISIBLE_DOMAIN = b"shebao-cert-visible-v1\n"
VISUAL_DOMAIN = b"shebao-cert-visual-v1\n"
DIGEST_BYTES = 16  # in the token: 128 bits keep the QR code one version smaller than 256
SKIPPED_KEYS = {"/Parent", "/P", "/Length"}  # back-pointers and a stream's own length
PAGE_SKIPPED = SKIPPED_KEYS | {"/Contents", "/Annots"}
QR_SQUARE = re.compile(rb"\Aq\n1 g\n(-?\d+\.\d{3}) (-?\d+\.\d{3}) (\d+\.\d{3}) \3 re f\n")


def digest_object(obj, h, seen: dict[tuple[int, int], int]) -> None:
    """Canonical walk of the object graph: dictionaries sorted, streams by their encoded bytes."""
    from pyhanko.pdf_utils import generic

    if isinstance(obj, generic.IndirectObject):
        ref = (obj.idnum, obj.generation)
        if ref in seen:
            h.update(b"R%d;" % seen[ref])
            return
        seen[ref] = len(seen)
        obj = obj.get_object()
    if isinstance(obj, generic.StreamObject):
        h.update(b"S")
        digest_dict(obj, h, seen)
        data = obj.encoded_data
        h.update(b"%d:" % len(data) + data)
    elif isinstance(obj, generic.DictionaryObject):
        digest_dict(obj, h, seen)
    elif isinstance(obj, generic.ArrayObject):
        h.update(b"[")
        for i in range(len(obj)):
            digest_object(obj.raw_get(i), h, seen)
        h.update(b"]")
    else:
        text = repr(obj).encode("utf-8", "surrogatepass")
        h.update(b"%d:" % len(text) + text)


def digest_dict(obj, h, seen, skipped: set[str] = SKIPPED_KEYS) -> None:
    h.update(b"<<")
    for key in sorted(k for k in obj if k not in skipped):
        h.update(key.encode() + b"=")
        digest_object(obj.raw_get(key), h, seen)
    h.update(b">>")


def pages(node, out: list, depth: int = 0) -> list:
    node = node.get_object()
    kids = node.get("/Kids")
    if kids is None:
        out.append(node)
    elif depth < 32:  # a page tree this deep is a loop or an attack
        for i in range(len(kids)):
            pages(kids[i], out, depth + 1)
    return out


def content_refs(page) -> list:
    """A page's content streams as a list (a single stream or an array of them)."""
    from pyhanko.pdf_utils import generic

    raw = page.raw_get("/Contents") if "/Contents" in page else None
    if raw is None:
        return []
    resolved = raw.get_object() if isinstance(raw, generic.IndirectObject) else raw
    if isinstance(resolved, generic.ArrayObject):
        return [resolved.raw_get(i) for i in range(len(resolved))]
    return [raw]


def box_text(box: tuple[float, float, float]) -> bytes:
    x, y, size = box
    return b"%.3f %.3f %.3f" % (x, y, size)


def _drawn_digest(page_list: list, page1_contents: list, box: bytes) -> bytes:
    """The draft's pages as drawn: contents, resources, boxes, and their own annotations."""
    h = hashlib.sha256(VISIBLE_DOMAIN + box + b"\n")
    seen: dict[tuple[int, int], int] = {}
    for number, page in enumerate(page_list):
        h.update(b"page%d" % number)
        digest_dict(page, h, seen, PAGE_SKIPPED)
        for ref in page1_contents if number == 0 else content_refs(page):
            digest_object(ref, h, seen)
        annots = page.get("/Annots")
        kept = [a for a in (annots or []) if not _is_issuer_seal(a.get_object() if hasattr(a, "get_object") else a)]
        h.update(b"A%d" % len(kept))
        for annot in kept:
            digest_object(annot, h, seen)
    return h.digest()[:DIGEST_BYTES]


def _is_issuer_seal(annot) -> bool:
    from certificates.pades import FIELD_NAME
    from certificates.render import seal_box_points

    if str(annot.get("/Subtype", "")) != "/Widget" or str(annot.get("/FT", "")) != "/Sig":
        return False
    rect = tuple(round(float(v)) for v in annot.get("/Rect", ()))
    return str(annot.get("/T", "")) == FIELD_NAME and rect == tuple(round(v) for v in seal_box_points())


def of_draft(draft_pdf: bytes, box: tuple[float, float, float]) -> bytes:
    """At issuing: the digest the token carries (the draft before the QR code and the seal)."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(draft_pdf), strict=False)
    page_list = pages(reader.root["/Pages"], [])
    return _drawn_digest(page_list, content_refs(page_list[0]), box_text(box))


def check(reader, url: str, expected: bytes) -> str:
    """At verification: '' when the file shows what was signed, else why not (in English)."""
    from certificates import qr

    page_list = pages(reader.root["/Pages"], [])
    refs = content_refs(page_list[0]) if page_list else []
    if len(refs) < 3:
        return "page 1 does not carry the QR code as issued"
    first, last = refs[0].get_object().data, refs[-1].get_object().data
    found = QR_SQUARE.match(last[2:]) if last.startswith(b"Q\n") else None
    if first != b"q\n" or found is None:
        return "page 1 content differs from the issued layout"
    x, y, size = (float(v) for v in found.groups())
    if last[2:] != qr.pdf_content(url, x, y, size)[0]:
        return "the QR code drawn differs from the token's"
    for page in page_list:
        annots = page.get("/Annots") or []
        seals = [a for a in annots if _is_issuer_seal(a.get_object() if hasattr(a, "get_object") else a)]
        if len(seals) > (1 if page is page_list[0] else 0):
            return "more than one issuer seal"
    if _drawn_digest(page_list, refs[1:-1], box_text((x, y, size))) != expected:
        return "visible page content differs from the signed digest"
    return ""
