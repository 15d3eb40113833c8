"""Materialize every asset for one landing folder, in process, through the Dagster definitions.

A run holds the warehouse's writer lock (pipelines/resources.py) from start to end and stops on
SIGINT or SIGTERM: Dagster then interrupts the running step, dagster-dbt forwards the interrupt
to dbt, and the kernel kills dbt anyway if this process dies first (pipelines/defs/transform/dbt_child.py).
Nothing a killed run leaves (no lock, no concurrency slot) blocks the next one.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import dagster as dg
import duckdb

from foundation import paths as settings
from foundation.landing.schema import SOURCES
from pipelines.engine import EngineResource, engine_name, require_engine
from pipelines.event_log import runner_instance
from pipelines.resources import writer_lock
from pipelines.run_tags import AS_OF_TAG, RUNNER_HOST_TAG, RUNNER_PID_TAG

INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"
# What earlier versions wrote: a persistent pool whose slot a killed run held for ever.
OLD_INSTANCE_CONFIG = "telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n"


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped the run; the step it was in did not complete."""

    def __init__(self, signum: int | None = None) -> None:
        self.signum = signum
        name = signal.Signals(signum).name if signum else "SIGINT/SIGTERM"
        super().__init__(
            f"运行被信号 {name} 中断：正在进行的步骤未完成，已发布的数据副本保持不变；"
            "重新运行 shebao run 即可从中断处继续"
        )

    @property
    def exit_code(self) -> int:
        return 128 + (self.signum or signal.SIGINT)


