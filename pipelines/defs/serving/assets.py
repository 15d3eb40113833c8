"""The serving copy: a read-only snapshot of the marts that readers open instead of the warehouse.

DuckDB allows one writer and no reader beside it, so dashboards, certificates and queries
read a serving copy, written anew after each successful build as a new version file and
published by swapping the `serving/CURRENT` pointer (`versions.py`): readers never block the
pipeline, never see a half-built state and always open the latest build.

It carries the marts, the reference seeds and `meta` (build info and the latest GX result
of each check), never the raw schema: quarantine and load files are served as dbt marts
(rpt_quarantine_current, rpt_load_files) with masked values. Every table a reader opens
exists in every copy, so no reader needs to probe the schema.
"""

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from foundation import id_hash, paths
from foundation.settings import duckdb_config
from pipelines.defs.serving import fingerprints, versions
from pipelines.resources import WarehouseResource
from pipelines.run_tags import AS_OF_TAG

# Schemas copied whole, less the columns no reader may see: no full ID number leaves the
# warehouse. Readers show id_number_masked and find a person by full number through
# id_number_hash, the keyed hash that replaces it (foundation/id_hash.py).
SERVED_SCHEMAS = ("marts", "reference")
WITHHELD_COLUMNS = {("marts", "dim_persons"): ("id_number",)}
HASHED_COLUMNS = {("marts", "dim_persons"): (("id_number", "id_number_hash"),)}
HASH_FUNCTION = "shebao_id_number_hash"
# Tables written in the order readers filter on (a proof reads one unit's or one person's
# rows): DuckDB keeps min/max per row group, so a sorted table lets a filter on the leading
# column skip every row group but the few holding that unit or person. The queries filter
# on these columns bare (certificates/data.py), with no function around them.
SORT_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("marts", "fct_contributions"): ("unit_id", "person_id", "fee_period"),
    ("marts", "fct_person_months"): ("unit_id", "person_id", "fee_period"),
    ("marts", "rpt_unit_roster_months"): ("unit_id", "person_id", "fee_period"),
    ("marts", "rpt_unit_proof_months"): ("unit_id", "person_id", "fee_period"),
    ("marts", "rpt_unit_proof_runs"): ("unit_id", "person_id", "first_period"),
    ("marts", "rpt_unit_proof_insurances"): ("unit_id", "fee_period"),
    ("marts", "rpt_unit_contribution_summary"): ("unit_id", "fee_period"),
    ("marts", "rpt_payment_notice_lines"): ("unit_id", "notice_key"),
    ("marts", "rpt_payment_notices"): ("unit_id", "fee_period"),
    ("marts", "rpt_rights_statement"): ("person_id", "statement_period"),
    ("marts", "rpt_rights_statement_account"): ("person_id", "statement_period"),
    ("marts", "rpt_pension_account"): ("person_id",),
    ("marts", "rpt_pension_estimate"): ("person_id",),
    ("marts", "dim_persons"): ("person_id",),
    ("marts", "dim_units"): ("unit_id",),
}
# An incremental publish starts from a byte copy of the previous version; when the tables it
# drops leave more than this share of the file free, the version is written anew, compact.
MAX_FREE_SHARE = 0.5
# The latest result of each GX check, for the data-quality page (the pipeline's checks append
# to raw.expectation_results; the copy is empty with these columns until a check has run).
EXPECTATION_RESULTS_COLUMNS = (
    "check_name varchar, suite varchar, blocking boolean, success boolean, row_count bigint, "
    "evaluated_expectations integer, successful_expectations integer, failures varchar, checked_at timestamp"
)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


@dataclass
class Published:
    path: Path  # the new version, now named by serving/CURRENT
    counts: dict[str, int]  # rows per served table
    removed: list[str]  # old versions pruned
    held: list[str]  # old versions kept because a reader still holds them
    copied: list[str] = field(default_factory=list)  # tables written from the warehouse (new or changed)
    reused: list[str] = field(default_factory=list)  # tables copied from the previous version (fingerprint equal)
    previous: str | None = None  # the version the unchanged tables came from


