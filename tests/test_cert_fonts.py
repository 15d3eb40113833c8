"""The documents' CJK font subset (certificates/fonts.py) on real documents of the test warehouse:
the PDF embeds the subset instead of the system collection, with the same text and the same
pixels; a rare name character prints from the full font; a damaged cache is rebuilt; a build
that fails leaves the system font, and issuing works."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from datetime import UTC, date, datetime

import pdfplumber
import pytest
from fontTools.ttLib import TTFont

from certificates import documents, fonts, render
from certificates.issue import document_html, issue_document

pytestmark = [pytest.mark.dbt, pytest.mark.slow]

RARE = "\U0002c317\u9f98"  # outside GB 2312 and the test names, inside Noto Serif CJK SC
RECORD = ("contribution-record", {"unit": "U001", "person": "P001", "from": "202401", "to": "202503"})
PROOF = ("unit-proof", {"unit": "U001", "from": "202401", "to": "202503"})
STAMP = render.Stamp(
    "202612071000000017",
    "ABCD-EFGH-JKLM-NPQR",
    datetime(2026, 12, 7, 2, 0, tzinfo=UTC),
    datetime(2027, 6, 7, 2, 0, tzinfo=UTC),
    None,
    date(2026, 11, 30),
    "test-build",
)


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """A subset built by the first render's path (ensure), in a cache of this module's own."""
    cache = tmp_path_factory.mktemp("fonts")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_FONT_CACHE", str(cache))
        fonts.forget()
        built = fonts.ensure()
        assert built is not None and built.regular.parent == cache.resolve()
        yield built
    fonts.forget()


@pytest.fixture(scope="module")
def html(built_warehouse):
    """The HTML of a document of the test warehouse under a fixed stamp, for a given font choice."""
    docs = {kind: documents.build(kind, params, built_warehouse) for kind, params in (RECORD, PROOF)}

    def make(kind: str, faces: fonts.Faces | None) -> str:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(fonts, "ensure", lambda cache=None: faces)
            return document_html(docs[kind], STAMP)

    return make


def pdffonts(pdf: bytes, tmp_path) -> list[tuple[str, str, str]]:
    """(name without the subset tag, embedded, subset) per font of the PDF."""
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        cols = line.split()
        rows.append((cols[0].split("+", 1)[-1], cols[-5], cols[-4]))
    return rows


def pages_png(pdf: bytes, tmp_path, name: str) -> list[bytes]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / name)], check=True)
    return [p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.png"))]


def pixels(png: bytes):
    import io

    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


def test_subset_holds_gb2312_and_not_the_rare_characters(faces):
    source = TTFont(str(fonts.source_face("Regular").path), fontNumber=fonts.source_face("Regular").index, lazy=True)
    source_cmap = source.getBestCmap()
    for path, style in ((faces.regular, "Regular"), (faces.bold, "Bold")):
        font = TTFont(str(path), lazy=True)
        cmap = font.getBestCmap()
        # what was asked for and the source has (plus the few code points sharing a kept glyph)
        assert {ord(ch) for ch in faces.chars} & set(source_cmap) <= set(cmap)
        assert len(set(cmap) - {ord(ch) for ch in faces.chars}) < 50
        assert {ord(ch) for ch in fonts.gb2312()} - set(cmap) == set()
        assert not {ord(ch) for ch in RARE} & set(cmap)
        assert font["name"].getDebugName(1) == "Shebao Serif SC"
        assert font["name"].getDebugName(6) == f"ShebaoSerifSC-{style}"
        assert not any(r.toUnicode() == "Noto Serif CJK SC" for r in font["name"].names if r.nameID in (1, 4, 16))
        assert font["OS/2"].usWeightClass == (700 if style == "Bold" else 400)
        assert 2_000_000 < path.stat().st_size < 12_000_000
    assert set(RARE) <= {chr(c) for c in source_cmap}  # the fallback can print them


def test_pdf_embeds_the_subset_not_the_collection(faces, html, tmp_path):
    with_subset = pdffonts(render.pdf(html("unit-proof", faces)), tmp_path)
    assert {name for name, _, _ in with_subset} == {"Shebao-Serif-SC", "Shebao-Serif-SC-Bold"}
    assert all((emb, sub) == ("yes", "yes") for _, emb, sub in with_subset)
    # the same document without the subset embeds the system collection's faces, as before
    without = pdffonts(render.pdf(html("unit-proof", None)), tmp_path)
    assert {name for name, _, _ in without} == {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold"}


@pytest.mark.parametrize("kind", ["unit-proof", "contribution-record"])
def test_same_text_and_pixels_as_the_full_font(kind, faces, html, tmp_path):
    subset_pdf, full_pdf = render.pdf(html(kind, faces)), render.pdf(html(kind, None))
    assert render.page_texts(subset_pdf) == render.page_texts(full_pdf)
    subset_pages, full_pages = pages_png(subset_pdf, tmp_path, "subset"), pages_png(full_pdf, tmp_path, "full")
    assert len(subset_pages) == len(full_pages) >= 1
    for a, b in zip(subset_pages, full_pages):
        assert pixels(a) == pixels(b)


def test_the_pixel_comparison_sees_one_changed_character(html, tmp_path):
    """The comparison above can fail: one character of a name changed shows in the pixels."""
    original = html("contribution-record", None)
    changed = original.replace("张伟", "张玮")
    assert changed != original
    a, b = pages_png(render.pdf(original), tmp_path, "a"), pages_png(render.pdf(changed), tmp_path, "b")
    assert pixels(a[0]) != pixels(b[0])


def test_a_rare_name_character_prints_from_the_full_font(faces, html, tmp_path):
    page = html("contribution-record", faces).replace("张伟", f"张{RARE}")
    pdf = render.pdf(page)
    assert f"张{RARE}" in render.canonical_text(pdf)
    path = tmp_path / "rare.pdf"
    path.write_bytes(pdf)
    with pdfplumber.open(path) as doc:
        chars = doc.pages[0].chars
    font_of = {}
    for c in chars:
        font_of.setdefault(c["text"], set()).add(c["fontname"].split("+", 1)[-1])
    for ch in RARE:
        assert font_of[ch] == {"Noto-Serif-CJK-SC"}, ch
    assert font_of["张"] == {"Shebao-Serif-SC"}
    names = {name for name, _, _ in pdffonts(pdf, tmp_path)}
    assert {"Shebao-Serif-SC", "Shebao-Serif-SC-Bold", "Noto-Serif-CJK-SC"} == names


def _corrupt_font(cache):
    path = next(cache.glob("ShebaoSerifSC-Regular-*.otf"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    path.write_bytes(bytes(data))


def _remove_font(cache):
    next(cache.glob("ShebaoSerifSC-Bold-*.otf")).unlink()


def _remove_manifest(cache):
    (cache / fonts.MANIFEST).unlink()


def _manifest_garbled(cache):
    (cache / fonts.MANIFEST).write_text('{"format": 1, "faces": ')


def _source_updated(cache):
    manifest = json.loads((cache / fonts.MANIFEST).read_text("utf-8"))
    manifest["faces"]["Regular"]["source_stat"][1] -= 1
    (cache / fonts.MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage", [_corrupt_font, _remove_font, _remove_manifest, _manifest_garbled, _source_updated])
def test_a_damaged_subset_is_rebuilt(damage, faces, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    shutil.copytree(faces.regular.parent, cache)
    assert fonts.load(cache) is not None
    damage(cache)
    assert fonts.load(cache) is None  # the check sees the damage
    monkeypatch.setattr(fonts, "charset", lambda names=(): set("证明编号0123456789"))  # a small, quick rebuild
    fonts.forget()
    rebuilt = fonts.ensure(cache)
    assert rebuilt is not None and rebuilt.chars == frozenset("证明编号0123456789")
    assert fonts.load(cache.resolve()) == rebuilt
    assert sorted(p.name for p in cache.glob("*.otf")) == sorted([rebuilt.regular.name, rebuilt.bold.name])
    fonts.forget()


def test_a_failed_build_falls_back_to_the_system_font(built_warehouse, tmp_path, monkeypatch, caplog):
    def no_font(style):
        raise fonts.FontError("系统未安装字体 Noto Serif CJK SC")

    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHEBAO_FONT_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(fonts, "source_face", no_font)
    fonts.forget()
    with caplog.at_level(logging.WARNING, logger="certificates.fonts"):
        cert = issue_document(*RECORD, built_warehouse, out=tmp_path / "record.pdf")
    assert "字体子集不可用，改用完整系统字体" in caplog.text
    names = {name for name, _, _ in pdffonts(cert.path.read_bytes(), tmp_path)}
    assert names == {"Noto-Serif-CJK-SC", "Noto-Serif-CJK-SC-Bold"}
    assert "张伟" in render.canonical_text(cert.path.read_bytes())
    fonts.forget()


def test_setup_command_rebuilds_only_for_missing_characters(faces, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(faces.regular.parent, cache)
    monkeypatch.setenv("SHEBAO_FONT_CACHE", str(cache))
    monkeypatch.setattr(fonts, "charset", lambda names=(): set(faces.chars) | set(names))
    monkeypatch.setattr(fonts, "served_chars", lambda warehouse=None: {"张", "伟"})
    before = sorted(p.name for p in cache.glob("*.otf"))
    assert fonts.main([]) == 0
    assert "字体子集已是最新" in capsys.readouterr().out
    assert sorted(p.name for p in cache.glob("*.otf")) == before
    # a publish brought a name with a character the subset lacks: rebuilt (small, to stay quick)
    monkeypatch.setattr(fonts, "served_chars", lambda warehouse=None: {"张", RARE[1]})
    monkeypatch.setattr(fonts, "charset", lambda names=(): set("证明") | set(names))
    assert fonts.main([]) == 0
    assert "已生成字体子集" in capsys.readouterr().out
    assert fonts.load(cache).chars == frozenset("证明张" + RARE[1])
    fonts.forget()
