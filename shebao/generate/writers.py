"""File writers shaped like what agencies and employers actually hand over.

- CSV in UTF-8, UTF-8 with BOM, or GB18030 as Chinese Excel saves it (CRLF, money
  without trailing zeros).
- XLSX shaped like the employer templates of seed 002: title row, header row, example
  row, instruction row, then the data; every cell text, fixed workbook timestamps.
- Parquet with all columns as strings.
Each returns the sheet/file row number of the first data row, so injected errors can be
reported where a user would look.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TEMPLATE_INSTRUCTION = "以上一行填写示例请从下一行开始按示例填写(不要删除示例和本行说明文字)"
FIXED_TIMESTAMP = dt.datetime(2024, 1, 1, 0, 0, 0)


def excel_number(text: str) -> str:
    """How Excel re-saves a money cell: 1422.40 -> 1422.4, 8890.00 -> 8890."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8", money_cols: tuple[int, ...] = ()
) -> int:
    """Write a CSV; GB18030 files get Excel's CRLF and number formatting. Returns the first data row number."""
    excel = encoding == "gb18030"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n" if excel else "\n")
        writer.writerow(header)
        if excel and money_cols:
            for row in rows:
                row = list(row)
                for i in money_cols:
                    row[i] = excel_number(row[i])
                writer.writerow(row)
        else:
            writer.writerows(rows)
    return 2


def write_csv_streams(
    paths: dict[str, Path], header: list[str], rows: Iterable[tuple[str, list[str]]]
) -> dict[str, int]:
    """UTF-8 CSVs written side by side from (key, row) pairs, each opened at its first row; rows per key.

    Byte for byte what write_csv gives for the same rows, without holding them.
    """
    writers: dict[str, Any] = {}
    counts: dict[str, int] = {}
    with contextlib.ExitStack() as stack:
        for key, row in rows:
            if key not in writers:
                paths[key].parent.mkdir(parents=True, exist_ok=True)
                fh = stack.enter_context(open(paths[key], "w", encoding="utf-8", newline=""))
                writers[key] = csv.writer(fh, lineterminator="\n")
                writers[key].writerow(header)
            writers[key].writerow(row)
            counts[key] = counts.get(key, 0) + 1
    return counts


def write_xlsx_template(
    path: Path,
    title: str,
    header: list[str],
    example: list[str],
    rows: list[list[str]],
    instruction: str = TEMPLATE_INSTRUCTION,
) -> int:
    """An employer template: title, header, example, instruction, data. Returns the first data row number (5)."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False},
    )
    wb.set_properties({"created": FIXED_TIMESTAMP, "author": "", "title": title})
    ws = wb.add_worksheet("Sheet1")
    ws.set_column(0, len(header) - 1, 16)
    bold = wb.add_format({"bold": True})
    ws.write_string(0, 0, title, bold)
    for c, text in enumerate(header):
        ws.write_string(1, c, text, bold)
    for c, text in enumerate(example):
        ws.write_string(2, c, text)
    ws.write_string(3, 0, instruction)
    for r, row in enumerate(rows, start=4):
        for c, text in enumerate(row):
            if text:
                ws.write_string(r, c, text)
    wb.close()
    return 5


def write_parquet(path: Path, header: list[str], rows: list[list[str]]) -> int:
    write_parquet_stream(path, header, rows)
    return 1


# Rows held in memory at once while a Parquet file is written; also its row-group size. A
# month of SF 100 is about a million lines per region: written in chunks, the generator's
# memory does not grow with the scale. Files of up to this many rows (SF 10: ~96k) come out
# byte for byte as when the whole file was converted at once.
PARQUET_CHUNK_ROWS = 131_072


def write_parquet_stream(path: Path, header: list[str], rows: Iterable[list[str]]) -> int:
    """Write string columns to Parquet (zstd) in chunks of PARQUET_CHUNK_ROWS; returns the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(name, pa.string()) for name in header])
    total = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        it = iter(rows)
        while True:
            chunk = list(itertools.islice(it, PARQUET_CHUNK_ROWS))
            if not chunk and total:
                break
            columns = list(zip(*chunk)) if chunk else [() for _ in header]
            table = pa.table({name: pa.array(list(col), pa.string()) for name, col in zip(header, columns)})
            writer.write_table(table)
            total += len(chunk)
            if len(chunk) < PARQUET_CHUNK_ROWS:
                break
    return total