def _warehouse_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    built = _count(
        con,
        "select count(*) from duckdb_tables() where database_name = 'wh' "
        "and schema_name = 'meta' and table_name = 'dbt_build_state'",
    )
    if not built:
        return None
    row = con.execute("select fingerprint from wh.meta.dbt_build_state order by built_at desc limit 1").fetchone()
    return row[0] if row else None


def _select_list(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    withheld = WITHHELD_COLUMNS.get((schema, table))
    columns = f"* exclude ({', '.join(withheld)})" if withheld else "*"
    for source, target in HASHED_COLUMNS.get((schema, table), ()):
        columns += f', {HASH_FUNCTION}("{source}") as "{target}"'
    return columns


def spill_directory(warehouse: Path) -> Path:
    """Where the publish connection spills when a sort outgrows the memory limit (DuckDB empties it)."""
    return warehouse.with_name(warehouse.name + ".serving-spill")


def _previous(con: duckdb.DuckDBPyConnection, folder: Path) -> tuple[Path | None, dict[tuple[str, str], str]]:
    """The current version and the table fingerprints it recorded ((None, {}) if none can be read).

    The current version is never rewritten and only the publisher (holding the writer lock, as
    here) prunes, so it cannot change or vanish while it is read and copied.
    """
    name = versions.current_name(folder)
    if not name or not (folder / name).is_file():
        return None, {}
    try:
        con.execute("attach '" + str(folder / name).replace("'", "''") + "' as prev (read_only)")
    except duckdb.Error:
        return None, {}  # unreadable (a damaged file): publish everything from the warehouse
    try:
        return folder / name, fingerprints.previous_fingerprints(con, "prev")
    finally:
        con.execute("detach prev")


def _free_share(con: duckdb.DuckDBPyConnection) -> float:
    row = con.execute(
        "select free_blocks, total_blocks from pragma_database_size() where database_name = 'copy'"
    ).fetchone()
    return float(row[0]) / row[1] if row and row[1] else 0.0


def publish_serving_copy(warehouse: Path, as_of: str | None = None, *, incremental: bool = True) -> Published:
    """Copy the served tables into a new version file, then make it the current one.

    With `incremental` (the default), when some tables' fingerprints (`fingerprints.py`: the
    table's definition in the copy and a checksum of its rows) equal those the current version
    recorded, the new version starts as a byte copy of the current one; the changed, new and
    no longer served tables are dropped from it and only the changed and new ones are read
    from the warehouse, sorted and hashed. A copy whose dropped tables leave more than half
    of it free is written again from scratch (DuckDB reuses free blocks but never shrinks a
    file). Either way the new version is complete under a temporary name before it is
    installed, so a killed publish leaves the old version current.
    """
    warehouse = Path(warehouse).resolve()
    versions.migrate_legacy(warehouse)
    folder = paths.serving_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    key = id_hash.load_key(warehouse, create=True)
    counts: dict[str, int] = {}
    copied: list[str] = []
    reused: list[str] = []
    # An in-memory connection spills to ".tmp" under the working directory unless told otherwise;
    # the sort of a SF 100 fact (100M rows) spills gigabytes, so beside the warehouse it goes, in a
    # folder of its own (the writer's connection spills to <warehouse>.tmp; both may be open).
    # A publish killed while spilling leaves its temporary files; only a publisher (one at a time,
    # under the writer lock) uses the folder, so what is there now is such a leftover.
    shutil.rmtree(spill_directory(warehouse), ignore_errors=True)
    config = {**duckdb_config(), "temp_directory": str(spill_directory(warehouse))}
    con = duckdb.connect(config=config)
    con.execute("set enable_progress_bar = false")  # no bar on the run's console
    try:
        # A path may hold quotes, spaces and Chinese: quote it as a SQL string literal.
        con.execute("attach '" + str(warehouse).replace("'", "''") + "' as wh (read_only)")
        final = folder / versions.version_name(_warehouse_fingerprint(con))
        tmp = versions.temporary_path(final)
        tmp.unlink(missing_ok=True)
        previous, before = _previous(con, folder) if incremental else (None, {})
        tables = con.execute(
            """select schema_name, table_name from duckdb_tables()
               where database_name = 'wh' and schema_name in (select unnest(?))
               order by 1, 2""",
            [list(SERVED_SCHEMAS)],
        ).fetchall()
        con.execute(id_hash.sql_macro(HASH_FUNCTION, key))
        digest = fingerprints.key_digest(key)
        plans = []  # (schema, table, select list, order by, fingerprint, rows)
        for schema, table in tables:
            columns = _select_list(con, schema, table)
            keys = SORT_KEYS.get((schema, table))
            order = " order by " + ", ".join(f'"{key}"' for key in keys) if keys else ""
            definition = f"select {columns}{order}" + (f" key {digest}" if (schema, table) in HASHED_COLUMNS else "")
            fingerprint, rows = fingerprints.table_fingerprint(con, "wh", schema, table, definition)
            plans.append((schema, table, columns, order, fingerprint, rows))
        keep = {(s, t) for s, t, _, _, f, _ in plans if before.get((s, t)) == f}
        if previous is not None and keep:
            shutil.copyfile(previous, tmp)  # the unchanged tables, already sorted and hashed
        else:
            previous = None
        con.execute("attach '" + str(tmp).replace("'", "''") + "' as copy")
        con.execute("use copy")
        if previous is not None:  # drop what is not kept: changed tables, tables no longer served, meta
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'copy'"
            ).fetchall():
                if (schema, table) not in keep:
                    con.execute(f'drop table "{schema}"."{table}"')
            # Free the dropped tables' blocks now, so the tables written next reuse them instead of
            # growing the file (blocks freed within one checkpoint are only reusable after it).
            con.execute("checkpoint copy")
        for schema in sorted({s for s, _ in tables} | {"meta"}):
            con.execute(f'create schema if not exists "{schema}"')
        con.execute(f"create table {fingerprints.TABLE} ({fingerprints.COLUMNS})")
        for schema, table, columns, order, fingerprint, rows in plans:
            name = f"{schema}.{table}"
            if (schema, table) in keep and previous is not None:
                reused.append(name)
            else:
                con.execute(
                    f'create table "{schema}"."{table}" as select {columns} from wh."{schema}"."{table}"{order}'
                )
                copied.append(name)
            counts[name] = _count(con, f'select count(*) from "{schema}"."{table}"')
            if counts[name] != rows:  # the copy must hold what was fingerprinted
                raise RuntimeError(f"{name}: {counts[name]} rows in the copy, {rows} fingerprinted")
            con.execute(
                f"insert into {fingerprints.TABLE} values (?, ?, ?, ?, ?)",
                [schema, table, fingerprint, rows, previous.name if name in reused and previous else "warehouse"],
            )
        con.execute(
            "create table meta.build_info as select ?::timestamp as published_at, ?::date as as_of, "
            "?::varchar as inputs_fingerprint",
            [
                dt.datetime.now().replace(microsecond=0),
                as_of or dt.date.today().isoformat(),
                _warehouse_fingerprint(con),
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
        con.execute("checkpoint copy")
        bloated = previous is not None and _free_share(con) > MAX_FREE_SHARE
        con.execute("use memory")
        con.execute("detach copy")
    finally:
        con.close()
    if bloated:  # mostly free blocks left by dropped tables: write a compact file instead
        tmp.unlink(missing_ok=True)
        return publish_serving_copy(warehouse, as_of, incremental=False)
    versions.install(tmp, final)
    removed, held = versions.prune(folder)
    return Published(final, counts, removed, held, copied, reused, previous.name if previous else None)


def build_serving_asset(mart_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["serving_copy"]),
        group_name="serving",
        deps=mart_keys,
        kinds={"duckdb"},
        description="Read-only snapshot of the marts (a new serving/serving-*.duckdb, named by serving/CURRENT) "
        "for dashboards, certificates and queries.",
    )
    def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        as_of = context.run.tags.get(AS_OF_TAG) if context.run else None
        published = publish_serving_copy(warehouse.file, as_of)
        return dg.MaterializeResult(
            metadata={
                "path": str(published.path),
                "tables": published.counts,
                "dagster/row_count": sum(published.counts.values()),
                "tables re-copied (changed)": len(published.copied),
                "tables reused (unchanged)": len(published.reused),
                "old versions removed": published.removed,
                "old versions still read": published.held,
            }
        )

    return serving_copy
