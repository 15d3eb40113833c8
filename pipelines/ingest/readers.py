"""Read one landing file (CSV, XLSX, Parquet) into an all-text Arrow table (shape: see sheet.py)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from foundation.landing.schema import Source
from pipelines.ingest.csv_reader import read_csv
from pipelines.ingest.sheet import (
    HEADER_SCAN_ROWS,
    IngestFileError,
    ReadResult,
    cell_text,
    check_required,
    check_unique_columns,
    find_header,
    header_lookup,
    map_header,
    no_header,
    row_numbers,
    table_from_rows,
)
from pipelines.ingest.typing_sql import MAX_CELL_CHARS

__all__ = ["SUPPORTED_EXTENSIONS", "IngestFileError", "ReadResult", "read_file"]

CSV_EXTENSIONS = (".csv",)
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
PARQUET_EXTENSIONS = (".parquet", ".pq")
SUPPORTED_EXTENSIONS = CSV_EXTENSIONS + XLSX_EXTENSIONS + PARQUET_EXTENSIONS


# --------------------------------------------------------------------------- XLSX


def read_xlsx(path: Path, rel: str, source: Source) -> ReadResult:
    """calamine reads the path itself (a third faster than from memory); the loader has refused links by then."""
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
    found = find_header(head, lookup)
    if found is None:
        raise no_header(rel, source)
    header_idx, mapping = found
    check_unique_columns(rel, source, head[header_idx], lookup, header_idx + 1)
    check_required(rel, source, mapping)
    headers = {name: head[header_idx][i] for i, name in mapping.items()}
    width = len(head[header_idx])
    rows = [[cell_text(v) for v in row] for row in raw_rows[header_idx + 1 :]]
    numbers = list(range(header_idx + 2, header_idx + 2 + len(rows)))
    return ReadResult(table=table_from_rows(rows, numbers, mapping, width), headers=headers)


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


def read_parquet(rel: str, source: Source, data: bytes) -> ReadResult:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:
        raise IngestFileError(f"文件 {rel} 不是有效的Parquet文件或已损坏，无法读取：{exc}，整个文件未加载") from exc
    lookup = header_lookup(source)
    mapping = map_header(list(table.column_names), lookup)
    if not mapping:
        raise no_header(rel, source)
    check_unique_columns(rel, source, list(table.column_names), lookup, None)
    check_required(rel, source, mapping)
    n = table.num_rows
    arrays = {"__row": row_numbers(1, n), "__extra": pa.nulls(n, pa.string())}
    headers = {}
    for i, name in sorted(mapping.items()):
        arrays[name] = _text_array(table.column(i))
        headers[name] = table.column_names[i]
    return ReadResult(table=pa.table(arrays), headers=headers)


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


def long_columns(table: pa.Table, limit: int = MAX_CELL_CHARS) -> frozenset[str]:
    """Mapped columns holding a cell longer than `limit` characters (one Arrow kernel per column)."""
    out = set()
    for name in table.column_names:
        if name.startswith("__"):
            continue
        longest = pc.max(pc.utf8_length(table.column(name))).as_py()
        if longest is not None and longest > limit:
            out.add(name)
    return frozenset(out)


def read_file(path: Path, rel: str, source: Source, data: bytes) -> ReadResult:
    """Read, then clean: the loader sees trimmed text or NULL in every cell."""
    result = _read_any(path, rel, source, data)
    result.table = clean_table(result.table)
    result.long_columns = long_columns(result.table)
    return result


def _read_any(path: Path, rel: str, source: Source, data: bytes) -> ReadResult:
    ext = path.suffix.lower()
    if ext in CSV_EXTENSIONS:
        return read_csv(path, rel, source, data)
    if ext in XLSX_EXTENSIONS:
        return read_xlsx(path, rel, source)
    if ext in PARQUET_EXTENSIONS:
        return read_parquet(rel, source, data)
    raise IngestFileError(
        f"文件 {rel} 的格式（{path.suffix or '无扩展名'}）不受支持，仅支持 CSV、XLSX、Parquet，整个文件未加载"
    )
