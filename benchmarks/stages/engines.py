"""The dbt project on each engine, side by side: ledger lines per second per core (docs/scale-out.md).

One generated landing folder (--engine-scale, SF 1 ~ one million ledger lines) runs through
the real pipeline once per engine (`run_pipeline(..., engine=...)`, a fresh SHEBAO_HOME
each). The figure is the transform step, the Dagster step that runs dbt: for DuckDB `dbt
build` in the warehouse; for Spark the raw Parquet export, `dbt build` on the spark target
(session mode, local[cores], a Derby metastore) and loading Spark's tables back into DuckDB,
since that is what a run on that engine costs. Both builds run every model and data test.

lines/s/core = ledger lines / transform seconds / cores the engine may use (DuckDB uses every
core; Spark runs local[cores] with cores = SHEBAO_SPARK_CORES, default 2). Ingestion, GX and
the serving copy are the same code on both engines and are shown as the whole run's wall time.
"""

from __future__ import annotations

import importlib.util
import os
import time

from benchmarks import data
from benchmarks.harness import AS_OF, Context, Metric, PeakRSS, StageResult
from benchmarks.stages.pipeline import step_times

ENGINES = ("duckdb", "spark")


def cores(engine: str) -> int:
    if engine == "spark":
        return int(os.environ.get("SHEBAO_SPARK_CORES", "2"))
    return os.cpu_count() or 1


def run(ctx: Context, result: StageResult) -> None:
    from pipelines.run import run_pipeline

    scale = float(ctx.options.get("engine_scale", 1.0))
    landing, gen = data.landing(scale)
    lines = int(gen["ledger_lines"])
    result.details["landing"] = {"scale": scale, **gen}
    engines = [e for e in ENGINES if e == "duckdb" or importlib.util.find_spec("pyspark")]
    if "spark" not in engines:
        result.notes.append("Spark extra not installed (make spark): Spark not measured.")
    per_engine = {}
    for engine in engines:
        home = ctx.home(f"engines-{engine}")
        warehouse = home / "warehouse.duckdb"
        with PeakRSS() as peak:
            t0 = time.perf_counter()
            summary = run_pipeline(landing, warehouse, as_of=AS_OF, engine=engine)
            wall = time.perf_counter() - t0
        if not summary.success:
            raise RuntimeError(f"{engine} pipeline failed: " + "; ".join(summary.failures[:5]))
        steps = step_times(home / "dagster")
        transform = steps["groups"].get("dbt build", 0.0)
        per_core = lines / transform / cores(engine) if transform else 0.0
        per_engine[engine] = {
            "transform_s": round(transform, 1),
            "wall_s": round(wall, 1),
            "cores": cores(engine),
            "lines_per_s_per_core": round(per_core),
            "peak_rss_mb": peak.as_dict(),
            "steps": steps["groups"],
        }
        result.add(
            Metric(
                f"SF {scale:g} {engine}: ledger lines per second per core (transform step)",
                round(per_core),
                unit="lines/s/core",
                note=f"{lines:,} lines, transform {transform:.1f} s on {cores(engine)} core(s), run wall {wall:.1f} s",
            )
        )
        result.add(Metric(f"SF {scale:g} {engine}: transform step", round(transform, 2)))
    result.details["engines"] = per_engine
    if len(per_engine) == 2 and per_engine["spark"]["lines_per_s_per_core"]:
        ratio = per_engine["duckdb"]["lines_per_s_per_core"] / per_engine["spark"]["lines_per_s_per_core"]
        result.notes.append(f"DuckDB processes {ratio:.1f}x the lines per second per core of Spark local mode here.")
    result.details["load_during_run"] = os.getloadavg()
