"""CSV: UTF-8 (with or without BOM) parsed by pyarrow, anything else decoded as GB18030 first."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from foundation.landing.schema import Source
from pipelines.ingest.plausibility import NAME_COLUMNS, first_implausible
from pipelines.ingest.sheet import (
    EXTRA_SEP,
    HEADER_SCAN_ROWS,
    IngestFileError,
    ReadResult,
    check_required,
    check_unique_columns,
    find_header,
    header_lookup,
    no_header,
    row_numbers,
    table_from_rows,
)

OTHER_DELIMITERS = {";": "分号（;）", "\t": "制表符（Tab）", "|": "竖线（|）"}


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
    found = find_header(head_rows, lookup)
    if found is None:
        raise no_header(rel, source, _delimiter_hint(head, delimiter, lookup))
    header_idx, mapping = found
    check_unique_columns(rel, source, head_rows[header_idx], lookup, header_idx + 1)
    check_required(rel, source, mapping)
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
    if encoding == "gb18030":
        _check_decoded_names(rel, table, headers)
    return ReadResult(table=table, headers=headers, encoding=encoding)


def _delimiter_hint(head: str, used: str, lookup: dict[str, str]) -> str:
    """A Chinese sentence naming the delimiter that does find the header, or ""."""
    for delimiter, name in OTHER_DELIMITERS.items():
        if delimiter == used or delimiter not in head:
            continue
        rows = [row for _, row in zip(range(HEADER_SCAN_ROWS), csv.reader(io.StringIO(head), delimiter=delimiter))]
        if find_header(rows, lookup) is not None:
            return f"文件看起来是以{name}分隔的，请另存为以逗号分隔的CSV文件"
    return ""


def _check_decoded_names(rel: str, table: pa.Table, headers: dict[str, str]) -> None:
    """A GB18030 guess that turns a name into mojibake fails the file (see plausibility.py)."""
    for column in NAME_COLUMNS:
        if column not in table.column_names:
            continue
        found = first_implausible(table.column(column), table.column("__row"))
        if found is not None:
            row, ch, value = found
            raise IngestFileError(
                f"文件 {rel} 按GB18030/GBK解码后，第{row}行“{headers.get(column, column)}”({column})中出现"
                f"姓名中不应有的字符“{ch}”（值为“{value.strip()}”），文件很可能不是GB18030/GBK编码"
                "（例如Latin-1/Windows-1252），请另存为UTF-8编码的CSV文件，整个文件未加载"
            )


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
    arrays = {"__row": row_numbers(first, n)}
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
    return table_from_rows(rows, numbers, mapping, width)
