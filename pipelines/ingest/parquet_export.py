"""The raw layer as Parquet, for the Spark target: every dbt source table, lineage columns kept.

Spark cannot read a DuckDB file, so after loading (and before a Spark build) each raw table
a dbt source names is written to `<root>/<table>/`: tables with a fee period split into
`fee_period=YYYYMM/` folders (Hive-style, what Spark and object stores expect), the others one
file. Each table's folder is written beside the old one and swapped in, so a reader never sees
half an export. The DuckDB path does not use it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb

PARTITION_COLUMN = "fee_period"


class MissingSource(RuntimeError):
    """A dbt source has no raw table to export: Spark would build from nothing."""


def dbt_source_tables(manifest_path: Path) -> list[tuple[str, str]]:
    """(schema, table) of every dbt source, from the project's manifest."""
    sources = json.loads(Path(manifest_path).read_text("utf-8"))["sources"]
    return sorted({(s["schema"], s["identifier"]) for s in sources.values()})


def _sql_text(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def export_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, root: Path) -> int:
    """Write one raw table to root/<table>/ and return its row count."""
    columns = [
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
    ]
    if not columns:
        raise MissingSource(f"数仓中没有 dbt 数据源 {schema}.{table} 对应的原始表，无法导出给 Spark")
    row = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
    rows = int(row[0]) if row else 0
    final = root / table
    tmp = root / f".{table}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    query = f'select * from "{schema}"."{table}"'
    if PARTITION_COLUMN in columns and rows:
        con.execute(
            f"copy ({query}) to {_sql_text(tmp)} "
            f"(format parquet, partition_by ({PARTITION_COLUMN}), filename_pattern 'part_{{i}}')"
        )
    else:  # one file, written even when empty so Spark learns the columns
        con.execute(f"copy ({query}) to {_sql_text(tmp / 'part_0.parquet')} (format parquet)")
    old = root / f".{table}.old-{os.getpid()}"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return rows


def export_raw(con: duckdb.DuckDBPyConnection, manifest_path: Path, root: Path) -> dict[str, int]:
    """Export every dbt source's raw table under `root`; rows per table."""
    root.mkdir(parents=True, exist_ok=True)
    tables = dbt_source_tables(manifest_path)
    return {f"{schema}.{table}": export_table(con, schema, table, root) for schema, table in tables}
