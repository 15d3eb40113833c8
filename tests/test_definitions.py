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
    for model in ("stg_shebao__ledgers", "fct_contributions", "dim_persons", "dim_units", "fct_enrolments",
                  "serving_copy", "contribution_rates"):
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
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
