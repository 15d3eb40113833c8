"""The pooled run log of `shebao run` (pipelines/event_log.py) writes what stock Dagster reads."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from pipelines.event_log import PooledSqliteEventLogStorage, runner_instance
from pipelines.run import INSTANCE_CONFIG

pytestmark = pytest.mark.unit


@dg.asset
def ledger_total() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"total": 4_321})


@dg.asset_check(asset=ledger_total)
def total_positive() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset(deps=[ledger_total])
def ledger_report() -> None:
    raise RuntimeError("报表生成失败")


JOB = dg.define_asset_job("tiny", selection=[ledger_total, ledger_report])
DEFS = dg.Definitions(assets=[ledger_total, ledger_report], asset_checks=[total_positive], jobs=[JOB])


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_CONFIG, "utf-8")
    return home


def _open_db_files(folder: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)) and ".db" in target:
            found.append(target)
    return found


def _run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return DEFS.resolve_job_def("tiny").execute_in_process(instance=instance, raise_on_error=False)


def test_stock_dagster_reads_every_event_the_pooled_log_wrote(tmp_path: Path) -> None:
    home = _home(tmp_path)
    with runner_instance(home) as instance:
        assert type(instance.event_log_storage) is PooledSqliteEventLogStorage
        result = _run(instance)
        written = len(instance.all_logs(result.run_id))
    assert not result.success  # the report step failed, and says so below
    with dg.DagsterInstance.from_config(str(home)) as stock:  # what `dagster dev` opens
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        run = stock.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
        records = stock.all_logs(result.run_id)
        assert len(records) == written >= 20
        failures = [r.dagster_event for r in records if r.dagster_event and r.dagster_event.is_step_failure]
        assert len(failures) == 1 and failures[0] is not None
        assert "报表生成失败" in str(failures[0].step_failure_data.error)
        # the cross-run index shard: the latest materialization and check result per asset
        latest = stock.get_latest_materialization_event(dg.AssetKey("ledger_total"))
        assert latest is not None and latest.asset_materialization is not None
        assert latest.asset_materialization.metadata["total"].value == 4_321
        assert stock.get_latest_materialization_event(dg.AssetKey("ledger_report")) is None
        check = stock.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("ledger_total"), "total_positive")]
        )
        assert len(check) == 1


def test_the_pool_is_closed_with_the_instance(tmp_path: Path) -> None:
    home = _home(tmp_path)
    with runner_instance(home) as instance:
        _run(instance)
        assert _open_db_files(home), "the pool keeps the run's databases open while the instance lives"
    assert _open_db_files(home) == []


def test_runs_after_one_another_append_to_the_same_index(tmp_path: Path) -> None:
    home = _home(tmp_path)
    for _ in range(2):
        with runner_instance(home) as instance:
            _run(instance)
    with dg.DagsterInstance.from_config(str(home)) as stock:
        assert len(stock.get_runs()) == 2
        records = stock.fetch_materializations(dg.AssetKey("ledger_total"), limit=10).records
        assert len(records) == 2


def test_an_operators_own_storage_is_used_as_configured(tmp_path: Path) -> None:
    home = _home(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (home / "dagster.yaml").write_text(INSTANCE_CONFIG + f"storage:\n  sqlite:\n    base_dir: {elsewhere}\n", "utf-8")
    with runner_instance(home) as instance:
        assert type(instance.event_log_storage) is not PooledSqliteEventLogStorage
        result = _run(instance)
    assert any(elsewhere.rglob(f"{result.run_id}.db"))
    assert not (home / "history").exists()
