"""The landing folder being written: files per source, rows per file, and the planted errors."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from foundation.landing.identifiers import ID_CHECK_CHARS
from foundation.landing.schema import DEFAULT_ID_TYPE
from shebao.generate.ledger import COL
from shebao.generate.model import Person, Unit
from shebao.generate.writers import write_csv, write_parquet, write_parquet_stream, write_xlsx_template

EXT = {"utf-8": "csv", "utf-8-sig": "csv", "gb18030": "csv", "xlsx": "xlsx", "parquet": "parquet"}


class Landing:
    """Bookkeeping of what was written: files per source, rows per file, formats, errors."""

    def __init__(self, out_dir: Path):
        self.out = out_dir
        self.files: dict[str, list[str]] = {
            "employers": [],
            "persons": [],
            "enrolments": [],
            "ledgers": [],
            "legacy_history": [],
        }
        self.rows: dict[str, int] = {}
        self.formats: dict[str, str] = {}
        self.errors: list[dict] = []
        self.findings: list[dict] = []  # soft findings: loaded, then reported (docs/domain.md section 2)

    def path(self, rel: str) -> Path:
        return self.out / rel

    def record(self, source: str, rel: str, n: int, fmt: str) -> None:
        self.files[source].append(rel)
        self.rows[rel] = n
        self.formats[rel] = fmt

    def error(self, source: str, rel: str, row: int | None, field: str | None, kind: str, value: str | None) -> None:
        self.errors.append({"source": source, "file": rel, "row": row, "field": field, "kind": kind, "value": value})

    def write(
        self,
        source: str,
        rel: str,
        header: list[str],
        rows: list[list[str]],
        fmt: str,
        *,
        title: str = "",
        example: list[str] | None = None,
        money_cols: tuple[int, ...] = (),
    ) -> int:
        path = self.path(rel)
        if fmt == "xlsx":
            first = write_xlsx_template(path, title, header, example or [], rows)
        elif fmt == "parquet":
            first = write_parquet(path, header, rows)
        else:
            first = write_csv(path, header, rows, fmt, money_cols)
        self.record(source, rel, len(rows), fmt)
        return first

    def write_parquet_stream(self, source: str, rel: str, header: list[str], rows: Iterable[list[str]]) -> int:
        """A Parquet file written from an iterator in chunks (nothing planted in it); returns its rows."""
        n = write_parquet_stream(self.path(rel), header, rows)
        self.record(source, rel, n, "parquet")
        return n


def bad_id(number: str) -> str:
    return number[:17] + ID_CHECK_CHARS[(ID_CHECK_CHARS.index(number[17]) + 1) % 11]


def employer_row(u: Unit, region_name: str) -> list[str]:
    return [
        u.unit_id,
        u.name,
        u.uscc,
        u.unit_type,
        region_name,
        str(u.risk_class),
        u.legal_rep,
        u.address,
        u.founded.isoformat(),
        u.status,
    ]


def person_row(p: Person) -> list[str]:
    return [
        p.person_id,
        p.name,
        DEFAULT_ID_TYPE,
        p.id_number,
        p.sex,
        p.birth.isoformat(),
        p.hukou,
        p.work_start.isoformat(),
        p.post,
        p.mobile,
    ]


def template_unit(rows: list[list[str]]) -> tuple[str, list[list[str]]]:
    """The unit whose lines go into an employer template: the largest one of at most 1500 lines."""
    by_unit: dict[str, list[list[str]]] = {}
    for r in rows:
        by_unit.setdefault(r[COL["unit_id"]], []).append(r)
    fitting = [(len(v), u) for u, v in by_unit.items() if len(v) <= 1500]
    unit_id = max(fitting)[1] if fitting else min((len(v), u) for u, v in by_unit.items())[1]
    return unit_id, by_unit[unit_id]


def inject_csv_host(landing: Landing, rel: str, rows: list[list[str]], offset: int) -> None:
    i_bad = len(rows) // 3
    # A soft finding: personal amount 0.05 above base x rate. The loader keeps the row; dbt and GX report it.
    i_soft = len(rows) // 5
    wrong = str(Decimal(rows[i_soft][COL["personal_amount"]]) + Decimal("0.05"))
    rows[i_soft][COL["personal_amount"]] = wrong
    landing.findings.append(
        {
            "source": "ledgers",
            "file": rel,
            "row": i_soft + offset,
            "field": "personal_amount",
            "kind": "amount_mismatch",
            "value": wrong,
        }
    )
    rows[i_bad][COL["id_number"]] = bad_id(rows[i_bad][COL["id_number"]])
    landing.error("ledgers", rel, i_bad + offset, "id_number", "bad_id_check_digit", rows[i_bad][COL["id_number"]])
    src = len(rows) // 2 if len(rows) // 2 != i_bad else len(rows) - 1
    rows.append(list(rows[src]))
    landing.error("ledgers", rel, len(rows) - 1 + offset, None, "duplicate_line", f"第{src + offset}行的重复")


def inject_gb_host(landing: Landing, rel: str, rows: list[list[str]], offset: int) -> None:
    i_period, i_ins = len(rows) // 4, len(rows) // 2
    if i_ins == i_period:
        i_ins = len(rows) - 1
    rows[i_period][COL["fee_period"]] = "202313"
    landing.error("ledgers", rel, i_period + offset, "fee_period", "bad_period", "202313")
    rows[i_ins][COL["insurance_type"]] = "意外伤害保险"
    landing.error("ledgers", rel, i_ins + offset, "insurance_type", "unknown_insurance_type", "意外伤害保险")
