"""The serving copy: versioned publishes behind an atomic pointer, reader locks, pruning, migration,
and no full ID number in it (a keyed hash instead).

The layout tests publish from a small hand-made warehouse (fast, marker unit); the ID tests
read the one test warehouse built by the real pipeline.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import duckdb
import pytest

from foundation import id_hash, paths, serving
from foundation.landing.identifiers import id_check_char, id_number_problem
from pipelines.defs.serving import versions
from pipelines.defs.serving.assets import publish_serving_copy

# An 18-character resident ID: 17 digits then a digit or X, not inside a longer run of digits.
ID_LIKE = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def _full_id(first17: str) -> str:
    return first17 + id_check_char(first17)


PEOPLE = {"P1": _full_id("32050619850302011"), "P2": _full_id("42010619700820042")}
X_ID = next(_full_id(f"320506199001010{i:02d}") for i in range(100) if id_check_char(f"320506199001010{i:02d}") == "X")
PEOPLE["P3"] = X_ID


def make_warehouse(folder: Path, headcount: int = 2) -> Path:
    """A warehouse with the served schemas only, as dbt leaves them: dim_persons with full IDs, one fact."""
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists reference")
        con.execute("create or replace table reference.regions as select 'SZ' as region_code")
        con.execute(
            "create or replace table marts.dim_persons (person_id varchar, id_number varchar, id_number_masked varchar)"
        )
        for person_id, number in PEOPLE.items():
            con.execute(
                "insert into marts.dim_persons values (?, ?, ?)",
                [person_id, number, number[:4] + "*" * 10 + number[-4:]],
            )
        con.execute(f"create or replace table marts.fct_headcount as select {headcount}::integer as headcount")
    finally:
        con.close()
    return warehouse


def headcount(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("select headcount from marts.fct_headcount").fetchone()
    assert row is not None
    return int(row[0])


def republish(warehouse: Path, count: int) -> Path:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("update marts.fct_headcount set headcount = ?", [count])
    finally:
        con.close()
    return publish_serving_copy(warehouse, "2025-04-15").path


@pytest.mark.unit
def test_each_publish_is_a_new_version_and_readers_open_the_latest(tmp_path):
    warehouse = make_warehouse(tmp_path / "home 有 'quote")
    first = publish_serving_copy(warehouse, "2025-04-15")
    folder = warehouse.parent / "serving"
    assert first.path.parent == folder and paths.serving_path(warehouse) == first.path
    assert re.fullmatch(r"serving-\d{8}T\d{12}Z-0{8}\.duckdb", first.path.name)  # no dbt build: no fingerprint
    assert (folder / "CURRENT").read_text() == first.path.name + "\n"
    assert first.counts == {"marts.dim_persons": 3, "marts.fct_headcount": 1, "reference.regions": 1}

    old = serving.open_snapshot(warehouse)  # a long-lived reader on the first build
    second = republish(warehouse, 3)
    assert second != first.path and paths.serving_path(warehouse) == second
    # The same process opens the new build, not DuckDB's cached instance of the old one.
    with serving.connect(warehouse) as con:
        assert headcount(con) == 3
    assert headcount(old.con) == 2  # the old reader is undisturbed until it re-opens
    old.close()
    assert sorted(p.name for p in folder.iterdir()) == sorted(["CURRENT", first.path.name, second.name])


@pytest.mark.unit
def test_old_versions_go_once_no_reader_holds_them(tmp_path):
    warehouse = make_warehouse(tmp_path)
    published = [publish_serving_copy(warehouse, "2025-04-15").path]
    held = serving.open_snapshot(warehouse)  # holds the first version
    for n in range(3, 7):
        published.append(republish(warehouse, n))
    folder = warehouse.parent / "serving"
    # Newest three kept; the first is older but still read; the second went.
    assert versions.versions(folder) == sorted([published[0].name, *(p.name for p in published[-3:])])
    assert headcount(held.con) == 2
    held.close()
    published.append(republish(warehouse, 7))
    assert versions.versions(folder) == sorted(p.name for p in published[-3:])
    with serving.connect(warehouse) as con:
        assert headcount(con) == 7


@pytest.mark.unit
def test_a_version_pruned_between_pointer_and_lock_is_not_opened(tmp_path):
    warehouse = make_warehouse(tmp_path)
    path = publish_serving_copy(warehouse, "2025-04-15").path
    assert serving.remove_unless_read(path) is True
    assert serving.lock_shared(path) is None  # gone: the reader reads the pointer again
    with pytest.raises(serving.ServingUnavailable, match="找不到数据副本"):
        serving.open_snapshot(path=path)
    fd = serving.lock_shared(republish(warehouse, 4))
    assert fd is not None
    try:
        assert serving.remove_unless_read(paths.serving_path(warehouse)) is False  # a reader holds it
    finally:
        os.close(fd)


@pytest.mark.unit
def test_legacy_single_file_is_served_then_migrated(tmp_path):
    warehouse = make_warehouse(tmp_path)
    legacy = tmp_path / "serving.duckdb"
    con = duckdb.connect(str(legacy))
    con.execute("create schema marts")
    con.execute("create table marts.fct_headcount as select 9 as headcount")
    con.close()
    assert paths.serving_path(warehouse) == legacy  # served as is until the next run
    with serving.connect(warehouse) as con:
        assert headcount(con) == 9
    name = versions.migrate_legacy(warehouse)
    assert name and not legacy.exists() and paths.serving_path(warehouse).name == name
    with serving.connect(warehouse) as con:
        assert headcount(con) == 9
    publish_serving_copy(warehouse, "2025-04-15")
    with serving.connect(warehouse) as con:
        assert headcount(con) == 2


@pytest.mark.unit
def test_leftovers_of_a_killed_publish_are_removed(tmp_path):
    warehouse = make_warehouse(tmp_path)
    current = publish_serving_copy(warehouse, "2025-04-15").path
    folder = current.parent
    half = folder / (versions.version_name("abcdef12") + ".tmp-4242")
    unpublished = folder / versions.version_name("abcdef12")  # renamed, but the pointer never moved
    pointer_tmp = folder / "CURRENT.tmp-4242"
    for leftover in (half, unpublished, pointer_tmp):
        leftover.write_bytes(b"x")
    removed = versions.clean_leftovers(warehouse)
    assert sorted(removed) == sorted([half.name, unpublished.name, pointer_tmp.name])
    assert sorted(p.name for p in folder.iterdir()) == ["CURRENT", current.name]


@pytest.mark.unit
def test_missing_copy_is_a_chinese_message(tmp_path):
    with pytest.raises(serving.ServingUnavailable, match=r"找不到数据副本 .*serving/CURRENT"):
        serving.open_snapshot(tmp_path / "warehouse.duckdb")


@pytest.mark.unit
def test_hash_replaces_the_full_id_and_its_key_stays_beside_the_warehouse(tmp_path):
    warehouse = make_warehouse(tmp_path)
    path = publish_serving_copy(warehouse, "2025-04-15").path
    key_file = tmp_path / "id-hash.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_bytes()) == 32
    assert "id-hash.key" not in {p.name for p in path.parent.iterdir()}
    con = duckdb.connect(str(path), read_only=True)
    try:
        sql = "select column_name from duckdb_columns() where table_name = 'dim_persons' order by column_index"
        columns = [c for (c,) in con.execute(sql).fetchall()]
        assert columns == ["person_id", "id_number_masked", "id_number_hash"]
        assert id_hash.find_person(con, PEOPLE["P2"], warehouse) == "P2"
        assert id_hash.find_person(con, " " + X_ID.lower() + " ", warehouse) == "P3"  # a final x is an X
        assert id_hash.find_person(con, _full_id("32050619850302012"), warehouse) is None
        key_hex = key_file.read_bytes().hex()
        assert key_hex not in str(con.execute("select * from marts.dim_persons").fetchall())
    finally:
        con.close()
    # Another home has another key: the same number hashes differently.
    other = make_warehouse(tmp_path / "other")
    assert id_hash.load_key(other, create=True) != id_hash.load_key(warehouse)


def _valid_ids(text: str) -> set[str]:
    """18-character runs that are ID numbers: a real birth date and the check character.

    The check character alone is not enough: one 18-digit row hash in eleven passes it, and the
    incremental marts' source_fingerprint values change with every build.
    """
    return {m for m in ID_LIKE.findall(text) if id_number_problem(m) is None}


@pytest.mark.unit
def test_the_id_scan_tells_an_id_from_a_hash_with_a_matching_check_character():
    first17 = "12345619991399001"  # month 13: no birth date
    assert _valid_ids(f"fp {first17}{id_check_char(first17)}") == set()
    real = "32050619950707013"
    assert _valid_ids(f"见 {real}{id_check_char(real)} 号") == {real + id_check_char(real)}


@pytest.mark.dbt
def test_no_table_of_the_served_copy_holds_a_full_id_number(built_warehouse):
    """Every column of every table, cast to text: no valid 18-character ID, none of the warehouse's IDs."""
    wh = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        known = {
            v
            for (v,) in wh.execute(
                "select id_number from raw.persons union select id_number from raw.ledgers "
                "union select id_number from marts.dim_persons"
            ).fetchall()
            if v
        }
    finally:
        wh.close()
    assert len(known) >= 8
    found: dict[str, set[str]] = {}
    columns = 0
    with serving.connect(built_warehouse) as con:
        tables = con.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
        for schema, table in tables:
            names = [
                c
                for (c,) in con.execute(
                    "select column_name from duckdb_columns() where schema_name = ? and table_name = ?", [schema, table]
                ).fetchall()
            ]
            columns += len(names)
            for column in names:
                values = con.execute(f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"')
                hits = set()
                for (value,) in values.fetchall():
                    if value:
                        hits |= _valid_ids(value) | {k for k in known if k in value}
                if hits:
                    found[f"{schema}.{table}.{column}"] = hits
        masked = dict(con.execute("select person_id, id_number_masked from marts.dim_persons").fetchall())
    assert len(tables) >= 40 and columns >= 300
    assert found == {}
    assert masked["P001"] == "3205**********0115"


@pytest.mark.dbt
def test_a_full_id_number_finds_its_person_through_the_hash(built_warehouse):
    wh = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        people = wh.execute("select person_id, id_number from marts.dim_persons order by 1").fetchall()
    finally:
        wh.close()
    assert len(people) == 8
    with serving.connect(built_warehouse) as con:
        assert {pid: id_hash.find_person(con, number, built_warehouse) for pid, number in people} == {
            pid: pid for pid, _ in people
        }


@pytest.mark.dbt
def test_query_statement_takes_a_full_id_number(built_warehouse, capsys):
    from shebao import cli

    wh = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        number = wh.execute("select id_number from marts.dim_persons where person_id = 'P002'").fetchone()[0]
    finally:
        wh.close()
    with serving.connect(built_warehouse) as con:
        (period,) = con.execute(
            "select max(statement_period) from marts.rpt_rights_statement where person_id = 'P002'"
        ).fetchone()
    common = ["--period", period, "--warehouse", str(built_warehouse)]
    assert cli.main(["query", "statement", "--person", "P002", *common]) == 0
    by_number = capsys.readouterr().out
    assert cli.main(["query", "statement", "--person", number.lower(), *common]) == 0
    assert capsys.readouterr().out == by_number and "个人编号 P002" in by_number and number not in by_number
    unknown = _full_id("11010119800101123")
    assert cli.main(["query", "statement", "--person", unknown, *common]) == 2
    err = capsys.readouterr().err
    assert err == f"错误：没有证件号码为 {unknown[:4]}{'*' * 10}{unknown[-4:]} 的人员\n" and unknown not in err
