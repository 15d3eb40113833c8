"""Shared pytest configuration: the one test warehouse, built once per session by the real pipeline,
and the marker every test carries (unit, dbt, browser, slow; see pyproject.toml).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.support.warehouse import build_test_warehouse

GROUPS = ("unit", "dbt", "browser", "slow")

# Markers of the modules whose files other engineers own, until the markers move into those files.
MODULE_MARKERS: dict[str, tuple[str, ...]] = {
    "test_ingest.py": ("unit",),
    "test_ingest_generated.py": ("unit",),
    "test_queries.py": ("unit",),
    "test_definitions.py": ("dbt",),
    "test_dbt_core.py": ("dbt",),
    "test_dbt_reports.py": ("dbt",),
    "test_pipeline_end_to_end.py": ("dbt", "slow"),
    "test_faults_run.py": ("dbt", "slow"),
}


def pytest_configure(config: pytest.Config) -> None:
    """A clean clone has no ./var: the suite gets an empty home of its own, so a test that
    forgets to name its warehouse fails here as it would in CI, instead of reading a
    developer's ./var."""
    if "SHEBAO_HOME" not in os.environ:
        os.environ["SHEBAO_HOME"] = tempfile.mkdtemp(prefix="shebao-test-home-")
    # One CJK font subset for the session (certificates/fonts.py), built by the first render,
    # instead of one per test home.
    if "SHEBAO_FONT_CACHE" not in os.environ:
        os.environ["SHEBAO_FONT_CACHE"] = tempfile.mkdtemp(prefix="shebao-test-fonts-")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test belongs to a group, so `make test-fast` cannot silently take in a slow one."""
    unmarked = []
    for item in items:
        for name in MODULE_MARKERS.get(item.path.name, ()):
            item.add_marker(name)
        if "built_warehouse" in getattr(item, "fixturenames", ()):
            item.add_marker("dbt")
        if not any(item.get_closest_marker(g) for g in GROUPS):
            unmarked.append(item.nodeid)
    if unmarked:
        raise pytest.UsageError(
            "tests without one of the markers "
            + ", ".join(GROUPS)
            + " (add a module-level pytestmark):\n  "
            + "\n  ".join(unmarked)
        )


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Warehouse path of tests/support/warehouse.py's landing folder after one real run (serving copy beside it).

    SHEBAO_TEST_WAREHOUSE may name a warehouse already built by build_test_warehouse (a developer
    iterating on tests saves the minute of the build); it is never set in CI or by make.
    """
    reuse = os.environ.get("SHEBAO_TEST_WAREHOUSE")
    if reuse:
        return Path(reuse)
    return build_test_warehouse(tmp_path_factory.mktemp("test_warehouse"))
