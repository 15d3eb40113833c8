"""A crash in the middle of issuing: a real `shebao cert issue` is SIGKILLed at each of its five
steps (rendered, registered, written, audited, completed). Afterwards no completed registry row
lacks its PDF and no PDF lacks its row; a half-issued number is 未知证书 (lookup) and
`unknown_certificate` (its PDF); the next issue rolls the half-issued one back and works.

The kill point comes from the test-only hook SHEBAO_TEST_ISSUE_PAUSE (certificates/pending.py):
the issuer announces the step on stderr and sleeps; the test then kills it with SIGKILL.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from certificates import audit, pending
from certificates.issue import issue_document
from certificates.keys import KeyStore
from certificates.pdf_verify import verify_pdf
from certificates.registry import Registry
from certificates.verify import lookup

pytestmark = pytest.mark.dbt

PARAMS = ["--unit", "U001", "--from", "202401", "--to", "202406"]
HALF_ISSUED = ("registered", "written", "audited")  # a pending row exists after these kills


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    monkeypatch.delenv("SHEBAO_AUDIT_DIR", raising=False)
    monkeypatch.delenv("SHEBAO_CERT_REGISTRY", raising=False)
    monkeypatch.delenv(pending.PAUSE_ENV, raising=False)
    return tmp_path


def _shebao() -> list[str]:
    script = Path(sys.executable).parent / "shebao"
    return [str(script)] if script.exists() else [sys.executable, "-m", "shebao"]


def _issue_killed_at(step: str, home: Path, warehouse: Path, out: Path) -> subprocess.Popen:
    """Start `shebao cert issue`, wait until it pauses at `step`, return it still alive."""
    env = dict(os.environ, SHEBAO_HOME=str(home), **{pending.PAUSE_ENV: step})
    cmd = [*_shebao(), "cert", "issue", "unit-proof", *PARAMS, "--warehouse", str(warehouse), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    deadline, seen = time.monotonic() + 240, b""
    while f"issue paused at {step}".encode() not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"issuer never reached {step}: rc={proc.poll()} stderr={seen.decode(errors='replace')}")
        ready, _, _ = select.select([proc.stderr], [], [], remaining)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096)
    return proc


def _rows(home: Path) -> list[dict]:
    path = home / "certificates.sqlite"
    if not path.exists():
        return []
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("select id, code, state, file_path from certificates")]
    finally:
        con.close()


def _pdfs(folder: Path) -> set[Path]:
    return {p.absolute() for p in folder.glob("*.pdf")}


def _assert_consistent(home: Path, folder: Path) -> None:
    """No completed row without its PDF, no PDF without a row, no partial file left complete."""
    rows = _rows(home)
    complete = {Path(r["file_path"]) for r in rows if r["state"] == "complete"}
    recorded = {Path(r["file_path"]) for r in rows}
    assert all(p.is_file() for p in complete), "a completed registry row lacks its PDF"
    assert _pdfs(folder) <= recorded, "a PDF lacks its registry row"


@pytest.mark.parametrize("step", pending.STEPS)
def test_issue_killed_at_each_step_leaves_registry_and_files_consistent(step, home, built_warehouse):
    KeyStore().signing_key()
    folder = home / "out"
    folder.mkdir()
    killed_out = folder / f"killed-{step}.pdf"
    proc = _issue_killed_at(step, home, built_warehouse, killed_out)

    if step == "registered":  # a live issuer's pending row is never rolled back under it
        assert pending.recover(Registry()) == []
        assert [r["state"] for r in _rows(home)] == ["pending"]
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL

    rows = _rows(home)
    _assert_consistent(home, folder)
    assert not pending.partial_path(killed_out).exists()
    if step == "rendered":
        assert rows == [] and not killed_out.exists()
    elif step in HALF_ISSUED:
        assert [r["state"] for r in rows] == ["pending"]
        half = rows[0]
        assert lookup(Registry(), half["id"], half["code"], count=False).status_zh == "未知证书"
        assert killed_out.exists() == (step != "registered")
        if killed_out.exists():
            kept = home / "kept-copy.pdf"  # the file a crash could leave in someone's hands
            kept.write_bytes(killed_out.read_bytes())
            assert verify_pdf(kept, KeyStore().trust_list(), Registry()).reason == "unknown_certificate"
    else:  # completed: a whole certificate
        assert [r["state"] for r in rows] == ["complete"]
        assert verify_pdf(killed_out, KeyStore().trust_list(), Registry()).reason == "ok"

    nxt = issue_document(
        "unit-proof", {"unit": "U001", "from": "202401", "to": "202406"}, built_warehouse, out=folder / "next.pdf"
    )
    rows = _rows(home)
    _assert_consistent(home, folder)
    assert all(r["state"] == "complete" for r in rows)
    assert verify_pdf(nxt.path, KeyStore().trust_list(), Registry()).reason == "ok"
    survivors = {r["id"] for r in rows}
    if step == "completed":
        assert len(survivors) == 2 and _pdfs(folder) == {killed_out.absolute(), nxt.path.absolute()}
    else:
        assert survivors == {nxt.id} and _pdfs(folder) == {nxt.path.absolute()}
    if step in HALF_ISSUED:
        assert lookup(Registry(), half["id"], half["code"], count=False).status_zh == "未知证书"
        if (home / "kept-copy.pdf").exists():
            verdict = verify_pdf(home / "kept-copy.pdf", KeyStore().trust_list(), Registry())
            assert verdict.reason == "unknown_certificate"
        rollbacks = [e["subject"] for e in audit.AuditLog().entries() if e["event"] == "issue_rollback"]
        assert rollbacks == [half["id"]]
    assert audit.AuditLog().verify() == []
    assert not list(pending.lock_dir(Registry()).iterdir())


def test_the_service_rolls_back_a_dead_issuers_certificate_when_it_starts(home):
    """ "Or on open": the verification service clears half-issued rows before it answers."""
    from certificates.service import create_app

    registry = Registry()
    pdf = home / "half.pdf"
    registry.begin(
        id="202612071100000001",
        code="0" * 16,
        doc_type="UP",
        subject="U001",
        period="202401-202406",
        issued_at="2026-12-07T03:00:00Z",
        expires_at="2027-06-07T03:00:00Z",
        digest="00" * 32,
        kid="00" * 8,
        facts={},
        file_path=str(pdf),
        visual_digest=None,  # not a file this row can prove is its own: left in place
    )
    pending.partial_path(pdf).write_bytes(b"%PDF-1.7 half written")
    pdf.write_bytes(b"%PDF-1.7 someone else's file")
    assert [r.id for r in registry.pending()] == ["202612071100000001"]
    create_app(registry)
    assert registry.pending() == [] and registry.get("202612071100000001") is None
    assert not pending.partial_path(pdf).exists() and pdf.exists()
    rollbacks = [e["subject"] for e in audit.AuditLog().entries() if e["event"] == "issue_rollback"]
    assert rollbacks == ["202612071100000001"]
