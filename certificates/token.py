"""The signed token in the QR code: COSE_Sign1 over a CWT, Ed25519, Base32 text.

Encoding is done by `cwt`; decoding checks the structure strictly (size, tag, exactly
one CBOR item, alg and kid in the protected header only, no unknown headers) and then
the Ed25519 signature over that very envelope, so no algorithm confusion or header trick
gets through. Claims never carry a full ID number or a wage (docs/domain.md section 4).
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt import COSE, COSEKey

from certificates import config
from certificates.keys import TrustedKey, TrustList

ALG_EDDSA = -8
COSE_SIGN1_TAG = 18
MAX_TOKEN_BYTES = 600  # a real token is ~230 bytes; anything far larger is refused unread
MAX_TOKEN_CHARS = (MAX_TOKEN_BYTES * 8 + 4) // 5
HDR_ALG, HDR_CRIT, HDR_KID = 1, 2, 4

# CWT claim keys (RFC 8392) and private claims (negative, below -65536)
ISS, EXP, IAT, CTI = 1, 4, 6, 7
C_TYPE, C_SUBJECT, C_PERIOD, C_FIGURES, C_DIGEST = -70001, -70002, -70003, -70004, -70005
C_VISIBLE = -70006  # optional: the digest of the visible pages (visible.py); older tokens lack it
REQUIRED = {
    ISS: str,
    EXP: int,
    IAT: int,
    CTI: bytes,
    C_TYPE: str,
    C_SUBJECT: str,
    C_PERIOD: str,
    C_FIGURES: dict,
    C_DIGEST: bytes,
}

BASE32_RE = re.compile(r"[A-Z2-7]+")


class TokenError(Exception):
    """A token that must be rejected; `reason` is machine readable."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Claims:
    cert_id: str
    doc_type: str
    subject: str
    period: str
    figures: dict
    digest: bytes
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    issuer: str = config.ISSUER_ID
    visible: bytes | None = None

    def to_cbor_map(self) -> dict:
        data = {
            ISS: self.issuer,
            IAT: int(self.issued_at.timestamp()),
            EXP: int(self.expires_at.timestamp()),
            CTI: int(self.cert_id).to_bytes(8, "big"),  # 18 digits in 8 bytes keep the QR small
            C_TYPE: self.doc_type,
            C_SUBJECT: self.subject,
            C_PERIOD: self.period,
            C_FIGURES: {str(k): str(v) for k, v in self.figures.items()},
            C_DIGEST: self.digest,
        }
        if self.visible is not None:
            data[C_VISIBLE] = self.visible
        return data


@dataclass(frozen=True)
class VerifiedToken:
    claims: Claims
    kid: bytes
    raw: bytes = field(repr=False)


def b32encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def b32decode(text: str) -> bytes:
    """Strict RFC 4648 Base32 without padding: upper case only, canonical trailing bits."""
    if len(text) > MAX_TOKEN_CHARS:
        raise TokenError("too_large", f"{len(text)} characters")
    if not BASE32_RE.fullmatch(text):
        raise TokenError("malformed", "not Base32")
    if len(text) % 8 in (1, 3, 6):
        raise TokenError("malformed", "impossible Base32 length")
    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    if b32encode(raw) != text:  # what a token cut short (or padded by hand) looks like
        raise TokenError("malformed", "truncated or non-canonical Base32 tail")
    return raw


