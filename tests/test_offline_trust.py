"""Offline trust and revocation: a signed trust list and a signed hash revocation list under a
pinned root; every forged token and list gets its exact verdict from `cert verify --offline`
and, where the service can see it, from the HTTP service."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from certificates import code as codes
from certificates import keys, offline
from certificates import token as tokens
from certificates import trust as trusts
from certificates.keys import KeyStore, iso, kid_of
from certificates.registry import Registry
from certificates.service import create_app
from shebao import cli

pytestmark = pytest.mark.unit

UNCONFIRMED = "无法确认是否撤销"


def _claims(cert_id: str, issued: datetime, expires: datetime) -> tokens.Claims:
    return tokens.Claims(
        cert_id=cert_id,
        doc_type="UP",
        subject="U001",
        period="202301-202312",
        figures={"n": "23"},
        digest=hashlib.sha256(cert_id.encode()).digest(),
        issued_at=issued,
        not_before=issued,
        expires_at=expires,
    )


def _record(registry: Registry, claims: tokens.Claims, kid: bytes) -> None:
    data = claims.cert_id[-15:]
    registry.add(
        id=claims.cert_id,
        code=data + codes.check_char(data),
        doc_type=claims.doc_type,
        subject=claims.subject + claims.cert_id,  # one document each (no daily limit here)
        period=claims.period,
        issued_at=iso(claims.issued_at),
        expires_at=iso(claims.expires_at),
        digest=claims.digest.hex(),
        kid=kid.hex(),
        facts={},
    )


def _resign(protected: dict, unprotected: dict, payload: bytes, key: Ed25519PrivateKey) -> bytes:
    prot = cbor2.dumps(protected)
    sig = key.sign(cbor2.dumps(["Signature1", prot, b"", payload]))
    return cbor2.dumps(cbor2.CBORTag(18, [prot, unprotected, payload, sig]))


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A key of 300 days ago (for an expired certificate), today's key, tokens and a registry."""
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    for name in ("SHEBAO_VERIFY_BASE", "SHEBAO_TRUST_ROOT", "SHEBAO_VERIFIER_CACHE", "SHEBAO_AUDIT_DIR"):
        monkeypatch.delenv(name, raising=False)
    now = keys.utcnow()
    past = now - timedelta(days=300)
    store = KeyStore()
    with monkeypatch.context() as mp:
        mp.setattr(keys, "utcnow", lambda: past)
        old_kid, old_key = store.signing_key()
    kid, key = store.signing_key()  # the old key stopped signing: a new one
    assert kid != old_kid
    registry = Registry()
    genuine = _claims("202612011000000001", now, now + timedelta(days=180))
    expired = _claims("202602051000000002", past + timedelta(days=10), past + timedelta(days=190))
    future = _claims("202612041000000003", now + timedelta(days=3), now + timedelta(days=180))
    revoked = _claims("202612011000000004", now, now + timedelta(days=180))
    for c, k in ((genuine, kid), (expired, old_kid), (future, kid), (revoked, kid)):
        _record(registry, c, k)
    registry.revoke(revoked.cert_id, "单位申请作废")
    payload = cbor2.dumps(genuine.to_cbor_map(), canonical=True)
    stranger = Ed25519PrivateKey.generate()
    t = {
        "genuine": tokens.sign(genuine, kid, key),
        "expired": tokens.sign(expired, old_kid, old_key),
        "not_yet_valid": tokens.sign(future, kid, key),
        "revoked": tokens.sign(revoked, kid, key),
        "self_signed_key": tokens.sign(genuine, kid_of(stranger.public_key()), stranger),
        "kid_swapped": _resign({1: -8, 4: kid}, {}, payload, stranger),
        "kid_unprotected": _resign({1: -8}, {4: kid}, payload, key),
        "wrong_algorithm": _resign({1: -7, 4: kid}, {}, payload, key),
    }
    return {"store": store, "registry": registry, "tokens": {n: tokens.b32encode(r) for n, r in t.items()}, "kid": kid}


