"""The one test warehouse: a small landing folder a person can read, built by the real pipeline.

The landing rows below are the whole story; every figure a test asserts follows from them by
hand (the comments beside the tests show the arithmetic). Amounts are round_half_up(base x
rate, 2) with the published rates of the reference seeds:

- SZ_SIP / SZ_CITY 2024-2025: pension 110 unit 16 % personal 8 %, unemployment 210 0.5 % / 0.5 %,
  medical 310 6 % / 2 %; HB_PROV: 110 16 % / 8 %, 210 0.7 % / 0.3 %, 310 8 % / 2 %;
  work injury 410 unit only, by the unit's risk class (1: 0.2 %, 2: 0.4 %, 3: 0.7 %).
- Fee periods 202401..202503, as of 2025-04-15 (current fee period 202503, previous 202502).

Units: U001 苏州甲科技 (SZ_SIP, risk 2), U002 苏州乙软件 (SZ_SIP, risk 1),
U003 湖北丙制造 (HB_PROV, risk 3), U004 苏州市丁中学 (SZ_CITY, 机关事业单位, risk 1).

Per person and month (4 lines: 110, 210, 310, 410), base -> unit + personal = total:
  P001 张伟  U001 202401-202406 base 8000:  1832.00 + 840.00 = 2672.00, then
             U002 202407-      base 12000: 2724.00 + 1260.00 = 3984.00   (the person who moved)
  P002 李娜  U001 base 6000:  1374.00 + 630.00 = 2004.00
  P008 吴婷  U001 base 9805:  2245.35 + 1029.53 = 3274.88  (210: 9805 x 0.5 % = 49.025 -> 49.03)
  P005 刘洋  U002 202401-202502 base 15000: 3405.00 + 1575.00 = 4980.00  (left, insured nowhere now)
  P007 孙磊  U002 base 10000: 2270.00 + 1050.00 = 3320.00
  P003 王芳  U003 base 7000:  1778.00 + 721.00 = 2499.00
  P004 赵强  U003 base 5000:  1270.00 + 515.00 = 1785.00
  P006 陈静  U004 base 6050:  1373.35 + 635.25 = 2008.60  (210: 6050 x 0.5 % = 30.25)
Everything arrives on the 15th of its fee month (before the due date) except:
  - P002 202409 medical (310, 480.00) never arrives: one line of a month arrived, another did not;
  - U002's 202412 lines arrive 2025-01-10, ten days after the due date 2024-12-31 (late fee);
  - U003's 202502 and 202503 lines have not arrived (Hubei due date: the 15th of the next month,
    so 202502 is 31 days overdue on 2025-04-15 and 202503 is due that very day, not overdue);
  - P008 joined U001 in 202401 but that month was only charged later: its four lines are 补收
    on notice B-U001-202401 (the month's other lines are on N-U001-202401), arrived 2024-06-12,
    133 days after the due date 2024-01-31 (late fee);
  - P007 202501 pension personal amount is written 800.05 instead of 800.00 (a soft finding);
  - two more ledger rows are quarantined (a bad check character, a fee period 2025-13).

With legacy=True the landing also holds a legacy history (历史缴费记录, LEGACY_HISTORY): P004's
pension 199501-202312 (348 months, base 3000) migrated with a personal account of 52,345.60 at
Hubei's cut-off 202312. The shared test warehouse is built without it.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from foundation.landing.identifiers import id_check_char, uscc_check_char
from foundation.landing.schema import EMPLOYERS, ENROLMENTS, LEDGERS, LEGACY_HISTORY, PERSONS, Source

AS_OF = dt.date(2025, 4, 15)
PERIODS = [f"2024{m:02d}" for m in range(1, 13)] + ["202501", "202502", "202503"]
INSURANCES = ("110", "210", "310", "410")

# unit_id, name, USCC without its check character, type, region (as exported), risk class
UNITS = [
    ("U001", "苏州甲科技有限公司", "91320594MA1TXT001", "企业", "苏州工业园区", 2),
    ("U002", "苏州乙软件有限公司", "91320594MA1TXT002", "企业", "苏州工业园区", 1),
    ("U003", "湖北丙制造有限公司", "91420100MA4TXT003", "企业", "湖北省本级", 3),
    ("U004", "苏州市丁中学", "12320500MB0TXT004", "机关事业单位", "苏州市区", 1),
]
REGION_CODES = {"苏州工业园区": "SZ_SIP", "苏州市区": "SZ_CITY", "湖北省本级": "HB_PROV"}

# person_id, name, sex, birth date, post category, ID county code, sequence digits
PEOPLE = [
    ("P001", "张伟", "男", "1985-03-02", "专业技术岗", "320506", "011"),
    ("P002", "李娜", "女", "1975-06-10", "生产岗", "320506", "022"),
    ("P003", "王芳", "女", "1970-08-20", "管理岗", "420106", "042"),
    ("P004", "赵强", "男", "1965-03-05", "生产岗", "420106", "051"),
    ("P005", "刘洋", "男", "1990-01-01", "专业技术岗", "320506", "071"),
    ("P006", "陈静", "女", "1980-02-01", "工勤岗", "320508", "082"),
    ("P007", "孙磊", "男", "1966-01-10", "管理岗", "320506", "091"),
    ("P008", "吴婷", "女", "1992-05-18", "专业技术岗", "320506", "102"),
]

# person, unit, first fee period, last fee period (None: still insured), base
SPELLS = [
    ("P001", "U001", "202401", "202406", "8000"),
    ("P001", "U002", "202407", None, "12000"),
    ("P002", "U001", "202401", None, "6000"),
    ("P008", "U001", "202401", None, "9805"),
    ("P005", "U002", "202401", "202502", "15000"),
    ("P007", "U002", "202401", None, "10000"),
    ("P003", "U003", "202401", None, "7000"),
    ("P004", "U003", "202401", None, "5000"),
    ("P006", "U004", "202401", None, "6050"),
]

# region: insurance -> (unit rate, personal rate); 410's unit rate comes from the risk class
RATES = {
    "SZ": {"110": ("0.16", "0.08"), "210": ("0.005", "0.005"), "310": ("0.06", "0.02"), "410": (None, "0")},
    "HB": {"110": ("0.16", "0.08"), "210": ("0.007", "0.003"), "310": ("0.08", "0.02"), "410": (None, "0")},
}
WORK_INJURY = {1: "0.002", 2: "0.004", 3: "0.007"}

NOT_ARRIVED = {("P002", "202409", "310")}  # one line of a month missing
UNPAID_UNIT_PERIODS = {("U003", "202502"), ("U003", "202503")}
LATE_ARRIVAL = {("U002", "202412"): "2025-01-10"}
WRONG_PERSONAL = {("P007", "202501", "110"): "800.05"}
BACK_CHARGE = ("P008", "202401", "2024-06-12", "B-U001-202401")  # a month charged later (补收)
# person, former unit, insurance, start, end, months, base, migrated personal account, region (legacy=True)
LEGACY_SPELLS = [("P004", "湖北省某机械厂", "110", "199501", "202312", "348", "3000.00", "52345.60", "湖北省本级")]


def id_number(person_id: str) -> str:
    _, _, _, birth, _, county, seq = next(p for p in PEOPLE if p[0] == person_id)
    first17 = county + birth.replace("-", "") + seq
    return first17 + id_check_char(first17)


def uscc(unit_id: str) -> str:
    first17 = next(u[2] for u in UNITS if u[0] == unit_id)
    return first17 + uscc_check_char(first17)


def money(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def amounts(unit_id: str, insurance: str, base: str) -> tuple[Decimal, Decimal]:
    """(unit, personal) amount of one line: round_half_up(base x rate, 2)."""
    _, _, _, _, region, risk = next(u for u in UNITS if u[0] == unit_id)
    unit_rate, personal_rate = RATES[REGION_CODES[region][:2]][insurance]
    unit_rate = unit_rate or WORK_INJURY[risk]
    return money(Decimal(base) * Decimal(unit_rate)), money(Decimal(base) * Decimal(personal_rate))


def _unit(unit_id: str) -> tuple:
    return next(u for u in UNITS if u[0] == unit_id)


def _person(person_id: str) -> tuple:
    return next(p for p in PEOPLE if p[0] == person_id)


def _in_spell(period: str, first: str, last: str | None) -> bool:
    return first <= period and (last is None or period <= last)


def _ledger_row(person_id: str, unit_id: str, period: str, insurance: str, base: str, **over: str) -> dict[str, str]:
    unit_amount, personal_amount = amounts(unit_id, insurance, base)
    row = {
        "unit_id": unit_id,
        "unit_name": _unit(unit_id)[1],
        "person_id": person_id,
        "name": _person(person_id)[1],
        "id_type": "居民身份证",
        "id_number": id_number(person_id),
        "fee_period": period,
        "insurance_type": insurance,
        "contribution_type": "正常应缴",
        "personal_base": base,
        "unit_base": base,
        "personal_amount": str(personal_amount),
        "unit_amount": str(unit_amount),
        "account_credit": str(personal_amount) if insurance == "110" else "0.00",
        "interest": "0.00",
        "late_fee": "0.00",
        "paid_status": "已到账",
        "paid_amount": "",
        "paid_date": f"{period[:4]}-{period[4:]}-15",
        "notice_no": f"N-{unit_id}-{period}",
        "region": _unit(unit_id)[4],
    }
    row.update(over)
    return row


def ledger_rows(period: str) -> list[dict[str, str]]:
    """Every line of one fee period, in the order the month's file lists them."""
    rows = []
    for person_id, unit_id, first, last, base in SPELLS:
        if not _in_spell(period, first, last):
            continue
        for insurance in INSURANCES:
            over: dict[str, str] = {}
            if (person_id, period, insurance) in NOT_ARRIVED or (unit_id, period) in UNPAID_UNIT_PERIODS:
                over = {"paid_status": "未到账", "paid_date": ""}
            elif (unit_id, period) in LATE_ARRIVAL:
                over = {"paid_date": LATE_ARRIVAL[(unit_id, period)]}
            if (person_id, period, insurance) in WRONG_PERSONAL:
                over["personal_amount"] = WRONG_PERSONAL[(person_id, period, insurance)]
                over["account_credit"] = WRONG_PERSONAL[(person_id, period, insurance)]
            if (person_id, period) == BACK_CHARGE[:2]:
                over.update(contribution_type="补收", paid_date=BACK_CHARGE[2], notice_no=BACK_CHARGE[3])
            rows.append(_ledger_row(person_id, unit_id, period, insurance, base, **over))
    return rows


