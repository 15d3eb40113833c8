"""Server-side login sessions, referenced by a random token the browser keeps in a cookie.

Only the SHA-256 of a token is stored, so a copy of the accounts file opens no session. A
session ends after 30 idle minutes, on logout, or when its account is removed; every
resolve re-reads the account, so a changed grant applies at once. The clock is injectable
so tests advance time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from dashboards import users

IDLE_TIMEOUT_S = 30 * 60
TOKEN_BYTES = 32


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Sessions:
    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time):
        self.path = path
        self.clock = clock

    def create(self, user: users.User) -> str:
        """A new session for a signed-in account; returns the token for the cookie."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self.clock()
        with users.connect(self.path) as con:
            con.execute(
                "insert into sessions values (?, ?, ?, ?, ?, ?)",
                (_digest(token), user.role, user.unit_id or "", user.username, now, now),
            )
            # expired sessions of anyone are swept here, so the table never grows without bound
            con.execute("delete from sessions where last_seen < ?", (now - IDLE_TIMEOUT_S,))
        return token

    def resolve(self, token: str | None) -> users.User | None:
        """The account behind a live token (and the idle clock restarted), else None."""
        if not token or not isinstance(token, str) or len(token) > 200:
            return None
        key, now = _digest(token), self.clock()
        with users.connect(self.path) as con:
            row = con.execute("select role, unit_id, username, last_seen from sessions where token_hash = ?", (key,))
            found = row.fetchone()
            if found is None:
                return None
            role, unit_id, username, last_seen = found
            if now - last_seen > IDLE_TIMEOUT_S:
                con.execute("delete from sessions where token_hash = ?", (key,))
                return None
            con.execute("update sessions set last_seen = ? where token_hash = ?", (now, key))
        if role == "analyst":
            user = users.get_analyst(username, self.path)
        else:
            user = users.get_unit_account(unit_id, username, self.path)
        if user is None:  # the account was removed meanwhile
            self.end(token)
        return user

    def end(self, token: str | None) -> None:
        if not token:
            return
        with users.connect(self.path) as con:
            con.execute("delete from sessions where token_hash = ?", (_digest(token),))

    def count(self) -> int:
        with users.connect(self.path) as con:
            return int(con.execute("select count(*) from sessions").fetchone()[0])
