"""Read one landing file (CSV, XLSX, Parquet) into an all-text Arrow table.

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

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from foundation.landing.schema import Source

EXTRA_SEP = "\x1f"
HEADER_SCAN_ROWS = 30  # the header row must be among the first rows (title rows above it)
CSV_EXTENSIONS = (".csv",)
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
PARQUET_EXTENSIONS = (".parquet", ".pq")
SUPPORTED_EXTENSIONS = CSV_EXTENSIONS + XLSX_EXTENSIONS + PARQUET_EXTENSIONS

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


def _map_header(cells: list[str], lookup: dict[str, str]) -> dict[int, str]:
    """Column index -> canonical name; the first column carrying a name wins."""
    mapping: dict[int, str] = {}
    seen: set[str] = set()
    for i, cell in enumerate(cells):
        name = lookup.get(normalise_header(cell)) if cell else None
        if name and name not in seen:
            mapping[i] = name
            seen.add(name)
    return mapping


def _find_header(rows: list[list[str]], lookup: dict[str, str]) -> tuple[int, dict[int, str]] | None:
    for idx, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = _map_header(cells, lookup)
        if len(mapping) >= 2:
            return idx, mapping
    return None


def _check_required(rel: str, source: Source, mapping: dict[int, str]) -> None:
    present = set(mapping.values())
    missing = [c for c in source.columns if c.required and c.name not in present]
    if missing:
        names = "、".join(f"“{c.label}”({c.name})" for c in missing)
        raise IngestFileError(f"文件 {rel} 缺少必需列：{names}，整个文件未加载")


def _no_header(rel: str, source: Source) -> IngestFileError:
    examples = "、".join(c.label for c in source.columns if c.required)
    return IngestFileError(
        f"文件 {rel} 未找到表头行：前{HEADER_SCAN_ROWS}行中没有可识别的列名（应包含 {examples} 等），整个文件未加载"
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


def _table_from_rows(rows: list[list[str]], row_numbers: list[int], mapping: dict[int, str], width: int) -> pa.Table:
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


# --------------------------------------------------------------------------- CSV


def decode_csv_bytes(rel: str, data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with or without BOM, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise IngestFileError(
                f"文件 {rel} 带有UTF-8标记但内容不是有效的UTF-8编码（第{exc.start + 3}字节），整个文件未加载"
            ) from exc
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestFileError(f"文件 {rel} 是UTF-16编码，请另存为UTF-8或GB18030编码的CSV文件，整个文件未加载")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise IngestFileError(
            f"文件 {rel} 无法识别字符编码（既不是UTF-8也不是GB18030/GBK，第{exc.start}字节起无法解码），整个文件未加载"
        ) from exc


def _sniff_delimiter(first_lines: str) -> str:
    lines = first_lines.splitlines()[:HEADER_SCAN_ROWS]
    commas = sum(line.count(",") for line in lines)
    tabs = sum(line.count("\t") for line in lines)
    return "\t" if tabs > commas else ","


def _head_text(data: bytes, limit: int = 200_000) -> str | None:
    """The first bytes as UTF-8 text, or None if they are not UTF-8 (BOM already removed)."""
    head = data[:limit]
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) == limit and exc.start >= limit - 3:  # cut inside a character
            return head[: exc.start].decode("utf-8")
        return None


def read_csv(path: Path, rel: str, source: Source, data: bytes) -> ReadResult:
    """pyarrow parses UTF-8 directly (and validates it); anything else is decoded as GB18030 first."""
    if data.startswith(b"\xef\xbb\xbf"):
        body, encoding = data[3:], "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestFileError(f"文件 {rel} 是UTF-16编码，请另存为UTF-8或GB18030编码的CSV文件，整个文件未加载")
    else:
        body, encoding = data, "utf-8"
    head = _head_text(body)
    if head is None:
        text, encoding = decode_csv_bytes(rel, data)
        body, head = text.encode("utf-8"), text[:200_000]
    lookup = header_lookup(source)
    delimiter = _sniff_delimiter(head)
    head_rows = [row for _, row in zip(range(HEADER_SCAN_ROWS), csv.reader(io.StringIO(head), delimiter=delimiter))]
    found = _find_header(head_rows, lookup)
    if found is None:
        raise _no_header(rel, source)
    header_idx, mapping = found
    _check_required(rel, source, mapping)
    header_cells = head_rows[header_idx]
    headers = {name: header_cells[i].strip() for i, name in mapping.items()}
    width = len(header_cells)
    try:
        table = _read_csv_fast(body, delimiter, header_idx, width, mapping)
    except _NotUtf8:
        text, encoding = decode_csv_bytes(rel, data)
        body = text.encode("utf-8")
        table = _read_csv_fast(body, delimiter, header_idx, width, mapping)
    if table is None:
        table = _read_csv_python(body.decode("utf-8"), delimiter, header_idx, width, mapping)
    return ReadResult(table=table, headers=headers, encoding=encoding)


class _NotUtf8(Exception):
    pass


def _read_csv_fast(body: bytes, delimiter: str, header_idx: int, width: int, mapping) -> pa.Table | None:
    """pyarrow's parser; None when row numbers could drift (blank lines, ragged rows, quoted newlines)."""
    import pyarrow.csv as pacsv

    trimmed = body.rstrip(b"\r\n \t")
    if b"\n\n" in trimmed or b"\n\r\n" in trimmed or b"\r\r" in trimmed:
        return None  # pyarrow drops blank lines, which would shift the row numbers
    bad_rows: list[int] = []

    def on_invalid(row) -> str:
        bad_rows.append(1)
        return "skip"

    names = [f"f{i}" for i in range(width)]
    try:
        raw = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(skip_rows=header_idx + 1, column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except pa.ArrowInvalid as exc:
        if "utf8" in str(exc).lower() or "utf-8" in str(exc).lower():
            raise _NotUtf8() from exc
        return None
    if bad_rows:
        return None  # a ragged row or a quoted line break: the stdlib parser numbers rows exactly
    n = raw.num_rows
    first = header_idx + 2
    arrays = {"__row": _row_numbers(first, n)}
    unmapped = [raw.column(f"f{i}") for i in range(width) if i not in mapping]
    if not unmapped:
        arrays["__extra"] = pa.nulls(n, pa.string())
    elif len(unmapped) == 1:
        arrays["__extra"] = unmapped[0]
    else:
        arrays["__extra"] = pc.binary_join_element_wise(*unmapped, EXTRA_SEP)
    for i, name in sorted(mapping.items()):
        arrays[name] = raw.column(f"f{i}")
    return pa.table(arrays)


def _read_csv_python(text: str, delimiter: str, header_idx: int, width: int, mapping) -> pa.Table:
    """The stdlib parser: exact spreadsheet row numbers even with blank or ragged rows."""
    rows: list[list[str]] = []
    numbers: list[int] = []
    for idx, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
        if idx <= header_idx:
            continue
        rows.append(cells)
        numbers.append(idx + 1)
    return _table_from_rows(rows, numbers, mapping, width)


# --------------------------------------------------------------------------- XLSX


def read_xlsx(path: Path, rel: str, source: Source) -> ReadResult:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        if not book.sheet_names:
            raise IngestFileError(f"文件 {rel} 中没有工作表，整个文件未加载")
        raw_rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except IngestFileError:
        raise
    except Exception as exc:  # calamine raises several error types for broken zips/xml
        raise IngestFileError(
            f"文件 {rel} 不是有效的Excel（XLSX）文件或已损坏，无法读取：{exc}，整个文件未加载"
        ) from exc
    lookup = header_lookup(source)
    head = [[cell_text(v).strip() for v in row] for row in raw_rows[:HEADER_SCAN_ROWS]]
    found = _find_header(head, lookup)
    if found is None:
        raise _no_header(rel, source)
    header_idx, mapping = found
    _check_required(rel, source, mapping)
    headers = {name: head[header_idx][i] for i, name in mapping.items()}
    width = len(head[header_idx])
    rows = [[cell_text(v) for v in row] for row in raw_rows[header_idx + 1 :]]
    numbers = list(range(header_idx + 2, header_idx + 2 + len(rows)))
    return ReadResult(table=_table_from_rows(rows, numbers, mapping, width), headers=headers)


# --------------------------------------------------------------------------- Parquet


def _text_array(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    t = column.type
    if pa.types.is_string(t):
        return column
    if pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return column.cast(pa.string())
    if pa.types.is_floating(t):
        return pa.array([None if v is None else cell_text(v) for v in column.to_pylist()], pa.string())
    if pa.types.is_timestamp(t):
        return pa.array([None if v is None else cell_text(v) for v in column.to_pylist()], pa.string())
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else cell_text(v) for v in column.to_pylist()], pa.string())


