"""The serving copy's versions on disk: one file per publish, an atomic pointer, pruning, migration.

    serving/serving-<UTC µs>-<fingerprint8>.duckdb   one per publish, never rewritten
    serving/CURRENT                                  the name of the latest, swapped atomically

A version is written under a temporary name, fsynced and renamed; only then is the pointer
replaced (temporary name, fsync, rename, directory fsync). A killed publish therefore leaves
at most a temporary file or an unpublished version, which the next writer removes while it
holds the warehouse's writer lock. Old versions go once no reader holds them
(`foundation.serving.remove_unless_read`). Every function here runs under the writer lock.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from foundation import paths
from foundation.serving import remove_unless_read

KEEP_VERSIONS = 3
TMP_MARK = ".tmp-"


def version_name(fingerprint: str | None, when: dt.datetime | None = None) -> str:
    """serving-<UTC to the microsecond>-<first 8 characters of the inputs fingerprint>.duckdb."""
    stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{paths.SERVING_PREFIX}{stamp}-{(fingerprint or '')[:8].ljust(8, '0')}{paths.SERVING_SUFFIX}"


def temporary_path(final: Path) -> Path:
    return final.with_name(final.name + f"{TMP_MARK}{os.getpid()}")


def fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_name(folder: Path) -> str | None:
    try:
        return (folder / paths.SERVING_POINTER).read_text("utf-8").strip() or None
    except FileNotFoundError:
        return None


def versions(folder: Path) -> list[str]:
    """Published (renamed) version files, oldest first: the UTC stamp in the name sorts them."""
    return sorted(
        p.name
        for p in folder.glob(f"{paths.SERVING_PREFIX}*{paths.SERVING_SUFFIX}")
        if TMP_MARK not in p.name and p.is_file()
    )


def install(tmp: Path, final: Path) -> None:
    """Make a fully written temporary copy the current version: fsync, rename, then swap the pointer."""
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(final.parent, directory=True)
    swap_pointer(final.parent, final.name)


def swap_pointer(folder: Path, name: str) -> None:
    pointer = folder / paths.SERVING_POINTER
    tmp = temporary_path(pointer)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, pointer)
    fsync_path(folder, directory=True)


def prune(folder: Path, keep: int = KEEP_VERSIONS) -> tuple[list[str], list[str]]:
    """Remove versions older than the newest `keep` that no reader holds: (removed, kept because read)."""
    current = current_name(folder)
    names = versions(folder)
    keep_set = set(names[-keep:]) | ({current} if current else set())
    removed: list[str] = []
    held: list[str] = []
    for name in names:
        if name in keep_set:
            continue
        (removed if remove_unless_read(folder / name) else held).append(name)
    return removed, held


def clean_leftovers(warehouse: Path) -> list[str]:
    """Remove what a killed publish left: temporary files and versions the pointer never named."""
    folder = paths.serving_dir(warehouse)
    if not folder.is_dir():
        return []
    removed = []
    for leftover in folder.glob(f"*{TMP_MARK}*"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover.name)
    current = current_name(folder)
    for name in versions(folder):
        if (current is None or name > current) and remove_unless_read(folder / name):
            removed.append(name)
    # The single file of earlier layouts, half-written by a dead run.
    for leftover in warehouse.parent.glob(paths.LEGACY_SERVING_FILE + ".tmp-*"):
        leftover.unlink(missing_ok=True)
        removed.append(leftover.name)
    return removed


def _legacy_fingerprint(path: Path) -> str | None:
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute("select max(inputs_fingerprint) from meta.build_info").fetchone()
        return row[0] if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()


def migrate_legacy(warehouse: Path) -> str | None:
    """Move an earlier layout's single serving.duckdb into serving/ as a version and point at it.

    When a newer layout already has a pointer, the legacy file is simply removed (a reader that
    still has it open keeps reading it: an unlinked file lives until its last descriptor closes).
    """
    legacy = warehouse.parent / paths.LEGACY_SERVING_FILE
    if not legacy.is_file():
        return None
    folder = paths.serving_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    if current_name(folder):
        legacy.unlink(missing_ok=True)
        return None
    when = dt.datetime.fromtimestamp(legacy.stat().st_mtime, dt.UTC)
    name = version_name(_legacy_fingerprint(legacy), when)
    os.replace(legacy, folder / name)
    fsync_path(folder, directory=True)
    fsync_path(warehouse.parent, directory=True)
    swap_pointer(folder, name)
    return name
