"""The documents' CJK font: a subset of Noto Serif CJK SC built once, not once per document.

WeasyPrint subsets every font a document uses while it writes the PDF; from the system's
Noto CJK collection (26 MB, 65,535 glyphs a face) that cost ~40 ms a face on every proof.
Here the two faces the templates use (Regular, Bold) are cut once, with fontTools, to
GB 2312, ASCII, every character of the templates and code, and every character of the
served names (persons, units, reference tables), into the font cache under SHEBAO_HOME
(`foundation.paths.font_cache_dir`). The CSS names the subset first and the full system
faces after it, so a character outside the subset (a rare name character such as U+9F98) still prints,
from the full font, in that document only.

`make setup` builds it (`python -m certificates.fonts`, which also rebuilds when the serving
copy's names bring characters it lacks); the first render of a process checks it (its
files' SHA-256 against the manifest) and builds it when missing, stale or corrupt. If
that fails the documents use the system faces exactly as before: issuing never breaks.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import logging
import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from foundation import paths, serving

log = logging.getLogger(__name__)

FAMILY = "Shebao Serif SC"  # the subset's own name, so it never shadows the system family
PS_FAMILY = "ShebaoSerifSC"
SOURCE_FAMILY = "Noto Serif CJK SC"  # what certificate.css used alone before; the fallback now
FALLBACK_FAMILIES = ('"Noto Serif CJK SC"', '"Noto Sans CJK SC"', "serif")
STYLES = {"Regular": "regular", "Bold": "bold"}  # the faces, by fontconfig weight
MANIFEST = "manifest.json"
FORMAT = 1  # bump when the subset's recipe changes: every cache is rebuilt
# Shaping features the documents can use: fontTools' default set, plus the numeric ones
# (certificate.css asks for tabular figures).
EXTRA_FEATURES = ("tnum", "pnum", "lnum", "onum", "zero")
# Name records kept from the source (copyright, version, vendor, designer, licence); the
# family, style, unique and PostScript names are replaced by the subset's own.
KEPT_NAME_IDS = (0, 5, 7, 8, 9, 10, 11, 12, 13, 14)
SCANNED_SUFFIXES = (".html", ".css", ".py")
# Punctuation names and numbers use that GB 2312 maps elsewhere (its middle dot is U+30FB).
EXTRA_CHARS = "\u00b7\u2014\u2015\u2026\u2018\u2019\u201c\u201d"
CODE_DIR = Path(__file__).resolve().parent


class FontError(RuntimeError):
    """The subset cannot be built (message in Chinese)."""


@dataclass(frozen=True)
class Source:
    path: Path
    index: int  # the face inside the .ttc collection


@dataclass(frozen=True)
class Faces:
    """A checked subset: its two files and the characters it was asked to hold."""

    regular: Path
    bold: Path
    chars: frozenset[str]


def gb2312() -> set[str]:
    """Every character of GB 2312: 682 symbols and 6,763 hanzi."""
    chars = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def code_chars() -> set[str]:
    """Every non-ASCII character of the templates and the certificates code (labels, notes, symbols)."""
    chars: set[str] = set()
    for path in sorted(CODE_DIR.rglob("*")):
        if path.suffix in SCANNED_SUFFIXES and path.is_file():
            chars.update(ch for ch in path.read_text("utf-8") if ord(ch) > 0x7E)
    for seed in sorted(paths.REFERENCE_SEEDS_DIR.glob("*.csv")):
        chars.update(ch for ch in seed.read_text("utf-8") if ord(ch) > 0x7E)
    return chars


def served_chars(warehouse: Path | str | None = None) -> set[str]:
    """Every character of the served names: persons, units (every text column), reference tables."""
    try:
        snapshot = serving.open_snapshot(warehouse)
    except serving.ServingUnavailable:
        return set()
    chars: set[str] = set()
    with snapshot:
        columns = snapshot.con.execute(
            """select table_schema, table_name, column_name from information_schema.columns
               where data_type = 'VARCHAR' and (
                   (table_schema = 'marts' and table_name = 'dim_persons' and column_name = 'name')
                   or (table_schema = 'marts' and table_name = 'dim_units')
                   or table_schema = 'reference')
               order by 1, 2, 3"""
        ).fetchall()
        for schema, table, column in columns:
            for (value,) in snapshot.con.execute(f'select distinct "{column}" from "{schema}"."{table}"').fetchall():
                if value:
                    chars.update(value)
    return chars


def charset(names: Iterable[str] = ()) -> set[str]:
    """What the subset is asked to hold (a character the source lacks is simply not in it)."""
    chars = {chr(c) for c in range(0x20, 0x7F)} | gb2312() | code_chars() | set(EXTRA_CHARS)
    for name in names:
        chars.update(name)
    return {ch for ch in chars if not ch.isspace() or ch in " \u3000"}


def source_face(style: str) -> Source:
    """The installed face fontconfig gives the templates for this style (what WeasyPrint embeds)."""
    weight = STYLES[style]
    try:
        out = subprocess.run(
            ["fc-match", "--format=%{file}\n%{index}\n%{family}\n", f"{SOURCE_FAMILY}:weight={weight}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split("\n")
        path, index, families = Path(out[0]), int(out[1]), out[2].split(",")
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        raise FontError(f"无法查询系统字体 {SOURCE_FAMILY}：{exc}") from exc
    if SOURCE_FAMILY not in families or not path.is_file():
        raise FontError(f"系统未安装字体 {SOURCE_FAMILY}（fontconfig 给出的是 {out[2]}）")
    return Source(path, index)


def _rename(font, style: str, digest: str) -> None:
    """The subset gets its own names (family, full, PostScript): it is a modified font."""
    ps_name = f"{PS_FAMILY}-{style}"
    table = font["name"]
    table.names = [record for record in table.names if record.nameID in KEPT_NAME_IDS]
    full = FAMILY if style == "Regular" else f"{FAMILY} {style}"
    for name_id, text in ((1, FAMILY), (2, style), (3, f"{ps_name};{digest[:12]}"), (4, full), (6, ps_name)):
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [ps_name]
        top = cff.topDictIndex[0]
        for key, value in (("FullName", full), ("FamilyName", FAMILY)):
            if key in top.rawDict:
                setattr(top, key, value)


def subset_face(source: Source, chars: set[str], style: str, out: Path, digest: str) -> None:
    """One face of the source collection cut to `chars`, renamed, written to `out`."""
    from fontTools import subset

    options = subset.Options()
    options.font_number = source.index
    options.layout_features = [*options.layout_features, *EXTRA_FEATURES]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(source.path), options)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=sorted(ord(ch) for ch in chars))
        subsetter.subset(font)
        _rename(font, style, digest)
        subset.save_font(font, str(out), options)
    finally:
        font.close()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stat(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def load(cache: Path) -> Faces | None:
    """The subset in `cache` if its manifest, files (SHA-256) and sources still agree, else None."""
    try:
        manifest = json.loads((cache / MANIFEST).read_text("utf-8"))
        if manifest.get("format") != FORMAT or manifest.get("family") != FAMILY:
            return None
        files = {}
        for style in STYLES:
            entry = manifest["faces"][style]
            if _stat(Path(entry["source"])) != entry["source_stat"]:
                return None  # the system font was updated
            path = cache / Path(entry["file"]).name
            if _sha256(path) != entry["sha256"]:
                return None
            files[style] = path
        return Faces(files["Regular"], files["Bold"], frozenset(manifest["chars"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def _locked(cache: Path) -> Iterator[None]:
    """One builder at a time (two batch workers may both find the cache missing)."""
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache / "build.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def build(cache: Path, chars: set[str]) -> Faces:
    """Cut both faces to `chars` into `cache` and publish them by replacing the manifest."""
    cache.mkdir(parents=True, exist_ok=True)
    text = "".join(sorted(chars))
    digest = hashlib.sha256(f"{FORMAT}\n{text}".encode()).hexdigest()
    entries: dict[str, dict[str, object]] = {}
    files: dict[str, Path] = {}
    for style in STYLES:
        source = source_face(style)
        tmp = cache / f".{PS_FAMILY}-{style}.tmp-{os.getpid()}"
        try:
            subset_face(source, chars, style, tmp, digest)
            sha = _sha256(tmp)
            final = cache / f"{PS_FAMILY}-{style}-{sha[:12]}.otf"
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        entries[style] = {
            "file": final.name,
            "sha256": sha,
            "source": str(source.path),
            "source_index": source.index,
            "source_stat": _stat(source.path),
        }
        files[style] = final
    manifest = {
        "format": FORMAT,
        "family": FAMILY,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "faces": entries,
        "chars": text,
    }
    tmp_manifest = cache / f".{MANIFEST}.tmp-{os.getpid()}"
    tmp_manifest.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp_manifest, cache / MANIFEST)
    kept = {path.name for path in files.values()}
    for old in cache.glob(f"{PS_FAMILY}-*.otf"):  # earlier builds' files (a reader has its own copy)
        if old.name not in kept:
            old.unlink(missing_ok=True)
    return Faces(files["Regular"], files["Bold"], frozenset(text))


_ready: dict[Path, Faces | None] = {}


def ensure(cache: Path | None = None) -> Faces | None:
    """The subset for this process's documents, built if missing or damaged; None: use the system faces.

    Checked once per process and cache folder (the check hashes the two files, ~20 ms).
    """
    cache = (cache or paths.font_cache_dir()).resolve()
    if cache in _ready:
        return _ready[cache]
    faces = load(cache)
    if faces is None:
        try:
            with _locked(cache):
                faces = load(cache) or build(cache, charset(served_chars()))
        except Exception as exc:  # never break issuing: the full system font still prints everything
            log.warning("字体子集不可用，改用完整系统字体：%s", exc)
            faces = None
    _ready[cache] = faces
    return faces


def forget() -> None:
    """Drop the per-process check (tests, and a process that rebuilt the cache)."""
    _ready.clear()


def font_family(faces: Faces | None) -> str:
    """The CSS font-family list: the subset first when there is one, then the full system faces."""
    return ", ".join(((f'"{FAMILY}"',) if faces else ()) + FALLBACK_FAMILIES)


def svg_font_family(faces: Faces | None) -> str:
    """The same for the seal's SVG text (an attribute value: single quotes; the seal never used Sans)."""
    return f"'{FAMILY}', '{SOURCE_FAMILY}'" if faces else SOURCE_FAMILY


