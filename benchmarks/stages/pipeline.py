"""Stage 2 (and 4 at SF 10): the full Dagster job against the same work as plain SQL in one connection.

Pipeline: `pipelines.run.run_pipeline` (ingestion assets, blocking GX checks, `dbt build`
of every model and test, serving copy), each repeat on a fresh SHEBAO_HOME. Step times
come from the run's own Dagster event log (STEP_START .. STEP_SUCCESS).

Limit: the same work as plain SQL in one DuckDB connection (`limit.py`), at scales up to
--limit-max-scale. The GX suites have no plain-SQL twin; their time is shown as a separate line.

Fixed overheads shown separately: `dbt parse` (warm, with partial parsing) and cold,
an empty Dagster in-process run, and the gap between the pipeline's wall time and its
steps (definitions, instance, event log).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from benchmarks import data, scaling
from benchmarks.harness import AS_OF, Context, Metric, PeakRSS, StageResult, check_target, summarise
from benchmarks.stages import limit
from benchmarks.stages.limit import DBT_DIR, dbt_exe

RAW_TABLES = ("employers", "persons", "enrolments", "ledgers", "quarantine", "load_files", "expectation_results")


# --------------------------------------------------------------------------- the pipeline


def step_times(dagster_home: Path) -> dict:
    """Per-step seconds of the latest run in this Dagster instance, plus the run's own span."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        starts, steps = {}, {}
        run_start = run_end = None
        for rec in instance.all_logs(run.run_id):
            ev = rec.dagster_event
            if ev is None:
                continue
            kind = ev.event_type_value
            if kind == "STEP_START":
                starts[ev.step_key] = rec.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in starts:
                steps[ev.step_key] = rec.timestamp - starts[ev.step_key]
            elif kind == "RUN_START":
                run_start = rec.timestamp
            elif kind in ("RUN_SUCCESS", "RUN_FAILURE"):
                run_end = rec.timestamp
    groups = defaultdict(float)
    for key, sec in steps.items():
        if key.startswith("raw_") and "gx_" not in key:
            groups["ingest (loader)"] += sec
        elif "gx_" in key:
            groups["GX checks"] += sec
        elif "dbt" in key:
            groups["dbt build"] += sec
        elif "serving" in key:
            groups["serving copy"] += sec
        else:
            groups["other steps"] += sec
    return {
        "steps": {k: round(v, 3) for k, v in steps.items()},
        "groups": {k: round(v, 3) for k, v in groups.items()},
        "run_span": round(run_end - run_start, 3) if run_start and run_end else None,
    }


def run_once(ctx: Context, landing: Path, name: str) -> tuple[float, dict, Path]:
    from pipelines.run import run_pipeline

    home = ctx.home(name)
    warehouse = home / "warehouse.duckdb"
    t0 = time.perf_counter()
    summary = run_pipeline(landing, warehouse, as_of=AS_OF)
    wall = time.perf_counter() - t0
    if not summary.success:
        raise RuntimeError("pipeline failed: " + "; ".join(summary.failures[:5]))
    return wall, step_times(home / "dagster"), warehouse


# --------------------------------------------------------------------------- fixed overheads


