"""Smoke test of the benchmark harness at the smallest scale: it runs and writes a well-formed report.

No timing assertions (CI machines vary); the figures' shape and the reconciliation the
stages check themselves (every line loaded, every verdict page served) are what fail.
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

from benchmarks.harness import Metric, StageResult, render_markdown, write_report  # noqa: E402
from benchmarks.stages.verify import parse_wrk  # noqa: E402

pytestmark = pytest.mark.unit


@pytest.mark.slow
def test_harness_runs_ingest_and_verify_at_the_smallest_scale(tmp_path):
    out, scratch = tmp_path / "reports", tmp_path / "scratch"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--only",
            "ingest,verify",
            "--repeats",
            "1",
            "--ingest-lines",
            "2000",
            "--xlsx-lines",
            "300",
            "--dashboard-scale",
            "0",
            "--verify-seconds",
            "1",
            "--verify-rate",
            "60",
            "--out",
            str(out),
            "--scratch",
            str(scratch),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,  # scale 0 builds the tests' small warehouse with the real pipeline (about a minute)
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert doc["machine"]["cores_logical"] >= 1 and doc["machine"]["versions"]["duckdb"]
    assert [s["stage"] for s in doc["stages"]] == ["ingest", "verify"]
    ingest = doc["stages"][0]
    assert ingest["error"] is None
    names = [m["name"] for m in ingest["metrics"]]
    assert [n.split()[1] for n in names] == ["csv-utf8", "csv-gb18030", "xlsx", "parquet"]
    for m in ingest["metrics"]:
        assert m["value"] > 0 and m["limit"] > 0 and m["ratio"] == round(m["value"] / m["limit"], 3)
        assert m["extra"]["lines_per_s"] > 0 and m["stats"]["n"] == 1
    assert {m["name"]: m.get("met") for m in ingest["metrics"] if m.get("target")}.keys() == {names[0], names[3]}
    verify = doc["stages"][1]
    assert verify["error"] is None, verify["error"]
    p99 = [m for m in verify["metrics"] if "p99" in m["name"]]
    assert len(p99) == 2 and all(m["value"] > 0 for m in p99)
    md = (out / "latest.md").read_text(encoding="utf-8")
    assert "## Machine" in md and "## ingest:" in md and "## verify:" in md
    assert "| measure | value | spread | limit |" in md
    assert not list(REPO.glob("var/homes"))  # nothing written into the repository's runtime folder


def test_merge_keeps_other_stages_and_other_scales(tmp_path):
    def stage(name: str, metrics: list[tuple[str, float]]) -> StageResult:
        s = StageResult(name, name)
        for n, v in metrics:
            s.add(Metric(n, v, "s", limit=v / 2, limit_name="half"))
        return s

    meta = {
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
    write_report(tmp_path, [stage("pipeline", [("SF 1: full", 10.0)]), stage("ingest", [("load", 1.0)])], meta)
    write_report(tmp_path, [stage("pipeline", [("SF 10: full", 90.0)])], {**meta, "argv": "b"}, merge=True)
    doc = json.loads((tmp_path / "latest.json").read_text())
    assert [s["stage"] for s in doc["stages"]] == ["ingest", "pipeline"]
    pipeline = doc["stages"][1]
    assert [(m["name"], m["ratio"]) for m in pipeline["metrics"]] == [("SF 1: full", 2.0), ("SF 10: full", 2.0)]
    assert "| SF 10: full | 90.0 s |" in render_markdown(doc)


def test_parse_wrk_output():
    out = """Running 1s test @ http://127.0.0.1:1/healthz
  Latency Distribution
     50%  812.00us
     75%    1.02ms
     90%    1.50ms
     99%    1.20s
  300 requests in 1.00s, 40.00KB read
  Non-2xx or 3xx responses: 3
Requests/sec:    299.50
"""
    r = parse_wrk(out)
    assert (r["p50_ms"], r["p75_ms"], r["p99_ms"], r["rps"], r["requests"], r["non_2xx"]) == (
        0.812,
        1.02,
        1200.0,
        299.5,
        300,
        3,
    )
