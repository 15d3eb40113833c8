"""The raw.* DDL, all of it: the four source tables, raw.quarantine, raw.pending and raw.load_files."""

from __future__ import annotations

import duckdb

from foundation.landing import schema
from foundation.landing.schema import raw_columns


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema raw with the four source tables, raw.quarantine, raw.pending and raw.load_files.

    raw.pending holds rows waiting for their person or unit to be registered: ``record`` is
    the typed row as JSON text keyed by raw column name (values as text, so money stays exact),
    ``released_at`` is set when the row moved into its source table.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source in schema.SOURCES.values():
        cols = ", ".join(f"{name} {dtype}" for name, dtype in raw_columns(source))
        con.execute(f"CREATE TABLE IF NOT EXISTS {source.table} ({cols})")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.quarantine (
            source VARCHAR, source_file VARCHAR, source_row INTEGER, file_hash VARCHAR, load_id VARCHAR,
            field VARCHAR, value VARCHAR, reason VARCHAR, record VARCHAR, quarantined_at TIMESTAMP,
            superseded_at TIMESTAMP)"""
    )
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.load_files (
            file_hash VARCHAR, source VARCHAR, source_file VARCHAR, logical_name VARCHAR, version INTEGER,
            status VARCHAR, rows_read INTEGER, rows_loaded INTEGER, rows_quarantined INTEGER,
            rows_skipped INTEGER, error VARCHAR, load_id VARCHAR, loaded_at TIMESTAMP, replaced_by VARCHAR)"""
    )
    # warehouses created before held rows existed get the column; old rows held nothing
    con.execute("ALTER TABLE raw.load_files ADD COLUMN IF NOT EXISTS rows_held INTEGER DEFAULT 0")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.pending (
            source VARCHAR, source_file VARCHAR, source_row INTEGER, file_hash VARCHAR, load_id VARCHAR,
            field VARCHAR, value VARCHAR, reason VARCHAR, record VARCHAR, held_at TIMESTAMP,
            released_at TIMESTAMP, superseded_at TIMESTAMP)"""
    )
