"""Stage 2 (and 4 at SF 10): the full Dagster job against the same work as plain SQL in one connection.

Pipeline: `pipelines.run.run_pipeline` (ingestion assets, blocking GX checks, `dbt build`
of every model and test, serving copy), each repeat on a fresh SHEBAO_HOME. Step times
come from the run's own Dagster event log (STEP_START .. STEP_SUCCESS).

Limit ("this design, no framework"), each part timed in one DuckDB connection:
1. raw read: every landing file read into a table by DuckDB with no checks
   (read_parquet / read_csv; a file DuckDB cannot read, GB18030 or XLSX, through the
   cheapest Python decode, see stage 1);
2. transforms: the compiled SQL of every dbt model (``dbt compile`` into the scratch
   folder) run in DAG order as CREATE VIEW / CREATE TABLE AS, per the model's
   materialization, over the raw tables the pipeline loaded (copied untimed);
3. tests: the compiled SQL of every dbt data test, run as a count;
4. serving copy: the same `publish_serving_copy` the pipeline calls (it is plain SQL).
The GX suites have no plain-SQL twin; their time is shown as a separate line.

Fixed overheads shown separately: `dbt parse` (warm, with partial parsing) and cold,
an empty Dagster in-process run, and the gap between the pipeline's wall time and its
steps (definitions, instance, event log).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import duckdb

from benchmarks import data, scaling
from benchmarks.harness import AS_OF, Context, Metric, PeakRSS, StageResult, check_target, summarise
from benchmarks.stages.built import copy_serving

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
RAW_TABLES = ("employers", "persons", "enrolments", "ledgers", "quarantine", "load_files", "expectation_results")


def dbt_exe() -> str:
    import sys

    return str(Path(sys.executable).with_name("dbt"))


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


# --------------------------------------------------------------------------- the limit


def _read_file_sql(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> None:
    """Read one landing file into `table` (created or appended), DuckDB first, Python decode otherwise."""
    import pyarrow as pa

    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'plain' and table_name = ?", [table.split(".")[-1]]
    ).fetchone()[0]
    verb = f"INSERT INTO {table} BY NAME" if exists else f"CREATE TABLE {table} AS"
    ext = path.suffix.lower()
    if ext == ".parquet":
        con.execute(f"{verb} SELECT * FROM read_parquet('{path}')")
        return
    if ext == ".csv":
        try:
            con.execute(f"{verb} SELECT * FROM read_csv('{path}', header = true, all_varchar = true)")
            return
        except duckdb.Error:
            import pyarrow.csv as pacsv

            raw = path.read_bytes()
            text = raw.decode("gb18030") if not raw.startswith(b"\xef\xbb\xbf") else raw[3:].decode("utf-8")
            arrow = pacsv.read_csv(
                io.BytesIO(text.encode("utf-8")), convert_options=pacsv.ConvertOptions(strings_can_be_null=True)
            )
            arrow = arrow.cast(pa.schema([(f.name, pa.string()) for f in arrow.schema]))
    else:
        from python_calamine import CalamineWorkbook

        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
        hi = next(i for i, r in enumerate(rows) if sum(1 for c in r if c) >= 3)
        header = [str(h) for h in rows[hi]]
        body = rows[hi + 1 :]
        arrow = pa.table(
            {
                h or f"c{i}": pa.array([str(r[i]) if i < len(r) else None for r in body], pa.string())
                for i, h in enumerate(header)
            }
        )
    con.register("arrow_in", arrow)
    con.execute(f"{verb} SELECT * FROM arrow_in")
    con.unregister("arrow_in")


def plain_read(con: duckdb.DuckDBPyConnection, landing: Path) -> None:
    """Every landing file into schema plain: one read_parquet for all Parquet ledgers, file by file otherwise."""
    con.execute("CREATE SCHEMA IF NOT EXISTS plain")
    for source in ("employers", "persons", "enrolments", "ledgers"):
        files = sorted(p for p in (landing / source).rglob("*") if p.is_file() and not p.name.startswith("."))
        parquet = [str(p) for p in files if p.suffix == ".parquet"]
        if parquet:
            con.execute(f"CREATE TABLE plain.{source} AS SELECT * FROM read_parquet({parquet!r}, union_by_name = true)")
        for i, p in enumerate(files):
            if p.suffix != ".parquet":  # one table per file: older exports use other header spellings
                _read_file_sql(con, p, f"plain.{source}_{i}")


def prepare_limit_base(pipeline_wh: Path, base_dir: Path) -> Path:
    """A warehouse named like the pipeline's (compiled SQL names the catalog) holding only raw and reference."""
    if base_dir.exists():
        shutil.rmtree(base_dir)
    base_dir.mkdir(parents=True)
    target = base_dir / pipeline_wh.name
    con = duckdb.connect(str(target))
    try:
        con.execute(f"ATTACH '{pipeline_wh}' AS src (READ_ONLY)")
        for schema in ("raw", "reference"):
            con.execute(f"CREATE SCHEMA {schema}")
            for (table,) in con.execute(
                "select table_name from duckdb_tables() where database_name = 'src' and schema_name = ?", [schema]
            ).fetchall():
                con.execute(f'CREATE TABLE {schema}."{table}" AS SELECT * FROM src.{schema}."{table}"')
        con.execute("DETACH src")
    finally:
        con.close()
    return target


