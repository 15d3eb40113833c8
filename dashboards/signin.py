"""The login form's check: password, throttling per account and per address, and the audit trail.

Per account, 5 failures are free; after that each failure closes the account for 30 s,
doubling with every further failure, and from the 10th failure for 15 minutes. Per address
the same steps start at 20 failures (30 s, doubling every 5 failures) and reach 15 minutes
at 40, which slows a guesser spreading over many accounts. While closed, even the right
password is refused (the password is not checked, so a refusal reveals nothing). A success
clears the account's count; counts are forgotten after an hour without failures. Every
attempt, refused ones included, goes to the certificates' audit log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dashboards import users

FREE_FAILURES = 5
LOCKOUT_AFTER = 10
BASE_DELAY_S = 30
LOCKOUT_S = 15 * 60
ADDRESS_FREE_FAILURES = 20
ADDRESS_LOCKOUT_AFTER = 40
ADDRESS_DOUBLING_EVERY = 5
FORGET_AFTER_S = 3600


def account_delay(failures: int) -> int:
    """Seconds an account stays closed after its `failures`-th consecutive failure."""
    if failures < FREE_FAILURES:
        return 0
    if failures >= LOCKOUT_AFTER:
        return LOCKOUT_S
    return min(BASE_DELAY_S * 2 ** (failures - FREE_FAILURES), LOCKOUT_S)


def address_delay(failures: int) -> int:
    """Seconds an address stays closed after its `failures`-th failure."""
    if failures < ADDRESS_FREE_FAILURES:
        return 0
    if failures >= ADDRESS_LOCKOUT_AFTER:
        return LOCKOUT_S
    steps = (failures - ADDRESS_FREE_FAILURES) // ADDRESS_DOUBLING_EVERY
    return min(BASE_DELAY_S * 2**steps, LOCKOUT_S)


def wait_text(seconds: float) -> str:
    seconds = math.ceil(seconds)
    return f"{math.ceil(seconds / 60)} 分钟" if seconds >= 60 else f"{seconds} 秒"


@dataclass(frozen=True)
class Attempt:
    user: users.User | None
    message: str | None = None  # Chinese, for the form
    wait_s: float = 0.0  # > 0 when the attempt was refused unchecked


class Throttle:
    """Failure counters per (scope, key) in the accounts file."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock

    def _row(self, scope: str, key: str) -> tuple[int, float]:
        with users.connect(self.path) as con:
            row = con.execute(
                "select failures, last_failure from login_failures where scope = ? and key = ?", (scope, key)
            ).fetchone()
        if row is None:
            return 0, 0.0
        failures, last = int(row[0]), float(row[1])
        delay = account_delay(failures) if scope == "account" else address_delay(failures)
        if self.clock() - last > max(FORGET_AFTER_S, delay):
            return 0, 0.0
        return failures, last

    def remaining(self, scope: str, key: str) -> float:
        """Seconds until the key may try again (0: open)."""
        failures, last = self._row(scope, key)
        delay = account_delay(failures) if scope == "account" else address_delay(failures)
        return max(0.0, last + delay - self.clock())

    def failures(self, scope: str, key: str) -> int:
        return self._row(scope, key)[0]

    def fail(self, scope: str, key: str) -> int:
        failures = self._row(scope, key)[0] + 1
        with users.connect(self.path) as con:
            con.execute(
                "insert or replace into login_failures values (?, ?, ?, ?)", (scope, key, failures, self.clock())
            )
        return failures

    def clear(self, scope: str, key: str) -> None:
        with users.connect(self.path) as con:
            con.execute("delete from login_failures where scope = ? and key = ?", (scope, key))


def account_key(role: str, unit_id: str | None, username: str) -> str:
    return f"{role}:{(unit_id or '').casefold()}:{username.casefold()}"


def attempt(
    role: str,
    username: str,
    password: str,
    unit_id: str | None = None,
    address: str | None = None,
    *,
    path: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> Attempt:
    """One login attempt from the form, throttled and audited."""
    username, unit_id = username.strip()[:64], (unit_id or "").strip()[:64] or None
    address = (address or "unknown")[:64]
    throttle = Throttle(path, clock)
    akey = account_key(role, unit_id, username)
    who = f"{unit_id}/{username}" if role == "employer" else username
    wait = max(throttle.remaining("account", akey), throttle.remaining("address", address))
    if wait > 0:
        _audit(False, who, path, reason="throttled", address=address, wait_s=math.ceil(wait))
        return Attempt(None, f"登录失败次数过多，请 {wait_text(wait)}后再试。", wait)
    user = users.authenticate(role, username, password, unit_id, path)
    if user is None:
        failures = throttle.fail("account", akey)
        throttle.fail("address", address)
        _audit(False, who, path, reason="wrong_password_or_account", address=address, failures=failures)
        message = "单位编号、用户名或密码不正确。" if role == "employer" else "用户名或密码不正确。"
        delay = account_delay(failures)
        if delay:
            message += f"已连续失败 {failures} 次，请 {wait_text(delay)}后再试。"
        elif FREE_FAILURES - failures <= 2:
            message += f"再失败 {FREE_FAILURES - failures} 次将暂停登录。"
        return Attempt(None, message)
    throttle.clear("account", akey)
    _audit(True, who, path, reason=user.level or user.role, address=address)
    return Attempt(user)


def _audit(ok: bool, who: str, path: Path | None, **details) -> None:
    """Every attempt in the audit trail (next to the accounts file when it is not the default one)."""
    from certificates.audit import AuditLog

    log = AuditLog(Path(path).parent / "audit") if path is not None else AuditLog()
    log.append("login_ok" if ok else "login_failed", f"dashboard:{who[:64]}", who[:64], **details)
