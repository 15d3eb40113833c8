"""Growth measured, not assumed: the pipeline's time, memory and disk per scale, and the scaling table.

The pipeline stage records, per scale, one `details["sf<scale>"]["scaling"]` entry (median wall
time, CPU seconds of the process and its waited-for children, peak RSS of the process tree,
landing / warehouse / serving bytes, seconds per million ledger lines). The table is built at
report time from the merged report, so `--merge` keeps SF 1 and SF 10 when SF 30 and SF 100
run alone (in the background, across a session) and the SF 100 row is still judged against
the SF 10 run.

Targets (issue 15): time no faster than linear from SF 10, i.e. within 1.2x of linear (12x of
SF 10 at SF 100, 3.6x at SF 30), and peak RSS < 8 GiB at SF 100.
"""

from __future__ import annotations

import resource
from pathlib import Path

TABLE_SCALES = (1.0, 10.0, 30.0, 100.0)
BASE_SCALE = 10.0
LINEAR_SLACK = 1.2  # "within 12x of SF 10" at 10x the lines
MAX_RSS_GIB = {10.0: 6.0, 30.0: 8.0, 100.0: 8.0}  # SF 10: the earlier issue's target; SF 30/100: issue 15's


def cpu_seconds() -> float:
    """User + system CPU of this process and of its children that have been waited for (dbt)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def disk_usage(landing: Path, warehouse: Path) -> dict:
    """Bytes on disk after a run: the landing folder, the warehouse (with its WAL), the current serving copy."""
    from foundation import paths

    wal = warehouse.with_name(warehouse.name + ".wal")
    try:
        serving = paths.serving_path(warehouse)
    except Exception:  # no copy published
        serving = None
    folder = paths.serving_dir(warehouse)
    return {
        "landing_bytes": tree_bytes(landing),
        "warehouse_bytes": tree_bytes(warehouse) + tree_bytes(wal),
        "serving_bytes": tree_bytes(serving) if serving else 0,
        "serving_folder_bytes": tree_bytes(folder),
    }


def entry(lines: int, walls: list[float], cpus: list[float], peak_rss: int, disk: dict, runs: int) -> dict:
    import statistics

    wall = statistics.median(walls)
    millions = lines / 1e6 if lines else 0.0
    return {
        "ledger_lines": lines,
        "runs": runs,
        "wall_s": round(wall, 2),
        "cpu_s": round(statistics.median(cpus), 2) if cpus else None,
        "peak_rss_gib": round(peak_rss / 2**30, 3),
        "s_per_million_lines": round(wall / millions, 3) if millions else None,
        "cpu_s_per_million_lines": round(statistics.median(cpus) / millions, 3) if cpus and millions else None,
        **disk,
    }


def rows(doc: dict) -> list[dict]:
    """One row per measured scale (the table's four first, then any other), judged against SF 10."""
    stage = next((s for s in doc.get("stages", []) if s.get("stage") == "pipeline"), None)
    if stage is None:
        return []
    found: dict[float, dict] = {}
    for key, value in (stage.get("details") or {}).items():
        if key.startswith("sf") and isinstance(value, dict) and isinstance(value.get("scaling"), dict):
            try:
                found[float(key[2:])] = value["scaling"]
            except ValueError:
                continue
    base = found.get(BASE_SCALE)
    out = []
    for scale in sorted(found, key=lambda s: (s not in TABLE_SCALES, s)):
        e = dict(found[scale], scale=scale)
        if base and scale > BASE_SCALE and base.get("wall_s") and base.get("ledger_lines"):
            e["time_vs_sf10"] = round(e["wall_s"] / base["wall_s"], 2)
            e["lines_vs_sf10"] = round(e["ledger_lines"] / base["ledger_lines"], 2)
            limit = LINEAR_SLACK * e["lines_vs_sf10"]
            e["time_limit_vs_sf10"] = round(limit, 2)
            e["time_met"] = e["time_vs_sf10"] <= limit
        if scale in MAX_RSS_GIB:
            e["rss_target_gib"] = MAX_RSS_GIB[scale]
            e["rss_met"] = e["peak_rss_gib"] < MAX_RSS_GIB[scale]
        out.append(e)
    return out


def _mb(n: int | None) -> str:
    if not n:
        return ""
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _yes(flag: bool | None) -> str:
    return {True: "yes", False: "**no**"}.get(flag, "") if flag is not None else ""


def render(doc: dict) -> list[str]:
    """The markdown section: every scale measured so far, with the SF 10 comparison and the RSS target."""
    table = rows(doc)
    if not table:
        return []
    present = {e["scale"] for e in table}
    missing = [f"SF {s:g}" for s in TABLE_SCALES if s not in present]
    lines = [
        "## Scaling: SF 1 / 10 / 30 / 100",
        "",
        "Full pipeline (`pipeline` stage) per scale: median wall time, CPU seconds (process and dbt), "
        "peak RSS of the process tree, disk after the run. Targets: time within "
        f"{LINEAR_SLACK:g}x of linear from SF 10 (12x of SF 10 at SF 100), peak RSS < 8 GiB at SF 100.",
        "",
        "| scale | ledger lines | runs | wall time | s per M lines | CPU s per M lines | time vs SF 10 "
        "| target | met | peak RSS | target | met | landing | warehouse | serving copy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in table:
        lines.append(
            f"| SF {e['scale']:g} | {e['ledger_lines']:,} | {e.get('runs', '')} | {e['wall_s']:.1f} s | "
            f"{e.get('s_per_million_lines') or ''} | {e.get('cpu_s_per_million_lines') or ''} | "
            + (
                f"{e['time_vs_sf10']:g}x ({e['lines_vs_sf10']:g}x the lines) | <= {e['time_limit_vs_sf10']:g}x | "
                f"{_yes(e['time_met'])} | "
                if "time_vs_sf10" in e
                else " |  |  | "
            )
            + f"{e['peak_rss_gib']:.2f} GiB | "
            + (f"< {e['rss_target_gib']:g} GiB | {_yes(e['rss_met'])} | " if "rss_target_gib" in e else " |  | ")
            + f"{_mb(e.get('landing_bytes'))} | {_mb(e.get('warehouse_bytes'))} | {_mb(e.get('serving_bytes'))} |"
        )
    lines.append("")
    if missing:
        lines += [f"Not measured yet: {', '.join(missing)}.", ""]
    return lines
