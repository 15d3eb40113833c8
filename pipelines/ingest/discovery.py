"""Which files a landing sub-folder holds, in load order, and what each one is a version of."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from foundation.landing.schema import OPTIONAL_SOURCES

SOURCE_ORDER = ("employers", "persons", "enrolments", "ledgers", "legacy_history")  # dependency order
OPTIONAL = OPTIONAL_SOURCES  # a landing folder without them is complete (messages name the others)

VERSION_RE = re.compile(r"^(?P<stem>.+)\.v(?P<n>\d+)\.(?P<ext>[A-Za-z0-9]+)$", re.IGNORECASE)


class LandingFolderError(Exception):
    """The landing folder as a whole cannot be loaded; the message is Chinese and names the folder."""


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
    """(path, name relative to the landing folder) of every file to load; hidden and ~$ lock files are not.

    Nothing is followed through a symbolic link: a linked file, a linked folder (not
    entered) and a linked source folder are listed so that the loader refuses each one
    with a reason.
    """
    landing_dir = Path(landing_dir)
    folder = landing_dir / source
    if folder.is_symlink():
        return [(folder, source)]
    if not folder.is_dir():
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):  # never descends into a linked folder
        base = Path(root)
        for name in sorted(dirs):
            if name.startswith(".") or (base / name).is_symlink():
                dirs.remove(name)
                if not name.startswith("."):
                    found.append(base / name)
        for name in files:
            path = base / name
            if name.startswith((".", "~$")) or not (path.is_symlink() or path.is_file()):
                continue
            found.append(path)
    return sorted(((p, p.relative_to(landing_dir).as_posix()) for p in found), key=_load_order)


def check_landing(landing_dir: Path) -> None:
    """A landing folder that is missing, has no source sub-folder or no file at all is an error, not an empty load."""
    folder = Path(landing_dir)
    if not folder.exists():
        raise LandingFolderError(f"落地目录 {folder} 不存在，没有可加载的数据")
    if not folder.is_dir():
        raise LandingFolderError(f"落地目录 {folder} 不是文件夹，没有可加载的数据")
    present = [s for s in SOURCE_ORDER if (folder / s).is_dir() or (folder / s).is_symlink()]
    if not present:
        raise LandingFolderError(
            f"落地目录 {folder} 中没有 {'、'.join(s for s in SOURCE_ORDER if s not in OPTIONAL)} "
            "中的任何一个子文件夹，没有可加载的数据"
        )
    if not any(discover_files(folder, s) for s in present):
        raise LandingFolderError(
            f"落地目录 {folder} 的子文件夹（{'、'.join(present)}）中没有任何文件，没有可加载的数据"
        )


def read_no_follow(path: Path) -> bytes:
    """The file's bytes; fails (OSError) rather than open the target of a symbolic link."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def content_hash(data: bytes) -> str:
    """A file is identified by its bytes, whatever its name."""
    return hashlib.sha256(data).hexdigest()
