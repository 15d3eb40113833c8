"""The audit trail: every kind of event lands in one hash-chained log, and `shebao audit verify`
finds an edited, a deleted and a reordered entry (and a cut-off tail)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from certificates import audit
from certificates.issue import issue_document
from certificates.keys import KeyStore
from certificates.service import create_app
from dashboards import signin, users
from shebao import cli

pytestmark = pytest.mark.unit


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    monkeypatch.delenv("SHEBAO_AUDIT_DIR", raising=False)
    return tmp_path


@pytest.fixture
def log_of_five(home) -> audit.AuditLog:
    log = audit.AuditLog()
    for i in range(5):
        log.append("verify", "test", f"20261201100000000{i}", reason="ok")
    assert log.verify() == []
    return log


def _lines(log: audit.AuditLog) -> list[str]:
    return log.path.read_text("utf-8").splitlines(keepends=True)


def _write(log: audit.AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(lines), "utf-8")


def test_audit_verify_passes_on_an_intact_log(log_of_five, capsys):
    assert cli.main(["audit", "verify"]) == 0
    assert "审计日志完整：5 条记录，哈希链无断裂" in capsys.readouterr().out


def test_edited_entry_is_detected(log_of_five, capsys):
    lines = _lines(log_of_five)
    entry = json.loads(lines[2])
    entry["details"]["reason"] = "revoked"  # the change a cover-up would make
    lines[2] = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    _write(log_of_five, lines)
    assert log_of_five.verify() == ["第 3 行：内容与其哈希不符（记录被修改）"]
    assert cli.main(["audit", "verify"]) == 1
    assert "第 3 行：内容与其哈希不符（记录被修改）" in capsys.readouterr().err


def test_deleted_entry_is_detected(log_of_five):
    lines = _lines(log_of_five)
    del lines[1]
    _write(log_of_five, lines)
    assert log_of_five.verify() == [
        "第 2 行：序号 3，应为 2，缺少前面的记录（被删除）",
        "第 2 行：与上一条记录的哈希链不符（记录被删除或调换）",
    ]
    assert cli.main(["audit", "verify"]) == 1


def test_reordered_entries_are_detected(log_of_five):
    lines = _lines(log_of_five)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log_of_five, lines)
    problems = log_of_five.verify()
    assert problems[:2] == [
        "第 2 行：序号 3，应为 2，缺少前面的记录（被删除）",
        "第 2 行：与上一条记录的哈希链不符（记录被删除或调换）",
    ]
    assert "第 3 行：序号 2，应为 4，顺序被调换" in problems
    assert cli.main(["audit", "verify"]) == 1


def test_cut_off_tail_is_detected(log_of_five):
    _write(log_of_five, _lines(log_of_five)[:-1])
    assert log_of_five.verify() == ["末尾：头记录为第 5 条，日志只到第 4 条（末尾记录被删除或修改）"]


def test_every_action_is_audited(home, capsys, tmp_path, built_warehouse):
    warehouse = built_warehouse
    KeyStore().signing_key()  # first key
    a = issue_document("payment-notice", {"unit": "U001", "period": "202503"}, warehouse, out=home / "a.pdf")
    b = issue_document(
        "payment-notice", {"unit": "U001", "period": "202503"}, warehouse, out=home / "b.pdf", void_previous=True
    )
    assert cli.main(["cert", "revoke", b.id, "--reason", "单位申请作废"]) == 0
    assert cli.main(["keys", "rotate"]) == 0
    assert cli.main(["cert", "verify", a.token]) == 1  # superseded
    users.add_unit_account("U001", "法人", "correct-horse", unit_exists=lambda u: users.registered_unit(u, warehouse))
    assert signin.attempt("employer", "法人", "correct-horse", "U001").user is not None
    assert signin.attempt("employer", "法人", "wrong-password", "U001").user is None
    app = create_app()
    client = TestClient(app)
    assert client.get(f"/api/verify/{b.token}").json()["reason"] == "revoked"
    assert app.state.audit.flush() == 1
    from dashboards import certs

    issued = certs.issue("payment-notice", "U001", "202503", "202503", warehouse=warehouse)
    events = [(e["event"], e["subject"]) for e in audit.AuditLog().entries()]
    kid = KeyStore().trust_list().keys[0].kid.hex()
    assert events[:2] == [("key_rotate", kid), ("issue", a.id)]
    assert events[2:4] == [("issue", b.id), ("void", a.id)]
    assert events[4] == ("revoke", b.id)
    assert events[5][0] == "key_rotate" and events[6] == ("verify", a.id)
    assert events[7:9] == [("login_ok", "U001/法人"), ("login_failed", "U001/法人")]
    assert events[9] == ("verify", b.id)
    assert events[10:] == [("issue", issued.cert_id), ("download", issued.cert_id)]
    entries = audit.AuditLog().entries()
    assert entries[9]["actor"] == "service:testclient" and entries[9]["details"] == {
        "reason": "revoked",
        "channel": "api",
    }
    assert entries[8]["details"] == {"reason": "wrong_password_or_account", "address": "unknown", "failures": 1}
    assert audit.AuditLog().verify() == []
    out = tmp_path / "audit.csv"
    assert cli.main(["audit", "export", "--out", str(out)]) == 0
    assert len(out.read_text("utf-8-sig").splitlines()) == len(entries) + 1
    frame, breaks = certs.audit_frame()
    assert breaks == [] and list(frame["事件"][:2]) == ["下载", "开具"]
