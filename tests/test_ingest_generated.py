"""The loader against the sample generator: every planted error is quarantined where it was planted."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.ingest import loader

generate = pytest.importorskip("shebao.generate")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    landing = root / "landing"
    info = generate.generate_landing(landing, persons=60, months=("202401", "202406"), inject_errors=True)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    reports = loader.load_landing(con, landing)
    yield landing, info, con, reports
    con.close()


def test_every_planted_row_error_is_quarantined_at_its_file_row_and_field(loaded):
    landing, _info, con, _reports = loaded
    expected = json.loads((landing / "expected_errors.json").read_text(encoding="utf-8"))
    rows = {(e["file"], e["row"]): e for e in expected if e["row"] is not None}
    got = {
        (f, r): (field, value, reason)
        for f, r, field, value, reason in con.execute(
            "select source_file, source_row, field, value, reason from raw.quarantine"
        ).fetchall()
    }
    assert set(got) == set(rows)  # nothing more, nothing less
    for key, e in rows.items():
        field, value, reason = got[key]
        assert reason.startswith(f"文件 {e['file']} 第{e['row']}行 ")
        if e["field"] is not None:
            assert (field, value) == (e["field"], e["value"])
        else:  # the planted duplicate line
            assert "重复记录" in reason and e["value"].replace("的重复", "") in reason


def test_duplicate_file_is_recognised_and_counts_reconcile(loaded):
    landing, info, con, reports = loaded
    expected = json.loads((landing / "expected_errors.json").read_text(encoding="utf-8"))
    (dup,) = [e for e in expected if e["kind"] == "duplicate_file"]
    by_file = {f.file: f for r in reports.values() for f in r.files}
    assert by_file[dup["file"]].status == "already_loaded"
    assert by_file[dup["value"]].status == "loaded"
    for f in by_file.values():
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_skipped
        if f.status == "loaded":
            assert f.rows_read - f.rows_skipped == info["rows"][f.file]
            assert f.rows_skipped == (2 if f.file.endswith(".xlsx") else 0)  # example + instruction row
    assert sum(r.rows_loaded for r in reports.values()) == sum(
        con.execute(f"select count(*) from raw.{s}").fetchone()[0] for s in loader.SOURCE_ORDER
    )


def test_second_run_loads_nothing(loaded):
    landing, _info, con, _reports = loaded
    again = loader.load_landing(con, landing)
    assert all(f.status == "already_loaded" for r in again.values() for f in r.files)
    assert sum(r.rows_read for r in again.values()) == 0
