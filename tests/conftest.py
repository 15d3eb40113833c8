"""Shared pytest configuration: the one test warehouse, built once per session by the real pipeline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.warehouse import build_test_warehouse


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
