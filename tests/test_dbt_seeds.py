"""Seeds left out of a build while their files, the dbt project and the engine are unchanged.

A build whose seed state (pipelines/build_state.py `seed_state`) equals the one the seed tables
were last loaded and tested with excludes the seeds and the tests on seeds alone; anything else
(a changed seed file, no record, a failed build since) reloads and tests them. Read from the
run's own Dagster event log: what was materialized and which checks were evaluated.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus as CheckStatus

from foundation import paths
from pipelines.build_state import BUILD_STATE, SEEDS_LOADED, seed_state, seeds_in_place
from tests.support.warehouse import _run, build_test_warehouse

pytestmark = pytest.mark.dbt

MANIFEST = paths.DBT_PROJECT_DIR / "target" / "manifest.json"
SEED = "load_file_statuses"  # small, with a unique test on its key
SEED_TEST = "unique_load_file_statuses_status"
# A test on a model that also reads a seed: it must keep running when the seeds are left out.
MODEL_TO_SEED_TEST = ("dim_units", "relationships_dim_units_region_code__region_code__ref_regions_")


def seed_names() -> set[str]:
    return {p.stem for p in paths.REFERENCE_SEEDS_DIR.glob("*.csv")}


def csv_rows(name: str) -> int:
    with open(paths.REFERENCE_SEEDS_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return sum(1 for r in csv.reader(fh) if r) - 1


class RunEvents:
    """The latest run of a home's Dagster instance: its events by type, materializations, check evaluations."""

    def __init__(self, home: Path) -> None:
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            runs = instance.get_runs()  # newest first
            self.run_id = runs[0].run_id
            self.succeeded = runs[0].status == dg.DagsterRunStatus.SUCCESS
            self.records = instance.all_logs(self.run_id)
            latest = instance.get_latest_materialization_event(dg.AssetKey([SEED]))
            self.latest_seed_run = latest.run_id if latest else None
            check = dg.AssetCheckKey(dg.AssetKey([SEED]), SEED_TEST)
            self.seed_check_history = [
                (h.run_id, h.status, getattr(h.evaluation, "passed", None))
                for h in instance.event_log_storage.get_asset_check_execution_history(check, limit=5)
            ]
        events = [r.dagster_event for r in self.records if r.dagster_event]
        self.by_type = Counter(e.event_type_value for e in events)
        self.materialized = {e.asset_key.path[-1] for e in events if e.event_type_value == "ASSET_MATERIALIZATION"}
        self.checks = {
            (d.asset_key.path[-1], d.check_name): d.passed
            for e in events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            for d in [e.event_specific_data]
        }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("seeds")
    build_test_warehouse(directory)
    return directory


