"""Every CSV and XLSX the product writes goes through here, so a spreadsheet never runs a cell.

Excel, WPS and LibreOffice treat a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some
versions, a leading tab or carriage return) as a formula: a person named ``=cmd|' /C calc'!A0``
would become a live formula in the employer's export. The one rule (OWASP "CSV injection"): such a
text cell gets a leading ``'``, which spreadsheets show as text. Numbers are never touched, so a
negative amount stays a number; xlsxwriter is also told never to turn strings into formulas,
URLs or numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported only by the writers that need it
    import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def is_number(value: object) -> bool:
    """Numbers (never booleans) are written as numbers and never prefixed."""
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def safe_text(text: str) -> str:
    """The text a spreadsheet shows as typed: a leading ``'`` when it would start a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_cell(value: Any) -> Any:
    """A cell value with text neutralised; numbers, dates and empty cells unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def csv_row(values: Iterable[Any], text: Callable[[Any], str] = _plain) -> list[str]:
    """One CSV row: numbers as ``text`` spells them, everything else as safe text."""
    return [text(v) if is_number(v) else safe_text(text(v)) for v in values]


def write_csv(
    out: IO[str],
    header: Sequence[str],
    rows: Iterable[Iterable[Any]],
    text: Callable[[Any], str] = _plain,
    lineterminator: str = "\r\n",
) -> int:
    """Write a header and rows as CSV through the one rule; returns the number of rows written."""
    writer = csv.writer(out, lineterminator=lineterminator)
    writer.writerow(csv_row(header))
    n = 0
    for row in rows:
        writer.writerow(csv_row(row, text))
        n += 1
    return n


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _neutralised(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and headers follow the rule; numeric columns are left as they are."""
    import pandas as pd

    out = df.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(safe_cell)
    out.columns = [safe_text(str(c)) for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A DataFrame as a CSV download (UTF-8 with BOM, which Chinese Excel opens correctly).

    pandas writes the cells (dates as dates, empty cells empty, Decimals exact) after the rule; CRLF
    line ends, so a cell holding a CR or LF is quoted as Excel expects.
    """
    text: str = _neutralised(df).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def xlsx_bytes(df: pd.DataFrame, money: Sequence[str] = (), sheet_name: str = "数据") -> bytes:
    """A DataFrame as an XLSX download: text cells neutralised, money as numbers formatted #,##0.00."""
    import pandas as pd

    out = _neutralised(df)
    for c, name in zip(df.columns, out.columns):
        if c in money:
            out[name] = df[c].map(lambda v: None if _is_missing(v) or pd.isna(v) else float(v))
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter", engine_kwargs={"options": XLSX_OPTIONS}) as writer:
        out.to_excel(writer, index=False, sheet_name=sheet_name)
        sheet = writer.sheets[sheet_name]
        fmt = writer.book.add_format({"num_format": "#,##0.00"})
        for i, c in enumerate(df.columns):
            width = max(10, min(40, len(str(c)) * 2 + 2))
            sheet.set_column(i, i, width, fmt if c in money else None)
    return buf.getvalue()
