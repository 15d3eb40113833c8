"""Which files a landing sub-folder holds, in load order, and what each one is a version of."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VERSION_RE = re.compile(r"^(?P<stem>.+)\.v(?P<n>\d+)\.(?P<ext>[A-Za-z0-9]+)$", re.IGNORECASE)


def logical_name(rel: str) -> tuple[str, int]:
    """('ledgers/a.csv', 2) for 'ledgers/a.v2.csv'; a name without the suffix is version 1."""
    folder, _, name = rel.rpartition("/")
    m = VERSION_RE.match(name)
    if m and int(m.group("n")) >= 1:
        base = f"{m.group('stem')}.{m.group('ext')}"
        return (f"{folder}/{base}" if folder else base), int(m.group("n"))
    return rel, 1


def _load_order(item: tuple[Path, str]) -> tuple[str, int, str]:
    """Versions of one logical file in version order, so a correction always follows what it corrects."""
    logical, version = logical_name(item[1])
    return logical, version, item[1]


def discover_files(landing_dir: Path, source: str) -> list[tuple[Path, str]]:
    """(path, name relative to the landing folder) of every file to load; hidden and ~$ lock files are not."""
    folder = Path(landing_dir) / source
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        rel_parts = path.relative_to(folder).parts
        if any(p.startswith(".") for p in rel_parts) or path.name.startswith("~$") or not path.is_file():
            continue
        found.append((path, path.relative_to(landing_dir).as_posix()))
    return sorted(found, key=_load_order)


def content_hash(data: bytes) -> str:
    """A file is identified by its bytes, whatever its name."""
    return hashlib.sha256(data).hexdigest()
