"""Stage 3: adding one new month to ten years of history, against a full rebuild; an unchanged month.

History: the generator's window 201611..202610 (120 months; the reference data start in
2016) at --incremental-scale (SF 1 = about a million lines over the window). The landing
folder first holds every file but the 202610 ledgers; the pipeline builds that
warehouse once (untimed), which is then snapshotted. Each repeat restores the snapshot,
drops the 202610 files into the landing folder and runs the whole job (timed); then the
job runs again with nothing new (the unchanged case). The limit is a full rebuild: the
same job on a fresh warehouse over all 120 months.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from benchmarks import data
from benchmarks.harness import AS_OF, Context, Metric, PeakRSS, StageResult, check_target, summarise
from benchmarks.stages.pipeline import run_once, step_times

NEW_MONTH = "202610"


def _place(src: Path, dst: Path) -> None:
    """A hard link (or a copy across file systems): the loader refuses symbolic links in the landing folder."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _link_all(src: Path, dst: Path, skip_month: str | None) -> list[tuple[Path, Path]]:
    """Hard-link the landing files into dst; returns the (source, link) pairs held back for skip_month."""
    held = []
    for p in sorted(src.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        link = dst / p.relative_to(src)
        link.parent.mkdir(parents=True, exist_ok=True)
        if skip_month and p.parent.name == "ledgers" and p.name.startswith(f"ledger_{skip_month}_"):
            held.append((p, link))
            continue
        _place(p, link)
    return held


def _timed_run(landing: Path, home: Path) -> tuple[float, dict]:
    from pipelines.run import run_pipeline

    os.environ.update(
        SHEBAO_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), SHEBAO_WAREHOUSE=str(home / "warehouse.duckdb")
    )
    t0 = time.perf_counter()
    summary = run_pipeline(landing, home / "warehouse.duckdb", as_of=AS_OF)
    wall = time.perf_counter() - t0
    if not summary.success:
        raise RuntimeError("pipeline failed: " + "; ".join(summary.failures[:5]))
    return wall, step_times(home / "dagster")


def run(ctx: Context, result: StageResult) -> None:
    import pipelines.definitions  # noqa: F401  (per-process import and dbt parse, kept out of the timings)

    scale = float(ctx.options.get("incremental_scale", 1.0))
    history, gen = data.landing(scale, data.HISTORY_WINDOW)
    result.details["history"] = {"window": data.HISTORY_WINDOW, "scale": scale, **gen}

    home = ctx.home(f"incremental-sf{scale:g}")
    landing = home / "landing"
    held = _link_all(history, landing, NEW_MONTH)
    t0 = time.perf_counter()
    _timed_run(landing, home)
    result.details["initial_build_119_months_s"] = round(time.perf_counter() - t0, 1)
    snap = home / "snapshot.duckdb"
    shutil.copyfile(home / "warehouse.duckdb", snap)

    new, unchanged, new_steps, unchanged_steps = [], [], [], []
    with PeakRSS() as mem:
        for _ in range(ctx.repeats):
            for _, link in held:
                link.unlink(missing_ok=True)
            shutil.copyfile(snap, home / "warehouse.duckdb")
            for src, link in held:
                _place(src, link)
            wall, st = _timed_run(landing, home)
            new.append(wall)
            new_steps.append(st["groups"])
        for _ in range(ctx.repeats):
            wall, st = _timed_run(landing, home)
            unchanged.append(wall)
            unchanged_steps.append(st["groups"])
    result.memory["incremental runs"] = mem.as_dict()

    full = []
    full_steps = []
    with PeakRSS() as mem:
        for i in range(ctx.repeats):
            wall, st, _ = run_once(ctx, history, f"incremental-full-{i}")
            full.append(wall)
            full_steps.append(st["groups"])
    result.memory["full rebuild"] = mem.as_dict()

    s_new, s_unch, s_full = summarise(new), summarise(unchanged), summarise(full)
    lines_new = sum(1 for _ in held)
    m = result.add(
        Metric(
            f"one new month ({NEW_MONTH}, {lines_new} files) on 119 months",
            s_new["median"],
            "s",
            s_new,
            s_full["median"],
            "full rebuild, 120 months",
            s_full,
        )
    )
    check_target(m, max_ratio=0.10)
    m.note = f"steps of the last run: {new_steps[-1]}"
    m = result.add(
        Metric(
            "unchanged month (nothing new)",
            s_unch["median"],
            "s",
            s_unch,
            s_full["median"],
            "full rebuild, 120 months",
            s_full,
        )
    )
    check_target(m, max_ratio=0.05)
    m.note = f"steps of the last run: {unchanged_steps[-1]}"
    result.details["full_rebuild_steps_last_run"] = full_steps[-1]
    shutil.rmtree(ctx.scratch / "homes", ignore_errors=True)