def _ts(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def sign(claims: Claims, kid: bytes, private_key: Ed25519PrivateKey) -> bytes:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = COSEKey.from_pem(pem, kid=kid)
    payload = cbor2.dumps(claims.to_cbor_map(), canonical=True)
    return COSE.new().encode_and_sign(payload, key, protected={HDR_ALG: ALG_EDDSA, HDR_KID: kid}, unprotected={})


def _loads_exactly_one(data: bytes, what: str):
    """One CBOR item and nothing after it."""
    stream = io.BytesIO(data)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several types for broken input
        raise TokenError("malformed", f"{what}: {exc}") from None
    if stream.tell() != len(data):
        raise TokenError("trailing_data", f"{len(data) - stream.tell()} bytes after {what}")
    return item


def parse_structure(raw: bytes) -> tuple[dict, bytes, bytes, bytes]:
    """Check the COSE_Sign1 envelope; return (protected map, protected bytes, payload, signature)."""
    if len(raw) > MAX_TOKEN_BYTES:
        raise TokenError("too_large", f"{len(raw)} bytes")
    item = _loads_exactly_one(raw, "COSE_Sign1")
    if not isinstance(item, cbor2.CBORTag) or item.tag != COSE_SIGN1_TAG:
        raise TokenError("malformed", "not a tagged COSE_Sign1")
    body = item.value
    if not isinstance(body, list) or len(body) != 4:
        raise TokenError("malformed", "COSE_Sign1 must have four elements")
    protected_raw, unprotected, payload, signature = body
    if not all(isinstance(x, bytes) for x in (protected_raw, payload, signature)) or not isinstance(unprotected, dict):
        raise TokenError("malformed", "COSE_Sign1 element types")
    protected = _loads_exactly_one(protected_raw, "protected header") if protected_raw else {}
    if not isinstance(protected, dict):
        raise TokenError("malformed", "protected header is not a map")
    if HDR_KID in unprotected or HDR_ALG in unprotected:
        # CO22: a kid or alg outside the signature's protection is never trusted
        raise TokenError("kid_unprotected", "kid/alg in the unprotected header")
    if unprotected:
        raise TokenError("malformed", "unexpected unprotected header")
    if HDR_CRIT in protected or set(protected) - {HDR_ALG, HDR_KID}:
        raise TokenError("malformed", "unknown protected header")
    if protected.get(HDR_ALG) != ALG_EDDSA:
        raise TokenError("alg_not_allowed", f"alg {protected.get(HDR_ALG)!r}")
    kid = protected.get(HDR_KID)
    if not isinstance(kid, bytes) or len(kid) != 8:
        raise TokenError("unknown_kid", "kid missing from the protected header")
    if len(signature) != 64:
        raise TokenError("bad_signature", "Ed25519 signatures are 64 bytes")
    return protected, protected_raw, payload, signature


def _claims(payload: bytes) -> Claims:
    data = _loads_exactly_one(payload, "claims")
    if not isinstance(data, dict):
        raise TokenError("malformed", "claims are not a map")
    for key, typ in REQUIRED.items():
        value = data.get(key)
        if not isinstance(value, typ) or isinstance(value, bool):
            raise TokenError("malformed", f"claim {key} missing or mistyped")
    if set(data) - set(REQUIRED) - {C_VISIBLE}:
        raise TokenError("malformed", "unknown claims")
    if len(data[CTI]) != 8 or len(data[C_DIGEST]) != 32:
        raise TokenError("malformed", "cti or digest length")
    visible = data.get(C_VISIBLE)
    if visible is not None and (not isinstance(visible, bytes) or len(visible) != 16):
        raise TokenError("malformed", "visible-content digest")
    cert_id = f"{int.from_bytes(data[CTI], 'big'):018d}"
    # not-before is the issue time (iat); no separate nbf claim keeps the QR one version smaller
    return Claims(
        cert_id,
        data[C_TYPE],
        data[C_SUBJECT],
        data[C_PERIOD],
        dict(data[C_FIGURES]),
        data[C_DIGEST],
        _ts(data[IAT]),
        _ts(data[IAT]),
        _ts(data[EXP]),
        data[ISS],
        visible,
    )


SIG_CONTEXT = "Signature1"


def _signature_ok(public_key, signature: bytes, protected_raw: bytes, payload: bytes) -> bool:
    """Ed25519 over the COSE Sig_structure (RFC 9052 section 4.4), with no external AAD."""
    to_be_signed = cbor2.dumps([SIG_CONTEXT, protected_raw, b"", payload])
    try:
        public_key.verify(signature, to_be_signed)
    except InvalidSignature:
        return False
    return True


def verify(
    raw: bytes,
    trust: TrustList,
    now: datetime | None = None,
    *,
    check_time: bool = True,
) -> VerifiedToken:
    """Signature, issuer and times; raises TokenError. Status (revoked...) is the registry's job.

    The signature is checked directly on the envelope parse_structure has already checked
    strictly: a forged token costs one Ed25519 verification and one exception, where a COSE
    library's decode raised chains of exceptions referencing each other (garbage the cyclic
    collector then had to sweep on the request thread)."""
    now = now or datetime.now(UTC)
    protected, protected_raw, payload, signature = parse_structure(raw)
    kid = protected[HDR_KID]
    candidates: list[TrustedKey] = trust.candidates(kid)
    if not candidates:
        raise TokenError("unknown_kid", kid.hex())
    # on a kid collision every key is tried
    used = next((t for t in candidates if _signature_ok(t.public_key, signature, protected_raw, payload)), None)
    if used is None:
        raise TokenError("bad_signature", "signature does not verify")
    claims = _claims(payload)
    if claims.issuer != trust.issuer:
        raise TokenError("bad_signature", "foreign issuer")
    if used.status == "withdrawn":
        raise TokenError("key_withdrawn", used.kid.hex())
    if not (used.sign_from - _skew() <= claims.issued_at <= used.sign_until + _skew()):
        raise TokenError("bad_signature", "signed outside the key's signing period")
    if claims.expires_at > used.verify_until or claims.expires_at <= claims.issued_at:
        raise TokenError("bad_signature", "validity outside the key's period")
    if check_time:
        check_times(claims, now)
    return VerifiedToken(claims, kid, raw)


def is_expired(expires_at: datetime, now: datetime) -> bool:
    """The one expiry rule, for the token (offline) and the registry record (lookup) alike."""
    return now >= expires_at


def check_times(claims: Claims, now: datetime) -> None:
    if now + _skew() < claims.not_before:
        raise TokenError("not_yet_valid", claims.not_before.isoformat())
    if is_expired(claims.expires_at, now):
        raise TokenError("expired", claims.expires_at.isoformat())


def _skew():
    from datetime import timedelta

    return timedelta(seconds=config.CLOCK_SKEW_SECONDS)


def peek_claims(raw: bytes) -> Claims | None:
    """Claims without verification, for diagnostics only (never for a verdict)."""
    try:
        _, _, payload, _ = parse_structure(raw)
        return _claims(payload)
    except TokenError:
        return None
