"""Dashboard accounts: analysts, and per unit a 法定代表人 / 单位管理员 / 经办人 hierarchy (seed 003).

The agency (the `shebao users` CLI) creates a unit's 法定代表人, and only for a unit registered
in the serving copy. Inside the dashboard the 法定代表人 adds and removes 单位管理员 and 经办人,
a 单位管理员 adds and removes 经办人, and both grant an 经办人 the services it may use; nobody
acts outside their own unit. Analysts live in their own table and sign in with their own
identity, so an analyst name can never stand for a unit.

Passwords are stored as scrypt hashes (salted, memory-hard) in a small SQLite file under
SHEBAO_HOME, never in the warehouse (the pipeline replaces that) nor in the source tree.
The same file holds the login sessions and the throttle counters (sessions.py, signin.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dashboards.policy import (  # noqa: F401 (re-exported: callers use users.X)
    ADMIN,
    CLERK,
    DOWNLOAD,
    EXPORT,
    LEGAL_REP,
    LEGAL_REP_USERNAME,
    LEVELS,
    RANK,
    SERVICES,
    VIEW,
    AccountError,
    check_name,
    check_password,
    level_of,
    new_password,
    registered_unit,
    services_of,
)
from foundation import paths

USERS_FILE = "dashboard_users.sqlite"
# scrypt cost: n=2**14, r=8, p=1 (about 16 MB, tens of ms): slow for guessing, fine for a login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
ROLES = ("employer", "analyst")

SCHEMA = """
create table if not exists analysts (
    username text primary key, salt blob not null, pw_hash blob not null,
    n integer not null, r integer not null, p integer not null, created_at text not null);
create table if not exists unit_accounts (
    unit_id text not null, username text not null, level text not null, services text not null,
    created_by text not null, salt blob not null, pw_hash blob not null,
    n integer not null, r integer not null, p integer not null, created_at text not null,
    primary key (unit_id, username));
create unique index if not exists one_legal_rep on unit_accounts (unit_id) where level = '法定代表人';
create table if not exists sessions (
    token_hash text primary key, role text not null, unit_id text not null, username text not null,
    created_at real not null, last_seen real not null);
create table if not exists login_failures (
    scope text not null, key text not null, failures integer not null, last_failure real not null,
    primary key (scope, key));
"""


@dataclass(frozen=True)
class User:
    username: str
    role: str  # "employer" or "analyst"
    unit_id: str | None
    level: str | None = None
    services: frozenset[str] = field(default_factory=frozenset)

    def can(self, service: str) -> bool:
        """Whether this account may use a service: analysts view and export; a 法定代表人 or
        单位管理员 has every service of the unit; an 经办人 only those granted."""
        if self.role == "analyst":
            return service in (VIEW, EXPORT)
        return self.level in (LEGAL_REP, ADMIN) or service in self.services

    @property
    def manages(self) -> bool:
        return self.role == "employer" and self.level in (LEGAL_REP, ADMIN)

    @property
    def label(self) -> str:
        if self.role == "analyst":
            return f"分析员 {self.username}"
        return f"单位 {self.unit_id} · {self.level} {self.username}"


def users_db_path(home: Path | str | None = None) -> Path:
    base = Path(home).expanduser().resolve() if home else paths.shebao_home()
    base.mkdir(parents=True, exist_ok=True)
    return base / USERS_FILE


_READY: set[tuple[str, int]] = set()  # (file, inode) whose tables exist: each page load opens it several times


def connect(path: Path | None = None) -> sqlite3.Connection:
    """The accounts file, its tables created (and a one-table file of an older version migrated)."""
    path = path or users_db_path()
    con = sqlite3.connect(str(path), timeout=15)
    key = (str(path), path.stat().st_ino)
    if key not in _READY:
        con.executescript(SCHEMA)
        if con.execute("select 1 from sqlite_master where type = 'table' and name = 'users'").fetchone():
            _migrate(con)
        _READY.add(key)
    return con


def _migrate(con: sqlite3.Connection) -> None:
    """Older files held one `users` table: analysts move to theirs, a unit's login becomes its 法人."""
    with con:
        con.execute(
            "insert or ignore into analysts select username, salt, pw_hash, n, r, p, created_at "
            "from users where role = 'analyst'"
        )
        con.execute(
            "insert or ignore into unit_accounts select unit_id, ?, ?, '', 'migrated', salt, pw_hash, n, r, p, "
            "created_at from users where role = 'employer' and unit_id is not null",
            (LEGAL_REP_USERNAME, LEGAL_REP),
        )
        con.execute("drop table users")


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def _new_hash(password: str) -> tuple[bytes, bytes, int, int, int]:
    salt = secrets.token_bytes(16)
    return salt, _hash(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P), SCRYPT_N, SCRYPT_R, SCRYPT_P


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- rules


