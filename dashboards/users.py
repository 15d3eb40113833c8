"""Dashboard accounts: one login per employer unit, plus analyst accounts.

Passwords are stored as scrypt hashes (salted, memory-hard) in a small SQLite file under
SHEBAO_HOME, never in the warehouse (the pipeline replaces that) nor in the source tree.
An employer's login name is its unit number; the unit an employer sees comes from here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from foundation import paths

USERS_FILE = "dashboard_users.sqlite"
# scrypt cost: n=2**14, r=8, p=1 (about 16 MB, tens of ms): slow for guessing, fine for a login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8
ROLES = ("employer", "analyst")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    unit_id: str | None


def users_db_path(home: Path | str | None = None) -> Path:
    base = Path(home).expanduser().resolve() if home else paths.shebao_home()
    base.mkdir(parents=True, exist_ok=True)
    return base / USERS_FILE


def _connect(path: Path | None) -> sqlite3.Connection:
    path = path or users_db_path()
    con = sqlite3.connect(str(path))
    con.execute(
        """create table if not exists users (
               username text primary key, role text not null, unit_id text,
               salt blob not null, pw_hash blob not null, n integer not null, r integer not null,
               p integer not null, created_at text not null)"""
    )
    return con


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def add_user(
    username: str, password: str, role: str = "employer", unit_id: str | None = None, path: Path | None = None
) -> User:
    """Create or replace an account; an employer's unit defaults to its username (the unit number)."""
    if role not in ROLES:
        raise ValueError(f"未知角色：{role}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    unit_id = unit_id or username if role == "employer" else None
    salt = secrets.token_bytes(16)
    digest = _hash(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    with _connect(path) as con:
        con.execute(
            "insert or replace into users values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                username,
                role,
                unit_id,
                salt,
                digest,
                SCRYPT_N,
                SCRYPT_R,
                SCRYPT_P,
                dt.datetime.now().isoformat(timespec="seconds"),
            ),
        )
    return User(username, role, unit_id)


def verify_user(username: str, password: str, path: Path | None = None) -> User | None:
    """The account if the password matches, else None (same work whether or not the user exists)."""
    with _connect(path) as con:
        row = con.execute(
            "select role, unit_id, salt, pw_hash, n, r, p from users where username = ?", (username,)
        ).fetchone()
    if row is None:
        _hash(password, b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)  # equalise timing
        _audit_login(False, username, path, "no such account")
        return None
    role, unit_id, salt, stored, n, r, p = row
    if not hmac.compare_digest(_hash(password, salt, n, r, p), stored):
        _audit_login(False, username, path, "wrong password")
        return None
    _audit_login(True, username, path, role)
    return User(username, role, unit_id)


def _audit_login(ok: bool, username: str, path: Path | None, detail: str) -> None:
    """Every dashboard login attempt, in the audit trail next to the accounts file."""
    from certificates.audit import AuditLog

    log = AuditLog(Path(path).parent / "audit") if path is not None else AuditLog()
    log.append("login_ok" if ok else "login_failed", f"dashboard:{username[:64]}", username[:64], detail=detail)


def list_users(path: Path | None = None) -> list[User]:
    with _connect(path) as con:
        return [User(*row) for row in con.execute("select username, role, unit_id from users order by username")]


def ensure_demo_accounts(unit_ids: list[str], path: Path | None = None) -> list[tuple[str, str, str]]:
    """Fresh random passwords for an analyst and the given units, for `shebao demo` to print."""
    accounts = []
    for username, role in [("analyst", "analyst")] + [(u, "employer") for u in unit_ids]:
        password = secrets.token_urlsafe(9)
        add_user(username, password, role, path=path)
        accounts.append((username, role, password))
    return accounts
