"""The engine choice and the two conversions around a Spark build, without starting Spark.

The raw export must cover every dbt source (Spark would otherwise build from nothing), and
Spark's tables come back into DuckDB with the types of the contracts, whatever Parquet says.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.build_state import inputs_fingerprint
from pipelines.engine import UnknownEngine, engine_name, spark_dir, spark_environment
from pipelines.ingest.parquet_export import MissingSource, dbt_source_tables, export_raw
from pipelines.ingest.tables import ensure_raw_schema
from pipelines.spark_marts import SparkTable, SparkTableMissing, load_table, spark_tables

pytestmark = pytest.mark.unit


def write_manifest(path: Path, sources: list[tuple[str, str]], nodes: dict | None = None) -> Path:
    manifest = {
        "sources": {f"source.shebao.s.{t}": {"schema": s, "identifier": t} for s, t in sources},
        "nodes": nodes or {},
    }
    path.write_text(json.dumps(manifest), "utf-8")
    return path


def test_engine_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("SHEBAO_ENGINE", raising=False)
    assert engine_name() == "duckdb"
    monkeypatch.setenv("SHEBAO_ENGINE", "Spark")
    assert engine_name() == "spark"
    assert engine_name("duckdb") == "duckdb"
    monkeypatch.setenv("SHEBAO_ENGINE", "flink")
    with pytest.raises(UnknownEngine, match="未知的计算引擎 'flink'：可选 duckdb 或 spark"):
        engine_name()


def test_spark_state_lives_beside_the_warehouse_never_in_the_project(tmp_path):
    warehouse = tmp_path / "home" / "warehouse.duckdb"
    assert spark_dir(warehouse) == tmp_path / "home" / "warehouse.spark"
    env = spark_environment(warehouse)
    assert env["SHEBAO_SPARK_DIR"] == str(tmp_path / "home" / "warehouse.spark")
    assert env["SHEBAO_SPARK_RAW"] == str(tmp_path / "home" / "warehouse.spark" / "raw")
    assert Path(env["SHEBAO_SPARK_LOG4J"]).read_text("utf-8").count("rootLogger.level = error") == 1


def test_the_fingerprint_carries_the_engine(tmp_path):
    con = duckdb.connect()
    ensure_raw_schema(con)
    manifest = write_manifest(tmp_path / "manifest.json", [])
    duck = inputs_fingerprint(con, "2025-04-15", manifest, "duckdb")
    assert inputs_fingerprint(con, "2025-04-15", manifest, "duckdb") == duck
    assert inputs_fingerprint(con, "2025-04-15", manifest, "spark") != duck


def test_export_covers_every_dbt_source_and_splits_the_ledger_by_fee_period(tmp_path):
    con = duckdb.connect()
    ensure_raw_schema(con)
    con.execute(
        "insert into raw.ledgers (unit_id, person_id, fee_period, source_file, source_row, file_hash, load_id) "
        "values ('U1', 'P1', '202401', 'ledgers/a.csv', 2, 'h', 'L1'), ('U1', 'P1', '202402', 'ledgers/a.csv', 3, 'h', 'L1')"
    )
    real = Path(__file__).resolve().parents[1] / "dbt_project" / "target" / "manifest.json"
    sources = dbt_source_tables(real) if real.exists() else []
    sources = sources or [
        ("raw", t)
        for t in ("employers", "persons", "enrolments", "ledgers", "legacy_history", "quarantine", "load_files")
    ]
    assert ("raw", "legacy_history") in sources  # the optional landing source is exported too (empty here)
    manifest = write_manifest(tmp_path / "manifest.json", sources)
    counts = export_raw(con, manifest, tmp_path / "raw")
    assert set(counts) == {f"{s}.{t}" for s, t in sources}
    assert counts["raw.ledgers"] == 2 and counts["raw.persons"] == 0 and counts["raw.legacy_history"] == 0
    ledgers = tmp_path / "raw" / "ledgers"
    assert sorted(p.name for p in ledgers.iterdir()) == ["fee_period=202401", "fee_period=202402"]
    back = con.execute(
        f"select fee_period, source_file, source_row, file_hash, load_id from read_parquet('{ledgers}/*/*.parquet', "
        "hive_partitioning = true, hive_types_autocast = false) order by 1"
    ).fetchall()
    assert back == [("202401", "ledgers/a.csv", 2, "h", "L1"), ("202402", "ledgers/a.csv", 3, "h", "L1")]
    # an empty table still says which columns it has
    persons = con.execute(f"describe select * from '{tmp_path}/raw/persons/part_0.parquet'").fetchall()
    assert [r[0] for r in persons][-6:] == [
        "source_file",
        "source_row",
        "file_hash",
        "load_id",
        "loaded_at",
        "superseded_at",
    ]
    # a re-export replaces the folder whole (no stale fee period survives)
    con.execute("delete from raw.ledgers where fee_period = '202402'")
    export_raw(con, manifest, tmp_path / "raw")
    assert sorted(p.name for p in ledgers.iterdir()) == ["fee_period=202401"]


def test_export_fails_on_a_dbt_source_without_a_raw_table(tmp_path):
    con = duckdb.connect()
    ensure_raw_schema(con)
    # legacy_history now has its raw table: a source the manifest names but no loader made
    manifest = write_manifest(tmp_path / "manifest.json", [("raw", "ledgers"), ("raw", "pension_payments")])
    with pytest.raises(MissingSource, match=r"数仓中没有 dbt 数据源 raw\.pension_payments 对应的原始表"):
        export_raw(con, manifest, tmp_path / "raw")


def test_spark_tables_come_back_typed_by_the_contract(tmp_path):
    con = duckdb.connect()
    folder = tmp_path / "marts.db" / "fct_x"
    (folder / "fee_period=202401").mkdir(parents=True)
    # Parquet as Spark might write it: money as double-free decimal(38,2), a count as bigint
    con.execute(
        f"copy (select 'U1' as unit_id, cast(12.5 as decimal(38, 2)) as amount, cast(3 as bigint) as headcount) "
        f"to '{folder}/fee_period=202401/part-0.parquet' (format parquet)"
    )
    table = SparkTable(
        "marts",
        "fct_x",
        {"unit_id": "string", "fee_period": "string", "amount": "decimal(18,2)", "headcount": "integer"},
        contract=True,
    )
    assert load_table(con, table, tmp_path) == 1
    described = con.execute("describe marts.fct_x").fetchall()
    assert [(r[0], r[1]) for r in described] == [
        ("unit_id", "VARCHAR"),
        ("fee_period", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
        ("headcount", "INTEGER"),
    ]
    assert con.execute("select * from marts.fct_x").fetchall() == [("U1", "202401", Decimal("12.50"), 3)]
    with pytest.raises(SparkTableMissing, match=r"Spark 表 marts\.fct_y 的文件不在"):
        load_table(con, SparkTable("marts", "fct_y", {"a": "string"}, contract=True), tmp_path)


def test_only_tables_of_the_spark_manifest_are_loaded_back(tmp_path):
    nodes = {
        "model.shebao.fct_a": {
            "resource_type": "model", "name": "fct_a", "alias": "fct_a", "schema": "marts",
            "config": {"materialized": "incremental", "contract": {"enforced": True}},
            "columns": {"a": {"name": "a", "data_type": "string"}},
        },
        "model.shebao.stg_b": {
            "resource_type": "model", "name": "stg_b", "alias": "stg_b", "schema": "staging",
            "config": {"materialized": "view"}, "columns": {},
        },
        "seed.shebao.rates": {
            "resource_type": "seed", "name": "rates", "alias": "rates", "schema": "reference",
            "config": {"materialized": "seed", "column_types": {"rate": "decimal(9,6)"}}, "columns": {},
        },
    }  # fmt: skip
    manifest = write_manifest(tmp_path / "manifest.json", [], nodes)
    assert spark_tables(manifest) == [
        SparkTable("marts", "fct_a", {"a": "string"}, contract=True),
        SparkTable("reference", "rates", {"rate": "decimal(9,6)"}, contract=False),
    ]


def test_a_table_from_spark_replaces_the_view_a_duckdb_build_left(tmp_path):
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute("create view intermediate.int_checks as select 1 as a")
    folder = tmp_path / "intermediate.db" / "int_checks"
    folder.mkdir(parents=True)
    con.execute(f"copy (select 7 as a union all select 8) to '{folder}/part-0.parquet' (format parquet)")
    assert load_table(con, SparkTable("intermediate", "int_checks"), tmp_path) == 2
    assert con.execute(
        "select table_type from information_schema.tables where table_name = 'int_checks'"
    ).fetchall() == [("BASE TABLE",)]
