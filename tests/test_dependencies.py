"""Every third-party package the code imports is declared in pyproject.toml."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
OURS = {"foundation", "shebao", "pipelines", "expectations", "certificates", "dashboards", "benchmarks", "tests"}
# import name -> distribution name, where they differ
DISTRIBUTION = {
    "PIL": "pillow",
    "dbt": "dbt-core",
    "dagster_dbt": "dagster-dbt",
    "great_expectations": "great-expectations",
    "python_calamine": "python-calamine",
    "zxingcpp": "zxing-cpp",
    "yaml": "pyyaml",
}


def _imported() -> set[str]:
    names: set[str] = set()
    for folder in OURS:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in OURS and n != "__future__"}


def _declared() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    specs = list(project["dependencies"]) + [s for extra in project["optional-dependencies"].values() for s in extra]
    out = set()
    for spec in specs:
        name = spec.split(";")[0]
        for sep in "<>=![ ":
            name = name.split(sep)[0]
        out.add(name.strip().lower().replace("_", "-"))
    return out


def test_every_imported_package_is_declared():
    declared = _declared()
    missing = sorted(
        name for name in _imported() if DISTRIBUTION.get(name, name).lower().replace("_", "-") not in declared
    )
    assert missing == [], f"imported but not declared in pyproject.toml: {missing}"
