"""The audit trail: one JSON line per event under $SHEBAO_HOME/audit, hash-chained.

Each entry carries its sequence number and the hash of the entry before it, and its own
hash over both, so an edited, deleted or reordered entry breaks the chain. A head file
(last sequence number and hash) written after every append also catches a cut-off tail.
Appends from several processes (CLI, service, dashboard) are serialised with a file lock.

The verification service does not write on its request path: it queues entries and a
background thread appends them in batches (AuditBuffer).
"""

from __future__ import annotations

import atexit
import fcntl
import getpass
import hashlib
import json
import os
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from foundation.paths import shebao_home

LOG_FILE, HEAD_FILE = "audit.jsonl", "head.json"
GENESIS = "0" * 64
EVENTS = {
    "issue": "开具",
    "issue_rollback": "开具回滚",
    "void": "作废",
    "revoke": "撤销",
    "key_rotate": "密钥轮换",
    "key_withdraw": "密钥撤回",
    "login_ok": "登录成功",
    "login_failed": "登录失败",
    "download": "下载",
    "verify": "验证",
}


def audit_dir() -> Path:
    return Path(os.environ.get("SHEBAO_AUDIT_DIR", shebao_home() / "audit"))


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(
        json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


@dataclass
class Event:
    event: str
    actor: str
    subject: str = ""
    details: dict = field(default_factory=dict)
    at: str = field(default_factory=_now)


class AuditLog:
    def __init__(self, directory: Path | str | None = None):
        self.dir = Path(directory or audit_dir())
        self.path = self.dir / LOG_FILE
        self.head_path = self.dir / HEAD_FILE

    @contextmanager
    def _lock(self):
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _head(self) -> tuple[int, str]:
        try:
            head = json.loads(self.head_path.read_text("utf-8"))
            return int(head["seq"]), str(head["hash"])
        except FileNotFoundError:
            return 0, GENESIS

    def append_many(self, events: Iterable[Event]) -> int:
        """Append events in order under the lock; returns the last sequence number."""
        events = list(events)
        if not events:
            return self._head()[0]
        with self._lock():
            seq, prev = self._head()
            lines = []
            for ev in events:
                if ev.event not in EVENTS:
                    raise ValueError(f"unknown audit event {ev.event!r}")
                seq += 1
                entry = {
                    "seq": seq,
                    "at": ev.at,
                    "event": ev.event,
                    "actor": ev.actor[:120],
                    "subject": ev.subject[:120],
                    "details": ev.details,
                    "prev": prev,
                }
                entry["hash"] = prev = _entry_hash(entry)
                lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write("".join(lines))
                fh.flush()
                os.fsync(fh.fileno())
            tmp = self.head_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seq": seq, "hash": prev}), "utf-8")
            os.replace(tmp, self.head_path)
            return seq

    def append(self, event: str, actor: str, subject: str = "", **details) -> int:
        return self.append_many([Event(event, actor, subject, details)])

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    out.append({"_line": number, "_broken": line[:80]})
        return out

    def verify(self) -> list[str]:
        """Every break in the chain, in Chinese, naming the line; empty when the log is intact."""
        problems = []
        prev, expected_seq = GENESIS, 1
        entries = self.entries()
        for number, entry in enumerate(entries, 1):
            if "_broken" in entry:
                problems.append(f"第 {number} 行：不是有效的审计记录")
                continue
            seq = entry.get("seq")
            if seq != expected_seq:
                what = "缺少前面的记录（被删除）" if isinstance(seq, int) and seq > expected_seq else "顺序被调换"
                problems.append(f"第 {number} 行：序号 {seq}，应为 {expected_seq}，{what}")
            if entry.get("prev") != prev:
                problems.append(f"第 {number} 行：与上一条记录的哈希链不符（记录被删除或调换）")
            if _entry_hash(entry) != entry.get("hash"):
                problems.append(f"第 {number} 行：内容与其哈希不符（记录被修改）")
            prev = str(entry.get("hash"))
            expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
        head_seq, head_hash = self._head()
        last_seq = entries[-1].get("seq", 0) if entries else 0
        if (head_seq, head_hash) != (last_seq, prev):
            problems.append(f"末尾：头记录为第 {head_seq} 条，日志只到第 {expected_seq - 1} 条（末尾记录被删除或修改）")
        return problems


_default_lock = threading.Lock()


def record(event: str, actor: str, subject: str = "", **details) -> None:
    """Append one event to the default log (raises if it cannot: an action must not pass unaudited)."""
    with _default_lock:
        AuditLog().append(event, actor, subject, **details)


class AuditBuffer:
    """Queued events appended by a background thread every `interval` seconds (and at exit)."""

    def __init__(self, log: AuditLog | None = None, interval: float = 1.0):
        self.log = log or AuditLog()
        self.interval = interval
        self.queue: list[Event] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        atexit.register(self.flush)

    def add(self, event: str, actor: str, subject: str = "", **details) -> None:
        with self.lock:
            self.queue.append(Event(event, actor, subject, details))
        if self.thread is None:
            self._start()

    def _start(self) -> None:
        with self.lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="audit-flush", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            self.flush()

    def flush(self) -> int:
        with self.lock:
            pending, self.queue = self.queue, []
        self.log.append_many(pending)
        return len(pending)
