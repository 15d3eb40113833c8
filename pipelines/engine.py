"""Which engine runs the dbt project: DuckDB (the default, one machine) or Spark (a province).

The same Dagster definitions drive both (docs/scale-out.md). The choice is a resource,
`engine`, from `SHEBAO_ENGINE=duckdb|spark` or `shebao run --engine`. Everything Spark
writes (the raw Parquet export, its warehouse, the Derby metastore, derby.log) lives in
one folder beside the DuckDB warehouse, under SHEBAO_HOME, never in the source tree.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import dagster as dg

ENGINE_ENV = "SHEBAO_ENGINE"
ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
LOG4J_CONFIG = Path(__file__).with_name("spark_log4j2.properties")


class UnknownEngine(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"未知的计算引擎 {name!r}：可选 {' 或 '.join(ENGINES)}（--engine 或环境变量 {ENGINE_ENV}）")


def engine_name(name: str | None = None) -> str:
    """The engine asked for (argument, else SHEBAO_ENGINE, else duckdb), checked."""
    chosen = (name or os.environ.get(ENGINE_ENV) or DEFAULT_ENGINE).strip().lower()
    if chosen not in ENGINES:
        raise UnknownEngine(chosen)
    return chosen


class SparkMissing(RuntimeError):
    def __init__(self, what: str) -> None:
        super().__init__(f"Spark 引擎需要{what}：运行 make spark（或 pip install -e '.[spark]'）后重试")


def require_engine(name: str) -> None:
    """Fail before a run starts when the Spark extra or a Java runtime is missing (one line, not a dbt traceback)."""
    if name != "spark":
        return
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        raise SparkMissing("Spark 扩展（pyspark、dbt-spark）")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise SparkMissing("Java 运行环境（Debian 包 default-jre-headless）")


def spark_dir(warehouse: Path) -> Path:
    """Spark's folder for this warehouse: <warehouse stem>.spark/ beside it."""
    return warehouse.parent / f"{warehouse.stem}.spark"


def spark_environment(warehouse: Path) -> dict[str, str]:
    """What profiles.yml's spark target reads, for the dbt process only."""
    root = spark_dir(warehouse)
    return {
        "SHEBAO_SPARK_DIR": str(root),
        "SHEBAO_SPARK_RAW": str(root / "raw"),
        "SHEBAO_SPARK_LOG4J": str(LOG4J_CONFIG),
        "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
    }


class EngineResource(dg.ConfigurableResource):
    """The dbt target a run builds with; `duckdb` builds in the warehouse itself."""

    name: str = DEFAULT_ENGINE

    @property
    def is_spark(self) -> bool:
        return engine_name(self.name) == "spark"

    @property
    def target(self) -> str:
        return engine_name(self.name)

    def dbt_environment(self, warehouse: Path) -> dict[str, str]:
        return spark_environment(warehouse) if self.is_spark else {}
