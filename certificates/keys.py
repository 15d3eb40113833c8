"""Ed25519 signing keys under $SHEBAO_HOME/keys and the trust list the verifiers use.

A key is created on first use (file mode 0600). Its kid is the first 8 bytes of SHA-256
over the raw public key. The trust list records, per key, when it may sign and until when
certificates it signed still verify, so `rotate` starts a new key while the old one keeps
verifying its unexpired certificates.
"""

from __future__ import annotations

import base64
import calendar
import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from certificates import config

ALG = "EdDSA"
TRUST_FILE = "trust.json"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def add_months(ts: datetime, months: int) -> datetime:
    """Calendar months, clamped to the month's last day (validity periods)."""
    month0 = ts.month - 1 + months
    year, month = ts.year + month0 // 12, month0 % 12 + 1
    day = min(ts.day, calendar.monthrange(year, month)[1])
    return ts.replace(year=year, month=month, day=day)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def kid_of(public_key: Ed25519PublicKey) -> bytes:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def write_private(path: Path, data: bytes) -> None:
    """Create a secret file readable by its owner only, atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass(frozen=True)
class TrustedKey:
    kid: bytes
    public_key: Ed25519PublicKey
    sign_from: datetime
    sign_until: datetime
    verify_until: datetime
    status: str  # active | retired | withdrawn

    def as_json(self) -> dict:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {
            "kid": self.kid.hex(),
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": ALG,
            "x": b64url(raw),
            "sign_from": iso(self.sign_from),
            "sign_until": iso(self.sign_until),
            "verify_until": iso(self.verify_until),
            "status": self.status,
        }

    @classmethod
    def from_json(cls, item: dict) -> TrustedKey:
        if item.get("crv") != "Ed25519" or item.get("alg") != ALG:
            raise ValueError("unsupported key type in trust list")
        public_key = Ed25519PublicKey.from_public_bytes(b64url_decode(item["x"]))
        kid = bytes.fromhex(item["kid"])
        if kid != kid_of(public_key):
            raise ValueError("kid does not match its public key")
        return cls(
            kid,
            public_key,
            parse_iso(item["sign_from"]),
            parse_iso(item["sign_until"]),
            parse_iso(item["verify_until"]),
            item.get("status", "active"),
        )

    def may_verify(self, at: datetime) -> bool:
        return self.status != "withdrawn" and self.sign_from <= at <= self.verify_until


def _audit(event: str, kid_hex: str, **details) -> None:
    from certificates import audit

    audit.record(event, audit.cli_actor(), kid_hex, **details)


class TrustList:
    """Public keys by kid (a list per kid: on a collision every key is tried)."""

    def __init__(self, keys: list[TrustedKey], issuer: str = config.ISSUER_ID, pdf_roots: list[bytes] | None = None):
        self.keys = keys
        self.issuer = issuer
        self.pdf_roots = list(pdf_roots or [])  # PEM roots of the PDF-signing (PAdES) chain

    def candidates(self, kid: bytes) -> list[TrustedKey]:
        return [k for k in self.keys if k.kid == kid]

    def as_json(self) -> dict:
        return {
            "issuer": self.issuer,
            "issuer_name": config.ISSUER_NAME,
            "keys": [k.as_json() for k in self.keys],
            "pdf_roots": [r.decode("ascii") for r in self.pdf_roots],
        }

    @classmethod
    def from_json(cls, doc: dict) -> TrustList:
        return cls(
            [TrustedKey.from_json(item) for item in doc.get("keys", [])],
            doc.get("issuer", config.ISSUER_ID),
            [r.encode("ascii") for r in doc.get("pdf_roots", [])],
        )


class KeyStore:
    def __init__(self, directory: Path | None = None):
        self.dir = Path(directory or config.keys_dir())
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    @property
    def trust_path(self) -> Path:
        return self.dir / TRUST_FILE

    @contextmanager
    def _lock(self):
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _load_doc(self) -> dict:
        if not self.trust_path.exists():
            return {"issuer": config.ISSUER_ID, "keys": [], "current": None}
        return json.loads(self.trust_path.read_text("utf-8"))

    def _save_doc(self, doc: dict) -> None:
        tmp = self.trust_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2), "utf-8")
        os.replace(tmp, self.trust_path)

    def _private_path(self, kid: bytes) -> Path:
        return self.dir / f"ed25519-{kid.hex()}.pem"

    def _new_key(self, doc: dict, now: datetime) -> bytes:
        private = Ed25519PrivateKey.generate()
        kid = kid_of(private.public_key())
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(self._private_path(kid), pem)
        sign_until = add_months(now, config.KEY_SIGN_MONTHS)
        entry = TrustedKey(
            kid, private.public_key(), now, sign_until, add_months(sign_until, config.VALIDITY_MONTHS), "active"
        )
        doc["keys"].append(entry.as_json())
        doc["current"] = kid.hex()
        return kid

    def signing_key(self) -> tuple[bytes, Ed25519PrivateKey]:
        """The current key, created on first use (and when the current one stopped signing)."""
        with self._lock():
            doc = self._load_doc()
            now = utcnow()
            current = doc.get("current")
            entry = next((k for k in doc["keys"] if k["kid"] == current), None)
            if entry is None or parse_iso(entry["sign_until"]) <= now or entry.get("status") != "active":
                if entry is not None and entry.get("status") == "active":
                    entry["status"] = "retired"
                current = self._new_key(doc, now).hex()
                self._save_doc(doc)
                _audit("key_rotate", current, reason="first key" if entry is None else "previous key stopped signing")
            if current is None:
                raise KeyError("trust list names no current signing key")
            kid = bytes.fromhex(current)
        pem = self._private_path(kid).read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError(f"signing key {kid.hex()} is not an Ed25519 key")
        return kid, key

    def rotate(self) -> bytes:
        """Start a new key; the old one stops signing now but verifies until its verify_until."""
        with self._lock():
            doc = self._load_doc()
            now = utcnow()
            for entry in doc["keys"]:
                if entry.get("status") == "active":
                    entry["status"] = "retired"
                    entry["sign_until"] = iso(min(parse_iso(entry["sign_until"]), now))
            kid = self._new_key(doc, now)
            self._save_doc(doc)
        _audit("key_rotate", kid.hex(), reason="rotate")
        return kid

    def withdraw(self, kid_hex: str) -> None:
        """Remove trust in a key (compromise): everything it signed stops verifying."""
        with self._lock():
            doc = self._load_doc()
            for entry in doc["keys"]:
                if entry["kid"] == kid_hex:
                    entry["status"] = "withdrawn"
            if doc.get("current") == kid_hex:
                doc["current"] = None
            self._save_doc(doc)
        _audit("key_withdraw", kid_hex)

    def trust_list(self) -> TrustList:
        doc = self._load_doc()
        if not doc["keys"]:
            self.signing_key()
            doc = self._load_doc()
        trust = TrustList.from_json(doc)
        root = self.dir / "pades" / "ca.crt"
        if root.exists():  # the PDF-signing root travels with the token keys
            trust.pdf_roots = [root.read_bytes()]
        return trust
