"""The serving copy: a read-only snapshot of the marts that readers open instead of the warehouse.

DuckDB allows one writer and no reader beside it, so dashboards, certificates and queries
read `serving.duckdb`, which is rebuilt after each successful build and swapped in with an
atomic rename: readers never block the pipeline and never see a half-built state.

It carries the marts, the reference seeds and `meta` (build info and the latest GX result
of each check), never the raw schema: quarantine and load files are served as dbt marts
(rpt_quarantine_current, rpt_load_files) with masked values. Every table a reader opens
exists in every copy, so no reader needs to probe the schema.
"""

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import duckdb

from foundation.settings import duckdb_config
from pipelines.resources import WarehouseResource
from pipelines.run_tags import AS_OF_TAG

# Schemas copied whole, less the columns no reader may see: no full ID number leaves the
# warehouse (readers use id_number_masked).
SERVED_SCHEMAS = ("marts", "reference")
WITHHELD_COLUMNS = {("marts", "dim_persons"): ("id_number",)}
# The latest result of each GX check, for the data-quality page (the pipeline's checks append
# to raw.expectation_results; the copy is empty with these columns until a check has run).
EXPECTATION_RESULTS_COLUMNS = (
    "check_name varchar, suite varchar, blocking boolean, success boolean, row_count bigint, "
    "evaluated_expectations integer, successful_expectations integer, failures varchar, checked_at timestamp"
)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def publish_serving_copy(warehouse: Path, serving: Path, as_of: str | None = None) -> dict[str, int]:
    """Copy the served tables into a fresh file, then atomically replace the old copy."""
    tmp = serving.with_name(serving.name + f".tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp), config=duckdb_config())
    try:
        # A path may hold quotes, spaces and Chinese: quote it as a SQL string literal.
        con.execute("attach '" + str(warehouse).replace("'", "''") + "' as wh (read_only)")
        tables = con.execute(
            """select schema_name, table_name from duckdb_tables()
               where database_name = 'wh' and schema_name in (select unnest(?))
               order by 1, 2""",
            [list(SERVED_SCHEMAS)],
        ).fetchall()
        for schema in sorted({s for s, _ in tables}):
            con.execute(f'create schema if not exists "{schema}"')
        for schema, table in tables:
            withheld = WITHHELD_COLUMNS.get((schema, table))
            columns = f"* exclude ({', '.join(withheld)})" if withheld else "*"
            con.execute(f'create table "{schema}"."{table}" as select {columns} from wh."{schema}"."{table}"')
            counts[f"{schema}.{table}"] = _count(con, f'select count(*) from "{schema}"."{table}"')
        con.execute("create schema if not exists meta")
        built = _count(
            con,
            "select count(*) from duckdb_tables() where database_name = 'wh' "
            "and schema_name = 'meta' and table_name = 'dbt_build_state'",
        )
        fingerprint = (
            con.execute("select fingerprint from wh.meta.dbt_build_state order by built_at desc limit 1").fetchone()
            if built
            else None
        )
        con.execute(
            "create table meta.build_info as select ?::timestamp as published_at, ?::date as as_of, "
            "?::varchar as inputs_fingerprint",
            [
                dt.datetime.now().replace(microsecond=0),
                as_of or dt.date.today().isoformat(),
                fingerprint[0] if fingerprint else None,
            ],
        )
        con.execute(f"create table meta.expectation_results ({EXPECTATION_RESULTS_COLUMNS})")
        if _count(
            con,
            "select count(*) from duckdb_tables() where database_name = 'wh' and schema_name = 'raw' "
            "and table_name = 'expectation_results'",
        ):
            con.execute("""insert into meta.expectation_results by name
                           select * exclude (rn) from (
                             select *, row_number() over (partition by check_name order by checked_at desc) as rn
                             from wh.raw.expectation_results) where rn = 1 order by check_name""")
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(tmp, serving)
    return counts


def build_serving_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["serving_copy"]),
        group_name="serving",
        deps=mart_keys,
        kinds={"duckdb"},
        description="Read-only snapshot of the marts (serving.duckdb) for dashboards, certificates and queries.",
    )
    def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        as_of = context.run.tags.get(AS_OF_TAG) if context.run else None
        counts = publish_serving_copy(warehouse.file, warehouse.serving_file, as_of)
        return dg.MaterializeResult(
            metadata={"path": str(warehouse.serving_file), "tables": counts, "dagster/row_count": sum(counts.values())}
        )

    return serving_copy
