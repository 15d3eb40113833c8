"""The incremental serving copy: only tables whose fingerprint changed are read from the warehouse.

An incremental publish must equal a from-scratch publish table by table, row for row and in the
same order; a changed table is re-copied and an unchanged one is not (Published.copied /
.reused and meta.table_fingerprints say which); a new ID-hash key, a changed SORT_KEYS or a
changed column list force a re-copy; a publish that fails half-way leaves the old version current.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from foundation import id_hash, paths, serving
from pipelines.defs.serving import assets, fingerprints, versions
from pipelines.defs.serving.assets import publish_serving_copy

AS_OF = "2025-04-15"
ID_A = "320506198503020118"  # check character not verified here; the ID tests live in test_serving.py


def make_warehouse(folder: Path) -> Path:
    """Served schemas as dbt leaves them: a sorted fact, dim_persons with full IDs, a seed."""
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema marts")
        con.execute("create schema reference")
        con.execute(
            "create table reference.regions as select * from (values ('SZ', '苏州'), ('HB', '湖北')) t(code, name)"
        )
        con.execute(
            "create table marts.dim_persons as select 'P' || i::varchar as person_id, "
            "'3205061985030201' || lpad(i::varchar, 2, '0') as id_number, 'masked' as id_number_masked "
            "from range(20) t(i) order by random()"
        )
        con.execute(
            "create table marts.fct_contributions as select 'U' || (i % 7)::varchar as unit_id, "
            "'P' || (i % 20)::varchar as person_id, (202401 + i % 12)::varchar as fee_period, "
            "(i * 1.25)::decimal(18, 2) as amount from range(3000) t(i) order by random()"
        )
        con.execute("create table marts.dim_units as select 'U' || i::varchar as unit_id from range(7) t(i)")
    finally:
        con.close()
    return warehouse


def write(warehouse: Path, *sql: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()


def tables_of(path: Path) -> dict[str, list[tuple]]:
    """Every table of a published copy, rows in their stored order (meta.build_info's timestamp aside)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("select schema_name, table_name from duckdb_tables() order by 1, 2").fetchall()
        out = {}
        for schema, table in names:
            if (schema, table) == ("meta", "build_info"):
                out[f"{schema}.{table}"] = con.execute(
                    "select as_of, inputs_fingerprint from meta.build_info"
                ).fetchall()
            elif (schema, table) == ("meta", "table_fingerprints"):
                out[f"{schema}.{table}"] = con.execute(
                    "select schema_name, table_name, fingerprint, row_count from meta.table_fingerprints order by 1, 2"
                ).fetchall()
            else:
                out[f"{schema}.{table}"] = con.execute(f'select * from "{schema}"."{table}"').fetchall()
        return out
    finally:
        con.close()


@pytest.mark.unit
def test_an_incremental_publish_equals_a_full_one_and_recopies_only_what_changed(tmp_path):
    warehouse = make_warehouse(tmp_path / "a")
    first = publish_serving_copy(warehouse, AS_OF)
    assert first.previous is None and first.reused == []
    assert sorted(first.copied) == sorted(first.counts)

    # A build that changes the fact only: one fee period more, one amount corrected.
    write(
        warehouse,
        "insert into marts.fct_contributions values ('U3', 'P4', '202501', 9.99)",
        "update marts.fct_contributions set amount = amount + 0.01 where unit_id = 'U1' and fee_period = '202403'",
    )
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.previous == first.path.name
    assert second.copied == ["marts.fct_contributions"]
    assert sorted(second.reused) == ["marts.dim_persons", "marts.dim_units", "reference.regions"]
    full = publish_serving_copy(warehouse, AS_OF, incremental=False)
    assert full.reused == [] and full.previous is None
    assert tables_of(second.path) == tables_of(full.path)
    with duckdb.connect(str(second.path), read_only=True) as con:
        recorded = dict(
            con.execute("select schema_name || '.' || table_name, copied_from from meta.table_fingerprints").fetchall()
        )
        rows = con.execute("select unit_id, person_id, fee_period from marts.fct_contributions").fetchall()
        assert "id_number" not in [r[0] for r in con.execute("describe marts.dim_persons").fetchall()]
    assert recorded["marts.fct_contributions"] == "warehouse"
    assert recorded["marts.dim_persons"] == first.path.name
    assert rows == sorted(rows)  # SORT_KEYS order kept in the re-copied table


@pytest.mark.unit
def test_nothing_changed_reuses_every_table(tmp_path):
    warehouse = make_warehouse(tmp_path)
    first = publish_serving_copy(warehouse, AS_OF)
    again = publish_serving_copy(warehouse, AS_OF)
    assert again.copied == [] and sorted(again.reused) == sorted(first.counts)
    assert again.counts == first.counts
    assert tables_of(again.path) == tables_of(first.path)


@pytest.mark.unit
def test_a_dropped_or_new_table_is_followed(tmp_path):
    warehouse = make_warehouse(tmp_path)
    publish_serving_copy(warehouse, AS_OF)
    write(warehouse, "drop table marts.dim_units", "create table marts.rpt_new as select 1 as x")
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.copied == ["marts.rpt_new"]
    assert "marts.dim_units" not in second.counts
    assert tables_of(second.path) == tables_of(publish_serving_copy(warehouse, AS_OF, incremental=False).path)


@pytest.mark.unit
def test_a_new_hash_key_rehashes_the_persons(tmp_path):
    warehouse = make_warehouse(tmp_path)
    first = publish_serving_copy(warehouse, AS_OF)
    key_path = paths.id_hash_key_path(warehouse)
    key_path.write_bytes(os.urandom(id_hash.KEY_BYTES))
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.copied == ["marts.dim_persons"]
    with serving.connect(warehouse) as con:
        row = con.execute("select id_number_hash from marts.dim_persons where person_id = 'P3'").fetchone()
    assert row is not None
    assert row[0] == id_hash.id_number_hash("320506198503020103", key_path.read_bytes())
    assert second.path != first.path


@pytest.mark.unit
def test_changed_sort_keys_or_columns_force_a_recopy(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path)
    publish_serving_copy(warehouse, AS_OF)
    monkeypatch.setitem(assets.SORT_KEYS, ("reference", "regions"), ("code",))
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.copied == ["reference.regions"]
    with serving.connect(warehouse) as con:
        assert con.execute("select code from reference.regions").fetchall() == [("HB",), ("SZ",)]
    write(warehouse, "alter table reference.regions add column level integer")
    third = publish_serving_copy(warehouse, AS_OF)
    assert third.copied == ["reference.regions"]
    write(warehouse, "alter table reference.regions rename column level to tier")  # same types, new name
    assert publish_serving_copy(warehouse, AS_OF).copied == ["reference.regions"]


@pytest.mark.unit
def test_same_count_different_rows_is_a_change(tmp_path):
    """The checksum, not only the row count: two rows swapping a value, and a duplicated row."""
    warehouse = make_warehouse(tmp_path)
    publish_serving_copy(warehouse, AS_OF)
    write(warehouse, "update reference.regions set name = case code when 'SZ' then '湖北' else '苏州' end")
    assert publish_serving_copy(warehouse, AS_OF).copied == ["reference.regions"]
    write(warehouse, "create or replace table marts.dim_units as select 'U0' as unit_id from range(7)")
    assert publish_serving_copy(warehouse, AS_OF).copied == ["marts.dim_units"]
    # Duplicated rows must not cancel out: {a, a, c} against {b, b, c}.
    write(warehouse, "create or replace table marts.dim_units as select unnest(['U1', 'U1', 'U3']) as unit_id")
    assert publish_serving_copy(warehouse, AS_OF).copied == ["marts.dim_units"]
    write(warehouse, "create or replace table marts.dim_units as select unnest(['U2', 'U2', 'U3']) as unit_id")
    assert publish_serving_copy(warehouse, AS_OF).copied == ["marts.dim_units"]


@pytest.mark.unit
def test_a_failed_incremental_publish_leaves_the_old_version_current(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path)
    first = publish_serving_copy(warehouse, AS_OF)
    write(warehouse, "insert into marts.dim_units values ('U99')")
    real = fingerprints.table_fingerprint
    calls = []

    def dying(con, database, schema, table, definition):
        calls.append(table)
        if table == "fct_contributions":
            raise KeyboardInterrupt  # stands for a kill half-way through
        return real(con, database, schema, table, definition)

    monkeypatch.setattr(fingerprints, "table_fingerprint", dying)
    with pytest.raises(KeyboardInterrupt):
        publish_serving_copy(warehouse, AS_OF)
    assert paths.serving_path(warehouse) == first.path
    monkeypatch.setattr(fingerprints, "table_fingerprint", real)
    # Dying after the byte copy of the old version was taken: the copy is a temporary file.
    real_copy = assets.shutil.copyfile

    def copy_then_die(src, dst):
        real_copy(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(assets.shutil, "copyfile", copy_then_die)
    with pytest.raises(KeyboardInterrupt):
        publish_serving_copy(warehouse, AS_OF)
    monkeypatch.setattr(assets.shutil, "copyfile", real_copy)
    assert paths.serving_path(warehouse) == first.path
    assert versions.clean_leftovers(warehouse)  # the temporary copy goes
    with serving.connect(warehouse) as con:
        assert con.execute("select count(*) from marts.dim_units").fetchone() == (7,)
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.copied == ["marts.dim_units"]
    with serving.connect(warehouse) as con:
        assert con.execute("select count(*) from marts.dim_units").fetchone() == (8,)


@pytest.mark.unit
def test_a_copy_mostly_dropped_is_written_anew(tmp_path, monkeypatch):
    """DuckDB reuses freed blocks but never shrinks a file: past MAX_FREE_SHARE free, write it compact."""
    warehouse = make_warehouse(tmp_path)
    write(
        warehouse,
        "create or replace table marts.fct_contributions as select 'U' || (i % 7)::varchar as unit_id, "
        "'P' || (i % 20)::varchar as person_id, (202401 + i % 12)::varchar as fee_period, "
        "(i * 1.25)::decimal(18, 2) as amount from range(400000) t(i)",
    )
    first = publish_serving_copy(warehouse, AS_OF)
    write(warehouse, "delete from marts.fct_contributions where fee_period > '202401'")
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.copied == ["marts.fct_contributions"]
    assert second.path.stat().st_size <= first.path.stat().st_size  # the dropped table's blocks are reused
    assert tables_of(second.path) == tables_of(publish_serving_copy(warehouse, AS_OF, incremental=False).path)
    # Past the share of free blocks allowed, the incremental copy is abandoned for a compact one.
    write(warehouse, "delete from marts.fct_contributions where unit_id = 'U1'")
    monkeypatch.setattr(assets, "MAX_FREE_SHARE", -1.0)
    third = publish_serving_copy(warehouse, AS_OF)
    assert third.previous is None and third.reused == [] and len(third.copied) == len(third.counts)
    assert not list(third.path.parent.glob("*.tmp-*"))


@pytest.mark.unit
def test_a_version_without_fingerprints_is_not_reused(tmp_path):
    """A copy published before fingerprints existed (or the legacy single file) is copied in full."""
    warehouse = make_warehouse(tmp_path)
    first = publish_serving_copy(warehouse, AS_OF)
    legacy = first.path.with_name(versions.version_name("feedbeef"))
    con = duckdb.connect(str(first.path), read_only=True)
    con.close()
    import shutil

    shutil.copyfile(first.path, legacy)
    with duckdb.connect(str(legacy)) as con:
        con.execute(f"drop table {fingerprints.TABLE}")
    versions.swap_pointer(legacy.parent, legacy.name)
    second = publish_serving_copy(warehouse, AS_OF)
    assert second.reused == [] and second.previous is None


@pytest.mark.unit
def test_the_publish_spills_beside_the_warehouse_not_in_the_working_directory(tmp_path, monkeypatch):
    warehouse = make_warehouse(tmp_path / "home")
    seen = {}
    real_connect = duckdb.connect

    def spying(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        if not args and "config" in kwargs:
            seen["temp"] = con.execute("select current_setting('temp_directory')").fetchone()[0]
        return con

    monkeypatch.setattr(assets.duckdb, "connect", spying)
    monkeypatch.chdir(tmp_path)
    stale = assets.spill_directory(warehouse.resolve()) / "duckdb_temp_storage_S32K-0.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"left by a killed publish")
    publish_serving_copy(warehouse, AS_OF)
    assert not stale.exists()
    assert seen["temp"] == str(assets.spill_directory(warehouse.resolve()))
    assert seen["temp"].startswith(str(warehouse.resolve().parent))
