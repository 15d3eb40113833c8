"""Where things live: the source tree's folders, and runtime state under SHEBAO_HOME (default ./var).

Every package resolves these through here, so one environment variable moves the whole
runtime state and nothing is ever written into the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
REFERENCE_SEEDS_DIR = DBT_PROJECT_DIR / "seeds" / "reference"

WAREHOUSE_FILE = "warehouse.duckdb"
# The serving copy: one file per publish in serving/, the current one named by serving/CURRENT.
SERVING_DIR = "serving"
SERVING_POINTER = "CURRENT"
SERVING_PREFIX = "serving-"
SERVING_SUFFIX = ".duckdb"
LEGACY_SERVING_FILE = "serving.duckdb"  # the single file of earlier layouts, migrated by the next run
# The key of the serving copy's ID-number hash: beside the warehouse, never in the serving copy.
ID_HASH_KEY_FILE = "id-hash.key"
# The CJK font subset the documents embed (certificates/fonts.py), built once per home.
FONT_CACHE_DIR = ("cache", "fonts")
FONT_CACHE_ENV = "SHEBAO_FONT_CACHE"  # another folder, e.g. one cache shared by a test session


def shebao_home() -> Path:
    home = Path(os.environ.get("SHEBAO_HOME", "var")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def font_cache_dir() -> Path:
    """$SHEBAO_FONT_CACHE when set, else $SHEBAO_HOME/cache/fonts (created on demand by its builder)."""
    explicit = os.environ.get(FONT_CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser().resolve()
    return shebao_home().joinpath(*FONT_CACHE_DIR)


def default_warehouse() -> Path:
    """SHEBAO_WAREHOUSE when set (the dashboard's subprocess gets it), else $SHEBAO_HOME/warehouse.duckdb."""
    explicit = os.environ.get("SHEBAO_WAREHOUSE")
    if explicit:
        return Path(explicit).expanduser().resolve()
    return shebao_home() / WAREHOUSE_FILE


def warehouse_or_default(warehouse: Path | str | None) -> Path:
    return Path(warehouse).expanduser().resolve() if warehouse else default_warehouse()


def default_landing() -> Path:
    return Path(os.environ.get("SHEBAO_LANDING", shebao_home() / "landing")).resolve()


def serving_dir(warehouse: Path | str | None = None) -> Path:
    return warehouse_or_default(warehouse).parent / SERVING_DIR


def serving_path(warehouse: Path | str | None = None) -> Path:
    """The latest published serving copy beside the warehouse, as serving/CURRENT names it now.

    Read on every call: each publish is a new file, so DuckDB's per-path instance cache can
    never hand an old build back. Before the first publish of this layout the legacy single
    file is served; with neither, the (missing) pointer is returned so messages name it.
    """
    folder = serving_dir(warehouse)
    try:
        name = (folder / SERVING_POINTER).read_text("utf-8").strip()
    except FileNotFoundError:
        legacy = folder.parent / LEGACY_SERVING_FILE
        return legacy if legacy.exists() else folder / SERVING_POINTER
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"数据副本指针 {folder / SERVING_POINTER} 内容无效：{name!r}")
    return folder / name


def id_hash_key_path(warehouse: Path | str | None = None) -> Path:
    return warehouse_or_default(warehouse).parent / ID_HASH_KEY_FILE
