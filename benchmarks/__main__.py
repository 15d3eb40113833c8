"""`python -m benchmarks [--scales 0.01,1,10] [--repeats N] [--only ingest,pipeline,...] [--out DIR]`.

Runs the benchmark stages and writes latest.json and latest.md into --out. Every run
uses a fresh SHEBAO_HOME under the scratch folder (default /tmp/shebao-bench), never
the repository.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

STAGES = {
    "ingest": "Ingestion throughput per format vs DuckDB's own read",
    "pipeline": "Full pipeline vs the same SQL in one DuckDB connection; fixed overheads",
    "incremental": "One new month on ten years of history; an unchanged month",
    "certificates": "Certificate issuing: one page warm, a 2,000-person unit, a batch on both cores",
    "verify": "Verification service under bounded load (wrk, pinned cores)",
    "dashboard": "Analyst pages: time to first full render",
    "engines": "The dbt project on DuckDB and on Spark: ledger lines per second per core",
}
REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--scales", default="0.01,1", help="scale factors for the pipeline stage (SF 1 ~ 1M ledger lines)")
    p.add_argument("--repeats", type=int, default=3, help="runs per measurement; the report gives median and spread")
    p.add_argument("--only", default=",".join(STAGES), help=f"comma-separated stages: {','.join(STAGES)}")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "reports"), help="report folder")
    p.add_argument(
        "--scratch",
        default=os.environ.get("SHEBAO_BENCH_SCRATCH", "/tmp/shebao-bench"),
        help="scratch folder for generated data, warehouses and SHEBAO_HOME (never the repository)",
    )
    p.add_argument(
        "--merge", action="store_true", help="keep the stages of an existing latest.json that this run does not measure"
    )
    p.add_argument(
        "--limit-max-scale",
        type=float,
        default=10.0,
        help="largest scale that also runs the plain-SQL limit (SF 30/100: the pipeline alone, against SF 10)",
    )
    p.add_argument("--big-repeats", type=int, default=1, help="repeats for scales >= 5 (a SF 10 run takes minutes)")
    p.add_argument("--ingest-lines", type=int, default=200_000, help="ledger lines per ingestion file")
    p.add_argument("--xlsx-lines", type=int, default=50_000, help="ledger lines in the XLSX ingestion file")
    p.add_argument(
        "--incremental-scale", type=float, default=1.0, help="scale of the ten-year history for the incremental stage"
    )
    p.add_argument("--cert-batch", type=int, default=1000, help="proofs issued in the batch measurement")
    p.add_argument("--unit-size", type=int, default=2000, help="persons in the unit-proof measurement")
    p.add_argument("--verify-rate", type=int, default=300, help="target requests per second for the bounded load")
    p.add_argument(
        "--upload-roster", type=int, default=1400, help="people in the uploaded unit proof (1,400: ~64 pages)"
    )
    p.add_argument("--verify-seconds", type=int, default=10, help="duration of each wrk run")
    p.add_argument("--engine-scale", type=float, default=1.0, help="scale of the engines stage (DuckDB vs Spark)")
    p.add_argument("--dashboard-scale", type=float, default=1.0, help="scale of the warehouse the pages read")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scratch = Path(args.scratch).resolve()
    if REPO in scratch.parents or scratch == REPO:
        sys.exit("--scratch must be outside the repository")
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ["SHEBAO_BENCH_SCRATCH"] = str(scratch)
    os.environ["SHEBAO_HOME"] = str(scratch / "homes" / "default")
    os.environ.setdefault("DO_NOT_TRACK", "1")

    from benchmarks.harness import Context, StageResult, machine, write_report

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in STAGES]
    if unknown:
        sys.exit(f"unknown stage(s): {', '.join(unknown)}; expected {', '.join(STAGES)}")
    ctx = Context(
        scales=[float(s) for s in args.scales.split(",") if s.strip()],
        repeats=max(1, args.repeats),
        out=Path(args.out).resolve(),
        scratch=scratch,
        options={
            "ingest_lines": args.ingest_lines,
            "xlsx_lines": args.xlsx_lines,
            "incremental_scale": args.incremental_scale,
            "cert_batch": args.cert_batch,
            "unit_size": args.unit_size,
            "verify_rate": args.verify_rate,
            "verify_seconds": args.verify_seconds,
            "upload_roster": args.upload_roster,
            "dashboard_scale": args.dashboard_scale,
            "big_repeats": max(1, args.big_repeats),
            "limit_max_scale": args.limit_max_scale,
            "engine_scale": args.engine_scale,
        },
    )
    results = []
    for name in only:
        result = StageResult(name, STAGES[name])
        print(f"== {name}: {STAGES[name]}", flush=True)
        t0 = time.perf_counter()
        load0 = os.getloadavg()
        try:
            importlib.import_module(f"benchmarks.stages.{name}").run(ctx, result)
        except Exception as exc:  # one failing stage must not lose the others' figures
            result.error = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        result.seconds = time.perf_counter() - t0
        # other work on a shared machine skews absolute times; the 1-minute load shows when it did
        result.details["load_average_1m"] = {"start": round(load0[0], 2), "end": round(os.getloadavg()[0], 2)}
        results.append(result)
        for m in result.metrics:
            ratio = f"  ratio {m.ratio}" if m.ratio is not None else ""
            print(
                f"   {m.name}: {m.value} {m.unit}{ratio}"
                + (f"  [{m.target}: {'met' if m.met else 'NOT met'}]" if m.target else ""),
                flush=True,
            )
        meta = {
            "machine": machine(),
            "scales": ctx.scales,
            "repeats": ctx.repeats,
            "argv": " ".join(sys.argv[1:] if argv is None else argv),
            "options": ctx.options,
        }
        json_path, md_path = write_report(
            ctx.out, results, meta, merge=args.merge
        )  # after every stage: partial results survive
    print(f"report: {json_path} and {md_path}")
    return 0 if all(r.error is None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
