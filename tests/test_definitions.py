"""The Dagster definitions load, and the UI would list every asset and check."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

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
    assert defs.resolve_job_def("load_and_build")


def test_dg_check_defs_passes():
    """What `dagster dev` loads: the code location module, checked by Dagster's own CLI."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
