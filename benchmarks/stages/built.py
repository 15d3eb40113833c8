"""A pipeline build (warehouse + serving copy) per scale, made once and reused by the reader stages."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks import data
from benchmarks.harness import AS_OF, Context


def built_home(ctx: Context, scale: float) -> Path:
    """SHEBAO_HOME holding warehouse.duckdb and its serving copy built by the full pipeline at `scale`."""
    from pipelines.run import run_pipeline

    home = ctx.scratch / "built" / f"sf{scale:g}"
    if (home / ".done").exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    if scale == 0:  # smoke runs: the tests' small landing folder through the real pipeline
        from tests.support.warehouse import build_test_warehouse

        build_test_warehouse(home)
        (home / ".done").write_text("ok")
        return home
    os.environ.update(
        SHEBAO_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), SHEBAO_WAREHOUSE=str(home / "warehouse.duckdb")
    )
    landing, _ = data.landing(scale)
    summary = run_pipeline(landing, home / "warehouse.duckdb", as_of=AS_OF)
    if not summary.success:
        raise RuntimeError("pipeline failed: " + "; ".join(summary.failures[:5]))
    (home / ".done").write_text("ok")
    return home


def copy_serving(src_home: Path, dst_home: Path) -> Path:
    """Publish `src_home`'s current serving copy in `dst_home` (same layout: serving/<version> and CURRENT)."""
    from foundation import paths
    from pipelines.defs.serving import versions

    src = paths.serving_path(src_home / paths.WAREHOUSE_FILE)
    folder = paths.serving_dir(dst_home / paths.WAREHOUSE_FILE)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, folder / src.name)
    versions.swap_pointer(folder, src.name)
    return folder / src.name
