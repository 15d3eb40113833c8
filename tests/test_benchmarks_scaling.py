"""The harness's scaling report (SF 1 / 10 / 30 / 100): built from merged runs, judged against SF 10.

No timing assertions: the figures here are made up or come from the smallest scale; what fails
is the table's shape, the merge that must keep SF 1/10 when SF 30/100 run alone (even when the
big run dies), the targets' arithmetic, and the per-scale disk and memory figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # benchmarks/ is not an installed package; `make bench` runs it from the repo
    sys.path.insert(0, str(REPO))

from benchmarks import scaling  # noqa: E402
from benchmarks.harness import Metric, StageResult, render_markdown, write_report  # noqa: E402

pytestmark = pytest.mark.unit

META = {
    "machine": {
        "cpu_model": "x",
        "cores_physical": 2,
        "cores_logical": 2,
        "ram_gib": 1,
        "kernel": "k",
        "os": "o",
        "python": "3",
        "versions": {},
    },
    "scales": [1],
    "repeats": 1,
    "argv": "a",
}


def pipeline_stage(runs: dict[float, tuple[int, float, float]], error: str | None = None) -> StageResult:
    """A pipeline stage as the real one records it: per scale (lines, wall seconds, peak RSS GiB)."""
    s = StageResult("pipeline", "pipeline", error=error)
    for scale, (lines, wall, rss) in runs.items():
        s.add(Metric(f"SF {scale:g}: full pipeline ({lines:,} ledger lines)", wall))
        disk = {"landing_bytes": lines * 20, "warehouse_bytes": lines * 130, "serving_bytes": lines * 95}
        entry = scaling.entry(lines, [wall], [wall * 1.5], int(rss * 2**30), disk, 1)
        s.details[f"sf{scale:g}"] = {"scaling": entry}
    return s


def test_sf30_and_sf100_run_alone_are_judged_against_the_merged_sf10(tmp_path):
    write_report(tmp_path, [pipeline_stage({1: (983_450, 80.0, 1.4), 10: (9_850_000, 360.0, 5.2)})], META)
    # SF 30 and SF 100 later, alone, in the background; SF 100 within 12x of SF 10, SF 30 over 3.6x.
    write_report(
        tmp_path,
        [pipeline_stage({30: (29_550_000, 1400.0, 6.1), 100: (98_500_000, 4100.0, 8.3)})],
        {**META, "argv": "--scales 30,100 --merge"},
        merge=True,
    )
    doc = json.loads((tmp_path / "latest.json").read_text())
    rows = {r["scale"]: r for r in scaling.rows(doc)}
    assert list(rows) == [1.0, 10.0, 30.0, 100.0]
    assert rows[1.0]["wall_s"] == 80.0 and rows[10.0]["wall_s"] == 360.0  # kept by the merge
    assert (rows[100.0]["time_vs_sf10"], rows[100.0]["lines_vs_sf10"], rows[100.0]["time_limit_vs_sf10"]) == (
        11.39,
        10.0,
        12.0,
    )
    assert rows[100.0]["time_met"] is True
    assert rows[30.0]["time_limit_vs_sf10"] == 3.6 and rows[30.0]["time_met"] is False  # 3.89x
    assert rows[100.0]["rss_met"] is False and rows[30.0]["rss_met"] is True  # 8.3 GiB >= 8
    assert rows[10.0]["rss_target_gib"] == 6.0 and "time_vs_sf10" not in rows[10.0]
    assert rows[100.0]["s_per_million_lines"] == round(4100 / 98.5, 3)
    assert rows[100.0]["cpu_s_per_million_lines"] == round(4100 * 1.5 / 98.5, 3)
    md = render_markdown(doc)
    assert "## Scaling: SF 1 / 10 / 30 / 100" in md
    assert md.index("## Scaling") < md.index("## pipeline:")
    line100 = next(line for line in md.splitlines() if line.startswith("| SF 100 |"))
    assert "98,500,000" in line100 and "11.39x (10x the lines) | <= 12x | yes" in line100
    assert "8.30 GiB | < 8 GiB | **no**" in line100
    assert "Not measured yet" not in md
    names = [m["name"] for m in doc["stages"][0]["metrics"]]
    assert any(n.startswith("SF 1:") for n in names) and any(n.startswith("SF 100:") for n in names)


def test_a_failed_big_run_keeps_the_earlier_scales(tmp_path):
    write_report(tmp_path, [pipeline_stage({1: (983_450, 80.0, 1.4), 10: (9_850_000, 360.0, 5.2)})], META)
    write_report(tmp_path, [pipeline_stage({}, error="RuntimeError: killed")], META, merge=True)
    doc = json.loads((tmp_path / "latest.json").read_text())
    assert doc["stages"][0]["error"] == "RuntimeError: killed"
    assert [r["scale"] for r in scaling.rows(doc)] == [1.0, 10.0]
    assert len(doc["stages"][0]["metrics"]) == 2
    md = render_markdown(doc)
    assert "Not measured yet: SF 30, SF 100." in md


def test_no_pipeline_stage_no_scaling_section():
    doc = {"generated_at": "t", **META, "stages": []}
    assert scaling.rows(doc) == [] and "## Scaling" not in render_markdown(doc)


def test_disk_usage_counts_landing_warehouse_wal_and_the_current_copy(tmp_path, monkeypatch):
    from foundation import paths

    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path / "home"))
    landing = tmp_path / "landing"
    (landing / "ledgers").mkdir(parents=True)
    (landing / "ledgers" / "a.parquet").write_bytes(b"x" * 1000)
    (landing / "persons.csv").write_bytes(b"x" * 24)
    warehouse = tmp_path / "home" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    warehouse.write_bytes(b"w" * 4096)
    warehouse.with_name("warehouse.duckdb.wal").write_bytes(b"w" * 10)
    folder = paths.serving_dir(warehouse)
    folder.mkdir()
    (folder / "serving-1.duckdb").write_bytes(b"s" * 300)
    (folder / "serving-2.duckdb").write_bytes(b"s" * 700)
    (folder / paths.SERVING_POINTER).write_text("serving-2.duckdb\n")
    disk = scaling.disk_usage(landing, warehouse)
    assert disk["landing_bytes"] == 1024 and disk["warehouse_bytes"] == 4106
    assert disk["serving_bytes"] == 700 and disk["serving_folder_bytes"] == 1000 + len("serving-2.duckdb\n")


@pytest.mark.slow
def test_pipeline_stage_reports_each_scale_with_and_without_its_limit(tmp_path):
    """The real stage at two tiny scales: the first with the plain-SQL limit, the second alone (as SF 30/100)."""
    out, scratch = tmp_path / "reports", tmp_path / "scratch"
    cmd = [sys.executable, "-m", "benchmarks", "--only", "pipeline", "--repeats", "1", "--out", str(out)]
    cmd += ["--scratch", str(scratch), "--scales", "0.01,0.02", "--limit-max-scale", "0.01"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    stage = doc["stages"][0]
    assert stage["error"] is None
    rows = {r["scale"]: r for r in scaling.rows(doc)}
    assert list(rows) == [0.01, 0.02]
    for r in rows.values():
        assert r["ledger_lines"] > 0 and r["wall_s"] > 0 and r["peak_rss_gib"] > 0
        assert r["landing_bytes"] > 0 and r["warehouse_bytes"] > 0 and r["serving_bytes"] > 0
        assert r["s_per_million_lines"] > 0 and r["cpu_s_per_million_lines"] > 0
    metrics = {m["name"]: m for m in stage["metrics"]}
    with_limit = next(m for n, m in metrics.items() if n.startswith("SF 0.01: full pipeline"))
    alone = next(m for n, m in metrics.items() if n.startswith("SF 0.02: full pipeline"))
    assert with_limit["limit"] > 0 and "limit" not in alone
    assert "SF 0.02: step dbt build" in metrics and "SF 0.02: seconds per million ledger lines" in metrics
    assert not (scratch / "homes" / "pipeline-sf0.02-0").exists()  # a big scale's home is removed after measuring
    assert (scratch / "homes" / "pipeline-sf0.01-0").exists()
    gen = json.loads(next((scratch / "data").glob("landing-sf0.02-*/.bench-summary.json")).read_text())
    assert gen["generate_peak_rss_mib"] > 0
    assert "## Scaling: SF 1 / 10 / 30 / 100" in (out / "latest.md").read_text(encoding="utf-8")
