"""QR code of one upper-case URL: alphanumeric mode, error correction Q, vector SVG.

Base32 and an upper-case URL use only the QR alphanumeric set, about 45 % denser than
byte mode; the segment mode is forced so the optimiser cannot fall back to bytes.

The mask is the one `qrcode`'s `make(fit=True)` picks (the lowest of its penalty scores over
the eight masks, first on a tie), so codes drawn before and after this module scored them
itself are the same modules: a verifier redraws the code from the token's URL and compares
(visible.check). `qrcode` places the data once; the eight masked variants and their scores
are computed in NumPy (`best_mask`) instead of eight Python placements and scorings.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.main import copy_2d_array, precomputed_qr_blanks
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
    code.best_fit()
    if code.version > MAX_VERSION:
        raise QrError(f"QR version {code.version} exceeds {MAX_VERSION}")
    # qrcode's test placement: format and version areas light, data under mask 0
    code.makeImpl(True, 0)
    placed = np.array(code.modules, dtype=bool)
    masks = _masks(code.version)  # the eight masks, on the data modules only
    candidates = (placed ^ masks[0]) ^ masks
    best = best_mask(candidates)
    code.modules = candidates[best].tolist()
    code.setup_type_info(False, best)
    if code.version >= 7:
        code.setup_type_number(False)
    return code.get_matrix(), code.version


@functools.cache
def _masks(version: int) -> np.ndarray:
    """qrcode.util.mask_func(0..7) as an (8, n, n) array, true only where map_data writes data
    (what the function patterns and the format and version areas leave empty)."""
    code = qrcode.QRCode(version=version, error_correction=ERROR_CORRECT_Q, border=0)
    code.makeImpl(True, 0)  # the version's blank (function patterns) is cached by qrcode
    code.modules = copy_2d_array(precomputed_qr_blanks[version])
    code.setup_type_info(True, 0)
    if version >= 7:
        code.setup_type_number(True)
    free = np.array([[m is None for m in row] for row in code.modules], dtype=bool)
    i, j = np.indices(free.shape)
    masks = np.stack(
        [
            (i + j) % 2 == 0,
            i % 2 == 0,
            j % 3 == 0,
            (i + j) % 3 == 0,
            (i // 2 + j // 3) % 2 == 0,
            (i * j) % 2 + (i * j) % 3 == 0,
            ((i * j) % 2 + (i * j) % 3) % 2 == 0,
            ((i * j) % 3 + (i + j) % 2) % 2 == 0,
        ]
    )
    masks &= free
    masks.flags.writeable = False
    return masks


FINDER_LIKE = (
    np.array([1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0], dtype=bool),
    np.array([0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1], dtype=bool),
)


def penalties(candidates: np.ndarray) -> list[int]:
    """qrcode.util.lost_point of each (k, n, n) matrix, computed on all of them at once."""
    k, n, _ = candidates.shape
    both = np.concatenate([candidates, candidates.transpose(0, 2, 1)], axis=1)  # rows, then columns
    # 1: runs of five or more of one colour, length - 2 each
    change = np.ones((k, 2 * n, n + 1), dtype=bool)
    change[:, :, 1:n] = both[:, :, 1:] != both[:, :, :-1]
    level1 = []
    for lines in change:
        starts = np.flatnonzero(lines.ravel())
        runs = np.diff(starts)
        runs = runs[starts[:-1] % (n + 1) != n]  # drop the step from one line's end to the next
        level1.append(int((runs[runs >= 5] - 2).sum()))
    # 2: 2 x 2 blocks of one colour, 3 each
    a = candidates
    block = (a[:, :-1, :-1] == a[:, :-1, 1:]) & (a[:, :-1, :-1] == a[:, 1:, :-1]) & (a[:, :-1, :-1] == a[:, 1:, 1:])
    level2 = 3 * block.sum(axis=(1, 2))
    # 3: 1:1:3:1:1 with four light modules on one side, in rows and columns, 40 each
    windows = np.lib.stride_tricks.sliding_window_view(both, 11, axis=2)
    level3 = 40 * sum((windows == p).all(axis=3).sum(axis=(1, 2)) for p in FINDER_LIKE)
    # 4: every 5 % the dark share departs from 50 %, 10 (qrcode's float arithmetic)
    dark = candidates.sum(axis=(1, 2))
    level4 = [int(abs(float(d) / (n**2) * 100 - 50) / 5) * 10 for d in dark.tolist()]
    return [level1[m] + int(level2[m]) + int(level3[m]) + level4[m] for m in range(k)]


def best_mask(candidates: np.ndarray) -> int:
    """The lowest penalty, the first on a tie (as qrcode.QRCode.best_mask_pattern)."""
    scores = penalties(candidates)
    return scores.index(min(scores))


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
