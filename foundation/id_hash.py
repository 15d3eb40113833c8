"""The keyed hash that stands in for full ID numbers in the serving copy.

The serving copy carries only the masked ID and `id_number_hash`, an HMAC-SHA256 of the full
number, so no full ID number leaves the warehouse, yet a reader given a full number can still
find the person. A plain SHA-256 would not do: valid numbers are few enough (region, birth
date, sequence) to hash them all. The key is a random 32 bytes in a 0600 file beside the
warehouse, never served and never copied into the serving copy.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

import duckdb

from foundation import paths

KEY_BYTES = 32


FULL_ID_NUMBER = re.compile(r"\s*\d{17}[\dXx]\s*")


class IdLookupError(LookupError):
    """A look-up by full ID number failed (message in Chinese, never the full number)."""


class KeyMissing(IdLookupError):
    """No ID-hash key beside the warehouse yet."""


def normalise(id_number: str) -> str:
    """The form the hash is taken of: no surrounding blanks, a final x as X."""
    return id_number.strip().upper()


def load_key(warehouse: Path | str | None = None, create: bool = False) -> bytes:
    """The key beside `warehouse`; the publisher creates it (0600) on first use, readers only read it."""
    path = paths.id_hash_key_path(warehouse)
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(KEY_BYTES))
                fh.flush()
                os.fsync(fh.fileno())
    try:
        if create and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)  # never readable by anyone but the owner
        key = path.read_bytes()
    except FileNotFoundError:
        raise KeyMissing(f"找不到证件号码散列密钥 {path}：请先运行 shebao run 发布数据副本") from None
    if len(key) != KEY_BYTES:
        raise KeyMissing(f"证件号码散列密钥 {path} 已损坏（应为 {KEY_BYTES} 字节）")
    return key


def id_number_hash(id_number: str, key: bytes) -> str:
    return hmac.new(key, normalise(id_number).encode("ascii", "replace"), hashlib.sha256).hexdigest()


def sql_macro(name: str, key: bytes) -> str:
    """A DuckDB temporary macro computing id_number_hash in SQL (HMAC-SHA256 spelled out, RFC 2104).

    Temporary: it lives in the connection's in-memory catalog, never in a database file.
    """
    block = key.ljust(64, b"\0")
    inner = bytes(b ^ 0x36 for b in block).hex()
    outer = bytes(b ^ 0x5C for b in block).hex()
    return (
        f"create or replace temp macro {name}(n) as "
        f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || encode(upper(trim(n))))))"
    )


def find_person(con: duckdb.DuckDBPyConnection, id_number: str, warehouse: Path | str | None = None) -> str | None:
    """person_id of the holder of a full ID number in a serving copy, through its keyed hash."""
    row = con.execute(
        "select person_id from marts.dim_persons where id_number_hash = ?",
        [id_number_hash(id_number, load_key(warehouse))],
    ).fetchone()
    return str(row[0]) if row else None


def person_number(con: duckdb.DuckDBPyConnection, person: str, warehouse: Path | str | None = None) -> str:
    """`person` as given when it is a person number; the holder's person number when it is a full ID number."""
    if not FULL_ID_NUMBER.fullmatch(person):
        return person
    found = find_person(con, person, warehouse)
    if found is None:
        number = normalise(person)
        raise IdLookupError(f"没有证件号码为 {number[:4]}{'*' * 10}{number[-4:]} 的人员")
    return found