def quarantined_rows() -> list[dict[str, str]]:
    """Rows the loader must refuse, each with its reason (file ledgers/202503.csv, rows after the good ones)."""
    bad_id = id_number("P005")
    bad_id = bad_id[:17] + ("0" if bad_id[17] != "0" else "1")
    return [
        _ledger_row("P005", "U002", "202503", "310", "15000", id_number=bad_id, contribution_type="补收"),
        _ledger_row("P007", "U002", "2025-13", "110", "10000", paid_date="2025-03-15"),
    ]


def _write(path: Path, source: Source, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([c.label for c in source.columns])
        for row in rows:
            writer.writerow([row.get(c.name, "") for c in source.columns])


def write_landing(landing: Path, legacy: bool = False) -> Path:
    """The landing folder of the module docstring, in the landing contract's Chinese headers."""
    employers = [
        {
            "unit_id": u[0],
            "unit_name": u[1],
            "uscc": uscc(u[0]),
            "unit_type": u[3],
            "region": u[4],
            "risk_class": str(u[5]),
            "legal_representative": "示例",
            "address": "示例路1号",
            "founded_date": "2010-01-01",
            "status": "正常",
        }
        for u in UNITS
    ]
    _write(landing / "employers" / "employers.csv", EMPLOYERS, employers)
    persons = [
        {
            "person_id": p[0],
            "name": p[1],
            "id_type": "居民身份证",
            "id_number": id_number(p[0]),
            "sex": p[2],
            "birth_date": p[3],
            "hukou_type": "城镇户口",
            "work_start_date": "2010-07-01",
            "post_category": p[4],
            "mobile": "13800000000",
        }
        for p in PEOPLE
    ]
    _write(landing / "persons" / "persons.csv", PERSONS, persons)
    enrolments = [
        {
            "person_id": person_id,
            "unit_id": unit_id,
            "insurance_type": insurance,
            "start_period": first,
            "end_period": last or "",
            "status": "终止参保" if last else "正常参保",
            "change_reason": "调出" if last else "新参保",
        }
        for person_id, unit_id, first, last, _ in SPELLS
        for insurance in INSURANCES
    ]
    _write(landing / "enrolments" / "enrolments.csv", ENROLMENTS, enrolments)
    for period in PERIODS:
        rows = ledger_rows(period) + (quarantined_rows() if period == PERIODS[-1] else [])
        _write(landing / "ledgers" / f"{period}.csv", LEDGERS, rows)
    if legacy:
        history = [
            dict(
                zip(
                    ("person_id", "unit_name", "insurance_type", "start_period", "end_period", "month_count",
                     "base", "account_balance", "region"),
                    spell,
                    strict=True,
                ),
                name=_person(spell[0])[1],
            )
            for spell in LEGACY_SPELLS
        ]  # fmt: skip
        _write(landing / "legacy_history" / "history.csv", LEGACY_HISTORY, history)
    return landing


def build_test_warehouse(directory: Path, as_of: dt.date | str = AS_OF, legacy: bool = False) -> Path:
    """Write the landing folder into `directory` and run the real pipeline on it; returns the warehouse path.

    The serving copy (serving/, the version serving/CURRENT names) sits beside the warehouse, as in production.
    """
    directory = Path(directory)
    landing = write_landing(directory / "landing", legacy=legacy)
    return _run(directory, landing, str(as_of))


LARGE_UNIT_PERIODS = ("202501", "202502", "202503")
RAISE_PERIOD, RAISE_AMOUNT = "202504", 500  # write_large_unit_landing(raise_every=k)


def write_large_unit_landing(landing: Path, roster_size: int, raise_every: int = 0) -> Path:
    """One unit (U001 of UNITS) with `roster_size` people, each paid the three months of 2025 Q1.

    Person i (1-based) is P{i:05d}, born 1970-01-01 + i days, base 5000 + 10 x (i mod 100); every
    line arrives on the 15th. A unit proof over LARGE_UNIT_PERIODS then has 3 x roster_size
    person-months and one unchanged run per person. With raise_every = k > 0 everyone is also
    paid RAISE_PERIOD, in which every k-th person's base rises by RAISE_AMOUNT: over Q1 nothing
    changes, over 202501-202504 those people's runs split.
    """
    unit = UNITS[0]
    _write(
        landing / "employers" / "employers.csv",
        EMPLOYERS,
        [
            {
                "unit_id": unit[0],
                "unit_name": unit[1],
                "uscc": uscc(unit[0]),
                "unit_type": unit[3],
                "region": unit[4],
                "risk_class": str(unit[5]),
                "status": "正常",
            }
        ],
    )
    periods = LARGE_UNIT_PERIODS + ((RAISE_PERIOD,) if raise_every else ())
    persons, enrolments, lines = [], [], {period: [] for period in periods}
    for i in range(1, roster_size + 1):
        person_id, birth = f"P{i:05d}", dt.date(1970, 1, 1) + dt.timedelta(days=i)
        first17 = "320506" + birth.strftime("%Y%m%d") + f"{i % 1000:03d}"
        number = first17 + id_check_char(first17)
        persons.append(
            {
                "person_id": person_id,
                "name": "张" + "伟芳娜敏静丽强磊军洋"[i % 10] + "一二三四五六七八九十"[i // 10 % 10],
                "id_number": number,
                "sex": "男" if i % 2 else "女",
                "birth_date": birth.isoformat(),
                "post_category": "生产岗",
            }
        )
        raised = bool(raise_every) and i % raise_every == 0
        bases = {p: 5000 + 10 * (i % 100) + (RAISE_AMOUNT if raised and p == RAISE_PERIOD else 0) for p in periods}
        for insurance in INSURANCES:
            enrolments.append(
                {
                    "person_id": person_id,
                    "unit_id": unit[0],
                    "insurance_type": insurance,
                    "start_period": LARGE_UNIT_PERIODS[0],
                    "status": "正常参保",
                }
            )
            for period in periods:
                base = str(bases[period])
                unit_amount, personal_amount = amounts(unit[0], insurance, base)
                lines[period].append(
                    {
                        "unit_id": unit[0],
                        "person_id": person_id,
                        "id_number": number,
                        "fee_period": period,
                        "insurance_type": insurance,
                        "contribution_type": "正常应缴",
                        "personal_base": base,
                        "unit_base": base,
                        "personal_amount": str(personal_amount),
                        "unit_amount": str(unit_amount),
                        "paid_status": "已到账",
                        "paid_date": f"{period[:4]}-{period[4:]}-15",
                        "region": unit[4],
                    }
                )
    _write(landing / "persons" / "persons.csv", PERSONS, persons)
    _write(landing / "enrolments" / "enrolments.csv", ENROLMENTS, enrolments)
    for period, rows in lines.items():
        _write(landing / "ledgers" / f"{period}.csv", LEDGERS, rows)
    return landing


def build_large_unit_warehouse(
    directory: Path, roster_size: int, as_of: str = "2025-04-15", raise_every: int = 0
) -> Path:
    """The real build of write_large_unit_landing: a proof of one big unit, for layout and speed tests."""
    directory = Path(directory)
    return _run(directory, write_large_unit_landing(directory / "landing", roster_size, raise_every), as_of)


def build_generated_warehouse(
    directory: Path,
    persons: int,
    months: tuple[str, str] = ("202401", "202412"),
    as_of: str = "2025-01-20",
    seed: int = 7,
) -> Path:
    """A larger warehouse from the synthetic generator, for layout and speed tests (a big unit's roster)."""
    from shebao.generate import generate_landing

    directory = Path(directory)
    landing = directory / "landing"
    generate_landing(landing, persons=persons, months=months, seed=seed, inject_errors=False)
    return _run(directory, landing, as_of)


def _run(directory: Path, landing: Path, as_of: str) -> Path:
    from pipelines.run import run_pipeline

    warehouse = directory / "warehouse.duckdb"
    # The run writes SHEBAO_WAREHOUSE and SHEBAO_AS_OF for dbt; none of it may leak into later tests.
    saved = {k: os.environ.get(k) for k in ("SHEBAO_HOME", "DAGSTER_HOME", "SHEBAO_WAREHOUSE", "SHEBAO_AS_OF")}
    os.environ["SHEBAO_HOME"] = str(directory)
    os.environ["DAGSTER_HOME"] = str(directory / "dagster")
    try:
        summary = run_pipeline(landing, warehouse, as_of)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if not summary.success:
        raise RuntimeError("test warehouse build failed:\n" + "\n".join(summary.lines()))
    return warehouse