EXPECTED = {  # case -> (offline reason, online reason)
    "genuine": ("ok", "ok"),
    "expired": ("expired", "expired"),
    "not_yet_valid": ("not_yet_valid", "not_yet_valid"),
    "revoked": ("revoked", "revoked"),
    "self_signed_key": ("unknown_kid", "unknown_kid"),
    "kid_swapped": ("bad_signature", "bad_signature"),
    "kid_unprotected": ("kid_unprotected", "kid_unprotected"),
    "wrong_algorithm": ("alg_not_allowed", "alg_not_allowed"),
}


def offline_json(capsys, token: str) -> tuple[int, dict]:
    capsys.readouterr()
    rc = cli.main(["cert", "verify", token, "--offline", "--json"])
    return rc, json.loads(capsys.readouterr().out)


def test_token_catalogue_offline_and_online(world, capsys):
    assert cli.main(["cert", "sync"]) == 0
    client = TestClient(create_app())
    for case, (offline_reason, online_reason) in EXPECTED.items():
        rc, body = offline_json(capsys, world["tokens"][case])
        assert body["reason"] == offline_reason and rc == (offline_reason != "ok"), case
        assert body["online"] is False
        assert client.get(f"/api/verify/{world['tokens'][case]}").json()["reason"] == online_reason, case
    _, body = offline_json(capsys, world["tokens"]["genuine"])
    assert body["revocation_checked"] is True and body["revocation_list_age"].startswith("生成于 ")
    capsys.readouterr()
    cli.main(["cert", "verify", world["tokens"]["genuine"], "--offline"])
    out = capsys.readouterr().out
    assert out.startswith("有效（ok）") and "离线吊销列表: 生成于 " in out and "距今 0 分钟" in out


def test_offline_without_a_revocation_list_never_says_valid(world, capsys):
    cache = trusts.OfflineCache()
    cache.dir.mkdir(parents=True)
    # a trust list only: no revocation list cached
    (cache.dir / trusts.TRUST_FILE).write_text(json.dumps(trusts.signed_trust_list(world["store"])))
    rc, body = offline_json(capsys, world["tokens"]["genuine"])
    assert (rc, body["reason"], body["status_zh"], body["revocation_checked"]) == (
        1,
        "revocation_unknown",
        UNCONFIRMED,
        False,
    )
    assert body["detail"] == "没有离线吊销列表"
    rc, body = offline_json(capsys, world["tokens"]["revoked"])
    assert (body["reason"], body["status_zh"]) == ("revocation_unknown", UNCONFIRMED)


def test_stale_revocation_list(world, capsys):
    store, registry = world["store"], world["registry"]
    yesterday = datetime.now(UTC) - timedelta(hours=25)
    trusts.OfflineCache().store(
        trusts.signed_trust_list(store), trusts.signed_revocation_list(registry, store, now=yesterday)
    )
    for case in ("genuine", "revoked"):
        rc, body = offline_json(capsys, world["tokens"][case])
        assert (rc, body["reason"], body["status_zh"]) == (1, "revocation_unknown", UNCONFIRMED)
        assert body["detail"].endswith("已超过下次更新时间") and "距今 25 小时 0 分钟" in body["detail"]
    # the verdict ages with the clock: a fresh list is accepted again once synced
    assert cli.main(["cert", "sync"]) == 0
    assert offline_json(capsys, world["tokens"]["genuine"])[1]["reason"] == "ok"
    later = datetime.now(UTC) + trusts.REVOCATION_TTL + timedelta(minutes=1)
    assert offline.verify_offline(world["tokens"]["genuine"], now=later).reason == "revocation_unknown"
    much_later = datetime.now(UTC) + trusts.TRUST_TTL + timedelta(minutes=1)
    v = offline.verify_offline(world["tokens"]["genuine"], now=much_later)
    assert (v.reason, v.status_zh) == ("trust_list_stale", "无法验证: 信任列表已过期")


def test_withdrawn_key_offline_and_online(world, capsys):
    world["store"].withdraw(world["kid"].hex())
    assert cli.main(["cert", "sync"]) == 0
    rc, body = offline_json(capsys, world["tokens"]["genuine"])
    assert (rc, body["reason"]) == (1, "key_withdrawn")
    assert TestClient(create_app()).get(f"/api/verify/{world['tokens']['genuine']}").json()["reason"] == "key_withdrawn"


