"""QR code of one upper-case URL: alphanumeric mode, error correction Q, vector SVG.

Base32 and an upper-case URL use only the QR alphanumeric set, about 45 % denser than
byte mode; the segment mode is forced so the optimiser cannot fall back to bytes.
"""

from __future__ import annotations

import re

import qrcode
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.util import MODE_ALPHA_NUM, QRData

from certificates import config

PATH_PREFIX = "/C/"
ALNUM_RE = re.compile(r"[0-9A-Z $%*+\-./:]+")
MAX_VERSION = 16  # 81 modules: at 34 mm printed (quiet zone included) each module is >= 0.38 mm


class QrError(ValueError):
    pass


def verification_url(token_b32: str, base: str | None = None) -> str:
    return f"{(base or config.verify_base()).rstrip('/').upper()}{PATH_PREFIX}{token_b32}"


def token_from_url(text: str, base: str | None = None) -> str:
    """The Base32 token of a scanned URL; wrong host, scheme or path is refused."""
    prefix = f"{(base or config.verify_base()).rstrip('/').upper()}{PATH_PREFIX}"
    if not text.startswith(prefix):
        raise QrError("wrong_prefix")
    return text[len(prefix) :]


def matrix(text: str) -> tuple[list[list[bool]], int]:
    if not ALNUM_RE.fullmatch(text):
        raise QrError("QR text must stay in the alphanumeric set (upper case URL)")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM))
    code.make(fit=True)
    if code.version > MAX_VERSION:
        raise QrError(f"QR version {code.version} exceeds {MAX_VERSION}")
    return code.get_matrix(), code.version


def dark_runs(cells: list[list[bool]]):
    """(row, first column, length) of every horizontal run of dark modules."""
    for y, row in enumerate(cells):
        x, n = 0, len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                yield y, start, x - start
            else:
                x += 1


def svg(text: str, quiet_zone: int = 4) -> tuple[str, int]:
    """An SVG with one path of square modules (crisp at any print or render resolution)."""
    cells, version = matrix(text)
    size = len(cells) + 2 * quiet_zone
    parts = [f"M{x + quiet_zone} {y + quiet_zone}h{w}v1h-{w}z" for y, x, w in dark_runs(cells)]
    doc = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/><path d="{"".join(parts)}" fill="#000"/></svg>'
    )
    return doc, version


def pdf_content(text: str, x: float, y: float, size: float, quiet_zone: int = 4) -> tuple[bytes, int]:
    """PDF drawing operators for the QR code filling the square (x, y, size) in points (origin bottom-left).

    The same modules as svg(): runs of dark modules as filled rectangles on a white square,
    wrapped in q/Q so the page's own graphics state is untouched.
    """
    cells, version = matrix(text)
    unit = size / (len(cells) + 2 * quiet_zone)
    ops = ["q", "1 g", f"{x:.3f} {y:.3f} {size:.3f} {size:.3f} re f", "0 g"]
    ops += [
        f"{x + (col + quiet_zone) * unit:.3f} {y + size - (row + quiet_zone + 1) * unit:.3f} "
        f"{width * unit:.3f} {unit:.3f} re"
        for row, col, width in dark_runs(cells)
    ]
    ops += ["f", "Q"]
    return ("\n".join(ops) + "\n").encode("ascii"), version


def stamp_pdf(pdf_bytes: bytes, text: str, box: tuple[float, float, float], page_ix: int = 0) -> tuple[bytes, int]:
    """Draw the QR code into an existing PDF (an incremental update; the printed text is unchanged)."""
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    content, version = pdf_content(text, *box)
    writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes))
    # Isolate the page's own content (it may leave a transformed CTM) from the stamp.
    save = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
    writer.add_stream_to_page(page_ix, save, prepend=True)
    stamp = writer.add_object(generic.StreamObject(stream_data=b"Q\n" + content))
    writer.add_stream_to_page(page_ix, stamp)
    out = BytesIO()
    writer.write(out)
    return out.getvalue(), version
