"""dbt's events from the warm child turned into Dagster's, with dagster-dbt's own translation.

Each node result becomes what dagster-dbt's `DbtCliInvocation.stream()` would yield (an Output
per model or seed, an AssetCheckResult per test), and every message is echoed to standard
output as dagster-dbt does, so the run log reads the same.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from pipelines.defs.transform.dbt_server import DbtServer


@cache
def _manifest(path: Path, mtime: float) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def manifest_of(project: DbtProject) -> dict[str, Any]:
    """The manifest the assets were defined from, read once per change."""
    path = project.manifest_path
    return _manifest(path, path.stat().st_mtime)


def stream_build(
    context: dg.AssetExecutionContext,
    server: DbtServer,
    args: list[str],
    env: Mapping[str, str],
    project: DbtProject,
    translator: DagsterDbtTranslator,
) -> Iterator[Any]:
    """Run `dbt <args>` in the warm child and yield the Dagster events of its node results."""
    manifest = manifest_of(project)
    line = f"Running dbt command: `dbt {' '.join(args)}` in the warm dbt process."
    print(line, flush=True)
    context.log.info(line)
    for raw in server.events(args, env):
        event = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
        sys.stdout.write(str(event) + "\n")
        yield from event.to_default_asset_events(
            manifest=manifest, dagster_dbt_translator=translator, context=context, project=project
        )
    sys.stdout.flush()