def _forged(kind: str, body: dict) -> dict:
    return trusts.sign_document(kind, body, Ed25519PrivateKey.generate())  # a look-alike root


def test_forged_trust_list(world, capsys):
    assert cli.main(["cert", "sync"]) == 0
    cache = trusts.OfflineCache()
    real = json.loads((cache.dir / trusts.TRUST_FILE).read_text())
    body = json.loads(keys.b64url_decode(real["payload"]))
    forged = _forged("trust-list", body)
    with pytest.raises(trusts.TrustError) as caught:
        cache.store(forged, trusts.signed_revocation_list(world["registry"], world["store"]))
    assert caught.value.reason == "trust_list_invalid"
    # the same body with its signature kept but one key's status changed: the signature breaks
    body["keys"][0]["status"] = "active"
    tampered = dict(real, payload=keys.b64url(trusts._canonical(body)))
    for doc in (forged, tampered):
        (cache.dir / trusts.TRUST_FILE).write_text(json.dumps(doc))
        rc, out = offline_json(capsys, world["tokens"]["genuine"])
        assert (rc, out["reason"], out["status_zh"]) == (1, "trust_list_invalid", "无效: 信任列表签名无效")


def test_forged_revocation_list(world, capsys):
    assert cli.main(["cert", "sync"]) == 0
    cache = trusts.OfflineCache()
    real = json.loads((cache.dir / trusts.REVOCATION_FILE).read_text())
    body = json.loads(keys.b64url_decode(real["payload"]))
    assert body["revoked"]  # the revoked certificate's hash is listed
    body["revoked"] = ""  # the forger's wish: nothing revoked
    for doc in (_forged("revocation-list", body), dict(real, payload=keys.b64url(trusts._canonical(body)))):
        (cache.dir / trusts.REVOCATION_FILE).write_text(json.dumps(doc))
        rc, out = offline_json(capsys, world["tokens"]["revoked"])
        assert (rc, out["reason"], out["status_zh"]) == (1, "revocation_list_invalid", UNCONFIRMED)


def test_sync_from_the_service_and_no_rollback(world, capsys, monkeypatch):
    client = TestClient(create_app())
    trust_doc = client.get("/.well-known/shebao-trust-list.json").json()
    revocation_doc = client.get("/.well-known/shebao-revocations.json").json()
    cache = trusts.OfflineCache()
    cache.store(trust_doc, revocation_doc)
    body = trusts.open_document(revocation_doc, "revocation-list", trusts.pinned_root())
    assert len(base64.b64decode(body["revoked"])) == trusts.HASH_BYTES  # one revoked: 8 bytes
    assert world["tokens"]["revoked"] not in json.dumps(revocation_doc)  # numbers never in clear
    assert "202612011000000004" not in json.dumps(revocation_doc)
    older = trusts.signed_revocation_list(world["registry"], world["store"], now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(trusts.TrustError) as caught:
        cache.store(trust_doc, older)
    assert caught.value.reason == "revocation_list_invalid" and "older than the cached" in caught.value.detail
    assert offline_json(capsys, world["tokens"]["revoked"])[1]["reason"] == "revoked"


def test_registry_and_token_agree_on_expiry(world):
    """Both read the same signed timestamp through one rule: one second before and at exp."""
    from certificates import verify

    raw = tokens.b32decode(world["tokens"]["genuine"])
    claims = tokens.peek_claims(raw)
    record = world["registry"].get(claims.cert_id)
    assert record.expires_at == iso(claims.expires_at)
    trust = world["store"].trust_list()
    for delta, expected in ((timedelta(seconds=-1), "ok"), (timedelta(0), "expired")):
        at = claims.expires_at + delta
        assert verify.verify_raw(raw, trust, world["registry"], now=at).reason == expected
        assert verify.lookup(world["registry"], record.id, record.code, now=at, count=False).reason == expected
