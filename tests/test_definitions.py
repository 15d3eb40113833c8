"""The Dagster definitions load, and the UI would list every asset and check."""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from tests.support.processes import python_probe

REPO = Path(__file__).resolve().parent.parent


def test_definitions_load_with_assets_checks_and_sensor(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    from pipelines.definitions import build_defs

    defs = build_defs(landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb")
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    for source in ("employers", "persons", "enrolments", "ledgers"):
        assert f"raw/{source}" in keys
    for model in (
        "stg_shebao__ledgers",
        "fct_contributions",
        "dim_persons",
        "dim_units",
        "fct_enrolments",
        "serving_copy",
        "contribution_rates",
    ):
        assert model in keys
    check_names = {c.name for c in repo.asset_graph.asset_check_keys}
    assert {"gx_employers", "gx_persons", "gx_enrolments", "gx_ledgers", "gx_contribution_amounts"} <= check_names
    # dbt data tests become asset checks too
    assert any(name.startswith("unique_") for name in check_names)
    assert repo.get_sensor_def("landing_sensor")
    assert repo.get_schedule_def("nightly_build")
    assert defs.resolve_job_def("load_and_build")


def _fresh_checkout(root: Path) -> Path:
    """The code location's packages and the dbt project without any build output, as a clone has them."""
    skip = shutil.ignore_patterns("target", "logs", "__pycache__", ".user.yml")
    for name in ("foundation", "expectations", "pipelines", "dbt_project"):
        shutil.copytree(REPO / name, root / name, ignore=skip)
    return root


def test_import_has_no_side_effects_and_dagster_validates_a_fresh_checkout(tmp_path):
    """What `dagster dev` loads: importing prepares nothing; Dagster's own CLI then loads it and parses dbt."""
    checkout = _fresh_checkout(tmp_path / "checkout")
    env = {**os.environ, "PYTHONPATH": str(checkout), "SHEBAO_HOME": str(tmp_path / "home")}
    env.pop("SHEBAO_WAREHOUSE", None)
    manifest = checkout / "dbt_project" / "target" / "manifest.json"
    probe = (
        "import os, sys; before = dict(os.environ); import pipelines.definitions as d; "
        "assert d.__file__.startswith(sys.argv[1]), d.__file__; "
        "assert dict(os.environ) == before, 'environment changed at import'"
    )
    argv = [*python_probe(tmp_path, probe), str(checkout)]
    subprocess.run(argv, cwd=checkout, env=env, check=True, timeout=120)
    assert not (checkout / "dbt_project" / "target").exists()  # no dbt parse, no launcher at import
    assert not (tmp_path / "home").exists()

    result = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert manifest.exists()  # prepared when Dagster loaded the definitions


def test_loading_the_definitions_leaves_the_process_environment_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.delenv("SHEBAO_WAREHOUSE", raising=False)
    monkeypatch.delenv("SHEBAO_AS_OF", raising=False)
    from pipelines.definitions import build_defs, defs

    before = dict(os.environ)
    build_defs(landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb")
    loaded = defs()
    assert dict(os.environ) == before
    assert loaded.resolve_job_def("load_and_build")
    dbt = loaded.resources["dbt"]
    assert Path(dbt.dbt_executable).name == "shebao-dbt"
    assert dbt._cli_version.base_version == version("dbt-core")  # from the launcher, without starting dbt


def test_dbt_gets_the_warehouse_and_as_of_date_on_its_own_command_line(tmp_path):
    from pipelines.defs.transform.dbt import launcher_options
    from pipelines.defs.transform.dbt_child import split_options

    warehouse = tmp_path / "带 空格 'quote'" / "wh.duckdb"
    args = [*launcher_options(warehouse, "2026-11-23"), "build", "--exclude-resource-type", "unit_test"]
    parent, env, dbt_args = split_options(args)
    assert parent == os.getpid()
    assert env == {"SHEBAO_WAREHOUSE": str(warehouse), "SHEBAO_AS_OF": "2026-11-23"}
    assert dbt_args == ["build", "--exclude-resource-type", "unit_test"]
    assert split_options(["build", "--shebao-env=SHEBAO_AS_OF="])[1] == {"SHEBAO_AS_OF": ""}  # empty means today


def test_launcher_answers_version_without_starting_dbt():
    from pipelines.defs.transform.project import write_launcher

    launcher = write_launcher()
    started = time.monotonic()
    out = subprocess.run([str(launcher), "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    assert f"installed: {version('dbt-core')}" in out
    assert time.monotonic() - started < 3  # `dbt --version` itself takes about 6 s here


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


def test_a_child_armed_by_die_with_parent_dies_when_its_parent_is_killed(tmp_path):
    child = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); from dbt_child import die_with_parent; "
        "die_with_parent(); print('armed', flush=True); time.sleep(120)"
    )
    parent = (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE, text=True); "
        "assert c.stdout.readline() == 'armed\\n'; print(c.pid, flush=True); time.sleep(120)"
    )
    folder = str(REPO / "pipelines" / "defs" / "transform")
    proc = subprocess.Popen([sys.executable, "-c", parent, child, folder], stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(proc.stdout.readline())
        assert os.getpgid(child_pid) == child_pid  # its own process group
        assert _alive(child_pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child_pid)
    finally:
        proc.kill()


def test_writer_lock_waits_with_a_chinese_message_and_frees_when_its_holder_dies(tmp_path):
    from pipelines.resources import WriterBusy, acquire_writer, release_writer, writer_lock

    warehouse = tmp_path / "仓 库" / "wh.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from pipelines.resources import acquire_writer; "
            "acquire_writer(Path(sys.argv[1]), 0); print('held', flush=True); time.sleep(120)",
            str(warehouse),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(WriterBusy) as busy:
            acquire_writer(warehouse, 0.5)
        assert 0.5 <= time.monotonic() - started < 5
        assert "另一个运行正在写入数仓" in str(busy.value) and f"进程 {holder.pid}" in str(busy.value)
        holder.send_signal(signal.SIGKILL)  # the kernel drops the lock with the process
        holder.wait(timeout=10)
        with writer_lock(warehouse, 5):
            acquire_writer(warehouse, 0)  # re-entrant within the process that holds it
            release_writer(warehouse)
    finally:
        holder.kill()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from pipelines.resources import writer_lock; "
            "exec('with writer_lock(Path(sys.argv[1]), 0): pass')",
            str(warehouse),
        ],
        cwd=REPO,
        timeout=60,
    )
    assert probe.returncode == 0  # released after the with-block


def test_dagster_home_has_no_concurrency_pool(tmp_path, monkeypatch):
    from pipelines.run import OLD_INSTANCE_CONFIG, dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    (tmp_path / "dagster" / "dagster.yaml").write_text(OLD_INSTANCE_CONFIG)
    assert "concurrency" not in (dagster_home() / "dagster.yaml").read_text()


def test_nightly_schedule_builds_as_of_its_day(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    from pipelines.definitions import build_defs

    defs = build_defs(landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb")
    schedule = defs.get_repository_def().get_schedule_def("nightly_build")
    when = dt.datetime(2026, 11, 23, 2, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with dg.build_schedule_context(scheduled_execution_time=when) as ctx:
        request = schedule.evaluate_tick(ctx).run_requests[0]
    assert request.tags["shebao/as_of"] == "2026-11-23"


def test_landing_sensor_requests_a_run_only_when_files_change(tmp_path, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    from pipelines.definitions import build_defs

    landing = tmp_path / "landing"
    (landing / "ledgers").mkdir(parents=True)
    defs = build_defs(landing=landing, warehouse=tmp_path / "wh.duckdb")
    sensor = defs.get_repository_def().get_sensor_def("landing_sensor")
    resources = {"landing": defs.resources["landing"]}

    with dg.build_sensor_context(resources=resources) as ctx:
        assert not sensor.evaluate_tick(ctx).run_requests  # nothing landed yet
    (landing / "ledgers" / "ledger_202401.csv").write_text("单位编号\n", encoding="utf-8")
    with dg.build_sensor_context(resources=resources) as ctx:
        result = sensor.evaluate_tick(ctx)
        assert len(result.run_requests) == 1
        cursor = result.cursor
    with dg.build_sensor_context(resources=resources, cursor=cursor) as ctx:
        assert not sensor.evaluate_tick(ctx).run_requests  # unchanged since the last tick


def test_a_run_left_started_by_a_killed_runner_is_marked_failed(tmp_path):
    from dagster._core.storage.dagster_run import DagsterRun

    from pipelines.run import fail_runs_of_dead_runners

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    with dg.DagsterInstance.ephemeral(tempdir=str(tmp_path)) as instance:
        for run_id, pid in (("a" * 8, dead.pid), ("b" * 8, os.getpid())):
            tags = {"shebao/runner_pid": str(pid), "shebao/runner_host": host}
            instance.add_run(
                DagsterRun(job_name="load_and_build", run_id=run_id, status=dg.DagsterRunStatus.STARTED, tags=tags)
            )
        assert fail_runs_of_dead_runners(instance) == ["a" * 8]
        assert instance.get_run_by_id("a" * 8).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id("b" * 8).status == dg.DagsterRunStatus.STARTED  # its runner is alive
