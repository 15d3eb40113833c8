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

import csv
import datetime as dt
from pathlib import Path

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
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(zip(*rows)) if rows else [() for _ in header]
    table = pa.table({name: pa.array(list(col), pa.string()) for name, col in zip(header, columns)})
    pq.write_table(table, path, compression="zstd")
    return 1
