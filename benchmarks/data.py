"""Generated landing folders, cached per (scale, window, format, seed) under the scratch folder."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from benchmarks.harness import PeakRSS

DEFAULT_WINDOW = ("202401", "202610")
HISTORY_WINDOW = ("201611", "202610")  # ten years (reference data start in 2016) for the incremental stage
SEED = 42


def scratch_root() -> Path:
    import os

    root = Path(os.environ.get("SHEBAO_BENCH_SCRATCH", "/tmp/shebao-bench")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def landing(
    scale: float, window: tuple[str, str] = DEFAULT_WINDOW, fmt: str = "auto", seed: int = SEED
) -> tuple[Path, dict]:
    """A generated landing folder (reused when already complete); returns (folder, generator summary)."""
    from shebao.generate import generate_landing

    name = f"landing-sf{scale:g}-{window[0]}-{window[1]}-{fmt}-s{seed}"
    folder = scratch_root() / "data" / name
    done = folder / ".bench-summary.json"
    if done.exists():
        return folder, json.loads(done.read_text())
    if folder.exists():
        shutil.rmtree(folder)
    t0 = time.perf_counter()
    with PeakRSS() as mem:  # the generator streams each file to disk: this must not grow with the scale
        summary = generate_landing(folder, scale=scale, months=window, fmt=fmt, seed=seed)
    keep = {k: summary[k] for k in ("persons", "units", "ledger_lines", "ledger_format")}
    keep["generate_seconds"] = round(time.perf_counter() - t0, 2)
    keep["generate_peak_rss_mib"] = round(mem.peak / 2**20, 1)
    keep["bytes"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    done.write_text(json.dumps(keep))
    return folder, keep


if __name__ == "__main__":  # pre-generate in the background: python -m benchmarks.data 1 10 30 100
    import sys

    for arg in sys.argv[1:]:
        scale, _, which = arg.partition(":")
        window = HISTORY_WINDOW if which == "history" else DEFAULT_WINDOW
        print(arg, landing(float(scale), window), flush=True)
