"""The QR mask scored in NumPy is the one qrcode itself picks, so a verifier redrawing a code
issued before (qrcode's own scoring) or after draws the same modules; a decoder reads it."""

from __future__ import annotations

import random
import string

import numpy as np
import pytest
import qrcode
import zxingcpp
from PIL import Image
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.util import MODE_ALPHA_NUM, QRData, lost_point

from certificates import qr

pytestmark = pytest.mark.unit

BASE = "HTTPS://VERIFY.SHEBAO.EXAMPLE.GOV.CN/C/"
BASE32 = string.ascii_uppercase + "234567"


def urls(seed: int, lengths) -> list[str]:
    rnd = random.Random(seed)
    return [BASE + "".join(rnd.choice(BASE32) for _ in range(n)) for n in lengths]


def reference(text: str, mask: int | None = None) -> qrcode.QRCode:
    """The code as qrcode's make(fit=True) draws it (scoring all eight masks in Python)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0, mask_pattern=mask)
    code.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM))
    code.make(fit=True)
    return code


# versions 3 to 16 (7 and above carry version information), every mask chosen somewhere
ALL = urls(1, range(1, 420, 6))


def test_the_matrix_is_qrcodes_own_for_every_version():
    chosen = set()
    versions = set()
    for text in ALL:
        ref = reference(text)
        assert qr.matrix(text) == (ref.get_matrix(), ref.version), text
        chosen.add(ref.best_mask_pattern())
        versions.add(ref.version)
    assert chosen == set(range(8)) and versions == set(range(3, 17))


@pytest.mark.parametrize("text", ALL[::5])
def test_each_masks_penalty_is_qrcodes_lost_point(text):
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=0)
    code.add_data(QRData(text.encode("ascii"), mode=MODE_ALPHA_NUM))
    code.best_fit()
    placed, expected = [], []
    for mask in range(8):
        code.makeImpl(True, mask)
        placed.append(np.array(code.modules, dtype=bool))
        expected.append(lost_point(code.modules))
    assert qr.penalties(np.stack(placed)) == expected


def test_a_tie_goes_to_the_first_mask():
    flat = np.zeros((8, 21, 21), dtype=bool)
    flat[3:] = True  # masks 0-2 and 3-7 score alike (all light / all dark)
    assert qr.best_mask(flat) == 0


def test_a_decoder_reads_the_text_and_the_mask_chosen():
    for text in ALL[::12]:
        cells, version = qr.matrix(text)
        grid = np.pad(np.array(cells, dtype=bool), 4)
        image = Image.fromarray(np.where(grid, 0, 255).astype("uint8")).resize(
            (grid.shape[1] * 4, grid.shape[0] * 4), Image.Resampling.NEAREST
        )
        (found,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert found.text == text and found.extra["Version"] == str(version) and found.extra["ECLevel"] == "Q"
        assert found.extra["DataMask"] == reference(text).best_mask_pattern()


def test_a_code_with_another_mask_draws_other_modules():
    """What the certificate check relies on: the same text under another mask is another drawing."""
    text = ALL[20]
    best = reference(text).best_mask_pattern()
    other = reference(text, mask=(best + 1) % 8)
    assert other.get_matrix() != qr.matrix(text)[0]
