"""Token, key, code, QR and service negatives: each forgery is its own fixture (no PDF rendering)."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from certificates import code as codes
from certificates import qr, verify
from certificates import token as tokens
from certificates.keys import KeyStore, kid_of, utcnow
from certificates.registry import Registry
from certificates.service import create_app

pytestmark = pytest.mark.unit

BASE = "HTTP://127.0.0.1:8765"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    return tmp_path


@pytest.fixture
def store(home):
    return KeyStore()


@pytest.fixture
def registry(home):
    return Registry()


def make_claims(cert_id="202601011123456789", **over):
    now = utcnow()
    data = dict(
        cert_id=cert_id,
        doc_type="UP",
        subject="U001",
        period="202301-202312",
        figures={"n": 23, "pm": 137, "to": "202306"},
        digest=hashlib.sha256(b"paper").digest(),
        issued_at=now,
        not_before=now,
        expires_at=now + timedelta(days=182),
    )
    data.update(over)
    return tokens.Claims(**data)


def record(registry, claims, kid, code="0" * 15, **kw):
    registry.add(
        id=claims.cert_id,
        code=code + codes.check_char(code),
        doc_type=claims.doc_type,
        subject=claims.subject,
        period=claims.period,
        issued_at="2026-01-01T00:00:00Z",
        expires_at=claims.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        digest=claims.digest.hex(),
        kid=kid.hex(),
        facts={"单位名称": "示例精密机械有限公司"},
        **kw,
    )


@pytest.fixture
def good(store):
    kid, key = store.signing_key()
    claims = make_claims()
    return tokens.sign(claims, kid, key), claims, kid


def _verify(raw, store, registry=None):
    return verify.verify_raw(raw, store.trust_list(), registry)


def _resign(protected: dict, unprotected: dict, payload: bytes, key: Ed25519PrivateKey) -> bytes:
    """A hand-built COSE_Sign1 (what a forger would send)."""
    prot = cbor2.dumps(protected) if protected else b""
    sig = key.sign(cbor2.dumps(["Signature1", prot, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [prot, unprotected, payload, sig]))


def _parts(raw):
    return cbor2.loads(raw).value


# ---------------------------------------------------------------- keys


def test_key_created_on_first_use_private_and_kid_is_sha256_prefix(store, home):
    kid, key = store.signing_key()
    raw_pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert kid == hashlib.sha256(raw_pub).digest()[:8]
    pem = home / "keys" / f"ed25519-{kid.hex()}.pem"
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    assert store.signing_key()[0] == kid  # reused, not recreated
    doc = store.trust_list().as_json()
    assert [k["kid"] for k in doc["keys"]] == [kid.hex()]
    assert "d" not in doc["keys"][0] and doc["keys"][0]["crv"] == "Ed25519"


def test_rotation_keeps_old_certificates_verifying(good, store):
    raw, _, old_kid = good
    new_kid = store.rotate()
    assert new_kid != old_kid and store.signing_key()[0] == new_kid
    assert _verify(raw, store).reason == "ok"
    statuses = {k["kid"]: k["status"] for k in store.trust_list().as_json()["keys"]}
    assert statuses == {old_kid.hex(): "retired", new_kid.hex(): "active"}
    fresh = tokens.sign(make_claims(), *store.signing_key())
    assert _verify(fresh, store).kid == new_kid.hex()


def test_withdrawn_key_no_longer_verifies(good, store):
    raw, _, kid = good
    store.withdraw(kid.hex())
    assert _verify(raw, store).reason == "key_withdrawn"


# ---------------------------------------------------------------- the genuine token


def test_genuine_token_verifies_and_carries_no_id_or_wage(good, store, registry):
    raw, claims, kid = good
    record(registry, claims, kid)
    v = verify.verify_token(tokens.b32encode(raw), store.trust_list(), registry, count=True)
    assert (v.reason, v.status_zh, v.cert_id, v.verification_count) == ("ok", "有效", claims.cert_id, 1)
    assert v.figures == {"n": "23", "pm": "137", "to": "202306"}
    payload = cbor2.loads(_parts(raw)[2])
    assert cbor2.loads(_parts(raw)[0]) == {1: -8, 4: kid}
    assert _parts(raw)[1] == {}
    text = repr(payload)
    assert "base" not in text and "3205" not in text


# ---------------------------------------------------------------- one fixture per forgery


@pytest.fixture
def payload_bit_flipped(good):
    raw, _, _ = good
    prot, unprot, payload, sig = _parts(raw)
    payload = bytearray(payload)
    payload[-5] ^= 0x01  # inside the digest
    return cbor2.dumps(cbor2.CBORTag(18, [prot, unprot, bytes(payload), sig]))


@pytest.fixture
def signature_bit_flipped(good):
    raw, _, _ = good
    prot, unprot, payload, sig = _parts(raw)
    sig = bytearray(sig)
    sig[10] ^= 0x80
    return cbor2.dumps(cbor2.CBORTag(18, [prot, unprot, payload, bytes(sig)]))


@pytest.fixture
def resigned_same_kid(good):
    raw, _, kid = good
    _, _, payload, _ = _parts(raw)
    return _resign({1: -8, 4: kid}, {}, payload, Ed25519PrivateKey.generate())


@pytest.fixture
def unknown_kid(good):
    raw, _, _ = good
    _, _, payload, _ = _parts(raw)
    other = Ed25519PrivateKey.generate()
    return _resign({1: -8, 4: kid_of(other.public_key())}, {}, payload, other)


@pytest.fixture
def kid_only_unprotected(good, store):
    raw, _, kid = good
    _, _, payload, _ = _parts(raw)
    key = store.signing_key()[1]
    return _resign({1: -8}, {4: kid}, payload, key)  # genuinely signed, kid unprotected


@pytest.fixture
def kid_protected_wrong_unprotected_right(good, store):
    raw, _, kid = good  # CO22
    _, _, payload, _ = _parts(raw)
    other = Ed25519PrivateKey.generate()
    return _resign({1: -8, 4: kid_of(other.public_key())}, {4: kid}, payload, other)


@pytest.fixture(params=[None, -7, 5, -257, "EdDSA"], ids=["none", "ES256", "HMAC", "RS256", "text"])
def disallowed_alg(request, good, store):
    raw, _, kid = good
    _, _, payload, _ = _parts(raw)
    protected = {4: kid} if request.param is None else {1: request.param, 4: kid}
    return _resign(protected, {}, payload, store.signing_key()[1])


@pytest.fixture
def alg_none_unsigned(good):
    raw, _, kid = good
    _, _, payload, _ = _parts(raw)
    return cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({4: kid}), {}, payload, b""]))


@pytest.fixture
def expired(store):
    now = utcnow()
    claims = make_claims(
        issued_at=now - timedelta(days=200), not_before=now - timedelta(days=200), expires_at=now - timedelta(seconds=1)
    )
    # a key valid back then: move the trust window so only expiry is wrong
    return claims


@pytest.fixture
def not_yet_valid(store):
    now = utcnow()
    later = now + timedelta(days=3)  # iat in the future: not valid before it
    return make_claims(issued_at=later, not_before=later, expires_at=now + timedelta(days=100))


@pytest.mark.parametrize(
    "vector, reason",
    [
        ("payload_bit_flipped", "bad_signature"),
        ("signature_bit_flipped", "bad_signature"),
        ("resigned_same_kid", "bad_signature"),
        ("unknown_kid", "unknown_kid"),
        ("kid_only_unprotected", "kid_unprotected"),
        ("kid_protected_wrong_unprotected_right", "kid_unprotected"),
        ("alg_none_unsigned", "alg_not_allowed"),
    ],
)
def test_forged_tokens_are_rejected(vector, reason, request, store):
    raw = request.getfixturevalue(vector)
    v = verify.verify_token(tokens.b32encode(raw), store.trust_list())
    assert v.reason == reason
    assert not v.valid and v.cert_id is None
    expected = "未知证书" if reason == "unknown_kid" else "无效: 签名或内容不符"
    assert v.status_zh == expected


def test_disallowed_algorithms(disallowed_alg, store):
    v = verify.verify_token(tokens.b32encode(disallowed_alg), store.trust_list())
    assert (v.reason, v.status_zh) == ("alg_not_allowed", "无效: 签名或内容不符")


def test_expired(expired, store):
    kid, key = store.signing_key()
    v = _verify(tokens.sign(expired, kid, key), store)
    assert v.reason in ("expired", "bad_signature")  # signed before the key existed is refused too
    # a token inside the key's window but past exp, with a back-dated key window
    trust = store.trust_list()
    k = trust.keys[0]
    from dataclasses import replace

    trust.keys[0] = replace(k, sign_from=k.sign_from - timedelta(days=400))
    v = verify.verify_raw(tokens.sign(expired, kid, key), trust)
    assert (v.reason, v.status_zh) == ("expired", "已过期")


def test_not_yet_valid(not_yet_valid, store):
    v = _verify(tokens.sign(not_yet_valid, *store.signing_key()), store)
    assert (v.reason, v.status) == ("not_yet_valid", "invalid")


def test_revoked_and_superseded_come_from_the_registry(store, registry):
    kid, key = store.signing_key()
    a, b = make_claims("202601011000000001"), make_claims("202601011000000002")
    record(registry, a, kid)
    registry.revoke(a.cert_id, "单位申请作废")
    v = verify.verify_raw(tokens.sign(a, kid, key), store.trust_list(), registry)
    assert (v.reason, v.status_zh, v.detail) == ("revoked", "已撤销", "单位申请作废")
    record(registry, b, kid, code="2" * 15)
    c = make_claims("202601011000000003")
    record(registry, c, kid, code="3" * 15, void_previous=True)  # same type, subject, period: voids b
    v = verify.verify_raw(tokens.sign(b, kid, key), store.trust_list(), registry)
    assert (v.reason, v.status_zh) == ("superseded", "已被替换")
    assert registry.get(b.cert_id).superseded_by == c.cert_id


def test_signed_but_not_in_registry_is_unknown(good, store, registry):
    raw, _, _ = good
    v = verify.verify_raw(raw, store.trust_list(), registry)
    assert (v.reason, v.status_zh) == ("unknown_certificate", "未知证书")


# ---------------------------------------------------------------- encoding


@pytest.fixture
def truncated(good):
    return tokens.b32encode(good[0])[:-9]


@pytest.fixture
def trailing_characters(good):
    return tokens.b32encode(good[0]) + "AA"


@pytest.fixture
def trailing_cbor_bytes(good):
    return tokens.b32encode(good[0] + b"\x00")


@pytest.fixture
def bom_prefixed(good):
    return "\ufeff" + tokens.b32encode(good[0])


@pytest.fixture
def oversized(good):
    return "A" * 5000


@pytest.mark.parametrize(
    "vector, reasons",
    [
        ("truncated", {"malformed", "trailing_data"}),
        ("trailing_characters", {"trailing_data", "malformed"}),
        ("trailing_cbor_bytes", {"trailing_data"}),
        ("bom_prefixed", {"malformed"}),
        ("oversized", {"too_large"}),
    ],
)
def test_broken_encodings_are_rejected(vector, reasons, request, store):
    v = verify.verify_token(request.getfixturevalue(vector), store.trust_list())
    assert v.reason in reasons and v.status_zh == "无效: 签名或内容不符"


@pytest.mark.parametrize(
    "url",
    [
        "HTTP://EVIL.EXAMPLE/C/{t}",
        "HTTPS://127.0.0.1:8765/C/{t}",
        "HTTP://127.0.0.1:8765/X/{t}",
        "{t}",
        "HTTP://127.0.0.1:8765.EVIL.CN/C/{t}",
    ],
)
def test_wrong_host_or_prefix(url, good, store):
    v = verify.verify_url(url.format(t=tokens.b32encode(good[0])), store.trust_list(), base=BASE)
    assert v.reason == "wrong_prefix"
    ok = verify.verify_url(f"{BASE}/C/{tokens.b32encode(good[0])}", store.trust_list(), base=BASE)
    assert ok.reason == "ok"


# ---------------------------------------------------------------- QR and code


def test_qr_is_alphanumeric_ecc_q_and_version_fixed(good):
    url = qr.verification_url(tokens.b32encode(good[0]), BASE)
    assert url == url.upper()
    _, version = qr.svg(url)
    assert version == 15  # ~237-byte token: 390-410 alphanumeric characters at ECC Q
    with pytest.raises(qr.QrError):
        qr.matrix(url.lower())


def test_code_check_character_catches_every_single_typo():
    code = codes.new_code()
    assert codes.normalise(codes.display(code).lower()) == code
    for i in range(len(code)):
        for ch in codes.ALPHABET:
            if ch != code[i]:
                with pytest.raises(codes.CodeError):
                    codes.normalise(code[:i] + ch + code[i + 1 :])
    swapped = code[1] + code[0] + code[2:]
    if swapped != code:
        with pytest.raises(codes.CodeError):
            codes.normalise(swapped)


# ---------------------------------------------------------------- service without PDFs


def test_lookup_mistyped_code_and_rate_limit(store, registry):
    kid, _ = store.signing_key()
    claims = make_claims("202601011000000009")
    data = "7" * 15
    record(registry, claims, kid, code=data)
    right = codes.display(data + codes.check_char(data))
    typo = right[:-1] + ("0" if right[-1] != "0" else "1")
    client = TestClient(create_app(registry, store, lookup_limit=4, lookup_window=60))
    r = client.get("/api/lookup", params={"number": claims.cert_id, "code": typo})
    assert r.json()["reason"] == "code_checksum" and not r.json()["valid"]
    r = client.get("/api/lookup", params={"number": claims.cert_id, "code": right})
    assert r.json()["reason"] == "ok" and r.json()["verification_count"] == 1
    other = "8" * 15
    r = client.get("/api/lookup", params={"number": claims.cert_id, "code": other + codes.check_char(other)})
    assert r.json()["reason"] == "code_mismatch" and r.json()["status_zh"] == "未知证书"
    r = client.get("/lookup", params={"number": claims.cert_id, "code": right})
    assert r.status_code == 200 and "有效" in r.text
    r = client.get("/api/lookup", params={"number": claims.cert_id, "code": right})
    assert r.status_code == 429 and r.json()["reason"] == "rate_limited"
    assert client.get("/lookup", params={"number": claims.cert_id, "code": right}).status_code == 429


def test_trust_list_endpoint_and_rotation_picked_up(good, store, registry):
    *_, kid = good
    client = TestClient(create_app(registry, store))
    doc = client.get("/.well-known/shebao-keys.json").json()
    assert [k["kid"] for k in doc["keys"]] == [kid.hex()]
    new_kid = store.rotate()
    fresh = make_claims("202601011000000077")
    record(registry, fresh, new_kid, code="9" * 15)
    token = tokens.b32encode(tokens.sign(fresh, *store.signing_key()))
    assert client.get(f"/api/verify/{token}").json()["reason"] == "ok"  # unknown kid triggers a reload


def test_service_reports_every_negative_with_reason(good, store, registry, payload_bit_flipped):
    raw, claims, kid = good
    record(registry, claims, kid)
    client = TestClient(create_app(registry, store))
    bad = client.get(f"/api/verify/{tokens.b32encode(payload_bit_flipped)}").json()
    assert (bad["valid"], bad["reason"], bad["status_zh"]) == (False, "bad_signature", "无效: 签名或内容不符")
    assert client.get("/api/verify/" + "A" * 3000).json()["reason"] == "too_large"
    page = client.get(f"/C/{tokens.b32encode(raw)}")
    assert page.status_code == 200 and "有效" in page.text and "示例精密机械有限公司" in page.text
    assert registry.get(claims.cert_id).verification_count == 1


def test_keys_cli_rotate_and_list(store, capsys):
    from shebao import cli

    first = store.signing_key()[0].hex()
    assert cli.main(["keys", "rotate"]) == 0
    assert cli.main(["keys", "list"]) == 0
    out = capsys.readouterr().out
    assert first in out and "retired" in out and "active" in out


# ---------------------------------------------------------------- a forgery is cheap


def test_forged_token_leaves_no_reference_cycles(good, signature_bit_flipped, resigned_same_kid, store, registry):
    """A forged token is rejected without garbage for the cyclic collector: a COSE library's
    chained exceptions used to leave about 22 objects in cycles per forgery, so the collector
    ran on the request thread every few dozen requests."""
    import gc

    raw, claims, kid = good
    record(registry, claims, kid)
    trust = store.trust_list()
    texts = [tokens.b32encode(signature_bit_flipped), tokens.b32encode(resigned_same_kid)]
    assert [verify.verify_token(t, trust, registry, count=True).reason for t in texts] == ["bad_signature"] * 2
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # every object the collector frees lands in gc.garbage
    try:
        for _ in range(100):
            for text in texts:
                assert verify.verify_token(text, trust, registry, count=True).reason == "bad_signature"
        found = gc.collect()
        leftovers = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert (found, leftovers) == (0, [])
    assert verify.verify_token(tokens.b32encode(raw), trust, registry).reason == "ok"
