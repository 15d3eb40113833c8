"""Build state in one place: what the warehouse was built from, what was published, what GX has passed.

The pipeline skips dbt and the serving copy when nothing changed, and the GX checks only look
at loads they have not passed yet. Both decisions rest on the bookkeeping tables defined here
(`meta.dbt_build_state`, `raw.expectation_results`, `raw.gx_validated_loads`); no other module
writes their DDL. The raw source, quarantine and load-file tables belong to the loader.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb

BUILD_STATE = "meta.dbt_build_state"
BUILT_PERIODS = "meta.dbt_built_periods"  # per fee period, the current ledger lines the last build tested
SEEDS_LOADED = "meta.dbt_seeds_loaded"  # the seed_state the seed tables were last loaded and tested with
EXPECTATION_RESULTS = "raw.expectation_results"
VALIDATED_LOADS = "raw.gx_validated_loads"


# --------------------------------------------------------------------------- dbt builds


def ensure_build_state(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    con.execute(f"create table if not exists {BUILD_STATE} (fingerprint varchar, as_of varchar, built_at timestamp)")
    con.execute(f"alter table {BUILD_STATE} add column if not exists scope_key varchar")
    con.execute(f"create table if not exists {BUILT_PERIODS} (fee_period varchar, fingerprint varchar)")
    con.execute(f"create table if not exists {SEEDS_LOADED} (seed_state varchar)")


_manifests: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def _manifest_nodes(manifest_path: Path) -> dict[str, Any]:
    """The manifest's nodes, parsed again only when the file changed (a 2 MB parse, several per run)."""
    stat = manifest_path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _manifests.get(manifest_path)
    if cached is None or cached[0] != stamp:
        cached = _manifests[manifest_path] = (stamp, json.loads(manifest_path.read_text("utf-8"))["nodes"])
    return cached[1]


def _code(manifest_path: Path) -> str:
    nodes = _manifest_nodes(manifest_path)
    return "\n".join(f"{k}:{v.get('checksum', {}).get('checksum', '')}" for k, v in sorted(nodes.items()))


