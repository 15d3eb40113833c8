"""Per-table content fingerprints, so a publish re-copies only the tables whose content changed.

A table's fingerprint is a SHA-256 over
- its definition in the copy: the warehouse's columns (name, type, order), the select list
  (withheld and hashed columns), the ORDER BY of `SORT_KEYS`, and for a table with a hashed
  column a digest of the ID-hash key (a new key must re-hash `dim_persons`);
- its content: the row count and the sum of a 64-bit hash of every row
  (`sum(hash(c1, ..., cn))`, DuckDB's vectorised hash, summed as a 128-bit integer so
  duplicate rows do not cancel out as they would under XOR), computed in SQL in one scan.

Why this and not something cheaper:
- DuckDB keeps no modification time or version per table; `pragma storage_info` lists block
  ids and min/max statistics, but freed blocks are reused, and deleted rows live outside it,
  so a rebuilt table can look unchanged there.
- dbt's run results cannot say "unchanged" either: `dbt build` recreates every table model
  and re-seeds every seed on each build, whether its rows changed or not.
- A hash of the rows in Python would move every row out of DuckDB; the aggregate here runs
  inside it on both cores, reads each column once, holds no rows, and costs a fraction of
  the copy it can save (a sort by unit and person, compression, writing).
A collision needs two different tables of the same definition and row count with equal sums
of 64-bit row hashes; the copy is a derived snapshot, re-published whole on any
`incremental=False` publish, and the fingerprint scheme is versioned (`SCHEME`).

The fingerprint is written in base 32 (letters and the digits 2-7): no long run of digits,
so the ID-number scan of the served tables can never mistake it for an ID number.
"""

from __future__ import annotations

import base64
import hashlib

import duckdb

SCHEME = "shebao-serving-fingerprint-v1"
TABLE = "meta.table_fingerprints"
COLUMNS = "schema_name varchar, table_name varchar, fingerprint varchar, row_count bigint, copied_from varchar"


def key_digest(key: bytes) -> str:
    """A digest of the ID-hash key: enters the fingerprint of hashed tables, never reveals the key."""
    return hashlib.sha256(b"shebao-id-hash-key\x00" + key).hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_fingerprint(
    con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str, definition: str
) -> tuple[str, int]:
    """(fingerprint, row count) of `database.schema.table`; `definition` is how the copy is made of it."""
    columns = con.execute(
        """select column_name, data_type from duckdb_columns()
           where database_name = ? and schema_name = ? and table_name = ? order by column_index""",
        [database, schema, table],
    ).fetchall()
    relation = f"{_quote(database)}.{_quote(schema)}.{_quote(table)}"
    row = con.execute(
        f"select count(*), coalesce(sum(hash({', '.join(_quote(c) for c, _ in columns)})::hugeint), 0)::varchar "
        f"from {relation}"
    ).fetchone()
    rows, checksum = (int(row[0]), str(row[1])) if row else (0, "0")
    parts = [SCHEME, schema, table, definition, repr(columns), str(rows), checksum]
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower(), rows


def previous_fingerprints(con: duckdb.DuckDBPyConnection, database: str) -> dict[tuple[str, str], str]:
    """The fingerprints a published version recorded; empty for a version written before them."""
    try:
        rows = con.execute(f"select schema_name, table_name, fingerprint from {_quote(database)}.{TABLE}").fetchall()
    except duckdb.Error:
        return {}
    return {(s, t): f for s, t, f in rows}
