"""The PDF names the build it came from, and a certificate is only issued from the newest build:
the registry keeps the build id and 数据截至 of the serving copy the figures were read from,
the footer prints them, and a publish between reading and signing makes the issuer read again."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from certificates import issue, render
from certificates.issue import issue_document
from certificates.keys import KeyStore
from certificates.pdf_verify import verify_pdf
from certificates.registry import Registry
from foundation import paths, serving
from shebao import cli

pytestmark = pytest.mark.dbt

PARAMS = {"unit": "U001", "from": "202401", "to": "202406"}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SHEBAO_VERIFY_BASE", raising=False)
    monkeypatch.delenv("SHEBAO_AUDIT_DIR", raising=False)
    monkeypatch.delenv("SHEBAO_CERT_REGISTRY", raising=False)
    return tmp_path / "home"


def _expected_build(warehouse: Path) -> tuple[str, dt.date]:
    """What meta.build_info of the serving copy says, spelled as the footer spells it."""
    with serving.connect(warehouse) as con:
        cur = con.execute("select * from meta.build_info")
        row = dict(zip([d[0] for d in cur.description], cur.fetchone()))
    if row.get("build_id"):
        return str(row["build_id"]), row["as_of"]
    return f"{row['published_at']:%Y%m%d%H%M%S}-{row['inputs_fingerprint'][:8]}", row["as_of"]


def _private_copy(built: Path, into: Path) -> Path:
    """The test warehouse's folder without its Dagster instance and landing files."""
    shutil.copytree(built.parent, into, ignore=shutil.ignore_patterns("dagster", "landing", "*.lock"))
    return into / built.name


def test_registry_and_footer_name_the_serving_build(home, built_warehouse):
    build_id, as_of = _expected_build(built_warehouse)
    assert as_of == dt.date(2025, 4, 15)
    cert = issue_document("unit-proof", PARAMS, built_warehouse, out=home / "a.pdf")
    record = Registry().get(cert.id)
    assert record is not None
    assert (record.build_id, record.data_as_of) == (build_id, "2025-04-15")
    assert (cert.build_id, cert.data_as_of) == (build_id, as_of)
    pages = [text.replace(" ", "") for text in render.page_texts(cert.path.read_bytes())]
    assert all(f"数据截至2025年04月15日\u3000数据版本{build_id}" in text for text in pages), pages[0][-200:]
    assert verify_pdf(cert.path, KeyStore().trust_list(), Registry()).reason == "ok"


def test_a_publish_while_signing_makes_the_issuer_read_the_new_build(home, tmp_path, built_warehouse, monkeypatch):
    warehouse = _private_copy(built_warehouse, tmp_path / "wh")
    old_id, _ = _expected_build(warehouse)
    real_sign, reads = issue._sign, []

    def sign_then_publish(doc, build, *args):
        signed = real_sign(doc, build, *args)
        reads.append(build.id)
        if len(reads) == 1:  # a new build lands after the figures were read, before recording
            con = duckdb.connect(str(paths.serving_path(warehouse)))
            con.execute(
                "update meta.build_info set published_at = published_at + interval 1 hour, as_of = date '2025-04-16'"
            )
            con.close()
        return signed

    monkeypatch.setattr(issue, "_sign", sign_then_publish)
    cert = issue_document("unit-proof", PARAMS, warehouse, out=home / "b.pdf")
    new_id, new_as_of = _expected_build(warehouse)
    assert new_id != old_id and reads == [old_id, new_id]
    assert (cert.build_id, cert.data_as_of) == (new_id, new_as_of) == (new_id, dt.date(2025, 4, 16))
    text = render.canonical_text(cert.path.read_bytes())
    assert f"数据截至2025年04月16日数据版本{new_id}" in text and old_id not in text
    assert len(Registry().all()) == 1  # the copy signed from the old build was never recorded


def test_builds_published_without_pause_give_a_clear_message(home, built_warehouse, monkeypatch, capsys):
    # every look after signing finds another file published, each with a newer build
    monkeypatch.setattr(issue.serving, "still_current", lambda warehouse, identity: False)
    monkeypatch.setattr(issue, "current_build", lambda warehouse: issue.Build("always-newer", None))
    code = cli.main(
        ["cert", "issue", "unit-proof", "--unit", "U001", "--from", "202401", "--to", "202406"]
        + ["--warehouse", str(built_warehouse), "--out", str(home / "c.pdf")]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == "开具失败：开具期间数据副本连续更新，请稍后重试"
    assert not (home / "c.pdf").exists() and Registry().all() == []


def test_one_serving_connection_per_issue(home, built_warehouse, monkeypatch):
    """The stale-build check looks at the file read, without opening the copy again."""
    opened = []
    real_open = serving.open_snapshot

    def counting(*args, **kw):
        opened.append(args)
        return real_open(*args, **kw)

    monkeypatch.setattr(serving, "open_snapshot", counting)
    issue_document("unit-proof", PARAMS, built_warehouse, out=home / "one.pdf")
    assert len(opened) == 1


def test_still_current_sees_a_rewrite_and_a_publish(tmp_path, built_warehouse):
    warehouse = _private_copy(built_warehouse, tmp_path / "wh")
    with serving.open_snapshot(warehouse) as snap:
        seen = snap.identity()
    assert serving.still_current(warehouse, seen)
    con = duckdb.connect(str(paths.serving_path(warehouse)))  # the build rewritten in place
    con.execute("update meta.build_info set as_of = as_of + 1")
    con.close()
    assert not serving.still_current(warehouse, seen)
    with serving.open_snapshot(warehouse) as snap:
        seen = snap.identity()
    current = paths.serving_path(warehouse)  # a publish: another file, named by the pointer
    shutil.copyfile(current, current.with_name("next.duckdb"))
    (current.parent / paths.SERVING_POINTER).write_text("next.duckdb", "utf-8")
    assert not serving.still_current(warehouse, seen)
    assert not serving.still_current(tmp_path / "nowhere" / "warehouse.duckdb", seen)


def test_read_build_of_old_and_bare_copies():
    con = duckdb.connect()
    assert issue.read_build(con) == issue.Build("unknown", None)  # no meta.build_info at all
    con.execute("create schema meta")
    con.execute(
        "create table meta.build_info as select timestamp '2025-04-16 08:30:00' as published_at,"
        " date '2025-04-15' as as_of, 'abcdef0123456789' as inputs_fingerprint"
    )
    assert issue.read_build(con) == issue.Build("20250416083000-abcdef01", dt.date(2025, 4, 15))
    con.execute("alter table meta.build_info add column build_id varchar default 'b-42/../x'")
    assert issue.read_build(con) == issue.Build("b-42..x", dt.date(2025, 4, 15))