def inputs_fingerprint(con: duckdb.DuckDBPyConnection, as_of: str, manifest_path: Path, engine: str = "duckdb") -> str:
    """What a build depends on: every loaded, superseded or failed file, the as-of date, the dbt project, the engine.

    Every change to raw goes through raw.load_files (new load, correction superseding rows),
    so equal fingerprints mean a new build would produce the same tables.
    """
    files = con.execute(
        """select coalesce(string_agg(concat_ws('|', source, source_file, file_hash, status, load_id, replaced_by),
                                      '\n' order by source, source_file, file_hash), '')
           from raw.load_files"""
    ).fetchone()
    parts = [files[0] if files else "", as_of, _code(manifest_path), engine]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def scope_key(con: duckdb.DuckDBPyConnection, manifest_path: Path, engine: str = "duckdb") -> str:
    """Everything but the ledger lines a build's tests depend on: the other sources' files, the dbt project, the engine.

    Tests may be scoped to the touched fee periods only while this equals the last build's.
    """
    files = con.execute(
        """select coalesce(string_agg(concat_ws('|', source, source_file, file_hash, status, load_id, replaced_by),
                                      '\n' order by source, source_file, file_hash), '')
           from raw.load_files where source <> 'ledgers'"""
    ).fetchone()
    parts = [files[0] if files else "", _code(manifest_path), engine]
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def ledger_period_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per fee period, count and XOR of the line identities (file hash, row) of the current ledger lines.

    One hash of the joined identity: DuckDB's hash of several values combines them so that, XORed
    over files of equal length, the file hashes cancel out.
    """
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'ledgers'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = con.execute(
        """select fee_period, count(*) || '-' || bit_xor(hash(file_hash || '|' || source_row))
           from raw.ledgers where superseded_at is null group by 1"""
    ).fetchall()
    return {str(period): str(fp) for period, fp in rows}


def touched_fee_periods(con: duckdb.DuckDBPyConnection, key: str, periods: dict[str, str]) -> list[str] | None:
    """The fee periods whose current ledger lines differ from the last build's; None: tests must read everything.

    None when there is no recorded build, or the last one had another scope key (other
    sources, dbt project or engine changed): then nothing can be assumed about the other periods.
    """
    try:  # read only: a warehouse from before scoped tests has no scope yet
        row = con.execute(f"select scope_key from {BUILD_STATE} order by built_at desc limit 1").fetchone()
        if not row or row[0] is None or row[0] != key:
            return None
        before = dict(con.execute(f"select fee_period, fingerprint from {BUILT_PERIODS}").fetchall())
    except (duckdb.CatalogException, duckdb.BinderException):
        return None
    return sorted(p for p in before.keys() | periods.keys() if before.get(p) != periods.get(p))


def last_built_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    """The inputs fingerprint of the last dbt build that finished over the whole project."""
    ensure_build_state(con)
    row = con.execute(f"select fingerprint from {BUILD_STATE} order by built_at desc limit 1").fetchone()
    return row[0] if row else None


def record_build(
    con: duckdb.DuckDBPyConnection,
    fingerprint: str,
    as_of: str,
    key: str | None = None,
    periods: dict[str, str] | None = None,
    seeds: str | None = None,
) -> None:
    """Written only after dbt finished with every test passed: a failed or killed build leaves the previous state.

    `key` and `periods` (the scope key and ledger fingerprints the build ran with) let the next
    build scope its tests to the periods changed since; without them the next build tests everything.
    `seeds` (the build's `seed_state`) lets the next build with the same state leave the seeds out.
    """
    ensure_build_state(con)
    con.execute("begin")
    con.execute(
        f"insert into {BUILD_STATE} (fingerprint, as_of, built_at, scope_key) "
        "values (?, ?, current_localtimestamp(), ?)",
        [fingerprint, as_of, key],
    )
    con.execute(f"delete from {BUILT_PERIODS}")
    if periods:
        con.executemany(f"insert into {BUILT_PERIODS} values (?, ?)", list(periods.items()))
    con.execute(f"delete from {SEEDS_LOADED}")
    if seeds:  # every seed table holds these files' rows and passed its tests (loaded now or before)
        con.execute(f"insert into {SEEDS_LOADED} values (?)", [seeds])
    con.execute("commit")


def seed_state(manifest_path: Path, engine: str = "duckdb") -> str:
    """What the seed tables and the tests on seeds alone depend on: the dbt project, the engine, and
    the bytes of every seed file and of dbt_project.yml (seed configs), read now.

    Narrower than `scope_key`: no raw source reaches a seed, so a new employers file leaves the
    seeds alone. The manifest was parsed when a long-lived process loaded its definitions, but
    dbt reads the seed files when it runs: a file edited since (or a seed config, which is not in
    a node's checksum) must still count as a change, hence the files themselves.
    """
    project_dir = manifest_path.parent.parent  # <project>/target/manifest.json
    digest = hashlib.sha256(f"{_code(manifest_path)}\x00{engine}".encode())
    files = sorted(p for p in (project_dir / "seeds").rglob("*") if p.is_file())
    for path in [*files, project_dir / "dbt_project.yml"]:
        digest.update(f"\x00{path.relative_to(project_dir)}\x00".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def forget_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """Before a build that loads the seeds: until it is recorded, nothing may be assumed about their tables.

    A build that reloaded a changed seed and then failed leaves the seed tables changed while
    the last record still names the old seed state; clearing first makes the next build reload them.
    """
    ensure_build_state(con)
    con.execute(f"delete from {SEEDS_LOADED}")


def seeds_in_place(con: duckdb.DuckDBPyConnection, state: str, manifest_path: Path) -> bool:
    """Whether a build may leave the seeds out: the same `seed_state` (seed files, project, engine)
    as when they were last loaded and tested, and every seed table still there with its file's
    row count (a dropped or truncated table is reloaded)."""
    try:  # read only: a warehouse from before this record has none
        row = con.execute(f"select seed_state from {SEEDS_LOADED}").fetchall()
    except (duckdb.CatalogException, duckdb.BinderException):
        return False
    if row != [(state,)]:
        return False
    nodes = _manifest_nodes(manifest_path).values()
    project_dir = manifest_path.parent.parent  # <project>/target/manifest.json
    tables = {(s, t) for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
    for node in (n for n in nodes if n["resource_type"] == "seed"):
        schema, table = node["schema"], node.get("alias") or node["name"]
        if (schema, table) not in tables:
            return False
        with open(project_dir / node["original_file_path"], encoding="utf-8", newline="") as fh:
            rows = sum(1 for r in csv.reader(fh) if r) - 1  # less the header
        count = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
        if not count or count[0] != rows:
            return False
    return True


def served_fingerprint(serving: Path) -> str | None:
    """The inputs fingerprint of the dbt build the serving copy was published from."""
    if not serving.exists():
        return None
    con = duckdb.connect(str(serving), read_only=True)
    try:
        row = con.execute("select max(inputs_fingerprint) from meta.build_info").fetchone()
    except duckdb.Error:
        return None  # published before fingerprints existed
    finally:
        con.close()
    return row[0] if row else None


# --------------------------------------------------------------------------- GX checks


def ensure_check_state(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute(f"""create table if not exists {EXPECTATION_RESULTS} (
        check_name varchar, suite varchar, blocking boolean, success boolean, row_count bigint,
        evaluated_expectations integer, successful_expectations integer, failures varchar, checked_at timestamp)""")
    con.execute(
        f"create table if not exists {VALIDATED_LOADS} "
        "(check_name varchar, load_id varchar, live_rows bigint, validated_at timestamp)"
    )


def record_check_result(
    con: duckdb.DuckDBPyConnection,
    check_name: str,
    suite: str,
    blocking: bool,
    success: bool,
    row_count: int,
    evaluated: int,
    successful: int,
    failures: object,
) -> None:
    """Keep every GX result in the warehouse so the serving copy (and the 数据质量 page) can show it."""
    ensure_check_state(con)
    con.execute(
        f"insert into {EXPECTATION_RESULTS} values (?, ?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
        [
            check_name,
            suite,
            blocking,
            success,
            row_count,
            evaluated,
            successful,
            json.dumps(failures, ensure_ascii=False),
        ],
    )


def pending_loads(con: duckdb.DuckDBPyConnection, check_name: str, relation: str) -> tuple[list[str], bool]:
    """(loads of `relation` this check has not passed with their current row count, whether it passed any).

    Counting live rows per load means a row changed behind the loader's back (added to or
    superseded in an old load) puts that load back in scope.
    """
    ensure_check_state(con)
    con.execute(
        f"""create or replace temp table gx_live_loads as
                   select load_id, count(*) as live_rows from {relation} where superseded_at is null group by 1"""
    )
    done = con.execute(f"select count(*) from {VALIDATED_LOADS} where check_name = ?", [check_name]).fetchone()
    pending = [
        r[0]
        for r in con.execute(
            f"""select l.load_id from gx_live_loads as l
            left join (select load_id, arg_max(live_rows, validated_at) as live_rows
                       from {VALIDATED_LOADS} where check_name = ? group by 1) as v using (load_id)
            where v.live_rows is distinct from l.live_rows
            order by 1""",
            [check_name],
        ).fetchall()
    ]
    return pending, bool(done and done[0] > 0)


def mark_validated(con: duckdb.DuckDBPyConnection, check_name: str, load_ids: list[str]) -> None:
    """Record the loads (as counted by the last `pending_loads`) that this check has now passed."""
    con.execute(
        f"""insert into {VALIDATED_LOADS}
                    select ?, load_id, live_rows, current_localtimestamp()
                    from gx_live_loads where load_id in (select unnest(?::varchar[]))""",
        [check_name, load_ids],
    )
