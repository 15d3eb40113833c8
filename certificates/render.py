"""HTML/CSS to PDF with WeasyPrint, and the text a PDF shows (what the digest covers).

The digest in the token is SHA-256 over the whitespace-free, NFC-normalised text of every
page as pdfium extracts it. The same function reads a PDF at verification, so any figure
edited after issuing, or a genuine QR code pasted into another document, no longer
matches.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import jinja2

from certificates import config, fonts

TEMPLATES = Path(__file__).resolve().parent / "templates"
MM = 72 / 25.4  # PDF points per millimetre

# Page geometry shared with the PAdES signature widget (pades.py): the seal sits at a
# fixed place on page 1, so the signature field can cover it exactly.
PAGE_W_MM, PAGE_H_MM = 210, 297
MARGIN_TOP_MM, MARGIN_SIDE_MM, MARGIN_BOTTOM_MM = 14, 15, 22
PRINTER_MARGIN_MM = 10  # nothing is printed closer to the paper's edge (tests/test_document_layout.py)
QR_MM = 34
SEAL_MM = 38
SEAL_LEFT_MM, SEAL_TOP_MM = 86, 3  # inside the page area, from its top-left corner

DIGEST_DOMAIN = b"shebao-cert-text-v1\n"


def seal_box_points() -> tuple[int, int, int, int]:
    """(x1, y1, x2, y2) of the seal on page 1 in PDF user space (origin bottom-left)."""
    left = (MARGIN_SIDE_MM + SEAL_LEFT_MM) * MM
    top = (PAGE_H_MM - MARGIN_TOP_MM - SEAL_TOP_MM) * MM
    size = SEAL_MM * MM
    return (math.floor(left), math.floor(top - size), math.ceil(left + size), math.ceil(top))


def money(value) -> str:
    """An amount as every document prints it: half-up to the fen, thousands separated (17,164,870.30)."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,f}"


def plain_money(value) -> str:
    """The same amount without separators, for the compact figures a token carries."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def period_range(first: str | None, last: str | None) -> str:
    """202401-202412 for a run of months, 202401 for one month, empty for none."""
    if not first:
        return ""
    return first if not last or last == first else f"{first}-{last}"


def rate(value) -> str:
    if value is None:
        return "--"
    text = format((Decimal(value) * 100).normalize(), "f")
    return (text if "." in text else text + ".0") + "%"


def period_zh(value: str | None) -> str:
    return f"{value[:4]}年{value[4:]}月" if value else ""


CHINA_TZ = timezone(timedelta(hours=8))


def local_date(ts: datetime) -> date:
    """Dates printed on paper are Beijing dates."""
    return ts.astimezone(CHINA_TZ).date() if ts.tzinfo else ts.date()


def date_zh(value) -> str:
    if isinstance(value, datetime):
        value = local_date(value)
    if isinstance(value, date):
        return f"{value.year}年{value.month:02d}月{value.day:02d}日"
    return "" if value is None else str(value)


def seal_svg(font_family: str = fonts.SOURCE_FAMILY) -> str:
    """The electronic-seal mark of the fictional issuer: ring, arched name, star, 电子印章."""
    name = config.ISSUER_NAME
    n = len(name)
    parts = []
    span = 250.0
    for i, ch in enumerate(name):
        angle = -span / 2 + span * i / (n - 1)
        parts.append(
            f'<text x="50" y="17" transform="rotate({angle:.2f} 50 50)" text-anchor="middle" '
            f'font-size="10.5">{ch}</text>'
        )
    star = []
    for k in range(10):
        r = 13 if k % 2 == 0 else 5.2
        a = math.radians(-90 + 36 * k)
        star.append(f"{50 + r * math.cos(a):.2f},{50 + r * math.sin(a):.2f}")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" class="seal-svg">'
        f'<g fill="#d0202a" stroke="none" font-family="{font_family}" font-weight="bold">'
        '<circle cx="50" cy="50" r="47" fill="none" stroke="#d0202a" stroke-width="3"/>'
        f'{"".join(parts)}<polygon points="{" ".join(star)}"/>'
        '<text x="50" y="80" text-anchor="middle" font-size="9">电子印章</text></g></svg>'
    )


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)
_env.filters.update(money=money, rate=rate, period_zh=period_zh, date_zh=date_zh, period_range=period_range)


@dataclass(frozen=True)
class Stamp:
    """What every page of every document shows about the certificate itself."""

    cert_id: str
    code_display: str
    issued_at: datetime
    expires_at: datetime
    qr_svg: str | None  # None: placeholder of the same size (first pass)
    data_as_of: date | None = None  # the serving build the figures come from (footer)
    build_id: str | None = None

    @property
    def data_line(self) -> str:
        """数据截至 2026年11月30日　数据版本 <build id>: which build the figures come from."""
        if not self.build_id:
            return ""
        return f"数据截至 {date_zh(self.data_as_of) or '未知'}\u3000数据版本 {self.build_id}"


@functools.cache
def _css_template() -> jinja2.Template:
    """certificate.css compiled once per process (it was read and compiled per document)."""
    return jinja2.Template((TEMPLATES / "certificate.css").read_text("utf-8"))


def html(template: str, stamp: Stamp, **context) -> str:
    faces = fonts.ensure()  # the CJK subset built once; None: the full system faces, as before
    geometry = {
        "page_w": PAGE_W_MM,
        "page_h": PAGE_H_MM,
        "m_top": MARGIN_TOP_MM,
        "m_side": MARGIN_SIDE_MM,
        "m_bottom": MARGIN_BOTTOM_MM,
        "qr": QR_MM,
        "seal": SEAL_MM,
        "seal_left": SEAL_LEFT_MM,
        "seal_top": SEAL_TOP_MM,
    }
    qr_b64 = base64.b64encode(stamp.qr_svg.encode()).decode() if stamp.qr_svg else ""
    return _env.get_template(template).render(
        qr_b64=qr_b64,
        css=_css_template().render(
            cert_id=stamp.cert_id,
            code=stamp.code_display,
            data_line=stamp.data_line,
            font_faces=fonts.font_face_rules(faces),
            font_family=fonts.font_family(faces),
            **geometry,
        ),
        stamp=stamp,
        issuer=config.ISSUER_NAME,
        seal=seal_svg(fonts.svg_font_family(faces)),
        validity_months=config.VALIDITY_MONTHS,
        **context,
    )


def pdf(document_html: str) -> bytes:
    return write(layout(document_html))


_font_config = None


def layout(document_html: str):
    """WeasyPrint's laid-out document (the costly part): write it, and find boxes on it."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    global _font_config
    if _font_config is None:  # one fontconfig/Pango font map per process, not per document
        _font_config = FontConfiguration()
    return HTML(string=document_html, base_url=str(TEMPLATES)).render(font_config=_font_config)


