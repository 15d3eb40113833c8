"""The font subset's recipe (certificates/fonts.py) without building it: which characters it is
asked to hold, where they come from, and the CSS that names it before the full system faces."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from certificates import fonts

pytestmark = pytest.mark.unit

RARE = "\U0002c317\u9f98"  # two name characters outside GB 2312


def test_gb2312_is_its_7445_characters():
    chars = fonts.gb2312()
    assert len(chars) == 7445  # 682 symbols + 6,763 hanzi
    assert sum(1 for ch in chars if "\u4e00" <= ch <= "\u9fff") == 6763
    assert {"张", "伟", "（", "）", "　", "￥"} <= chars
    assert "\u00b7" not in chars  # GB 2312's middle dot is U+30FB in Python's codec
    assert not set(RARE) & chars
    assert "喆" not in chars  # GBK, not GB 2312: it comes in only through the served names


def test_charset_holds_ascii_templates_and_names_only():
    chars = fonts.charset(["龘先生", "Zoë"])
    assert {chr(c) for c in range(0x20, 0x7F)} <= chars
    assert set("单位参保证明缴费人月合计第页共证明编号校验码电子印章示例市社会保险事业管理中心") <= chars
    assert {"龘", "ë"} <= chars
    assert "\U0002c317" not in chars
    assert not {"\n", "\t", "\xa0"} & chars
    assert "\u3000" in chars  # the footer's ideographic space is printed
    assert "\u00b7" in chars  # the middle dot of transliterated names (阿依古丽·买买提)


def _serving_copy(tmp_path: Path) -> Path:
    """A warehouse path whose serving/CURRENT names a copy with names, another text column and a reference table."""
    folder = tmp_path / "serving"
    folder.mkdir()
    path = folder / "serving-test.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema reference")
    con.execute("create table marts.dim_persons as select 'P1' as person_id, '龘一' as name, '丂' as address")
    con.execute(
        "create table marts.dim_units as select 'U1' as unit_id, '乂公司' as unit_name, '乜' as legal_representative"
    )
    con.execute("create table reference.regions as select '乸区' as region_name")
    con.execute("create table marts.fct_contributions as select '乹' as remark")
    con.close()
    (folder / "CURRENT").write_text(path.name)
    return tmp_path / "warehouse.duckdb"


def test_served_chars_are_the_names_of_persons_units_and_reference(tmp_path):
    chars = fonts.served_chars(_serving_copy(tmp_path))
    assert set("龘一乂公司乜乸区") <= chars
    assert "丂" not in chars  # a person's other text columns are not names
    assert "乹" not in chars  # nor are the facts'


def test_served_chars_without_a_serving_copy_is_empty(tmp_path):
    assert fonts.served_chars(tmp_path / "warehouse.duckdb") == set()


def test_css_without_a_subset_is_the_old_font_list():
    assert fonts.font_family(None) == '"Noto Serif CJK SC", "Noto Sans CJK SC", serif'
    assert fonts.svg_font_family(None) == "Noto Serif CJK SC"
    assert fonts.font_face_rules(None) == ""


def test_css_names_the_subset_first_with_a_safe_url(tmp_path):
    odd = tmp_path / 'a "b" 字体 )'
    faces = fonts.Faces(odd / "r.otf", odd / "b.otf", frozenset())
    assert fonts.font_family(faces) == '"Shebao Serif SC", "Noto Serif CJK SC", "Noto Sans CJK SC", serif'
    assert fonts.svg_font_family(faces) == "'Shebao Serif SC', 'Noto Serif CJK SC'"
    rules = fonts.font_face_rules(faces).splitlines()
    assert len(rules) == 2
    for rule, weight in zip(rules, ("normal", "bold")):
        url = rule.split('url("', 1)[1].split('")', 1)[0]
        assert url.startswith("file:///") and not set('"() ') & set(url), url
        assert f"font-weight: {weight};" in rule
