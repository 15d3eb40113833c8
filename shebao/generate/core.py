"""generate_landing: a whole landing folder (docs/domain.md section 2) from a seed."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

from foundation.landing.identifiers import USCC_ALPHABET, uscc_check_char
from foundation.landing.schema import DEFAULT_ID_TYPE, EMPLOYERS, ENROLMENTS, PERSONS
from shebao.generate import legacy
from shebao.generate.landing import (
    EXT,
    Landing,
    bad_id,
    employer_row,
    inject_csv_host,
    inject_gb_host,
    person_row,
    template_unit,
)
from shebao.generate.ledger import COL, LEDGER_HEADER, MONEY_COLS, LedgerBuilder
from shebao.generate.model import (
    Unit,
    abs_ym,
    build_people,
    build_units,
    chinese_name,
    make_id_number,
    mobile,
    ym_abs,
)
from shebao.generate.reference import Reference
from shebao.generate.writers import write_csv_streams

LINES_PER_PERSON_MONTH = 6.55  # measured on the default window; turns a scale factor into people
DEFAULT_SCALE = 0.1
PARQUET_THRESHOLD = 200_000
REGION_ORDER = ("SZ_SIP", "SZ_CITY", "HB_PROV")
FORMATS = ("auto", "csv", "parquet")

# Alternative headers an older export system writes (accepted aliases in schema.py).
GB_HEADER_ALIASES = {"个人编号": "人员编号", "到账日期": "到账时间"}
LEDGER_EXAMPLE = [
    "100000000",
    "武汉*****公司",
    "10000000000",
    "张三",
    DEFAULT_ID_TYPE,
    "510725*****8319",
    "202401",
    "企业职工基本养老保险",
    "正常应缴",
    "5000",
    "5000",
    "400",
    "800",
    "400",
    "0",
    "0",
    "已到账",
    "1200",
    "2024-01-15",
    "420100C001",
    "湖北省本级",
]
PERSON_EXAMPLE = [
    "10000000000",
    "张三",
    DEFAULT_ID_TYPE,
    "510725*****8319",
    "男",
    "1993-01-01",
    "城镇户口",
    "2015-07-01",
    "生产岗",
    "13000000000",
]


def persons_for_scale(scale: float, n_months: int) -> int:
    """SF 1 is about a million ledger lines over the window."""
    return max(10, round(scale * 1_000_000 / (n_months * LINES_PER_PERSON_MONTH)))


def _ledger_format(k: int) -> str:
    if k % 16 == 5:
        return "xlsx"
    if k % 7 == 3:
        return "gb18030"
    if k % 5 == 1:
        return "utf-8-sig"
    return "utf-8"


def _write_legacy(landing: Landing, seed: int, ref: Reference, people, units, w0: int, inject_errors: bool, err_rng):
    """legacy_history/legacy_<region>.csv; with errors, a spell ending before it starts is planted."""
    if not inject_errors:  # streamed: one open CSV per region, no rows held (the same bytes)
        counts = write_csv_streams(
            {r: landing.path(f"legacy_history/legacy_{r}.csv") for r in REGION_ORDER},
            legacy.HEADER,
            legacy.iter_rows(seed, ref, people, units, w0),
        )
        for region in REGION_ORDER:
            if counts.get(region):
                landing.record("legacy_history", f"legacy_history/legacy_{region}.csv", counts[region], "utf-8")
        return
    by_region = legacy.build_rows(seed, ref, people, units, w0)
    for region in REGION_ORDER:
        rows = by_region.get(region, [])
        if not rows:
            continue
        rel = f"legacy_history/legacy_{region}.csv"
        if inject_errors and region == REGION_ORDER[0] and len(rows) > 4:
            i = err_rng.randrange(len(rows) // 2)
            bad = list(rows[i])
            bad[5], bad[6] = "202001", "201912"  # a spell ending before it starts, with a start of its own
            bad[7] = ""
            rows.insert(i + 1, bad)
            landing.error("legacy_history", rel, i + 3, "end_period", "legacy_end_before_start", "201912")
        landing.write("legacy_history", rel, legacy.HEADER, rows, "utf-8")


def _enrolments(ref: Reference, people, units, region: str, w0: int) -> Iterator[tuple]:
    """(person, unit, insurance code, start, end, status, reason) of every spell in units of `region`."""
    for p in people:
        for s in p.spells:
            unit = units[s.unit]
            if unit.region != region:
                continue
            for code in ref.insurances(unit.region, max(s.start, w0) // 12):
                if code == "610" and not unit.has_housing_fund:
                    continue
                yield (
                    p.person_id,
                    unit.unit_id,
                    code,
                    abs_ym(s.start),
                    "" if s.end is None else abs_ym(s.end),
                    s.status,
                    s.reason,
                )


def generate_landing(
    out_dir: Path,
    *,
    persons: int | None = None,
    scale: float | None = None,
    months: tuple[str, str] = ("202401", "202610"),
    seed: int = 42,
    inject_errors: bool = False,
    progress: bool = False,
    fmt: str = "auto",
) -> dict:
    """Write employers/, persons/, enrolments/ and ledgers/ under out_dir; same seed and args, same bytes."""
    from tqdm import tqdm

    out_dir = Path(out_dir)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    start, end = (str(m) for m in months)
    for m in (start, end):
        if len(m) != 6 or not m.isdigit() or not 1 <= int(m[4:]) <= 12:
            raise ValueError(f"month {m!r} is not YYYYMM")
    w0, w1 = ym_abs(start), ym_abs(end)
    if w1 < w0:
        raise ValueError(f"months run backwards: {start}:{end}")
    window = list(range(w0, w1 + 1))
    if persons is None:
        persons = persons_for_scale(DEFAULT_SCALE if scale is None else scale, len(window))
    if persons < 10:
        raise ValueError("at least 10 persons are needed (the planted example people alone are 6)")
    if inject_errors and len(window) < 2:
        raise ValueError("inject_errors needs a window of at least two months")
    for source in ("employers", "persons", "enrolments", "ledgers", "legacy_history"):
        folder = out_dir / source
        if folder.exists() and any(folder.iterdir()):
            raise FileExistsError(f"{folder} is not empty; generate into a fresh folder")

    ref = Reference()
    rng = random.Random(seed)
    units = build_units(rng, persons)
    people = build_people(rng, persons, units, ref, w0, w1)
    builder = LedgerBuilder(ref, units, people, random.Random(f"{seed}:ledger"), w0, w1)
    expected_lines = builder.expected_lines(window)
    use_parquet = fmt == "parquet" or (fmt == "auto" and expected_lines > PARQUET_THRESHOLD)
    landing = Landing(out_dir)
    err_rng = random.Random(f"{seed}:errors")

    # ---------------------------------------------------------------- employers
    emp_rows = [employer_row(u, ref.regions[u.region].name) for u in units]
    if inject_errors:
        bad_unit = Unit(
            len(units),
            "320599999001",
            "苏州工业园区汇通信息技术有限公司",
            "",
            "企业",
            "SZ_SIP",
            1,
            chinese_name(err_rng, True),
            "苏州工业园区星湖街88号",
            units[0].founded,
            "正常",
            True,
        )
        first17 = "91320594" + units[0].uscc[8:17]
        bad_unit.uscc = first17 + USCC_ALPHABET[(USCC_ALPHABET.index(uscc_check_char(first17)) + 7) % 31]
        emp_rows.append(employer_row(bad_unit, ref.regions["SZ_SIP"].name))
        rel = "employers/employers.csv"
        landing.error("employers", rel, len(emp_rows) + 1, "uscc", "bad_uscc_check_char", bad_unit.uscc)
    landing.write("employers", "employers/employers.csv", [c.label for c in EMPLOYERS.columns], emp_rows, "utf-8-sig")

    # ---------------------------------------------------------------- persons
    person_header = [c.label for c in PERSONS.columns]
    n_xlsx = min(1500, max(2, len(people) // 10))
    csv_people, xlsx_people = people[:-n_xlsx], people[-n_xlsx:]
    person_rows = [person_row(p) for p in csv_people]
    if inject_errors:
        used = {p.id_number for p in people}
        extra = []
        for k, kind in enumerate(("bad_id_check_digit", "birth_date_mismatch")):
            template = people[len(people) // 2 + k]
            male = err_rng.random() < 0.5
            number = make_id_number(err_rng, "320506", template.birth, male, used)
            row = [
                f"{19000000000 + k + 1:011d}",
                chinese_name(err_rng, male),
                DEFAULT_ID_TYPE,
                number,
                "男" if male else "女",
                template.birth.isoformat(),
                "城镇户口",
                template.work_start.isoformat(),
                "生产岗",
                mobile(err_rng),
            ]
            if kind == "bad_id_check_digit":
                row[3] = bad_id(number)
                field, value = "id_number", row[3]
            else:
                row[5] = template.birth.replace(year=template.birth.year + 1).isoformat()
                field, value = "birth_date", row[5]
            extra.append((row, field, kind, value))
        for row, field, kind, value in extra:
            person_rows.append(row)
            landing.error("persons", "persons/persons.csv", len(person_rows) + 1, field, kind, value)
    landing.write("persons", "persons/persons.csv", person_header, person_rows, "utf-8")
    landing.write(
        "persons",
        "persons/persons_batch.xlsx",
        person_header,
        [person_row(p) for p in xlsx_people],
        "xlsx",
        title="人员基本信息批量登记表",
        example=PERSON_EXAMPLE,
    )

    # ---------------------------------------------------------------- enrolments
    enrol_header = [c.label for c in ENROLMENTS.columns]
    for region in REGION_ORDER:  # one region's rows in memory at a time
        rows = [
            [pid, uid, ref.insurance_names[code], sp, ep, st, why]
            for pid, uid, code, sp, ep, st, why in sorted(_enrolments(ref, people, units, region, w0))
        ]
        landing.write("enrolments", f"enrolments/enrolments_{region}.csv", enrol_header, rows, "utf-8")
        del rows

    # ---------------------------------------------------------------- ledgers
    keys = [(m, r) for m in window for r in REGION_ORDER]
    formats = ["parquet" if use_parquet else _ledger_format(k) for k in range(len(keys))]
    hosts: dict[str, int] = {}
    if inject_errors:
        hosts = {"csv": 0, "gb18030": 2, "xlsx": 4, "copy": 5}
        formats[0], formats[2], formats[4] = "utf-8", "gb18030", "xlsx"
        if formats[5] not in ("utf-8", "utf-8-sig"):
            formats[5] = "utf-8-sig"
    total_lines = 0
    copy_source = None
    bar = tqdm(total=expected_lines, desc="ledger lines", unit="line", disable=not progress, unit_scale=True)
    for k, ((month, region), file_fmt) in enumerate(zip(keys, formats)):
        period = abs_ym(month)
        if file_fmt == "parquet" and k not in hosts.values():  # streamed: a month of SF 100 is ~1M lines
            n = landing.write_parquet_stream(
                "ledgers",
                f"ledgers/ledger_{period}_{region}.parquet",
                LEDGER_HEADER,
                builder.iter_month_rows(month, region),
            )
            bar.update(n)
            total_lines += n
            continue
        rows = builder.month_rows(month, region)
        bar.update(len(rows))
        title = f"{ref.regions[region].name}{period[:4]}年{period[4:]}月缴费明细表"
        parts: list[tuple[str, list[list[str]], str]] = []  # (rel, rows, format)
        if file_fmt == "xlsx":
            # Employers hand in templates for their own staff: one unit's lines go to an XLSX, the rest to CSV.
            unit_id, unit_rows = template_unit(rows)
            rest = [r for r in rows if r[COL["unit_id"]] != unit_id]
            if rest:
                parts.append((f"ledgers/ledger_{period}_{region}.csv", rest, "utf-8"))
            parts.append((f"ledgers/ledger_{period}_{region}_{unit_id}.xlsx", unit_rows, "xlsx"))
        else:
            parts.append((f"ledgers/ledger_{period}_{region}.{EXT[file_fmt]}", rows, file_fmt))
        for rel, part, part_fmt in parts:
            offset = 5 if part_fmt == "xlsx" else 2
            if k == hosts.get("csv"):
                inject_csv_host(landing, rel, part, offset)
            elif k == hosts.get("gb18030"):
                inject_gb_host(landing, rel, part, offset)
            elif k == hosts.get("xlsx") and part_fmt == "xlsx":
                i_neg = len(part) // 3
                part[i_neg][COL["personal_base"]] = "-" + part[i_neg][COL["personal_base"]]
                landing.error(
                    "ledgers", rel, i_neg + offset, "personal_base", "negative_base", part[i_neg][COL["personal_base"]]
                )
            elif k == hosts.get("copy"):
                copy_source = rel
            header = [GB_HEADER_ALIASES.get(h, h) for h in LEDGER_HEADER] if part_fmt == "gb18030" else LEDGER_HEADER
            landing.write(
                "ledgers", rel, header, part, part_fmt, title=title, example=LEDGER_EXAMPLE, money_cols=MONEY_COLS
            )
            total_lines += len(part)
    bar.close()
    if copy_source is not None:
        dup_rel = copy_source.replace(".csv", "_copy.csv")
        shutil.copyfile(landing.path(copy_source), landing.path(dup_rel))
        landing.record("ledgers", dup_rel, landing.rows[copy_source], landing.formats[copy_source])
        landing.error("ledgers", dup_rel, None, None, "duplicate_file", copy_source)
    _write_legacy(landing, seed, ref, people, units, w0, inject_errors, err_rng)
    if inject_errors:
        with open(out_dir / "expected_errors.json", "w", encoding="utf-8") as fh:
            json.dump(landing.errors, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        with open(out_dir / "expected_findings.json", "w", encoding="utf-8") as fh:
            json.dump(landing.findings, fh, ensure_ascii=False, indent=2)
            fh.write("\n")

    return {
        "out_dir": str(out_dir),
        "seed": seed,
        "months": [start, end],
        "persons": len(people),
        "units": len(units),
        "ledger_lines": total_lines,
        "ledger_format": "parquet" if use_parquet else "csv",
        "files": landing.files,
        "rows": landing.rows,
        "formats": landing.formats,
        "expected_errors": len(landing.errors),
    }
