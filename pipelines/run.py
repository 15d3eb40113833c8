"""Materialize every asset for one landing folder, in process, through the Dagster definitions."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from foundation import paths as settings
from pipelines.run_tags import AS_OF_TAG


def dagster_home() -> Path:
    """Runs launched from the CLI land in the same instance `dagster dev` shows."""
    path = Path(os.environ.get("DAGSTER_HOME", settings.shebao_home() / "dagster")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        # The network is closed here; one DuckDB writer at a time.
        config.write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    os.environ["DAGSTER_HOME"] = str(path)
    return path


@dataclass
class RunSummary:
    success: bool
    ingestion: dict[str, str] = field(default_factory=dict)  # source -> per-file summary text
    checks: list[tuple[str, str, bool, str]] = field(default_factory=list)  # asset, check, passed, severity
    marts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def blocking_failures(self) -> list[str]:
        return [f"{a} {c}" for a, c, passed, sev in self.checks if not passed and sev == "ERROR"]

    def lines(self) -> list[str]:
        out = ["Ingestion (read = loaded + quarantined + skipped template rows):"]
        for source, text in self.ingestion.items():
            out.append(f"  [{source}]")
            out.extend(f"    {line}" for line in text.splitlines())
        passed = sum(1 for c in self.checks if c[2])
        out.append(f"Checks: {passed} passed, {len(self.checks) - passed} failed")
        for asset, check, ok, severity in self.checks:
            if not ok:
                out.append(f"  FAILED ({severity}) {asset} :: {check}")
        out.extend(self.notes)
        out.append("Marts built (rows):")
        for table, rows in self.marts.items():
            out.append(f"  {table:<45} {rows:>12,}")
        for failure in self.failures:
            out.append(f"ERROR: {failure}")
        out.append("Result: " + ("success" if self.success else "FAILED"))
        return out


def run_pipeline(landing: Path, warehouse: Path, as_of: str | None = None, log_level: str = "WARNING") -> RunSummary:
    from pipelines.definitions import LOAD_AND_BUILD_JOB, build_defs

    as_of = as_of or dt.date.today().isoformat()
    dt.date.fromisoformat(as_of)  # fail early on a malformed date
    dagster_home()
    defs = build_defs(landing=landing, warehouse=warehouse)
    job = defs.resolve_job_def(LOAD_AND_BUILD_JOB)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={AS_OF_TAG: as_of},
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    summary = RunSummary(success=result.success)
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat and mat.asset_key.path[0] == "raw" and "summary" in mat.metadata:
            summary.ingestion[mat.asset_key.path[-1]] = mat.metadata["summary"].value
    for evaluation in result.get_asset_check_evaluations():
        summary.checks.append(
            (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.passed, evaluation.severity.value)
        )
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            summary.failures.append(f"{event.step_key}: {event.step_failure_data.error.message.strip()}")
    summary.failures.extend(f"blocking check failed: {name}" for name in summary.blocking_failures)
    summary.success = result.success and not summary.blocking_failures
    published = any(
        e.asset_key and e.asset_key.path == ["serving_copy"] for e in result.get_asset_materialization_events()
    )
    if summary.success and not published:
        summary.notes.append(
            "Inputs unchanged since the last build (same loaded files, as-of date and dbt project): "
            "dbt build and serving copy skipped; the marts below are the last published ones."
        )
    serving = settings.serving_path(warehouse)
    if summary.success and serving.exists():
        con = duckdb.connect(str(serving), read_only=True)
        try:
            for schema, table, rows in con.execute(
                "select schema_name, table_name, estimated_size from duckdb_tables() where schema_name = 'marts' order by 2"
            ).fetchall():
                summary.marts[f"{schema}.{table}"] = con.execute(
                    f'select count(*) from "{schema}"."{table}"'
                ).fetchone()[0]
        finally:
            con.close()
    return summary