def _services_text(services: frozenset[str]) -> str:
    return ",".join(s for s in SERVICES if s in services)


def _check_manager(by: User | None, unit_id: str, target_level: str) -> None:
    """The agency (by=None) may do anything; an account only below its own level in its own unit."""
    if by is None:
        return
    if by.role != "employer" or not by.manages:
        raise AccountError("只有法定代表人或单位管理员可以管理账号")
    if by.unit_id != unit_id:
        raise AccountError("只能管理本单位的账号")
    if RANK[target_level] >= RANK[by.level or CLERK]:
        raise AccountError(f"{by.level}不能管理{target_level}账号")


# ---------------------------------------------------------------- accounts


def add_analyst(username: str, password: str, path: Path | None = None) -> User:
    """Create or reset an analyst account (the agency's CLI)."""
    username = check_name(username, "用户名")
    check_password(password, username=username)
    with connect(path) as con:
        con.execute(
            "insert or replace into analysts values (?, ?, ?, ?, ?, ?, ?)", (username, *_new_hash(password), _now())
        )
    return User(username, "analyst", None)


def add_unit_account(
    unit_id: str,
    username: str,
    password: str,
    level: str = LEGAL_REP,
    services: Iterable[str] = (),
    *,
    by: User | None = None,
    path: Path | None = None,
    unit_exists: Callable[[str], bool] | None = None,
) -> User:
    """Create an account of a unit. `by` is the logged-in account creating it (None: the agency's
    CLI, which may also reset an existing account's password); the unit must be registered."""
    unit_id = check_name(unit_id, "单位编号")
    username = check_name(username, "用户名")
    level = level_of(level)
    granted = services_of(services) if level == CLERK else frozenset(SERVICES)
    _check_manager(by, unit_id, level)
    if by is None and not (unit_exists or registered_unit)(unit_id):
        raise AccountError(f"单位编号 {unit_id} 未登记，不能为其创建账号")
    check_password(password, username=username, unit_id=unit_id)
    with connect(path) as con:
        existing = con.execute(
            "select level from unit_accounts where unit_id = ? and username = ?", (unit_id, username)
        ).fetchone()
        if existing and (by is not None or existing[0] != level):
            raise AccountError(f"单位 {unit_id} 已有用户名为 {username} 的{existing[0]}账号")
        if level == LEGAL_REP and not existing:
            other = con.execute(
                "select username from unit_accounts where unit_id = ? and level = ?", (unit_id, LEGAL_REP)
            ).fetchone()
            if other:
                raise AccountError(f"单位 {unit_id} 已有法定代表人账号 {other[0]}")
        con.execute(
            "insert or replace into unit_accounts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                unit_id,
                username,
                level,
                _services_text(granted),
                by.username if by else "agency",
                *_new_hash(password),
                _now(),
            ),
        )
    return User(username, "employer", unit_id, level, granted if level == CLERK else frozenset(SERVICES))


def add_user(
    username: str, password: str, role: str = "employer", unit_id: str | None = None, path: Path | None = None
) -> User:
    """Shorthand the demo and tests use: an analyst, or the 法定代表人 (login 法人) of unit `unit_id or username`."""
    if role not in ROLES:
        raise AccountError(f"未知角色：{role}")
    if role == "analyst":
        return add_analyst(username, password, path)
    return add_unit_account(unit_id or username, LEGAL_REP_USERNAME, password, LEGAL_REP, path=path)


def get_unit_account(unit_id: str, username: str, path: Path | None = None) -> User | None:
    with connect(path) as con:
        row = con.execute(
            "select level, services from unit_accounts where unit_id = ? and username = ?", (unit_id, username)
        ).fetchone()
    if row is None:
        return None
    level, services = row
    granted = frozenset(s for s in services.split(",") if s)
    return User(username, "employer", unit_id, level, granted)


def get_analyst(username: str, path: Path | None = None) -> User | None:
    with connect(path) as con:
        found = con.execute("select 1 from analysts where username = ?", (username,)).fetchone()
    return User(username, "analyst", None) if found else None


def remove_unit_account(unit_id: str, username: str, *, by: User | None = None, path: Path | None = None) -> None:
    """Remove an account below `by` in its unit; its sessions end with it."""
    target = get_unit_account(unit_id, username, path)
    if target is None:
        raise AccountError(f"单位 {unit_id} 没有用户名为 {username} 的账号")
    _check_manager(by, unit_id, target.level or CLERK)
    with connect(path) as con:
        con.execute("delete from unit_accounts where unit_id = ? and username = ?", (unit_id, username))
        con.execute(
            "delete from sessions where role = 'employer' and unit_id = ? and username = ?", (unit_id, username)
        )


