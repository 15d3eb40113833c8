"""Trust and revocation for verifiers without a connection, as the EU DCC gateway does it.

A root Ed25519 key (created on first use under $SHEBAO_HOME/keys, its public half
`trust-root.pub` shipped with the verifier) signs two documents:
- the trust list: every token key with its signing and verifying periods and status, and
  the PDF-signing root certificate;
- the revocation list: a compact hash list (8 bytes of SHA-256 per certificate number,
  revoked and superseded apart), with a sequence number and a next-update time.
The service publishes both; `shebao cert sync` verifies them against the pinned root and
caches them (never rolling back to an older sequence number); `cert verify --offline`
refuses to say 有效 without a revocation list younger than its next-update time.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certificates import config
from certificates.keys import KeyStore, TrustList, b64url, b64url_decode, iso, kid_of, parse_iso, write_private
from foundation.paths import shebao_home

ROOT_PRIVATE, ROOT_PUBLIC = "trust-root.pem", "trust-root.pub"
TRUST_TTL = timedelta(days=7)
REVOCATION_TTL = timedelta(hours=24)
HASH_BYTES = 8
REVOCATION_DOMAIN = b"shebao-revocation-v1\n"
TRUST_FILE, REVOCATION_FILE = "trust-list.signed.json", "revocation-list.signed.json"


class TrustError(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


def root_key(keystore: KeyStore) -> Ed25519PrivateKey:
    """The root signing key, created with its shippable public half on first use."""
    path = keystore.dir / ROOT_PRIVATE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(path, pem)
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        (keystore.dir / ROOT_PUBLIC).write_text(b64url(raw) + "\n", "ascii")
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TrustError("trust_list_invalid", f"{path} is not an Ed25519 key")
    return loaded


def pinned_root(path: Path | str | None = None) -> Ed25519PublicKey:
    """The root public key the verifier ships with (SHEBAO_TRUST_ROOT, else the local keys')."""
    path = Path(path or os.environ.get("SHEBAO_TRUST_ROOT") or config.keys_dir() / ROOT_PUBLIC)
    try:
        return Ed25519PublicKey.from_public_bytes(b64url_decode(path.read_text("ascii").strip()))
    except (FileNotFoundError, ValueError) as exc:
        raise TrustError("trust_list_missing", f"no pinned root key at {path}: {exc}") from None


def _canonical(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign_document(kind: str, body: dict, key: Ed25519PrivateKey) -> dict:
    payload = _canonical({"type": kind, **body})
    return {
        "alg": "EdDSA",
        "kid": kid_of(key.public_key()).hex(),
        "payload": b64url(payload),
        "signature": b64url(key.sign(payload)),
    }


def open_document(doc: dict, kind: str, root: Ed25519PublicKey) -> dict:
    """The verified body of a signed document; raises TrustError(<kind>_invalid)."""
    reason = "trust_list_invalid" if kind == "trust-list" else "revocation_list_invalid"
    try:
        if doc.get("alg") != "EdDSA":
            raise ValueError("alg")
        payload = b64url_decode(doc["payload"])
        root.verify(b64url_decode(doc["signature"]), payload)
        body = json.loads(payload)
    except (InvalidSignature, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise TrustError(reason, f"signature or structure: {type(exc).__name__}") from None
    if body.get("type") != kind or body.get("issuer") != config.ISSUER_ID:
        raise TrustError(reason, "wrong document type or issuer")
    return body


def signed_trust_list(keystore: KeyStore, now: datetime | None = None) -> dict:
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    body = keystore.trust_list().as_json()
    body.update(seq=int(now.timestamp()), issued_at=iso(now), next_update=iso(now + TRUST_TTL))
    return sign_document("trust-list", body, root_key(keystore))


def revocation_hash(cert_id: str) -> bytes:
    return hashlib.sha256(REVOCATION_DOMAIN + cert_id.encode()).digest()[:HASH_BYTES]


def _pack(ids: list[str]) -> str:
    return base64.b64encode(b"".join(sorted(revocation_hash(i) for i in ids))).decode()


def signed_revocation_list(registry, keystore: KeyStore, now: datetime | None = None) -> dict:
    """Every revoked and superseded certificate as an 8-byte hash (no number travels in clear)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with registry.connect() as con:
        rows = con.execute("select id, status from certificates where status <> 'valid'").fetchall()
    body = {
        "issuer": config.ISSUER_ID,
        "seq": int(now.timestamp()),
        "issued_at": iso(now),
        "next_update": iso(now + REVOCATION_TTL),
        "hash": f"sha256/{HASH_BYTES}",
        "revoked": _pack([r["id"] for r in rows if r["status"] == "revoked"]),
        "superseded": _pack([r["id"] for r in rows if r["status"] == "superseded"]),
    }
    return sign_document("revocation-list", body, root_key(keystore))


@dataclass(frozen=True)
class RevocationList:
    seq: int
    issued_at: datetime
    next_update: datetime
    revoked: frozenset[bytes]
    superseded: frozenset[bytes]

    @classmethod
    def from_body(cls, body: dict) -> RevocationList:
        def unpack(text: str) -> frozenset[bytes]:
            raw = base64.b64decode(text, validate=True)
            if len(raw) % HASH_BYTES:
                raise TrustError("revocation_list_invalid", "hash list length")
            return frozenset(raw[i : i + HASH_BYTES] for i in range(0, len(raw), HASH_BYTES))

        return cls(
            int(body["seq"]),
            parse_iso(body["issued_at"]),
            parse_iso(body["next_update"]),
            unpack(body["revoked"]),
            unpack(body["superseded"]),
        )

    def status_of(self, cert_id: str) -> str:
        h = revocation_hash(cert_id)
        return "revoked" if h in self.revoked else "superseded" if h in self.superseded else "valid"


def age_zh(then: datetime, now: datetime) -> str:
    minutes = max(0, int((now - then).total_seconds() // 60))
    span = f"{minutes // 60} 小时 {minutes % 60} 分钟" if minutes >= 60 else f"{minutes} 分钟"
    local = then.astimezone(config_tz())
    return f"生成于 {local:%Y年%m月%d日 %H:%M}（北京时间），距今 {span}"


def config_tz():
    from certificates.render import CHINA_TZ

    return CHINA_TZ


class OfflineCache:
    """What an offline verifier holds: the last verified trust list and revocation list."""

    def __init__(self, directory: Path | str | None = None, root: Ed25519PublicKey | None = None):
        self.dir = Path(directory or os.environ.get("SHEBAO_VERIFIER_CACHE") or shebao_home() / "verifier")
        self._root = root

    @property
    def root(self) -> Ed25519PublicKey:
        if self._root is None:
            self._root = pinned_root()
        return self._root

    def _read(self, name: str) -> dict | None:
        try:
            return json.loads((self.dir / name).read_text("utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            return {}

    def store(self, trust_doc: dict, revocation_doc: dict) -> tuple[int, int]:
        """Verify both against the pinned root and keep them; an older sequence is refused."""
        trust_body = open_document(trust_doc, "trust-list", self.root)
        revocation_body = open_document(revocation_doc, "revocation-list", self.root)
        for name, body, reason in (
            (TRUST_FILE, trust_body, "trust_list_invalid"),
            (REVOCATION_FILE, revocation_body, "revocation_list_invalid"),
        ):
            held = self._read(name)
            if held:
                try:
                    old = open_document(held, body["type"], self.root)
                except TrustError:
                    old = None
                if old is not None and int(body["seq"]) < int(old["seq"]):
                    raise TrustError(reason, f"sequence {body['seq']} older than the cached {old['seq']}")
        self.dir.mkdir(parents=True, exist_ok=True)
        for name, doc in ((TRUST_FILE, trust_doc), (REVOCATION_FILE, revocation_doc)):
            tmp = self.dir / (name + ".tmp")
            tmp.write_text(json.dumps(doc), "utf-8")
            os.replace(tmp, self.dir / name)
        return int(trust_body["seq"]), int(revocation_body["seq"])

    def trust_list(self, now: datetime) -> TrustList:
        doc = self._read(TRUST_FILE)
        if doc is None:
            raise TrustError("trust_list_missing", f"no trust list in {self.dir} (run shebao cert sync)")
        body = open_document(doc, "trust-list", self.root)
        if now >= parse_iso(body["next_update"]):
            raise TrustError("trust_list_stale", f"next update was due {body['next_update']}")
        return TrustList.from_json(body)

    def revocations(self, now: datetime) -> tuple[RevocationList | None, str, str]:
        """(list or None, reason when None, age in Chinese)."""
        doc = self._read(REVOCATION_FILE)
        if doc is None:
            return None, "revocation_unknown", "没有离线吊销列表"
        try:
            rl = RevocationList.from_body(open_document(doc, "revocation-list", self.root))
        except TrustError as exc:
            return None, exc.reason, "吊销列表签名无效"
        except (KeyError, ValueError):
            return None, "revocation_list_invalid", "吊销列表格式有误"
        age = age_zh(rl.issued_at, now)
        if now >= rl.next_update:
            return None, "revocation_unknown", f"{age}，已超过下次更新时间"
        return rl, "", age
