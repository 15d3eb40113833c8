"""The largest token each document type can carry still fits the printed QR size (version 16 at most)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import qr, render, visible
from certificates import token as tokens
from certificates.documents import selection_subject

pytestmark = pytest.mark.unit

UNIT = "320599123456"  # the longest unit number the generator writes (12 characters)
WORST = {
    "UP": (
        selection_subject(UNIT, [f"P{i:05d}" for i in range(2000)]),
        "202404-202503",
        {"n": 99999, "pm": 999999, "to": "202503"},
    ),
    "SP": (UNIT, "199001-202612", {"n": 99999, "pm": 999999, "t": "99999999999.99"}),
    "RS": ("10000000004", "202606", {"nm": "欧阳*****", "m": 12, "cm": 600}),
    "CR": (f"{UNIT}/10000000004", "199001-202612", {"nm": "欧阳*****", "l": 9999, "m": 600}),
    "PN": (f"{UNIT}/B-{UNIT}-202612-99", "202612", {"t": "99999999999.99", "l": 9999}),
}


@pytest.mark.parametrize("doc_type", sorted(WORST))
def test_the_largest_token_fits_version_16(doc_type):
    subject, period, figures = WORST[doc_type]
    now = datetime(2026, 12, 7, tzinfo=UTC)
    claims = tokens.Claims(
        cert_id="202612071123456789",
        doc_type=doc_type,
        subject=subject,
        period=period,
        figures=figures,
        digest=render.text_digest("任意文本"),
        issued_at=now,
        not_before=now,
        expires_at=now + timedelta(days=366),
        visible=b"\x00" * visible.DIGEST_BYTES,
    )
    raw = tokens.sign(claims, b"\x01" * 8, Ed25519PrivateKey.generate())
    _, version = qr.matrix(qr.verification_url(tokens.b32encode(raw)))
    assert version <= qr.MAX_VERSION == 16


def test_a_chosen_set_is_a_short_subject():
    subject = selection_subject(UNIT, ["P3", "P1", "P2"])
    assert subject == selection_subject(UNIT, ["P1", "P2", "P3"]) and len(subject) == len(UNIT) + 9