def write(document) -> bytes:
    """The PDF as WeasyPrint's write_pdf() makes it, streams compressed, but every other object
    written plainly instead of packed into one object stream: a reader (pyHanko) finds each
    object by its offset, where in an object stream it re-reads the stream's index for every
    object. The draft is parsed four times when issuing (visible digest, QR stamp, signature,
    visual digest) and again at each verification."""
    import io

    from weasyprint import DEFAULT_OPTIONS
    from weasyprint.pdf import generate_pdf

    options = {**DEFAULT_OPTIONS, "uncompressed_pdf": False}
    pdf = generate_pdf(document, None, 1, **options)
    out = io.BytesIO()
    pdf.write(out, options["pdf_version"], options["pdf_identifier"], compress=False)
    return out.getvalue()


PX = 0.75  # CSS px in PDF points


def qr_box_points(document) -> tuple[float, float, float]:
    """(x, y, size) in PDF points (origin bottom-left) of the QR placeholder on page 1."""
    page = document.pages[0]

    def walk(box):
        element = getattr(box, "element", None)
        if element is not None and "qr-slot" in (element.get("class") or "").split():
            return box
        for child in getattr(box, "children", ()):
            found = walk(child)
            if found is not None:
                return found
        return None

    box = walk(page._page_box)
    if box is None:
        raise RuntimeError("the page has no QR placeholder (class qr-slot)")
    size = box.width * PX
    return box.content_box_x() * PX, page.height * PX - box.content_box_y() * PX - size, size


def page_texts(pdf_bytes: bytes) -> list[str]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        out = []
        for page in doc:
            textpage = page.get_textpage()
            out.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return out
    finally:
        doc.close()


def canonical_text(pdf_bytes: bytes) -> str:
    text = unicodedata.normalize("NFC", "\n".join(page_texts(pdf_bytes)))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "\ufffe\uffff\x00")


def content_digest(pdf_bytes: bytes) -> bytes:
    return text_digest(canonical_text(pdf_bytes))


def text_digest(text: str) -> bytes:
    return hashlib.sha256(DIGEST_DOMAIN + text.encode("utf-8")).digest()
