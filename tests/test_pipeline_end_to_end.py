"""The whole path on a small generated sample: landing folder -> Dagster -> GX -> dbt -> serving copy.

One module-scoped run (it costs about a minute); the tests read what it left behind, then
re-run it to prove idempotency and that a reader holding the serving copy never blocks it.
"""

import json
from pathlib import Path

import duckdb
import pytest

from foundation import paths
from pipelines.run import run_pipeline
from shebao.generate import generate_landing

AS_OF = "2026-11-23"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SHEBAO_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    landing = home / "landing"
    generate_landing(landing, persons=60, months=("202501", "202610"), seed=7, inject_errors=True)
    warehouse = home / "warehouse.duckdb"
    summary = run_pipeline(landing, warehouse, AS_OF)
    yield {"home": home, "landing": landing, "warehouse": warehouse, "summary": summary}
    mp.undo()


def _fetch(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_run_succeeds_and_reports_every_stage(built):
    summary = built["summary"]
    assert summary.success, summary.lines()
    assert set(summary.ingestion) == {"employers", "persons", "enrolments", "ledgers"}
    assert summary.checks
    failed = {(name, severity) for _, name, passed, severity in summary.checks if not passed}
    # The planted soft finding fails the non-blocking amounts suite (a warning); nothing else fails.
    assert failed == {("gx_contribution_amounts", "WARN")}
    check_names = {name for _, name, _, _ in summary.checks}
    assert {"gx_employers", "gx_persons", "gx_enrolments", "gx_ledgers", "gx_contribution_amounts"} <= check_names
    for mart in (
        "fct_contributions",
        "dim_persons",
        "dim_units",
        "fct_enrolments",
        "fct_arrears",
        "rpt_rights_statement",
        "dim_retirement_age_rules",
    ):
        assert summary.marts[f"marts.{mart}"] > 0
    text = "\n".join(summary.lines())
    assert "FAILED (WARN) int_contribution_checks :: gx_contribution_amounts" in text
    assert "Result: success" in text


def test_soft_findings_are_loaded_and_reported_with_file_and_row(built):
    findings = json.loads((built["landing"] / "expected_findings.json").read_text())
    assert findings
    wh = built["warehouse"]
    reported = _fetch(wh, "select source_file, source_row, finding_type from marts.rpt_data_quality_findings")
    for f in findings:
        assert (f["file"], f["row"]) in {(file, row) for file, row, _ in reported}
        loaded = _fetch(
            wh, f"select personal_amount from raw.ledgers where source_file = '{f['file']}' and source_row = {f['row']}"
        )
        assert [str(a) for (a,) in loaded] == [f["value"]]


def test_every_bad_row_is_quarantined_with_a_reason_naming_it(built):
    expected = json.loads((built["landing"] / "expected_errors.json").read_text())
    rows = _fetch(built["warehouse"], "select source_file, source_row, field, reason from raw.quarantine")
    got = {(f, r) for f, r, _, _ in rows}
    want = {(e["file"], e["row"]) for e in expected if e["kind"] != "duplicate_file"}
    assert got == want
    for source_file, row, _field, reason in rows:
        assert reason.startswith(f"文件 {source_file} 第{row}行")
    reasons = " ".join(r for *_, r in rows)
    assert "校验位错误" in reasons and "202313" in reasons and "未知的险种类型" in reasons


def test_per_file_counts_reconcile_and_match_the_tables(built):
    wh = built["warehouse"]
    files = _fetch(
        wh,
        "select source, source_file, status, rows_read, rows_loaded, rows_quarantined, rows_skipped "
        "from raw.load_files",
    )
    assert files
    for _source, name, _status, read, loaded, quarantined, skipped in files:
        assert read == loaded + quarantined + skipped, name
    statuses = {status for _, _, status, *_ in files}
    assert statuses <= {"loaded", "already_loaded"}
    assert "already_loaded" in statuses  # the same ledger file dropped twice under another name
    skipped = sum(f[6] for f in files if f[1].endswith(".xlsx"))
    assert skipped > 0  # employer-template example and instruction rows
    for source in ("employers", "persons", "enrolments", "ledgers"):
        loaded = sum(f[4] for f in files if f[0] == source)
        assert _fetch(wh, f"select count(*) from raw.{source}")[0][0] == loaded
    ledger_lines = _fetch(wh, "select count(*) from raw.ledgers where superseded_at is null")[0][0]
    assert _fetch(wh, "select count(*) from marts.fct_contributions")[0][0] == ledger_lines


def test_gb18030_and_xlsx_files_loaded(built):
    files = _fetch(built["warehouse"], "select source_file, rows_loaded from raw.load_files where source = 'ledgers'")
    by_name = dict(files)
    assert any(name.endswith(".xlsx") and n > 0 for name, n in by_name.items())
    gb = [name for name in by_name if name.endswith(".csv") and _not_utf8(built["landing"] / name)]
    assert gb and all(by_name[name] > 0 for name in gb)


def _not_utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
        return False
    except UnicodeDecodeError:
        return True


def test_serving_copy_holds_the_marts_and_build_info(built):
    serving = paths.serving_path(built["warehouse"])
    assert serving.exists() and serving.parent == built["warehouse"].parent / "serving"
    assert _fetch(serving, "select as_of from meta.build_info")[0][0].isoformat() == AS_OF
    schemas = {s for (s,) in _fetch(serving, "select distinct schema_name from duckdb_tables()")}
    assert schemas == {"marts", "reference", "meta"}  # no raw schema: quarantine and load files are marts
    served = {t for (t,) in _fetch(serving, "select table_name from duckdb_tables() where schema_name = 'marts'")}
    assert {"rpt_quarantine_current", "rpt_load_files", "fct_person_months"} <= served


def test_rerun_changes_nothing_and_is_not_blocked_by_a_reader(built):
    wh, serving = built["warehouse"], paths.serving_path(built["warehouse"])
    before = _fetch(wh, "select count(*), sum(total_amount) from marts.fct_contributions")[0]
    quarantined_before = _fetch(wh, "select count(*) from raw.quarantine")[0][0]
    reader = duckdb.connect(str(serving), read_only=True)  # a dashboard holding the serving copy open
    try:
        summary = run_pipeline(built["landing"], wh, AS_OF)
        assert summary.success, summary.lines()
        assert reader.execute("select count(*) from marts.fct_contributions").fetchone()[0] == before[0]
        assert paths.serving_path(wh) == serving  # nothing new was published
    finally:
        reader.close()
    assert _fetch(wh, "select count(*), sum(total_amount) from marts.fct_contributions")[0] == before
    assert _fetch(wh, "select count(*) from raw.quarantine")[0][0] == quarantined_before
    statuses = _fetch(wh, "select distinct status from raw.load_files")
    assert {s for (s,) in statuses} <= {"loaded", "already_loaded"}
    assert "already_loaded" in summary.ingestion["ledgers"]
    # Same files, as-of date and dbt project: dbt and the serving copy are skipped, and say so.
    assert any("dbt build and serving copy skipped" in n for n in summary.notes), summary.lines()
    assert summary.marts["marts.fct_contributions"] == before[0]


def test_new_as_of_date_rebuilds_and_republishes(built):
    """Arrears and ages move with the date: a new as-of is a new build even with no new file."""
    wh, before = built["warehouse"], paths.serving_path(built["warehouse"])
    summary = run_pipeline(built["landing"], wh, "2026-11-30")
    try:
        assert summary.success, summary.lines()
        assert not summary.notes
        serving = paths.serving_path(wh)
        assert serving != before and before.exists()  # a new version; the previous one is kept
        assert _fetch(serving, "select as_of from meta.build_info")[0][0].isoformat() == "2026-11-30"
        assert {d.isoformat() for (d,) in _fetch(wh, "select distinct as_of_date from marts.fct_arrears")} == {
            "2026-11-30"
        }
    finally:
        assert run_pipeline(built["landing"], wh, AS_OF).success  # back to the fixture's date


def test_checks_validate_only_loads_they_have_not_passed(built):
    """After a pass every live load is recorded with its row count; nothing is pending."""
    from pipelines.build_state import pending_loads

    con = duckdb.connect(str(built["warehouse"]))
    try:
        for source in ("employers", "persons", "enrolments", "ledgers"):
            pending, passed_before = pending_loads(con, f"gx_{source}", f"raw.{source}")
            assert passed_before and pending == [], source
        live = con.execute("select count(distinct load_id) from raw.ledgers where superseded_at is null").fetchone()[0]
        recorded = con.execute(
            "select count(distinct load_id) from raw.gx_validated_loads where check_name = 'gx_ledgers'"
        ).fetchone()[0]
        assert recorded == live > 1
    finally:
        con.close()


def test_blocking_check_failure_stops_the_build_with_a_nonzero_exit(built, capsys):
    """A row that slipped past the loader (here inserted by hand) fails the GX suite and blocks dbt."""
    from shebao.cli import main

    wh = built["warehouse"]
    con = duckdb.connect(str(wh))
    try:
        con.execute("""insert into raw.ledgers by name
                       select * replace ('110105194912310021' as id_number, 'manual' as source_file,
                                         999999 as source_row)
                       from raw.ledgers where superseded_at is null limit 1""")
    finally:
        con.close()
    code = main(["run", "--landing", str(built["landing"]), "--warehouse", str(wh), "--as-of", AS_OF])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED (ERROR) raw/ledgers :: gx_ledgers" in out
    assert "blocking check failed" in out