def read_parquet(path: Path, rel: str, source: Source) -> ReadResult:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise IngestFileError(f"文件 {rel} 不是有效的Parquet文件或已损坏，无法读取：{exc}，整个文件未加载") from exc
    lookup = header_lookup(source)
    mapping = _map_header(list(table.column_names), lookup)
    if not mapping:
        raise _no_header(rel, source)
    _check_required(rel, source, mapping)
    n = table.num_rows
    arrays = {"__row": _row_numbers(1, n), "__extra": pa.nulls(n, pa.string())}
    headers = {}
    for i, name in sorted(mapping.items()):
        arrays[name] = _text_array(table.column(i))
        headers[name] = table.column_names[i]
    return ReadResult(table=pa.table(arrays), headers=headers)


def _row_numbers(first: int, n: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int32))


def clean_table(table: pa.Table) -> pa.Table:
    """Trim (Unicode) blanks around every text cell and turn empty cells into NULL, in Arrow (fast)."""
    out = {}
    for name in table.column_names:
        col = table.column(name)
        if name != "__row":
            if col.type != pa.string():
                col = col.cast(pa.string())
            col = pc.utf8_trim_whitespace(col)
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        out[name] = col
    return pa.table(out)


def read_file(path: Path, rel: str, source: Source, data: bytes) -> ReadResult:
    """Read, then clean: the loader sees trimmed text or NULL in every cell."""
    result = _read_any(path, rel, source, data)
    result.table = clean_table(result.table)
    return result


def _read_any(path: Path, rel: str, source: Source, data: bytes) -> ReadResult:
    ext = path.suffix.lower()
    if ext in CSV_EXTENSIONS:
        return read_csv(path, rel, source, data)
    if ext in XLSX_EXTENSIONS:
        return read_xlsx(path, rel, source)
    if ext in PARQUET_EXTENSIONS:
        return read_parquet(path, rel, source)
    raise IngestFileError(
        f"文件 {rel} 的格式（{path.suffix or '无扩展名'}）不受支持，仅支持 CSV、XLSX、Parquet，整个文件未加载"
    )
