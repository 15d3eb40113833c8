"""The certificate registry: its own SQLite file under SHEBAO_HOME (WAL), never the warehouse.

WAL mode and one short connection per operation let the verification service and the
CLI (issuing, revoking) use it at the same time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from certificates import config

SCHEMA = """
create table if not exists certificates (
    id text primary key,
    code text not null unique,
    doc_type text not null,
    subject text not null,
    period text not null,
    issued_at text not null,
    expires_at text not null,
    digest text not null,
    kid text not null,
    status text not null default 'valid' check (status in ('valid', 'revoked', 'superseded')),
    status_reason text,
    status_changed_at text,
    superseded_by text,
    facts text not null,
    file_path text,
    verification_count integer not null default 0,
    last_verified_at text,
    visual_digest text,
    state text not null default 'complete' check (state in ('pending', 'complete')),
    build_id text,
    data_as_of text
);
create index if not exists certificates_subject on certificates (doc_type, subject, period, status);
create index if not exists certificates_issued on certificates (doc_type, issued_at);
"""
# columns added after the first registries were created: (name, declaration)
LATER_COLUMNS = [
    ("visual_digest", "visual_digest text"),
    ("state", "state text not null default 'complete' check (state in ('pending', 'complete'))"),
    ("build_id", "build_id text"),
    ("data_as_of", "data_as_of text"),
]
PENDING_INDEX = "create index if not exists certificates_pending on certificates (state) where state = 'pending'"
# every read a verifier or an issuer sees skips half-issued rows
COMPLETE = "state = 'complete'"


@dataclass(frozen=True)
class Record:
    id: str
    code: str
    doc_type: str
    subject: str
    period: str
    issued_at: str
    expires_at: str
    digest: str
    kid: str
    status: str
    status_reason: str | None
    status_changed_at: str | None
    superseded_by: str | None
    facts: dict
    file_path: str | None
    verification_count: int
    last_verified_at: str | None
    visual_digest: str | None = None
    state: str = "complete"
    build_id: str | None = None
    data_as_of: str | None = None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Registry:
    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or config.registry_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self.connect() as con:
            con.executescript(SCHEMA)
            columns = {r["name"] for r in con.execute("pragma table_info(certificates)")}
            for name, declaration in LATER_COLUMNS:
                if name not in columns:
                    con.execute(f"alter table certificates add column {declaration}")
            con.execute(PENDING_INDEX)

    @contextmanager
    def connect(self):
        """This thread's open connection to the registry.

        Opening a connection and setting its pragmas cost more than the query itself, and
        the verification service asks on every request; each thread keeps one connection
        (SQLite connections are not shared across threads). Every statement runs in
        autocommit or an explicit transaction, so a reused connection holds no state.
        """
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("pragma journal_mode=wal")
            con.execute("pragma busy_timeout=30000")
            # WAL + NORMAL: commits no longer wait for an fsync each (a verification count per
            # request made p99 latency jump); the database stays consistent after a crash.
            con.execute("pragma synchronous=normal")
            con.row_factory = sqlite3.Row
            self._local.con = con
        try:
            yield con
        except BaseException:
            if con.in_transaction:
                con.execute("rollback")
            raise

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    @staticmethod
    def _record(row) -> Record | None:
        if row is None:
            return None
        data = dict(row)
        data["facts"] = json.loads(data["facts"])
        return Record(**data)

    def add(self, *, void_previous: bool = False, **fields) -> list[str]:
        """Insert a complete certificate in one step (see begin/complete for issuing)."""
        self.begin(**fields)
        return self.complete(fields["id"], void_previous=void_previous)

    def begin(
        self,
        *,
        id: str,
        code: str,
        doc_type: str,
        subject: str,
        period: str,
        issued_at: str,
        expires_at: str,
        digest: str,
        kid: str,
        facts: dict,
        file_path: str | None = None,
        visual_digest: str | None = None,
        build_id: str | None = None,
        data_as_of: str | None = None,
        guard: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        """First phase of issuing: a pending row, invisible to every lookup until `complete`.

        `guard` runs inside the transaction before the insert (the daily issuing limit, which
        counts pending rows too) and may raise."""
        with self.connect() as con:
            con.execute("begin immediate")
            try:
                if guard is not None:
                    guard(con)
                con.execute(
                    "insert into certificates (id, code, doc_type, subject, period, issued_at, expires_at, digest,"
                    " kid, facts, file_path, visual_digest, build_id, data_as_of, state)"
                    " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                    (
                        id,
                        code,
                        doc_type,
                        subject,
                        period,
                        issued_at,
                        expires_at,
                        digest,
                        kid,
                        json.dumps(facts, ensure_ascii=False),
                        file_path,
                        visual_digest,
                        build_id,
                        data_as_of,
                    ),
                )
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise

    def complete(self, cert_id: str, *, void_previous: bool = False) -> list[str]:
        """Second phase: the row becomes a certificate; earlier valid ones for the same document
        stay valid unless `void_previous`, when they become superseded by it (returns those voided).

        A copy an employer already handed to a bank must not silently turn 已被替换."""
        with self.connect() as con:
            con.execute("begin immediate")
            try:
                row = con.execute(
                    "select doc_type, subject, period from certificates where id = ? and state = 'pending'",
                    (cert_id,),
                ).fetchone()
                if row is None:
                    raise LookupError(f"no pending certificate {cert_id}")
                older = (
                    [
                        r["id"]
                        for r in con.execute(
                            "select id from certificates where doc_type = ? and subject = ? and period = ?"
                            f" and status = 'valid' and {COMPLETE}",
                            (row["doc_type"], row["subject"], row["period"]),
                        )
                    ]
                    if void_previous
                    else []
                )
                con.execute("update certificates set state = 'complete' where id = ?", (cert_id,))
                con.executemany(
                    "update certificates set status = 'superseded', superseded_by = ?, status_changed_at = ?,"
                    " status_reason = '已重新开具' where id = ?",
                    [(cert_id, _now(), o) for o in older],
                )
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        return older

    def pending(self) -> list[Record]:
        with self.connect() as con:
            rows = con.execute("select * from certificates where state = 'pending' order by issued_at, id")
            return [rec for r in rows if (rec := self._record(r)) is not None]

    def discard_pending(self, cert_id: str) -> bool:
        """Delete a pending row (a half-issued certificate being rolled back); never a complete one."""
        with self.connect() as con:
            cur = con.execute("delete from certificates where id = ? and state = 'pending'", (cert_id,))
            return cur.rowcount == 1

    def exists(self, cert_id: str) -> bool:
        """Whether the number is taken, pending or not (new numbers must never repeat one)."""
        with self.connect() as con:
            return con.execute("select 1 from certificates where id = ?", (cert_id,)).fetchone() is not None

    def find_valid(self, doc_type: str, period: str, subject: str) -> list[Record]:
        """Valid certificates for one document (type, subject, period); a subject ending in '/'
        matches every subject under it (a unit's payment notices)."""
        with self.connect() as con:
            if subject.endswith("/"):
                rows = con.execute(
                    "select * from certificates where doc_type = ? and period = ? and substr(subject, 1, ?) = ?"
                    f" and status = 'valid' and {COMPLETE} order by issued_at, id",
                    (doc_type, period, len(subject), subject),
                )
            else:
                rows = con.execute(
                    "select * from certificates where doc_type = ? and period = ? and subject = ? and status = 'valid'"
                    f" and {COMPLETE} order by issued_at, id",
                    (doc_type, period, subject),
                )
            return [rec for r in rows if (rec := self._record(r)) is not None]

    def set_file(self, cert_id: str, file_path: str) -> None:
        with self.connect() as con:
            con.execute("update certificates set file_path = ? where id = ?", (file_path, cert_id))

    def get(self, cert_id: str) -> Record | None:
        with self.connect() as con:
            return self._record(
                con.execute(f"select * from certificates where id = ? and {COMPLETE}", (cert_id,)).fetchone()
            )

    def revoke(self, cert_id: str, reason: str) -> bool:
        with self.connect() as con:
            cur = con.execute(
                "update certificates set status = 'revoked', status_reason = ?, status_changed_at = ?"
                f" where id = ? and status <> 'revoked' and {COMPLETE}",
                (reason, _now(), cert_id),
            )
            return cur.rowcount == 1

    def count_verification(self, cert_id: str) -> Record | None:
        """Count one verification (可多次验证) and return the record as it now stands."""
        with self.connect() as con:
            row = con.execute(
                "update certificates set verification_count = verification_count + 1, last_verified_at = ?"
                f" where id = ? and {COMPLETE} returning *",
                (_now(), cert_id),
            ).fetchone()
            return self._record(row)

    def all(self) -> list[Record]:
        with self.connect() as con:
            rows = con.execute(f"select * from certificates where {COMPLETE} order by issued_at, id")
            return [rec for r in rows if (rec := self._record(r)) is not None]
