"""A subset of the dbt assets launched from the UI: the one-shot dbt, nothing recorded as a whole build.

Only a build of the whole project may use the warm dbt child, scope its tests to the touched
fee periods and record the build's fingerprint (pipelines/defs/transform/dbt.py). A subset sees
`assets_def.keys` as the selection alone; before this was handled, every subset ran the warm
whole-project path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.build_state import BUILD_STATE
from pipelines.defs.transform import dbt_server
from tests.support.warehouse import build_test_warehouse
from tests.test_dbt_seeds import RunEvents, execute_job

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("subset")
    build_test_warehouse(directory)
    return directory


def _builds(home: Path) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(f"select fingerprint, as_of from {BUILD_STATE} order by built_at").fetchall()
    finally:
        con.close()


def test_a_subset_runs_one_shot_dbt_and_records_no_whole_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, built: Path
) -> None:
    home = shutil.copytree(built, tmp_path / "home", symlinks=True)
    before = _builds(home)
    dbt_server.stop_servers()  # no warm child left by an earlier test in this process
    assert execute_job(home, "2026-11-30", monkeypatch, selection=[dg.AssetKey(["dim_units"])])
    events = RunEvents(home)
    assert events.succeeded
    assert events.materialized == {"dim_units"}  # the one model, not the project, not the serving copy
    assert events.checks and all(events.checks.values())
    assert {asset for asset, _ in events.checks} == {"dim_units"}
    assert dbt_server._servers == {}  # the warm child was never started
    assert _builds(home) == before  # a subset is not a build of the whole project
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from marts.dim_units where region_code is not null").fetchone() == (4,)
    finally:
        con.close()
