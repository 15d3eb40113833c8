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
        "锚点 2：所锚定的第 2 条记录不在日志中（记录被删除）",
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
    assert log_of_five.verify() == [
        "末尾：头记录为第 5 条，日志只到第 4 条（末尾记录被删除或修改）",
        "锚点 5：所锚定的第 5 条记录不在日志中（记录被删除）",
    ]


def _rewrite_consistently(log: audit.AuditLog, seq: int, **details) -> None:
    """What someone with write access but without the anchor key can do: change an entry and
    recompute every hash after it, and the head, so the chain alone looks intact."""
    entries = log.entries()
    entries[seq - 1]["details"].update(details)
    prev = entries[seq - 2]["hash"] if seq > 1 else audit.GENESIS
    for entry in entries[seq - 1 :]:
        entry["prev"] = prev
        entry["hash"] = prev = audit._entry_hash(entry)
    _write(log, [json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries])
    log.head_path.write_text(json.dumps({"seq": entries[-1]["seq"], "hash": prev}), "utf-8")


def test_anchor_key_is_secret_and_every_batch_is_anchored(log_of_five, home, capsys):
    key = home / "keys" / "audit-anchor.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600" and len(key.read_bytes()) == 32
    assert log_of_five.anchor_count() == 5
    assert log_of_five.append_many([audit.Event("verify", "test", "b1"), audit.Event("verify", "test", "b2")]) == 7
    assert log_of_five.anchor_count() == 6  # one anchor per batch
    assert cli.main(["audit", "verify"]) == 0
    assert "审计日志完整：7 条记录，哈希链无断裂，6 个锚点签名有效" in capsys.readouterr().out


def test_consistent_rewrite_of_the_whole_log_is_detected(log_of_five, capsys):
    _rewrite_consistently(log_of_five, 3, reason="revoked")
    assert log_of_five.verify() == [
        "锚点 3：第 3 条记录的哈希与锚定时不同（日志被改写）",
        "锚点 4：第 4 条记录的哈希与锚定时不同（日志被改写）",
        "锚点 5：第 5 条记录的哈希与锚定时不同（日志被改写）",
    ]
    assert cli.main(["audit", "verify"]) == 1
    assert "锚点 3：第 3 条记录的哈希与锚定时不同（日志被改写）" in capsys.readouterr().err


def test_forged_anchors_are_detected(log_of_five):
    """The rewrite with anchors recomputed under a key of the forger's own."""
    _rewrite_consistently(log_of_five, 3, reason="revoked")
    lines = log_of_five.anchor_path.read_text("utf-8").splitlines()
    forged, prev = [], audit.GENESIS
    by_seq = {e["seq"]: e["hash"] for e in log_of_five.entries()}
    for line in lines:
        anchor = json.loads(line)
        anchor["hash"] = by_seq[anchor["seq"]]
        anchor["prev"] = prev
        anchor["mac"] = prev = audit._anchor_mac(b"k" * 32, anchor["n"], anchor["seq"], anchor["hash"], prev)
        forged.append(json.dumps(anchor) + "\n")
    log_of_five.anchor_path.write_text("".join(forged), "utf-8")
    assert log_of_five.verify() == [
        f"锚点 {n}：签名无效或与上一锚点不连续（锚点被伪造、删除或调换）" for n in range(1, 6)
    ]


def test_missing_anchors_are_detected(log_of_five, home):
    lines = log_of_five.anchor_path.read_text("utf-8").splitlines(keepends=True)
    log_of_five.anchor_path.write_text("".join(lines[:2] + lines[3:]), "utf-8")  # the third one deleted
    assert log_of_five.verify() == [
        "锚点 3：签名无效或与上一锚点不连续（锚点被伪造、删除或调换）",
        "锚点 4：签名无效或与上一锚点不连续（锚点被伪造、删除或调换）",
    ]
    log_of_five.anchor_path.unlink()
    assert log_of_five.verify() == ["锚点：第 1 至 5 条记录在最后一个锚点之后，没有锚定签名（记录被追加）"]
    (home / "keys" / "audit-anchor.key").unlink()
    assert log_of_five.verify() == [
        f"锚点：找不到锚定密钥 {home / 'keys' / 'audit-anchor.key'}，无法确认日志未被整体改写"
    ]


def test_entries_after_the_last_anchor_are_detected(log_of_five):
    """A well-chained entry appended by hand (and the head moved along) has no anchor."""
    last = log_of_five.entries()[-1]
    entry = {"seq": 6, "at": last["at"], "event": "revoke", "actor": "cli:x", "subject": "1", "details": {}}
    entry["prev"] = last["hash"]
    entry["hash"] = audit._entry_hash(entry)
    _write(log_of_five, _lines(log_of_five) + [json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"])
    log_of_five.head_path.write_text(json.dumps({"seq": 6, "hash": entry["hash"]}), "utf-8")
    assert log_of_five.verify() == ["锚点：第 6 条记录在最后一个锚点之后，没有锚定签名（记录被追加）"]
    lines = log_of_five.anchor_path.read_text("utf-8").splitlines(keepends=True)
    log_of_five.anchor_path.write_text("".join(lines[:-1]), "utf-8")  # and the last anchor dropped
    assert log_of_five.verify() == ["锚点：第 5 至 6 条记录在最后一个锚点之后，没有锚定签名（记录被追加）"]


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