def test_a_first_build_loads_and_tests_every_seed_and_records_their_state(built: Path) -> None:
    events = RunEvents(built)
    assert seed_names() <= events.materialized
    assert events.checks[(SEED, SEED_TEST)] is True
    con = duckdb.connect(str(built / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute(f"select * from {SEEDS_LOADED}").fetchall() == [(seed_state(MANIFEST),)]
        assert seeds_in_place(con, seed_state(MANIFEST), MANIFEST)
        assert not seeds_in_place(con, "another seed state", MANIFEST)
    finally:
        con.close()


def execute_job(home: Path, as_of: str, monkeypatch: pytest.MonkeyPatch, selection: list | None = None) -> bool:
    """The job as a sensor, the schedule or the UI launch it: every asset, unless `selection` says otherwise."""
    from pipelines.definitions import LOAD_AND_BUILD_JOB, build_defs
    from pipelines.run_tags import AS_OF_TAG

    monkeypatch.setenv("SHEBAO_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    defs = build_defs(landing=home / "landing", warehouse=home / "warehouse.duckdb")
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        result = defs.resolve_job_def(LOAD_AND_BUILD_JOB).execute_in_process(
            instance=instance, tags={AS_OF_TAG: as_of}, raise_on_error=False, asset_selection=selection
        )
    return result.success


def assert_seeds_left_out_and_in_place(home: Path, full: RunEvents, events: RunEvents) -> None:
    assert events.succeeded and events.run_id != full.run_id
    assert not seed_names() & events.materialized  # no seed reloaded
    assert {"fct_contributions", "dim_units", "serving_copy"} <= events.materialized
    assert not {asset for asset, _ in events.checks} & seed_names()  # no test on seeds alone
    assert events.checks[MODEL_TO_SEED_TEST] is True  # a model's test that reads a seed still runs
    assert all(events.checks.values())
    # Two events fewer per seed (output, materialization) and per test on seeds alone (output, evaluation).
    assert events.by_type["ASSET_MATERIALIZATION"] == full.by_type["ASSET_MATERIALIZATION"] - len(seed_names())
    assert events.by_type["ASSET_CHECK_EVALUATION"] < full.by_type["ASSET_CHECK_EVALUATION"]
    assert events.by_type["STEP_OUTPUT"] < full.by_type["STEP_OUTPUT"]
    # The UI's latest materialization of a seed is the real one, from the build that loaded it.
    assert events.latest_seed_run == full.run_id
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:  # the seed tables are the seeds, and the marts that read them were rebuilt over them
        for name in seed_names():
            assert con.execute(f"select count(*) from reference.{name}").fetchone() == (csv_rows(name),)
        assert con.execute("select count(*) from marts.dim_units where region_code is not null").fetchone() == (4,)
    finally:
        con.close()


def test_a_run_leaves_unchanged_seeds_out_of_its_selection(built: Path, tmp_path: Path) -> None:
    home = shutil.copytree(built, tmp_path / "home", symlinks=True)
    full = RunEvents(home)
    _run(home, home / "landing", "2026-11-30")  # `shebao run`, a new as-of date: dbt builds every model again
    events = RunEvents(home)
    assert_seeds_left_out_and_in_place(home, full, events)
    # Not selected, the seeds and their checks are not even planned: the check's last execution is the real one.
    assert events.by_type["ASSET_MATERIALIZATION_PLANNED"] == full.by_type["ASSET_MATERIALIZATION_PLANNED"] - len(
        seed_names()
    )
    assert events.by_type["ASSET_CHECK_EVALUATION_PLANNED"] < full.by_type["ASSET_CHECK_EVALUATION_PLANNED"]
    assert events.seed_check_history == [(full.run_id, CheckStatus.SUCCEEDED, True)]


def test_the_whole_job_leaves_unchanged_seeds_out_of_dbt_and_reports_their_checks_skipped(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = shutil.copytree(built, tmp_path / "home", symlinks=True)
    full = RunEvents(home)
    assert execute_job(home, "2026-11-30", monkeypatch)  # every asset selected, as a sensor run
    events = RunEvents(home)
    assert_seeds_left_out_and_in_place(home, full, events)
    # Selected but left out of dbt, the seed's check stays planned, which Dagster shows as skipped
    # (not failed) once the run has succeeded; its last evaluation is the real one.
    assert events.seed_check_history == [
        (events.run_id, CheckStatus.PLANNED, None),
        (full.run_id, CheckStatus.SUCCEEDED, True),
    ]


def test_a_run_without_the_seeds_fails_when_they_are_not_in_place(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = shutil.copytree(built, tmp_path / "home", symlinks=True)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:  # as if a seed file had changed after the run chose to leave the seeds out
        con.execute(f"delete from {SEEDS_LOADED}")
        before = con.execute(f"select count(*) from {BUILD_STATE}").fetchone()
    finally:
        con.close()
    seeds = {dg.AssetKey([name]) for name in seed_names()}
    from pipelines.definitions import build_defs

    everything = build_defs(landing=home / "landing", warehouse=home / "warehouse.duckdb").resolve_asset_graph()
    selection = [k for k in everything.materializable_asset_keys if k not in seeds]
    assert not execute_job(home, "2026-11-30", monkeypatch, selection)
    events = RunEvents(home)
    assert not events.succeeded and not seed_names() & events.materialized
    assert "fct_contributions" not in events.materialized  # dbt did not build on seeds it cannot vouch for
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute(f"select count(*) from {BUILD_STATE}").fetchone() == before
    finally:
        con.close()


def test_a_changed_seed_file_is_reloaded_and_tested_and_a_failed_reload_is_not_trusted(
    built: Path, tmp_path: Path
) -> None:
    home = shutil.copytree(built, tmp_path / "home", symlinks=True)
    seed = paths.REFERENCE_SEEDS_DIR / f"{SEED}.csv"
    original = seed.read_bytes()
    rows = csv_rows(SEED)
    try:  # the last row twice: the seed's unique test must see it, so it must be reloaded and tested
        lines = original.rstrip(b"\n").split(b"\n")
        seed.write_bytes(b"\n".join([*lines, lines[-1]]) + b"\n")
        with pytest.raises(RuntimeError, match="test warehouse build failed"):
            _run(home, home / "landing", "2026-11-30")
        events = RunEvents(home)
        assert SEED in events.materialized and events.checks[(SEED, SEED_TEST)] is False
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
        try:  # the reloaded table holds the bad file; no record says the seeds are in place
            assert con.execute(f"select count(*) from reference.{SEED}").fetchone() == (rows + 1,)
            assert con.execute(f"select count(*) from {SEEDS_LOADED}").fetchone() == (0,)
        finally:
            con.close()
    finally:
        seed.write_bytes(original)
    # The file is back as the last recorded build had it, but the failed build changed the table since.
    _run(home, home / "landing", "2026-12-01")
    events = RunEvents(home)
    assert SEED in events.materialized and events.checks[(SEED, SEED_TEST)] is True
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute(f"select count(*) from reference.{SEED}").fetchone() == (rows,)
        assert seeds_in_place(con, seed_state(MANIFEST), MANIFEST)
    finally:
        con.close()


def test_a_dropped_or_truncated_seed_table_is_not_in_place(built: Path, tmp_path: Path) -> None:
    home = shutil.copytree(built, tmp_path / "home", symlinks=True)
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        state = seed_state(MANIFEST)
        assert seeds_in_place(con, state, MANIFEST)
        con.execute(f"delete from reference.{SEED} where rowid = (select min(rowid) from reference.{SEED})")
        assert not seeds_in_place(con, state, MANIFEST)
        con.execute(f"drop table reference.{SEED}")
        assert not seeds_in_place(con, state, MANIFEST)
    finally:
        con.close()
