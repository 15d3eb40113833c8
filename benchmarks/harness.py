"""Timing, memory sampling, machine description and report writing shared by every stage.

Every figure is reported as the median of several runs with its spread, next to a
limit measured in the same run, because absolute times drift on shared machines.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

AS_OF = "2026-11-15"  # the generated windows end in 202610; fixed so every run computes the same figures


# --------------------------------------------------------------------------- statistics


def summarise(samples: list[float]) -> dict:
    """Median, min, max and relative spread ((max - min) / median) of a list of seconds."""
    s = [float(x) for x in samples]
    med = statistics.median(s)
    return {
        "median": round(med, 4),
        "min": round(min(s), 4),
        "max": round(max(s), 4),
        "spread": round((max(s) - min(s)) / med, 3) if med else 0.0,
        "n": len(s),
        "samples": [round(x, 4) for x in s],
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def repeat(fn: Callable[[], object], n: int, setup: Callable[[], None] | None = None) -> list[float]:
    """Run fn n times (setup before each, untimed); seconds per run."""
    out = []
    for _ in range(n):
        if setup:
            setup()
        out.append(timed(fn)[0])
    return out


# --------------------------------------------------------------------------- memory


class PeakRSS:
    """Peak resident memory of this process plus all its descendants (dbt, uvicorn, workers).

    Sampled every `interval` seconds by a thread with psutil; RSS of the tree is summed,
    so a dbt subprocess counts. The baseline is the tree's RSS when sampling started.
    """

    def __init__(self, interval: float = 0.05, root: int | None = None):
        self.interval = interval
        self.root = psutil.Process(root or os.getpid())
        self.peak = 0
        self.baseline = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _tree_rss(self) -> int:
        total = 0
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0
        for p in procs:
            with contextlib.suppress(psutil.Error):  # a child that exited meanwhile
                total += p.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.baseline = self.peak = self._tree_rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, self._tree_rss())

    def as_dict(self) -> dict:
        return {"peak_rss_mib": round(self.peak / 2**20, 1), "baseline_rss_mib": round(self.baseline / 2**20, 1)}


# --------------------------------------------------------------------------- machine


def _cmd(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60).stdout.strip()
    except Exception:
        return ""


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def machine() -> dict:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    freq = psutil.cpu_freq()
    return {
        "cpu_model": cpu or platform.processor(),
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "cpu_mhz": round(freq.current) if freq else None,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "os": _cmd(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]) or platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in (
                "duckdb",
                "dbt-core",
                "dbt-duckdb",
                "dagster",
                "dagster-dbt",
                "great-expectations",
                "pyarrow",
                "python-calamine",
                "weasyprint",
                "fastapi",
                "uvicorn",
                "streamlit",
                "psutil",
            )
        },
        "wrk": _cmd(["sh", "-c", "wrk -v 2>&1 | head -1"]),
        "chromium": _cmd(["sh", "-c", "chromium --version 2>/dev/null"]),
        "disk_free_gib_scratch": round(psutil.disk_usage("/tmp").free / 2**30, 1),
    }


# --------------------------------------------------------------------------- results


@dataclass
class Metric:
    """One measured figure, optionally against a limit measured in the same run and a target."""

    name: str
    value: float  # the median (seconds, or whatever `unit` says)
    unit: str = "s"
    stats: dict | None = None
    limit: float | None = None  # the median of the limit, same unit
    limit_name: str | None = None
    limit_stats: dict | None = None
    target: str | None = None  # e.g. "ratio <= 1.3", "value < 0.5"
    met: bool | None = None
    note: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.limit in (None, 0) or self.value is None:
            return None
        return round(self.value / self.limit, 3)

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if v not in (None, {}, [])}
        if self.ratio is not None:
            d["ratio"] = self.ratio
        return d


def check_target(metric: Metric, *, max_ratio: float | None = None, max_value: float | None = None) -> Metric:
    if max_ratio is not None and metric.ratio is not None:
        metric.met = metric.ratio <= max_ratio
        metric.target = f"ratio <= {max_ratio:g}"
    elif max_value is not None and metric.value is not None:
        metric.met = metric.value <= max_value
        metric.target = f"<= {max_value:g} {metric.unit}"
    return metric


@dataclass
class StageResult:
    stage: str
    title: str
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    memory: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    details: dict = field(default_factory=dict)

    def add(self, metric: Metric) -> Metric:
        self.metrics.append(metric)
        return metric

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "title": self.title,
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "memory": self.memory,
            "notes": self.notes,
            "details": self.details,
            "metrics": [m.as_dict() for m in self.metrics],
        }


@dataclass
class Context:
    scales: list[float]
    repeats: int
    out: Path
    scratch: Path
    options: dict = field(default_factory=dict)

    def home(self, name: str) -> Path:
        """A fresh SHEBAO_HOME for one run, under the scratch folder (never the repository)."""
        import shutil

        path = self.scratch / "homes" / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        os.environ["SHEBAO_HOME"] = str(path)
        os.environ["DAGSTER_HOME"] = str(path / "dagster")
        os.environ["SHEBAO_WAREHOUSE"] = str(path / "warehouse.duckdb")
        return path


# --------------------------------------------------------------------------- report


def _fmt(v, unit: str = "") -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if abs(v) >= 1000:
            text = f"{v:,.0f}"
        elif abs(v) >= 10:
            text = f"{v:.1f}"
        else:
            text = f"{v:.3g}"
    else:
        text = str(v)
    return f"{text} {unit}".strip()


def write_report(out: Path, stages: list[StageResult], meta: dict, merge: bool = False) -> tuple[Path, Path]:
    """latest.json + latest.md; with merge, stages of an earlier report that were not re-run are kept."""
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now().isoformat(timespec="seconds")
    fresh = []
    for s in stages:
        d = s.as_dict()
        d["measured_at"] = now
        d["argv"] = meta.get("argv", "")
        fresh.append(d)
    kept = []
    if merge and (out / "latest.json").exists():
        old = json.loads((out / "latest.json").read_text(encoding="utf-8"))
        by_name = {d["stage"]: d for d in old.get("stages", [])}
        for d in fresh:  # same stage measured again: new metrics replace same-named ones, others are kept
            prev = by_name.pop(d["stage"], None)
            # Kept even when this run failed: a SF 100 run that dies must not lose the SF 1/10 figures.
            if prev:
                names = {m["name"] for m in d["metrics"]}
                d["metrics"] = [m for m in prev.get("metrics", []) if m["name"] not in names] + d["metrics"]
                d["memory"] = {**prev.get("memory", {}), **d["memory"]}
                d["details"] = {**prev.get("details", {}), **d["details"]}
                d["notes"] = list(dict.fromkeys(prev.get("notes", []) + d["notes"]))
                if prev.get("argv") != d["argv"]:
                    d["argv"] = f"{prev.get('argv')} (at {prev.get('measured_at')}), then {d['argv']}"
        kept = list(by_name.values())
    order = ["ingest", "pipeline", "incremental", "certificates", "verify", "dashboard"]
    all_stages = sorted(kept + fresh, key=lambda d: order.index(d["stage"]) if d["stage"] in order else 99)
    doc = {"generated_at": now, **meta, "stages": all_stages}
    json_path = out / "latest.json"
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    md_path = out / "latest.md"
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    return json_path, md_path


def render_markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        "# shebao benchmark report",
        "",
        f"Generated {doc['generated_at']} by `python -m benchmarks {doc.get('argv', '')}`.".replace("  ", " "),
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']} ({m['cores_physical']} physical / {m['cores_logical']} logical cores"
        + (f", {m['cpu_mhz']} MHz" if m.get("cpu_mhz") else "")
        + ")",
        f"- RAM: {m['ram_gib']} GiB; kernel {m['kernel']}; {m['os']}",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        f"- {m.get('wrk') or 'wrk: not found'}; {m.get('chromium') or 'chromium: not found'}",
        "",
        f"Scales: {doc.get('scales')}; repeats: {doc.get('repeats')}. Times are medians of the repeats; "
        "spread = (max - min) / median; ratio = value / limit (both measured in this run).",
        "",
    ]
    from benchmarks import scaling

    lines += scaling.render(doc)
    for s in doc["stages"]:
        lines += [
            f"## {s['stage']}: {s['title']}",
            "",
            f"Measured {s.get('measured_at', doc['generated_at'])} with `{s.get('argv', '')}`.",
            "",
        ]
        if s.get("error"):
            lines += [f"**Stage failed:** `{s['error']}`", ""]
        if s["metrics"]:
            lines += [
                "| measure | value | spread | limit | limit value | ratio | target | met |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for x in s["metrics"]:
                st = x.get("stats") or {}
                met = {True: "yes", False: "**no**"}.get(x.get("met"), "")
                lines.append(
                    f"| {x['name']} | {_fmt(x.get('value'), x.get('unit', ''))} | "
                    f"{_fmt(st.get('spread')) if st else ''} | {x.get('limit_name') or ''} | "
                    f"{_fmt(x.get('limit'), x.get('unit', '')) if x.get('limit') is not None else ''} | "
                    f"{_fmt(x.get('ratio'))} | {x.get('target') or ''} | {met} |"
                )
            lines.append("")
            notes = [f"- {x['name']}: {x['note']}" for x in s["metrics"] if x.get("note")]
            if notes:
                lines += notes + [""]
        if s.get("memory"):
            lines += [
                "Peak RSS (process tree): "
                + ", ".join(f"{k} {v.get('peak_rss_mib')} MiB" for k, v in s["memory"].items()),
                "",
            ]
        for n in s.get("notes", []):
            lines.append(f"- {n}")
        if s.get("notes"):
            lines.append("")
        lines += [f"Stage wall time: {s['seconds']} s", ""]
    return "\n".join(lines) + "\n"


def python() -> str:
    return sys.executable
