"""Spark's tables back into the DuckDB warehouse, typed by the contracts.

After a build on the spark target, every table dbt made there (marts, reference seeds, and
the few intermediate tables the pipeline reads, such as int_contribution_checks for the
GX soft check) is read from its Parquet files and replaces the table of the same name in
the DuckDB warehouse: a mart takes the column types of its enforced contract, a seed those of
its column_types. The GX checks, the serving copy and every reader then see the same
warehouse whichever engine built it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

TABLE_MATERIALIZATIONS = ("table", "incremental", "seed")


class SparkTableMissing(RuntimeError):
    """dbt reported a table built on Spark, but its files are not where Spark keeps them."""


@dataclass(frozen=True)
class SparkTable:
    schema: str
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> declared type, in order
    contract: bool = False

    def folder(self, spark_warehouse: Path) -> Path:
        """Spark's default location for a managed table: <warehouse dir>/<database>.db/<table>."""
        return spark_warehouse / f"{self.schema}.db" / self.name


def spark_tables(manifest_path: Path) -> list[SparkTable]:
    """The tables (not views) of a manifest parsed for the spark target."""
    nodes: dict[str, Any] = json.loads(Path(manifest_path).read_text("utf-8"))["nodes"]
    tables = []
    for node in nodes.values():
        config = node.get("config", {})
        if node["resource_type"] not in ("model", "seed") or config.get("materialized") not in TABLE_MATERIALIZATIONS:
            continue
        contract = bool(config.get("contract", {}).get("enforced"))
        if contract:
            columns = {c["name"]: c["data_type"] for c in node["columns"].values()}
        else:
            columns = dict(config.get("column_types") or {})
        tables.append(SparkTable(node["schema"], node.get("alias") or node["name"], columns, contract))
    return sorted(tables, key=lambda t: (t.schema, t.name))


def _literal(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def load_table(con: duckdb.DuckDBPyConnection, table: SparkTable, spark_warehouse: Path) -> int:
    folder = table.folder(spark_warehouse)
    if not folder.is_dir():
        raise SparkTableMissing(f"Spark 表 {table.schema}.{table.name} 的文件不在 {folder}")
    files = sorted(str(p) for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
    target = f'"{table.schema}"."{table.name}"'
    source = (
        f"read_parquet([{', '.join(_literal(f) for f in files)}], hive_partitioning = true, "
        "hive_types_autocast = false, union_by_name = true)"
    )
    con.execute(f'create schema if not exists "{table.schema}"')
    # a DuckDB build left a view of this name (int_contribution_checks): a table replaces it
    if con.execute(
        "select count(*) from duckdb_views() where schema_name = ? and view_name = ?", [table.schema, table.name]
    ).fetchone() != (0,):
        con.execute(f"drop view {target}")
    if table.contract:
        columns = ", ".join(f'"{name}" {dtype}' for name, dtype in table.columns.items())
        con.execute(f"create or replace table {target} ({columns})")
        if files:
            names = ", ".join(f'"{name}"' for name in table.columns)
            con.execute(f"insert into {target} ({names}) select {names} from {source}")
    else:
        if not files:
            raise SparkTableMissing(f"Spark 表 {table.schema}.{table.name} 没有数据文件（{folder}）")
        casts = ", ".join(f'cast("{name}" as {dtype}) as "{name}"' for name, dtype in table.columns.items())
        columns = f"* replace ({casts})" if casts else "*"
        con.execute(f"create or replace table {target} as select {columns} from {source}")
    row = con.execute(f"select count(*) from {target}").fetchone()
    return int(row[0]) if row else 0


def load_spark_tables(con: duckdb.DuckDBPyConnection, manifest_path: Path, spark_warehouse: Path) -> dict[str, int]:
    """Replace the warehouse's copy of every table of the Spark build, in one transaction; rows per table."""
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table in spark_tables(manifest_path):
            counts[f"{table.schema}.{table.name}"] = load_table(con, table, spark_warehouse)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts
