"""What every reader shares: the header row, cell text, and the all-text Arrow table.

Every reader returns the same shape so the loader validates all formats with one SQL
path: a ``__row`` column (the row number a user sees: spreadsheet row for CSV/XLSX,
1-based record number for Parquet), one text column per recognised canonical column,
and ``__extra`` (the unrecognised cells joined by U+001F, kept only so template
instruction text in a column such as 序号 is still seen). Values are kept as text:
typing and validation happen in DuckDB, where a bad value becomes a quarantine reason
instead of a parse failure.

A problem with the file as a whole raises IngestFileError with a Chinese message.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from foundation.landing.schema import Source

EXTRA_SEP = "\x1f"
HEADER_SCAN_ROWS = 30  # the header row must be among the first rows (title rows above it)

# Headers the loader itself writes (raw.* column names), so a raw extract can be re-landed.
# Plus the ID-number headers of the seed-002 employer templates.
EXTRA_HEADER_ALIASES = {
    "region_code": "region",
    "insurance_code": "insurance_type",
    "身份证号码": "id_number",
    "身份证号": "id_number",
}


class IngestFileError(Exception):
    """The file cannot be loaded at all; the message is Chinese and names the file."""


@dataclass
class ReadResult:
    table: pa.Table  # __row, __extra, and one string column per mapped canonical column
    headers: dict[str, str]  # canonical name -> header text as written in the file
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    long_columns: frozenset[str] = frozenset()  # columns with a cell over MAX_CELL_CHARS (see typing_sql.py)


_WS_RE = re.compile(r"[\s\u3000]+")
_UNIT_SUFFIX_RE = re.compile(r"[(（][^()（）]*[)）]$")


def normalise_header(text: str) -> str:
    """Header text without blanks, required-marks (*) and a trailing unit such as (元)."""
    h = _WS_RE.sub("", str(text)).replace("*", "").replace("＊", "")
    h = _UNIT_SUFFIX_RE.sub("", h)
    return h.lower()


def header_lookup(source: Source) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for col in source.columns:
        for name in (col.name, col.label, *col.aliases):
            lookup.setdefault(normalise_header(name), col.name)
    for alias, name in EXTRA_HEADER_ALIASES.items():
        if any(c.name == name for c in source.columns):
            lookup.setdefault(alias, name)
    return lookup


def map_header(cells: list[str], lookup: dict[str, str]) -> dict[int, str]:
    """Column index -> canonical name; the first column carrying a name wins."""
    mapping: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        name = lookup.get(normalise_header(cell)) if cell else None
        if name and name not in seen:
            mapping[i] = name
            seen.add(name)
    return mapping


def find_header(rows: list[list[str]], lookup: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    for idx, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = map_header(cells, lookup)
        if len(mapping) >= 2:
            return idx, mapping
    return None


def check_unique_columns(rel: str, source: Source, cells: list[str], lookup: dict[str, str], row: int | None) -> None:
    """Two columns naming the same field (个人编号 twice, or 个人编号 and 人员编号) fail the file:
    which one holds the data cannot be known, and taking the first would silently drop the other."""
    seen: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        name = lookup.get(normalise_header(cell)) if cell else None
        if name:
            seen.setdefault(name, []).append(i)
    for name, where in seen.items():
        if len(where) > 1:
            label = source.column(name).label
            cols = "、".join(f"第{i + 1}列“{str(cells[i]).strip()}”" for i in where)
            at = f"第{row}行表头" if row is not None else "列名"
            raise IngestFileError(
                f"文件 {rel} {at}中字段“{label}”({name})出现了{len(where)}次（{cols}），"
                "无法确定使用哪一列，请删除多余的列，整个文件未加载"
            )


def check_required(rel: str, source: Source, mapping: dict[int, str]) -> None:
    present = set(mapping.values())
    missing = [c for c in source.columns if c.required and c.name not in present]
    if missing:
        names = "、".join(f"“{c.label}”({c.name})" for c in missing)
        raise IngestFileError(f"文件 {rel} 缺少必需列：{names}，整个文件未加载")


def no_header(rel: str, source: Source, hint: str = "") -> IngestFileError:
    """hint: a further Chinese sentence (for example the delimiter the file seems to use)."""
    examples = "、".join(c.label for c in source.columns if c.required)
    return IngestFileError(
        f"文件 {rel} 未找到表头行：前{HEADER_SCAN_ROWS}行中没有可识别的列名（应包含 {examples} 等）"
        f"{'；' + hint if hint else ''}，整个文件未加载"
    )


def cell_text(value) -> str:
    """Text of one spreadsheet cell as a user would type it (no float noise, ISO dates)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        if "e" in text or len(text.split(".")[-1]) > 8:
            text = f"{value:.10f}".rstrip("0").rstrip(".")
        return text
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def table_from_rows(rows: list[list[str]], row_numbers: list[int], mapping: dict[int, str], width: int) -> pa.Table:
    cols: dict[str, list[str]] = {name: [] for name in mapping.values()}
    extra: list[str] = []
    mapped = sorted(mapping.items())
    unmapped = [i for i in range(width) if i not in mapping]
    for cells in rows:
        n = len(cells)
        for i, name in mapped:
            cols[name].append(cells[i] if i < n else "")
        parts = [cells[i] for i in unmapped if i < n and cells[i]]
        parts += [c for c in cells[width:] if c]
        extra.append(EXTRA_SEP.join(parts))
    arrays = {"__row": pa.array(np.asarray(row_numbers, dtype=np.int32)), "__extra": pa.array(extra, pa.string())}
    for name, values in cols.items():
        arrays[name] = pa.array(values, pa.string())
    return pa.table(arrays)


def row_numbers(first: int, n: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int32))