def dbt_parse_seconds(scratch: Path) -> dict:
    target = scratch / "dbt-parse-target"
    shutil.rmtree(target, ignore_errors=True)
    env = dict(os.environ, SHEBAO_WAREHOUSE=str(scratch / "parse.duckdb"))
    base = [dbt_exe(), "parse", "--quiet", "--profiles-dir", str(DBT_DIR), "--target-path", str(target)]

    def once(extra: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(base + extra, cwd=DBT_DIR, env=env, check=True, capture_output=True)
        return time.perf_counter() - t0

    cold = once(["--no-partial-parse"])
    once([])  # writes partial_parse.msgpack
    warm = once([])
    t0 = time.perf_counter()
    subprocess.run([dbt_exe(), "--version"], capture_output=True, check=True)
    startup = time.perf_counter() - t0
    return {"dbt parse cold": cold, "dbt parse warm (partial)": warm, "dbt --version (process start)": startup}


def empty_dagster_run(ctx: Context) -> float:
    """A one-asset, no-op job in process with the same kind of instance: Dagster's own floor."""
    import dagster as dg

    home = ctx.home("dagster-empty")
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    (home / "dagster").mkdir()
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    @dg.asset
    def noop() -> None:
        return None

    job = dg.define_asset_job("noop_job", selection=[noop])
    defs = dg.Definitions(assets=[noop], jobs=[job], executor=dg.in_process_executor)
    t0 = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        defs.resolve_job_def("noop_job").execute_in_process(instance=instance)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- stage


def run(ctx: Context, result: StageResult) -> None:
    # The first import of the definitions loads Dagster, dagster-dbt and GX and parses the dbt
    # project when its manifest is missing or stale: a per-process cost, shown on its own and
    # kept out of the timed runs.
    t0 = time.perf_counter()
    import pipelines.definitions  # noqa: F401

    first_import = time.perf_counter() - t0
    overhead = dbt_parse_seconds(ctx.scratch)
    overhead["first import of the Dagster definitions (per process)"] = first_import
    overhead["Dagster empty in-process run"] = min(empty_dagster_run(ctx) for _ in range(max(2, ctx.repeats)))
    for name, sec in overhead.items():
        result.add(Metric(f"fixed overhead: {name}", round(sec, 3), "s"))
    result.details["overheads"] = overhead

    for scale in ctx.scales:
        landing, gen = data.landing(scale)
        result.details[f"sf{scale:g}"] = {"generator": gen}
        walls, steps, mems, cpus = [], [], [], []
        warehouse = None
        reps = ctx.repeats if scale < 5 else min(ctx.repeats, ctx.options.get("big_repeats", 1))
        for i in range(reps):
            cpu0 = scaling.cpu_seconds()
            with PeakRSS() as mem:
                wall, st, warehouse = run_once(ctx, landing, f"pipeline-sf{scale:g}-{i}")
            cpus.append(scaling.cpu_seconds() - cpu0)
            walls.append(wall)
            steps.append(st)
            mems.append(mem.peak)
            print(
                f"   SF {scale:g} run {i + 1}: {wall:.1f} s, peak RSS {mem.peak / 2**20:.0f} MiB, {st['groups']}",
                flush=True,
            )
        assert warehouse is not None
        result.memory[f"pipeline SF {scale:g}"] = {"peak_rss_mib": round(max(mems) / 2**20, 1)}
        lines = int(gen["ledger_lines"])
        entry = scaling.entry(lines, walls, cpus, max(mems), scaling.disk_usage(landing, warehouse), reps)
        result.details[f"sf{scale:g}"]["scaling"] = entry
        with_limit = scale <= ctx.options.get("limit_max_scale", 10)
        parts = limit.measure(ctx, scale, landing, warehouse, reps) if with_limit else {}
        if parts:
            result.memory[f"plain SQL SF {scale:g}"] = parts.pop("memory")
        _scale_metrics(result, scale, gen, walls, steps, parts)
        per_m = result.add(Metric(f"SF {scale:g}: seconds per million ledger lines", entry["s_per_million_lines"]))
        per_m.note = (
            f"CPU {entry['cpu_s_per_million_lines']} s per million lines; landing {entry['landing_bytes']:,} B, "
            f"warehouse {entry['warehouse_bytes']:,} B, serving copy {entry['serving_bytes']:,} B"
        )
        if scale >= 10:
            rss = max(mems) / 2**30
            mm = result.add(Metric(f"SF {scale:g}: peak RSS of the pipeline (process tree)", round(rss, 2), "GiB"))
            check_target(mm, max_value=scaling.MAX_RSS_GIB.get(scale, 8.0))
        if not with_limit:  # free the disk a SF 30/100 warehouse takes; its landing folder stays cached
            for i in range(reps):
                shutil.rmtree(ctx.scratch / "homes" / f"pipeline-sf{scale:g}-{i}", ignore_errors=True)
    shutil.rmtree(ctx.scratch / "limit", ignore_errors=True)


def _scale_metrics(result: StageResult, scale: float, gen: dict, walls: list, steps: list, parts: dict) -> None:
    """The full pipeline against its limit (when measured) and the per-step breakdown."""
    reps = len(walls)
    s_wall = summarise(walls)
    name = f"SF {scale:g}: full pipeline ({gen['ledger_lines']:,} ledger lines)"
    if parts:
        limit_total = [
            sum(parts[k][i] for k in ("raw read", "transforms", "tests", "serving copy")) for i in range(reps)
        ]
        s_limit = summarise(limit_total)
        m = result.add(
            Metric(name, s_wall["median"], "s", s_wall, s_limit["median"], "plain SQL, one connection", s_limit)
        )
        check_target(m, max_ratio=1.5)
        m.note = (
            f"{parts['failing_tests']} dbt tests returned rows in the plain-SQL run; "
            f"dbt compile took {parts['compile_s']:.1f} s"
        )
    else:
        m = result.add(Metric(name, s_wall["median"], "s", s_wall))
        m.note = "no plain-SQL limit above --limit-max-scale (see the scaling table for the comparison with SF 10)"
    groups = defaultdict(list)
    for i, st in enumerate(steps):
        for k, v in st["groups"].items():
            groups[k].append(v)
        groups["Dagster/run overhead (wall - steps)"].append(walls[i] - sum(st["groups"].values()))
    pairs = {"ingest (loader)": "raw read", "serving copy": "serving copy"}
    for k, vals in groups.items():
        s = summarise(vals)
        if k == "dbt build" and parts:
            ls = summarise([parts["transforms"][i] + parts["tests"][i] for i in range(reps)])
            result.add(Metric(f"SF {scale:g}: step {k}", s["median"], "s", s, ls["median"], "model + test SQL", ls))
        elif pairs.get(k) and parts:
            ls = summarise(parts[pairs[k]])
            result.add(Metric(f"SF {scale:g}: step {k}", s["median"], "s", s, ls["median"], pairs[k], ls))
        else:
            result.add(Metric(f"SF {scale:g}: step {k}", s["median"], "s", s))
    if parts:
        for k, count, what in (("transforms", parts["models"], "models"), ("tests", parts["tests_n"], "tests")):
            s = summarise(parts[k])
            result.add(Metric(f"SF {scale:g}: plain SQL {k} ({count} {what})", s["median"], "s", s))
    limit_parts = {k: v for k, v in parts.items() if isinstance(v, list)}
    result.details[f"sf{scale:g}"].update(
        {"steps_last_run": steps[-1]["steps"], "limit_parts": limit_parts, "walls": walls}
    )
