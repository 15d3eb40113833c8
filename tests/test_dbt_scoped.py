"""dbt kept warm and its tests scoped to the fee periods a build touched.

The warm child (pipelines/defs/transform/dbt_server.py) must release the warehouse between
builds and report failures; the scoped tests (dbt_project/macros/scoped_tests.sql) must read
only the touched periods, yet never let a violation planted in a touched period pass.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from foundation import paths
from pipelines.build_state import (
    BUILD_STATE,
    ledger_period_fingerprints,
    record_build,
    scope_key,
    touched_fee_periods,
)
from pipelines.defs.transform.dbt import AS_OF_ENV, TEST_PERIODS_ENV, WAREHOUSE_ENV
from pipelines.defs.transform.dbt_server import DbtBuildFailed, DbtServer
from tests.support.warehouse import _run, build_test_warehouse

pytestmark = pytest.mark.dbt

MANIFEST = paths.DBT_PROJECT_DIR / "target" / "manifest.json"
LEDGER_TESTS = "stg_shebao__ledgers int_ledger_lines_current fct_contributions"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("scoped")
    build_test_warehouse(directory)
    return directory


def copy_home(built: Path, to: Path) -> Path:
    shutil.copytree(built, to, symlinks=True)
    return to


def plant_duplicate_line(warehouse: Path) -> tuple[str, str]:
    """A current ledger line loaded twice in the latest fee period: (that period, another period)."""
    con = duckdb.connect(str(warehouse))
    try:
        periods = [r[0] for r in con.execute("select distinct fee_period from raw.ledgers order by 1").fetchall()]
        con.execute(
            "insert into raw.ledgers select * from raw.ledgers where superseded_at is null and fee_period = ? limit 1",
            [periods[-1]],
        )
    finally:
        con.close()
    return periods[-1], periods[0]


def test_a_build_records_its_scope_and_nothing_is_touched_after_it(built: Path) -> None:
    con = duckdb.connect(str(built / "warehouse.duckdb"), read_only=True)
    try:
        key = scope_key(con, MANIFEST)
        periods = ledger_period_fingerprints(con)
        recorded = con.execute(f"select scope_key from {BUILD_STATE} order by built_at desc limit 1").fetchone()
        assert recorded == (key,) and len(periods) >= 3
        assert touched_fee_periods(con, key, periods) == []
        assert touched_fee_periods(con, "another project or other sources", periods) is None
    finally:
        con.close()


def test_changed_lines_touch_their_period_and_a_missing_record_touches_everything(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    period, _ = plant_duplicate_line(home / "warehouse.duckdb")
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        key = scope_key(con, MANIFEST)
        assert touched_fee_periods(con, key, ledger_period_fingerprints(con)) == [period]
        con.execute(f"delete from {BUILD_STATE}")
        assert touched_fee_periods(con, key, ledger_period_fingerprints(con)) is None
        record_build(con, "fp", "2026-11-23", None, {})  # a build without a scope (Spark, a subset) scopes nothing
        assert touched_fee_periods(con, key, ledger_period_fingerprints(con)) is None
    finally:
        con.close()


def test_scoped_tests_read_only_the_touched_periods_and_catch_a_violation_in_them(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    warehouse = home / "warehouse.duckdb"
    touched, other = plant_duplicate_line(warehouse)
    server = DbtServer(paths.DBT_PROJECT_DIR, {WAREHOUSE_ENV: str(warehouse)})
    args = ["test", "--target", "duckdb", "--select", LEDGER_TESTS, "--exclude-resource-type", "unit_test"]
    try:
        # Scoped to another period, the duplicate is out of sight: the tests pass (they did scope).
        events = list(server.events(args, {AS_OF_ENV: "2026-11-23", TEST_PERIODS_ENV: other}))
        assert any(e["info"]["name"] == "LogTestResult" for e in events)
        # Scoped to its period, and unscoped (a full build, CI), the duplicate fails the unique tests.
        for scope in (touched, ""):
            with pytest.raises(DbtBuildFailed) as failed:
                list(server.events(args, {AS_OF_ENV: "2026-11-23", TEST_PERIODS_ENV: scope}))
            assert "unique" in str(failed.value)
        # Between requests the child holds no lock on the warehouse: this process can write it.
        duckdb.connect(str(warehouse)).close()
    finally:
        server.stop()
    assert not server.alive()


def test_an_incremental_build_with_a_violation_planted_in_its_touched_period_fails(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    warehouse = home / "warehouse.duckdb"
    plant_duplicate_line(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    before = con.execute(f"select count(*) from {BUILD_STATE}").fetchone()
    con.close()
    with pytest.raises(RuntimeError, match="test warehouse build failed"):
        _run(home, home / "landing", "2026-11-30")  # a new as-of date: dbt builds, tests scoped to the touched period
    con = duckdb.connect(str(warehouse), read_only=True)
    try:  # the failed build is not recorded, so the next one does not take its periods as tested
        assert con.execute(f"select count(*) from {BUILD_STATE}").fetchone() == before
    finally:
        con.close()


def test_an_incremental_build_without_changes_scopes_to_no_period_and_succeeds(built: Path, tmp_path: Path) -> None:
    home = copy_home(built, tmp_path / "home")
    _run(home, home / "landing", "2026-11-30")
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        key = scope_key(con, MANIFEST)
        assert touched_fee_periods(con, key, ledger_period_fingerprints(con)) == []
    finally:
        con.close()