def compile_dbt(warehouse: Path, target_path: Path) -> tuple[dict, float]:
    """`dbt compile` against a warehouse without dbt's schemas (so incremental models compile in full)."""
    env = dict(os.environ, SHEBAO_WAREHOUSE=str(warehouse))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            dbt_exe(),
            "compile",
            "--quiet",
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(target_path),
            "--vars",
            json.dumps({"as_of": AS_OF}),
        ],
        cwd=DBT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"dbt compile failed: {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    return json.loads((target_path / "manifest.json").read_text()), seconds


def dag_order(manifest: dict) -> tuple[list[dict], list[dict]]:
    nodes = manifest["nodes"]
    models = {k: v for k, v in nodes.items() if v["resource_type"] == "model"}
    order, seen = [], set()

    def visit(key: str) -> None:
        if key in seen or key not in models:
            return
        seen.add(key)
        for dep in models[key]["depends_on"]["nodes"]:
            visit(dep)
        order.append(models[key])

    for key in sorted(models):
        visit(key)
    tests = [v for v in nodes.values() if v["resource_type"] == "test" and v.get("compiled_code")]
    return order, tests


def run_limit_sql(warehouse: Path, models: list[dict], tests: list[dict]) -> dict:
    """Timed: every model's SQL in DAG order, then every test, in one connection."""
    con = duckdb.connect(str(warehouse))
    out = {}
    try:
        t0 = time.perf_counter()
        for schema in sorted({m["schema"] for m in models}):
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for m in models:
            mat = m["config"]["materialized"]
            if mat == "ephemeral":
                continue
            kind = "VIEW" if mat == "view" else "TABLE"
            con.execute(f"CREATE OR REPLACE {kind} {m['relation_name']} AS {m['compiled_code']}")
        out["transforms"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        failing = 0
        for t in tests:
            failing += con.execute(f"SELECT count(*) FROM ({t['compiled_code']}) q").fetchone()[0] > 0
        out["tests"] = time.perf_counter() - t0
        out["failing_tests"] = failing
    finally:
        con.close()
    return out


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
        parts = _limit(ctx, scale, landing, warehouse, reps) if with_limit else {}
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


def _limit(ctx: Context, scale: float, landing: Path, warehouse: Path, reps: int) -> dict:
    """The plain-SQL limit of one scale (and the built copy later stages read); parts' seconds per repeat."""
    from pipelines.defs.serving.assets import publish_serving_copy

    built = ctx.scratch / "built" / f"sf{scale:g}"  # reused by the certificate/verify/dashboard stages
    if not (built / ".done").exists():
        built.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(warehouse, built / "warehouse.duckdb")
        copy_serving(warehouse.parent, built)
        (built / ".done").write_text("ok")
    base = prepare_limit_base(warehouse, ctx.scratch / "limit" / f"sf{scale:g}-base")
    manifest, compile_s = compile_dbt(base, ctx.scratch / "limit" / f"sf{scale:g}-target")
    models, tests = dag_order(manifest)
    parts: dict = defaultdict(list)
    for _ in range(reps):
        work = ctx.scratch / "limit" / f"sf{scale:g}-run"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        wh = work / base.name
        shutil.copyfile(base, wh)
        with PeakRSS() as mem:
            con = duckdb.connect(str(work / "rawread.duckdb"))
            t0 = time.perf_counter()
            plain_read(con, landing)
            con.close()
            parts["raw read"].append(time.perf_counter() - t0)
            sql = run_limit_sql(wh, models, tests)
            parts["transforms"].append(sql["transforms"])
            parts["tests"].append(sql["tests"])
            t0 = time.perf_counter()
            publish_serving_copy(wh, AS_OF)  # a fresh folder: a full publish, no previous version
            parts["serving copy"].append(time.perf_counter() - t0)
        parts["memory"] = mem.as_dict()
    parts["failing_tests"] = sql["failing_tests"]
    parts["compile_s"] = compile_s
    parts["models"] = len(models)
    parts["tests_n"] = len(tests)
    return parts


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
