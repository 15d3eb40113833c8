"""Crash-safe issuing: the lock an issuer holds on its half-issued certificate, the rollback of
those whose issuer died, the durable write of the PDF, and a test-only fault hook.

Issuing is two-phase (issue.py): a pending registry row, then the PDF written to
`<name>.partial`, fsynced and renamed into place, then the row completed. While it works the
issuer holds an exclusive `flock` on `<registry>.issuing/<number>.lock`; the kernel drops it
when the process dies, even by SIGKILL. A pending row whose lock can be taken therefore
belongs to a dead issuer: `recover` deletes its PDF (only if it is that certificate's file)
and the row, and audits the rollback. A pending row is never visible to a lookup, so a
half-issued number verifies as 未知证书 until then.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from certificates import audit
from certificates.registry import Record, Registry

# Test-only: `SHEBAO_TEST_ISSUE_PAUSE=<step>` makes an issuing process announce the step on
# stderr and sleep there, so a fault test can SIGKILL it at exactly that point. Never set in
# production; unset, `checkpoint` costs one dictionary lookup.
PAUSE_ENV = "SHEBAO_TEST_ISSUE_PAUSE"
STEPS = ("rendered", "registered", "written", "audited", "completed")
PAUSE_SECONDS = 600


def checkpoint(step: str) -> None:
    if os.environ.get(PAUSE_ENV) == step:
        print(f"issue paused at {step}", file=sys.stderr, flush=True)
        time.sleep(PAUSE_SECONDS)


def lock_dir(registry: Registry) -> Path:
    path = registry.path.parent / f"{registry.path.name}.issuing"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _try_lock(path: Path, blocking: bool) -> int | None:
    """An exclusive flock on `path`, or None if another process holds it. A lock taken on a
    file that was unlinked meanwhile (by another process cleaning up) is retried on the new one."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _release(path: Path, fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextlib.contextmanager
def issuing_lock(registry: Registry, cert_id: str) -> Iterator[None]:
    """Held from before the pending row is written until the row is complete or rolled back."""
    path = lock_dir(registry) / f"{cert_id}.lock"
    fd = _try_lock(path, blocking=True)
    assert fd is not None
    try:
        yield
    finally:
        _release(path, fd)


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def write_durably(path: Path, data: bytes) -> None:
    """`<name>.partial`, fsync, rename, fsync the folder: the file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _is_its_file(path: Path, record: Record) -> bool:
    """The PDF at the row's path is this certificate's (not a later issue to the same --out)."""
    from certificates import pdf_verify

    if not record.visual_digest:
        return False
    try:
        return pdf_verify.visual_digest(path.read_bytes()).hex() == record.visual_digest
    except Exception:  # an unreadable file is not ours to delete
        return False


def _roll_back(registry: Registry, record: Record) -> None:
    if record.file_path:
        path = Path(record.file_path)
        partial_path(path).unlink(missing_ok=True)
        if path.exists() and _is_its_file(path, record):
            path.unlink()
    registry.discard_pending(record.id)
    audit.record("issue_rollback", "system:recovery", record.id, doc_type=record.doc_type, of=record.subject)


def recover(registry: Registry) -> list[str]:
    """Roll back every pending row whose issuer is gone; returns their numbers."""
    rolled: list[str] = []
    for record in registry.pending():
        path = lock_dir(registry) / f"{record.id}.lock"
        fd = _try_lock(path, blocking=False)
        if fd is None:  # its issuer is still at work
            continue
        try:
            still = [r for r in registry.pending() if r.id == record.id]
            if still:
                _roll_back(registry, still[0])
                rolled.append(record.id)
        finally:
            _release(path, fd)
    for path in lock_dir(registry).glob("*.lock"):  # left by an issuer killed after completing
        fd = _try_lock(path, blocking=False)
        if fd is not None:
            _release(path, fd)
    return rolled
