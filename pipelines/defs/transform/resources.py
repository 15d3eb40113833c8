"""The dbt resource: dagster-dbt's own DbtCliResource, pointed at the launcher that ties dbt to its run."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from pipelines.defs.transform.project import dbt_project, launcher_path


def dbt_resource() -> DbtCliResource:
    project = dbt_project()
    return DbtCliResource(
        project_dir=project,
        profiles_dir=str(project.profiles_dir),
        dbt_executable=str(launcher_path(project.project_dir)),
    )
