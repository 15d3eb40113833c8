"""The dbt project: located, parsed when its manifest is stale, and the launcher dagster-dbt runs as dbt.

Nothing here runs at import. `dbt_project()` is called when the definitions are loaded (by
`shebao run`, `dagster dev` or `dagster definitions validate`), which is when Dagster needs
the manifest; it parses the project only when a project file is newer than the manifest.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from foundation import paths

CHILD_PROGRAM = Path(__file__).with_name("dbt_child.py")
LAUNCHER_NAME = "shebao-dbt"
PROJECT_SUFFIXES = {".sql", ".yml", ".yaml", ".csv"}


def launcher_path(project_dir: Path = paths.DBT_PROJECT_DIR) -> Path:
    return project_dir / "target" / LAUNCHER_NAME


def write_launcher(project_dir: Path = paths.DBT_PROJECT_DIR) -> Path:
    """An executable that starts dbt_child.py with this environment's Python (dagster-dbt wants one path)."""
    script = (
        "#!/bin/sh\n"
        "# Written by pipelines/defs/transform/project.py: dbt that dies with the run that started it.\n"
        f'exec {shlex.quote(sys.executable)} {shlex.quote(str(CHILD_PROGRAM))} "$@"\n'
    )
    path = launcher_path(project_dir)
    if path.exists() and path.read_text("utf-8") == script and os.access(path, os.X_OK):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{LAUNCHER_NAME}.tmp-{os.getpid()}")
    tmp.write_text(script, "utf-8")
    tmp.chmod(0o755)
    os.replace(tmp, path)
    return path


def manifest_is_stale(project_dir: Path) -> bool:
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.exists():
        return True
    newest = max(
        (
            p.stat().st_mtime
            for p in project_dir.rglob("*")
            if p.suffix in PROJECT_SUFFIXES and "target" not in p.parts and "logs" not in p.parts
        ),
        default=0.0,
    )
    return manifest.stat().st_mtime < newest


def prepare_manifest(project_dir: Path = paths.DBT_PROJECT_DIR) -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file.

    A file lock keeps two processes loading the definitions at once (a code server and a run,
    two runs) from parsing into the same target folder together.
    """
    launcher = write_launcher(project_dir)
    manifest = project_dir / "target" / "manifest.json"
    with open(project_dir / "target" / ".prepare.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project_dir):
            subprocess.run(
                [
                    str(launcher),
                    f"--shebao-parent={os.getpid()}",
                    "parse",
                    "--quiet",
                    "--profiles-dir",
                    str(project_dir),
                ],
                cwd=project_dir,
                check=True,
            )
    return manifest


@cache
def dbt_project() -> DbtProject:
    """The project, prepared for this process (cached: one parse check per process)."""
    prepare_manifest(paths.DBT_PROJECT_DIR)
    return DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR)
