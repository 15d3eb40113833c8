"""Re-issuing leaves the earlier certificate valid unless the employer voids it, and the daily
issuing limits from reference data (seed 001: 5 a day for personal proofs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from certificates import limits
from certificates.issue import issue_document
from certificates.registry import Registry
from certificates.service import create_app
from shebao import cli

pytestmark = pytest.mark.unit

PROOF = ["cert", "issue", "unit-proof", "--unit", "U001", "--from", "202401", "--to", "202406"]
# 2026-12-02 00:30 Beijing time is still 2026-12-01 in UTC: the day is counted in Beijing
NOW = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    return built_warehouse


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    return tmp_path


def _record(registry: Registry, cert_id: str, doc_type: str, subject: str, period: str, at: datetime) -> None:
    registry.add(
        id=cert_id,
        code=cert_id[-16:],
        doc_type=doc_type,
        subject=subject,
        period=period,
        issued_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        expires_at=(at + timedelta(days=180)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        digest="00" * 32,
        kid="00" * 8,
        facts={},
    )


def _issued_id(out: str) -> str:
    return next(line.split(": ")[1] for line in out.splitlines() if line.startswith("证明编号"))


def test_two_certificates_for_the_same_period_are_both_valid_unless_voided(home, warehouse, capsys):
    assert cli.main([*PROOF, "--warehouse", str(warehouse), "--out", str(home / "a.pdf")]) == 0
    first = _issued_id(capsys.readouterr().out)
    assert cli.main([*PROOF, "--warehouse", str(warehouse), "--out", str(home / "b.pdf")]) == 0
    out = capsys.readouterr().out
    second = _issued_id(out)
    assert f"同一证明期间已开具的 {first} 仍然有效（如需作废，请使用 --void-previous 重新开具）" in out
    client = TestClient(create_app())
    registry = Registry()
    for cert_id in (first, second):
        assert registry.get(cert_id).status == "valid"
    assert cli.main(["cert", "verify", str(home / "a.pdf")]) == 0
    assert cli.main(["cert", "verify", str(home / "b.pdf")]) == 0

    argv = [*PROOF, "--warehouse", str(warehouse), "--out", str(home / "c.pdf"), "--void-previous"]
    capsys.readouterr()
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    third = _issued_id(out)
    assert f"已作废并由本证明替换: {first}, {second}" in out
    for cert_id in (first, second):
        record = registry.get(cert_id)
        assert (record.status, record.superseded_by) == ("superseded", third)
    body = client.post("/api/verify-pdf", files={"file": ("a.pdf", (home / "a.pdf").read_bytes())}).json()
    assert (body["reason"], body["status_zh"], body["superseded_by"]) == ("superseded", "已被替换", third)
    page = client.post("/pdf", files={"file": ("a.pdf", (home / "a.pdf").read_bytes())}).text
    assert "替换为证明编号" in page and third in page and f"请向出具单位索取证明编号为 {third} 的新证明" in page
    assert registry.get(third).status == "valid"


def test_personal_proofs_at_most_five_a_day(home, warehouse, capsys):
    assert limits.limits()["rights-statement"] == limits.Limit("rights-statement", "person", 5)
    registry = Registry()
    for i in range(4):  # four more the same Beijing day (recorded without rendering)
        _record(registry, f"20261202300000000{i}", "RS", "P001", "202406", NOW + timedelta(minutes=10 * i))
    _record(registry, "202612013000000009", "RS", "P001", "202406", NOW - timedelta(hours=1, minutes=1))  # day before
    issue_document("rights-statement", {"person": "P001", "period": "202406"}, warehouse, now=NOW)
    with pytest.raises(limits.IssueLimitReached) as caught:
        issue_document("rights-statement", {"person": "P001", "period": "202406"}, warehouse, now=NOW)
    assert str(caught.value) == (
        "今日开具次数已达上限：个人 P001 的个人权益记录单每天最多可开具 5 次（2026年12月02日已开具 5 次），请明天再试"
    )
    assert len(registry.all()) == 6  # nothing recorded, no file left for the refused one
    assert not list((home / "certificates").glob("*.tmp"))
    # the next Beijing day the same person may be issued again
    issue_document("rights-statement", {"person": "P001", "period": "202406"}, warehouse, now=NOW + timedelta(days=1))


def test_limit_message_from_the_cli_and_counted_per_unit(home, warehouse, capsys):
    registry = Registry()
    today = datetime.now(UTC).replace(microsecond=0)
    for i in range(20):  # a unit's twentieth proof of the day, recorded without rendering
        _record(registry, f"2026120110000000{i:02d}", "UP", "U001", "202401-202406", today)
    capsys.readouterr()
    assert cli.main([*PROOF, "--warehouse", str(warehouse)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("开具失败：今日开具次数已达上限：单位 U001 的单位参保证明每天最多可开具 20 次")
    assert len(err.splitlines()) == 1  # one line, no traceback
    argv = ["cert", "issue", "unit-proof", "--unit", "U002", "--from", "202407", "--to", "202412"]
    assert cli.main([*argv, "--warehouse", str(warehouse)]) == 0  # another unit is not affected


def test_limit_scopes_by_subject():
    assert limits.scope_of("contribution-record", "U002/P001") == ("person", "P001")
    assert limits.scope_of("rights-statement", "P001") == ("person", "P001")
    assert limits.scope_of("payment-notice", "U001/320522090037") == ("unit", "U001")
    assert limits.scope_of("summary-proof", "U001") == ("unit", "U001")