def dagster_home() -> Path:
    """Runs from the CLI land in the instance `dagster dev` shows (DAGSTER_HOME, else SHEBAO_HOME/dagster)."""
    path = Path(os.environ.get("DAGSTER_HOME", settings.shebao_home() / "dagster")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    # The network is closed here. No concurrency pool: the writer lock serialises runs.
    if not config.exists() or config.read_text("utf-8") == OLD_INSTANCE_CONFIG:
        config.write_text(INSTANCE_CONFIG, "utf-8")
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_runs_of_dead_runners(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs a killed `shebao run` on this host left marked as started."""
    failed = []
    host = socket.gethostname()
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = run.tags.get(RUNNER_PID_TAG)
        if run.tags.get(RUNNER_HOST_TAG) == host and pid and pid.isdigit() and not _alive(int(pid)):
            instance.report_run_failed(run, f"the shebao run process {pid} died before the run finished")
            failed.append(run.run_id)
    return failed


class Signals:
    """The signals this process received, as the interpreter's wakeup pipe saw them.

    Dagster replaces the SIGINT/SIGTERM handlers while it executes, so a handler of ours
    would not see a signal that arrives mid-step; the wakeup pipe sees every one.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        for fd in (self._read, self._write):
            os.set_blocking(fd, False)
        self._seen: list[int] = []

    def received(self) -> list[int]:
        try:
            while chunk := os.read(self._read, 64):
                self._seen.extend(b for b in chunk if b in (signal.SIGINT, signal.SIGTERM))
        except BlockingIOError:
            pass
        return self._seen

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


@contextmanager
def stop_on_signals() -> Iterator[Signals]:
    """SIGTERM stops the run like SIGINT.

    Outside a step a signal raises KeyboardInterrupt at once. While Dagster executes it
    installs its own handler for both signals and interrupts the running step instead
    (dagster-dbt forwards that to dbt); the run then ends as failed and the caller checks
    `received()`. Only the main thread can take signals.
    """
    seen = Signals()
    if threading.current_thread() is not threading.main_thread():
        try:
            yield seen
        finally:
            seen.close()
        return

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(seen._write, warn_on_full_buffer=False)
    try:
        yield seen
    except KeyboardInterrupt:
        got = seen.received()
        raise RunInterrupted(got[0] if got else None) from None
    finally:
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        seen.close()


def _interrupted(result: dg.ExecuteInProcessResult) -> bool:
    return result.dagster_run.status == dg.DagsterRunStatus.CANCELED or any(
        event.is_step_failure
        and event.step_failure_data is not None
        and event.step_failure_data.error is not None
        and event.step_failure_data.error.cls_name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt")
        for event in result.all_events
    )


SOURCE_LABELS = {name: spec.label for name, spec in SOURCES.items()}
CHECK_LABELS = {f"gx_{name}": f"{spec.label}校验" for name, spec in SOURCES.items()} | {
    "gx_contribution_amounts": "缴费金额与基数校验"
}
MAX_FAILED_FILES = 5  # failed files named in the summary; the log and raw.load_files have all
REASON_WIDTH = 160


def _short(text: str, width: int = REASON_WIDTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class RunSummary:
    """What a run did, for the short Chinese summary `shebao run` and `shebao demo` print."""

    success: bool
    ingestion: dict[str, str] = field(default_factory=dict)  # source -> per-file summary text (the log has it)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> counts (SourceReport metadata)
    checks: list[tuple[str, str, bool, str]] = field(default_factory=list)  # asset, check, passed, severity
    check_failures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # check -> failed expectations
    marts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_file: Path | None = None

    @property
    def blocking_failures(self) -> list[str]:
        return [f"{a} {c}" for a, c, passed, sev in self.checks if not passed and sev == "ERROR"]

    def _source_lines(self) -> list[str]:
        out = ["数据加载（读取 = 加载 + 隔离 + 暂挂 + 跳过）："]
        failed: list[tuple[str, str]] = []
        for source, m in self.sources.items():
            label = SOURCE_LABELS.get(source, source)
            if not m.get("files_seen"):
                out.append(f"  {label}：没有文件")
                continue
            released = f"，释放暂挂 {m['rows_released']}" if m.get("rows_released") else ""
            if m.get("files_already_loaded") == m["files_seen"] and not released:
                out.append(f"  {label}：文件 {m['files_seen']} 个，均已加载过，没有新数据")
                continue
            out.append(
                f"  {label}：文件 {m['files_seen']} 个，读取 {m['rows_read']:,}，加载 {m['rows_loaded']:,}，"
                f"隔离 {m['rows_quarantined']:,}，暂挂 {m['rows_held']:,}，跳过 {m['rows_skipped']:,}{released}"
            )
            failed += [(f["file"], f["error"] or "") for f in m.get("failed_files", [])]
        if failed:
            out.append(f"  未加载的文件 {len(failed)} 个：")
            out += [f"    {_short(error)}" for _, error in failed[:MAX_FAILED_FILES]]
            if len(failed) > MAX_FAILED_FILES:
                out.append(f"    ……另有 {len(failed) - MAX_FAILED_FILES} 个，见日志")
        if any(m.get("rows_quarantined") or m.get("rows_held") for m in self.sources.values()):
            out.append("  隔离和暂挂的行及原因见看板“数据质量”页（raw.quarantine、raw.pending）")
        return out

    def _check_lines(self) -> list[str]:
        passed = sum(1 for c in self.checks if c[2])
        out = [f"检查：通过 {passed} 项，未通过 {len(self.checks) - passed} 项"]
        for _asset, check, ok, severity in self.checks:
            if ok:
                continue
            label = CHECK_LABELS.get(check, check)
            found = "；".join(
                f"不满足“{f.get('description') or f.get('expectation')}”的 {f.get('unexpected_count') or 0:,} 条"
                for f in self.check_failures.get(check, [])
            )
            if severity == "WARN":
                out.append(
                    f"  提示：{label}发现问题（{found or '见日志'}）；这是提示性检查，数据已照常加载和构建，"
                    "明细见看板“数据质量”页"
                )
            else:
                out.append(f"  错误：{label}未通过（{found or '见日志'}），构建已停止，请更正数据后重新运行")
        return out

    def lines(self) -> list[str]:
        out = self._source_lines() + self._check_lines() + self.notes
        if self.marts:
            biggest = sorted(self.marts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
            named = "，".join(f"{table.removeprefix('marts.')} {rows:,} 行" for table, rows in biggest)
            out.append(f"数据集市：{len(self.marts)} 张表，共 {sum(self.marts.values()):,} 行（最大：{named}）")
        out += [f"错误：{_short(failure, 300)}" for failure in self.failures]
        if self.log_file is not None:
            out.append(f"详细日志：{self.log_file}")
        out.append("结果：" + ("成功" if self.success else "失败"))
        return out

    def verbose_lines(self) -> list[str]:
        """The summary after every published mart with its row count (shebao run --verbose)."""
        tables = [f"  {table:<45} {rows:>12,}" for table, rows in self.marts.items()]
        return ["数据集市（行数）：", *tables, *self.lines()]


def run_pipeline(
    landing: Path,
    warehouse: Path,
    as_of: str | None = None,
    log_level: str = "WARNING",
    wait_seconds: float | None = None,
    engine: str | None = None,
) -> RunSummary:
    """One load-and-build run. Raises WriterBusy when another run keeps the warehouse, RunInterrupted on a signal."""
    engine = engine_name(engine)
    require_engine(engine)
    as_of = as_of or dt.date.today().isoformat()
    dt.date.fromisoformat(as_of)  # fail early on a malformed date
    warehouse = Path(warehouse).resolve()
    home = dagster_home()
    with stop_on_signals() as signals, writer_lock(warehouse, wait_seconds):
        from pipelines.definitions import (
            LOAD_AND_BUILD_JOB,
            build_defs,
        )  # after the lock: a busy warehouse says so fast
        from pipelines.defs.transform.dbt import seed_keys, seeds_unchanged, warm_dbt_environment
        from pipelines.defs.transform.dbt_server import prewarm

        defs = build_defs(landing=landing, warehouse=warehouse, engine=engine)
        job = defs.resolve_job_def(LOAD_AND_BUILD_JOB)
        if engine == "duckdb":  # dbt's start and parse in the warm child overlap the loading
            prewarm(settings.DBT_PROJECT_DIR, warm_dbt_environment(warehouse, EngineResource(name=engine)))
        selection = None  # the whole job; without the seeds (and so their checks) while they are unchanged
        if seeds_unchanged(warehouse, EngineResource(name=engine)):
            seeds = seed_keys()
            selection = [k for k in defs.resolve_asset_graph().materializable_asset_keys if k not in seeds]
        with runner_instance(home) as instance:
            fail_runs_of_dead_runners(instance)
            result = job.execute_in_process(
                instance=instance,
                asset_selection=selection,
                tags={AS_OF_TAG: as_of, RUNNER_PID_TAG: str(os.getpid()), RUNNER_HOST_TAG: socket.gethostname()},
                raise_on_error=False,
                run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            )
        received = signals.received()
        if received or _interrupted(result):
            raise RunInterrupted(received[0] if received else None)
    return summarise(result, warehouse)


_SOURCE_FIGURES = (
    "files_seen",
    "files_already_loaded",
    "rows_read",
    "rows_loaded",
    "rows_quarantined",
    "rows_held",
    "rows_skipped",
    "rows_released",
    "failed_files",
)


def summarise(result: dg.ExecuteInProcessResult, warehouse: Path) -> RunSummary:
    """What `shebao run` prints: per-file ingestion, checks, failures and the published marts' row counts."""
    summary = RunSummary(success=result.success)
    materializations = [e.step_materialization_data.materialization for e in result.get_asset_materialization_events()]
    for mat in materializations:
        if mat.asset_key.path[0] == "raw" and "summary" in mat.metadata:
            source = mat.asset_key.path[-1]
            summary.ingestion[source] = str(mat.metadata["summary"].value)
            summary.sources[source] = {k: mat.metadata[k].value for k in _SOURCE_FIGURES if k in mat.metadata}
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.passed, evaluation.severity.value)
        )
        failures = evaluation.metadata.get("failures")
        if not evaluation.passed and failures is not None and isinstance(failures.value, list):
            summary.check_failures[evaluation.check_name] = list(failures.value)
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            summary.failures.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
    summary.failures.extend(f"阻断性检查未通过：{name}" for name in summary.blocking_failures)
    summary.success = result.success and not summary.blocking_failures
    published = any(m.asset_key.path == ["serving_copy"] for m in materializations)
    if summary.success and not published:
        summary.notes.append(
            "输入自上次构建以来没有变化（已加载的文件、计算日期和dbt项目均相同）：跳过 dbt 构建和数据副本发布，"
            "下列数据集市为上次发布的版本"
        )
    serving = settings.serving_path(warehouse)
    if summary.success and serving.exists():
        con = duckdb.connect(str(serving), read_only=True)
        try:
            tables = con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
            for (table,) in tables:
                count = con.execute(f'select count(*) from marts."{table}"').fetchone()
                summary.marts[f"marts.{table}"] = int(count[0]) if count else 0
        finally:
            con.close()
    return summary