def font_face_rules(faces: Faces | None) -> str:
    """@font-face rules of the subset (file URLs are percent-encoded: no quote or bracket survives)."""
    if faces is None:
        return ""
    return "\n".join(
        f'@font-face {{ font-family: "{FAMILY}"; src: url("{path.as_uri()}"); font-weight: {weight}; '
        "font-style: normal; }"
        for path, weight in ((faces.regular, "normal"), (faces.bold, "bold"))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m certificates.fonts",
        description="生成证明文书使用的中文字体子集（GB 2312、ASCII、模板字符、数据副本中的姓名与单位名称）",
    )
    parser.add_argument(
        "--warehouse", help="数仓文件（默认 $SHEBAO_HOME/warehouse.duckdb）：其数据副本中的名称计入子集"
    )
    parser.add_argument("--force", action="store_true", help="即使现有子集完整也重新生成")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    cache = paths.font_cache_dir()
    names = served_chars(args.warehouse)
    with _locked(cache):
        faces = load(cache)
        wanted = charset(names)
        if faces and not args.force and wanted <= faces.chars:
            print(f"字体子集已是最新：{cache}（{len(faces.chars)} 个字符）")
            return 0
        t0 = time.perf_counter()
        try:
            faces = build(cache, wanted)
        except FontError as exc:
            print(f"无法生成字体子集：{exc}（证明文书将使用完整系统字体）")
            return 1
    forget()
    print(f"已生成字体子集：{cache}（{len(faces.chars)} 个字符，常规与粗体，{time.perf_counter() - t0:.1f} 秒）")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