def remove_analyst(username: str, path: Path | None = None) -> None:
    with connect(path) as con:
        if con.execute("delete from analysts where username = ?", (username,)).rowcount == 0:
            raise AccountError(f"没有用户名为 {username} 的分析员账号")
        con.execute("delete from sessions where role = 'analyst' and username = ?", (username,))


def grant(unit_id: str, username: str, services: Iterable[str], *, by: User | None, path: Path | None = None) -> User:
    """Set the services of an 经办人 (what it may use replaces what it had)."""
    target = get_unit_account(unit_id, username, path)
    if target is None:
        raise AccountError(f"单位 {unit_id} 没有用户名为 {username} 的账号")
    if target.level != CLERK:
        raise AccountError(f"{target.level}默认拥有全部权限，只有经办人需要授权")
    _check_manager(by, unit_id, CLERK)
    granted = services_of(services)
    with connect(path) as con:
        con.execute(
            "update unit_accounts set services = ? where unit_id = ? and username = ?",
            (_services_text(granted), unit_id, username),
        )
    return User(username, "employer", unit_id, CLERK, granted)


def change_password(user: User, old: str, new: str, path: Path | None = None) -> None:
    """A signed-in account changes its own password (the old one is asked again)."""
    if authenticate(user.role, user.username, old, user.unit_id, path) is None:
        raise AccountError("原密码不正确")
    check_password(new, username=user.username, unit_id=user.unit_id)
    with connect(path) as con:
        if user.role == "analyst":
            con.execute(
                "update analysts set salt = ?, pw_hash = ?, n = ?, r = ?, p = ? where username = ?",
                (*_new_hash(new), user.username),
            )
        else:
            con.execute(
                "update unit_accounts set salt = ?, pw_hash = ?, n = ?, r = ?, p = ? "
                "where unit_id = ? and username = ?",
                (*_new_hash(new), user.unit_id, user.username),
            )


def list_unit_accounts(unit_id: str, path: Path | None = None) -> list[dict]:
    with connect(path) as con:
        rows = con.execute(
            "select username, level, services, created_by, created_at from unit_accounts where unit_id = ?",
            (unit_id,),
        ).fetchall()
    rows.sort(key=lambda r: (-RANK.get(r[1], 0), r[0]))
    return [
        {"username": u, "level": lv, "services": [s for s in svc.split(",") if s], "created_by": by, "created_at": at}
        for u, lv, svc, by, at in rows
    ]


def list_users(path: Path | None = None) -> list[User]:
    """Every account: analysts first, then units' accounts by unit and level."""
    with connect(path) as con:
        analysts = [User(u, "analyst", None) for (u,) in con.execute("select username from analysts order by 1")]
        units = [
            User(u, "employer", unit, lv, frozenset(s for s in svc.split(",") if s))
            for unit, u, lv, svc in con.execute("select unit_id, username, level, services from unit_accounts")
        ]
    units.sort(key=lambda x: (x.unit_id or "", -RANK.get(x.level or "", 0), x.username))
    return analysts + units


# ---------------------------------------------------------------- passwords


def authenticate(
    role: str, username: str, password: str, unit_id: str | None = None, path: Path | None = None
) -> User | None:
    """The account if the password matches, else None (the same work whether or not it exists).

    No throttling or audit here: signin.attempt() wraps this for the login form."""
    with connect(path) as con:
        if role == "analyst":
            row = con.execute("select salt, pw_hash, n, r, p from analysts where username = ?", (username,)).fetchone()
        else:
            row = con.execute(
                "select salt, pw_hash, n, r, p from unit_accounts where unit_id = ? and username = ?",
                (unit_id or "", username),
            ).fetchone()
    if row is None:
        _hash(password, b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)  # equalise timing
        return None
    salt, stored, n, r, p = row
    if not hmac.compare_digest(_hash(password, salt, n, r, p), stored):
        return None
    return get_analyst(username, path) if role == "analyst" else get_unit_account(unit_id or "", username, path)


def ensure_demo_accounts(unit_ids: list[str], path: Path | None = None) -> list[tuple[str, str, str]]:
    """Fresh random passwords for an analyst and the given units' 法人, for `shebao demo` to print:
    (login, role, password), where a unit's login reads `U001 / 法人`."""
    accounts = []
    password = new_password("analyst")
    add_analyst("analyst", password, path)
    accounts.append(("analyst", "analyst", password))
    for unit_id in unit_ids:
        password = new_password(LEGAL_REP_USERNAME, unit_id)
        add_user(unit_id, password, "employer", path=path)
        accounts.append((f"{unit_id} / {LEGAL_REP_USERNAME}", "employer", password))
    return accounts
