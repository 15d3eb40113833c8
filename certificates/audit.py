"""The audit trail: one JSON line per event under $SHEBAO_HOME/audit, hash-chained.

Each entry carries its sequence number and the hash of the entry before it, and its own
hash over both, so an edited, deleted or reordered entry breaks the chain. A head file
(last sequence number and hash) written after every append also catches a cut-off tail.
Appends from several processes (CLI, service, dashboard) are serialised with a file lock.

The chain alone does not stop someone who rewrites the whole log consistently. So every
appended batch is anchored: a line in anchors.jsonl with the batch's last sequence number
and hash, the previous anchor's MAC and an HMAC-SHA256 over all of them under a secret key
(keys/audit-anchor.key, 0600, never in the audit folder). `verify` then also finds a
rewritten log, a forged or missing anchor, and entries appended after the last anchor.

The verification service does not write on its request path: it queues entries and a
background thread appends them in batches (AuditBuffer).
"""

from __future__ import annotations

import atexit
import fcntl
import getpass
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from certificates import config
from foundation.paths import shebao_home

LOG_FILE, HEAD_FILE, ANCHOR_FILE = "audit.jsonl", "head.json", "anchors.jsonl"
ANCHOR_KEY_FILE = "audit-anchor.key"
ANCHOR_DOMAIN = b"shebao-audit-anchor-v1\n"
FLUSH_CHUNK = 500  # entries per append when the service flushes its queue
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


def _body_json(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(_body_json(body).encode()).hexdigest()


def anchor_key_path() -> Path:
    return config.keys_dir() / ANCHOR_KEY_FILE


def _anchor_key(path: Path, create: bool) -> bytes | None:
    """The secret anchor key, created 0600 on the first append (O_EXCL: two creators agree)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        if not create:
            return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    key = os.urandom(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _anchor_mac(key: bytes, number: int, seq: int, entry_hash: str, prev_mac: str) -> str:
    message = ANCHOR_DOMAIN + f"{number}:{seq}:{entry_hash}:{prev_mac}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass
class Event:
    event: str
    actor: str
    subject: str = ""
    details: dict = field(default_factory=dict)
    at: str = field(default_factory=_now)


class AuditLog:
    def __init__(self, directory: Path | str | None = None, anchor_key: Path | str | None = None):
        self.dir = Path(directory or audit_dir())
        self.path = self.dir / LOG_FILE
        self.head_path = self.dir / HEAD_FILE
        self.anchor_path = self.dir / ANCHOR_FILE
        self.anchor_key_path = Path(anchor_key) if anchor_key else anchor_key_path()

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
                body = {
                    "seq": seq,
                    "at": ev.at,
                    "event": ev.event,
                    "actor": ev.actor[:120],
                    "subject": ev.subject[:120],
                    "details": ev.details,
                    "prev": prev,
                }
                text = _body_json(body)  # serialised once: hashed, then written with its hash
                prev = hashlib.sha256(text.encode()).hexdigest()
                lines.append(f'{text[:-1]},"hash":"{prev}"}}\n')
            _append_durably(self.path, "".join(lines))
            self._anchor(seq, prev)
            tmp = self.head_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"seq": seq, "hash": prev}), "utf-8")
            os.replace(tmp, self.head_path)
            return seq

    def anchor_count(self) -> int:
        return len(self._anchors())

    def _anchors(self) -> list[dict]:
        if not self.anchor_path.exists():
            return []
        out = []
        with self.anchor_path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    item = {}
                out.append(item if isinstance(item, dict) else {})
        return out

    def _anchor(self, seq: int, entry_hash: str) -> None:
        """Sign the batch just appended (under the append lock)."""
        key = _anchor_key(self.anchor_key_path, create=True)
        assert key is not None
        anchors = self._anchors()
        number = len(anchors) + 1
        prev_mac = str(anchors[-1].get("mac", "")) if anchors else GENESIS
        mac = _anchor_mac(key, number, seq, entry_hash, prev_mac)
        line = {"n": number, "seq": seq, "hash": entry_hash, "at": _now(), "prev": prev_mac, "mac": mac}
        _append_durably(self.anchor_path, json.dumps(line) + "\n")

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
        return problems + self._verify_anchors(entries)

    def _verify_anchors(self, entries: list[dict]) -> list[str]:
        """Each anchor's MAC, its chain, and that the log still holds the hashes it signed."""
        if not entries:
            return []
        key = _anchor_key(self.anchor_key_path, create=False)
        if key is None:
            return [f"锚点：找不到锚定密钥 {self.anchor_key_path}，无法确认日志未被整体改写"]
        by_seq = {e.get("seq"): e.get("hash") for e in entries if "_broken" not in e}
        problems, prev_mac, last = [], GENESIS, 0
        for number, anchor in enumerate(self._anchors(), 1):
            seq, entry_hash = anchor.get("seq"), str(anchor.get("hash"))
            expected = _anchor_mac(key, number, seq if isinstance(seq, int) else -1, entry_hash, prev_mac)
            if anchor.get("n") != number or not hmac.compare_digest(str(anchor.get("mac", "")), expected):
                problems.append(f"锚点 {number}：签名无效或与上一锚点不连续（锚点被伪造、删除或调换）")
            elif seq not in by_seq:
                problems.append(f"锚点 {number}：所锚定的第 {seq} 条记录不在日志中（记录被删除）")
            elif by_seq[seq] != entry_hash:
                problems.append(f"锚点 {number}：第 {seq} 条记录的哈希与锚定时不同（日志被改写）")
            prev_mac = str(anchor.get("mac", ""))
            last = max(last, seq) if isinstance(seq, int) else last
        final = entries[-1].get("seq")
        if isinstance(final, int) and final > last:
            span = f"第 {final} 条记录" if final == last + 1 else f"第 {last + 1} 至 {final} 条记录"
            problems.append(f"锚点：{span}在最后一个锚点之后，没有锚定签名（记录被追加）")
        return problems


def _append_durably(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


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
        """Append the queue in chunks; the request path's lock is held only to swap the queue,
        and the thread yields between chunks so requests are not held up by a long flush."""
        with self.lock:
            pending, self.queue = self.queue, []
        for start in range(0, len(pending), FLUSH_CHUNK):
            if start:
                time.sleep(0)
            self.log.append_many(pending[start : start + FLUSH_CHUNK])
        return len(pending)
