"""The plain-SQL limit of the pipeline stage: the same work as the pipeline, in one DuckDB connection.

Each part timed ("this design, no framework"):
1. raw read: every landing file read into a table by DuckDB with no checks
   (read_parquet / read_csv; a file DuckDB cannot read, GB18030 or XLSX, through the
   cheapest Python decode, see stage 1);
2. transforms: the compiled SQL of every dbt model (``dbt compile`` into the scratch
   folder) run in DAG order as CREATE VIEW / CREATE TABLE AS, per the model's
   materialization, over the raw tables the pipeline loaded (copied untimed);
3. tests: the compiled SQL of every dbt data test, run as a count;
4. serving copy: the same `publish_serving_copy` the pipeline calls (it is plain SQL).
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

from benchmarks.harness import AS_OF, Context, PeakRSS
from benchmarks.stages.built import copy_serving

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def dbt_exe() -> str:
    import sys

    return str(Path(sys.executable).with_name("dbt"))


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


def measure(ctx: Context, scale: float, landing: Path, warehouse: Path, reps: int) -> dict:
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
