"""ANSI mode on the spark target: dbt-spark 1.11 forces it off, and this is what that changes.

dbt-spark writes spark.sql.ansi.enabled=false into every session it opens, over whatever the
profile says, and re-applies it before every statement (session method), so it cannot be
turned on from the project. Without ANSI, Spark answers NULL where DuckDB (and Spark with
ANSI) raise. The project does not rely on either: the loader has typed and validated every
raw value before dbt runs, and the not_null data tests run on Spark too (docs/scale-out.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

pytest.importorskip("pyspark", reason="the Spark extra is not installed (make spark)")

PROFILES = Path(__file__).resolve().parents[1] / "dbt_project" / "profiles.yml"
# (expression, what Spark answers with ANSI off); with ANSI on each one raises, as on DuckDB
SILENT_NULLS = [
    ("make_date(2024, 13, 1)", None),  # an impossible date
    ("cast('12x' as int)", None),  # a bad number
    ("cast(2147483647 as int) + 1", -2147483648),  # integer overflow wraps
    ("1 / 0", None),  # division by zero (DuckDB answers NULL too: the models never divide by a possible zero)
]


def test_dbt_spark_forces_ansi_off_whatever_the_profile_says():
    from dbt.adapters.spark.connections import SparkConnectionMethod, SparkCredentials

    spark = yaml.safe_load(PROFILES.read_text("utf-8"))["shebao"]["outputs"]["spark"]
    assert spark["method"] == "session"
    params = {**spark["server_side_parameters"], "spark.sql.ansi.enabled": "true"}
    credentials = SparkCredentials(
        host="localhost", method=SparkConnectionMethod.SESSION, schema="main", server_side_parameters=params
    )
    assert credentials.server_side_parameters["spark.sql.ansi.enabled"] == "false"
    assert credentials.server_side_parameters["spark.sql.session.timeZone"] == "Asia/Shanghai"


def test_what_ansi_off_changes(tmp_path):
    import duckdb
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp_path}")
        .getOrCreate()
    )
    try:
        session.conf.set("spark.sql.ansi.enabled", "false")  # what dbt-spark sets
        for expression, answer in SILENT_NULLS:
            assert session.sql(f"select {expression} as v").collect()[0]["v"] == answer, expression
        session.conf.set("spark.sql.ansi.enabled", "true")
        for expression, _ in SILENT_NULLS:
            with pytest.raises(Exception, match=r"ARITHMETIC_OVERFLOW|CAST_INVALID_INPUT|DIVIDE_BY_ZERO|DATETIME"):
                session.sql(f"select {expression} as v").collect()
    finally:
        session.stop()
    # DuckDB, the other target, raises on the first three
    for expression, _ in SILENT_NULLS[:3]:
        with pytest.raises(duckdb.Error):
            duckdb.sql(f"select {expression} as v").fetchall()
