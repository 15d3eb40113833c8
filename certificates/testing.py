"""A small serving DuckDB with the marts' fixed names and columns, for tests and demos.

It stands in for what dbt builds: the figures are literal test data (bases x published
rates rounded half-up), including a person who moved from unit U001 to unit U002 in
mid-2023 so tenant isolation can be tested.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "reference"

UNITS = [
    ("U001", "示例精密机械有限公司", "91320594MA1TEST01X", "企业", "SZ_SIP", "苏州工业园区", 2, Decimal("0.004")),
    ("U002", "示例软件科技有限公司", "91320594MA1TEST02X", "企业", "SZ_SIP", "苏州工业园区", 1, Decimal("0.002")),
    ("U003", "示例市第一中学", "12320500TEST00003X", "机关事业单位", "SZ_SIP", "苏州工业园区", 1, Decimal("0.002")),
]
RATES = {  # insurance: (unit rate, personal rate) SZ_SIP 2023
    "110": (Decimal("0.16"), Decimal("0.08")),
    "210": (Decimal("0.005"), Decimal("0.005")),
    "310": (Decimal("0.06"), Decimal("0.02")),
    "410": (None, Decimal("0")),
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
]

MOVER = "P001"  # 张伟: U001 202301-202306, then U002 202307-202312
NOTICE_CAPITAL = "壹拾万伍仟贰佰玖拾叁圆玖角捌分"


def _round(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _months(start: str, end: str) -> list[str]:
    y, m = int(start[:4]), int(start[4:])
    out = []
    while f"{y}{m:02d}" <= end:
        out.append(f"{y}{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build_serving(directory: Path, roster_size: int = 24) -> Path:
    """Create <directory>/serving.duckdb; returns the warehouse path the CLI takes."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "serving.duckdb"
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema reference")
    con.execute(f"""create table reference.insurance_types as select * from read_csv(
        '{REFERENCE_DIR / "insurance_types.csv"}', header=true, all_varchar=true)""")
    con.execute("alter table reference.insurance_types alter sort_order type integer")
    con.execute("""create table marts.dim_units (unit_id varchar, unit_name varchar, uscc varchar, unit_type varchar,
        region_code varchar, region_name varchar, risk_class integer, work_injury_rate decimal(9,6))""")
    con.executemany("insert into marts.dim_units values (?,?,?,?,?,?,?,?)", UNITS)

    rnd = random.Random(7)
    persons = [
        ("P001", "张伟", "3205**********0011", "男", date(1985, 3, 2)),
        ("P002", "李娜", "3205**********0022", "女", date(1990, 7, 15)),
        ("P003", "王芳", "3205**********0033", "女", date(1992, 1, 20)),
    ]
    for i in range(4, roster_size + 1):
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        persons.append(
            (
                f"P{i:03d}",
                name,
                f"3205**********{1000 + i:04d}",
                "男" if i % 2 else "女",
                date(1970 + i % 30, 1 + i % 12, 1 + i % 27),
            )
        )
    con.execute("""create table marts.dim_persons (person_id varchar, name varchar, id_number_masked varchar,
        sex varchar, birth_date date)""")
    con.executemany("insert into marts.dim_persons values (?,?,?,?,?)", persons)

    con.execute("""create table marts.fct_contributions (ledger_line_id varchar, unit_id varchar, person_id varchar,
        region_code varchar, insurance_type varchar, contribution_type varchar, notice_no varchar,
        fee_period varchar, fee_month date, fee_year integer, personal_base decimal(18,2), unit_base decimal(18,2),
        personal_amount decimal(18,2), unit_amount decimal(18,2), total_amount decimal(18,2),
        account_credit decimal(18,2), interest decimal(18,2), late_fee decimal(18,2), paid_status varchar,
        paid_amount decimal(18,2), paid_date date, is_paid boolean, unit_rate decimal(9,6), personal_rate decimal(9,6),
        unit_fixed_amount decimal(18,2), personal_fixed_amount decimal(18,2))""")
    lines = []

    def add(unit_id, person_id, period, base, ctype="正常应缴", paid=True, paid_month=None):
        wi = next(u[7] for u in UNITS if u[0] == unit_id)
        for ins, (ur, pr) in RATES.items():
            ur = wi if ins == "410" else ur
            pa, ua = _round(base * pr), _round(base * ur)
            credit = pa if ins == "110" else Decimal("0.00")
            pm = paid_month or period
            paid_date = date(int(pm[:4]), int(pm[4:]), 15) if paid else None
            lines.append(
                (
                    f"L{len(lines) + 1:06d}",
                    unit_id,
                    person_id,
                    "SZ_SIP",
                    ins,
                    ctype,
                    f"N{unit_id}{period}",
                    period,
                    date(int(period[:4]), int(period[4:]), 1),
                    int(period[:4]),
                    base,
                    base,
                    pa,
                    ua,
                    pa + ua,
                    credit,
                    Decimal("0.00"),
                    Decimal("0.00"),
                    "已到账" if paid else "未到账",
                    pa + ua if paid else None,
                    paid_date,
                    paid,
                    ur,
                    pr,
                    None,
                    None,
                )
            )

    for period in _months("202301", "202306"):
        add("U001", "P001", period, Decimal("8890.00"))
    for period in _months("202307", "202312"):
        add("U002", "P001", period, Decimal("12000.00"))
    for period in _months("202301", "202306"):
        add("U001", "P002", period, Decimal("6500.00"), paid=period != "202306")
    add("U001", "P002", "202305", Decimal("500.00"), ctype="补收", paid_month="202306")
    for period in _months("202301", "202312"):
        add("U002", "P003", period, Decimal("15000.00"))
    for idx in range(4, roster_size + 1):
        base = Decimal(4500 + rnd.randrange(0, 120) * 100)
        for period in _months("202301", "202306"):
            add("U001", f"P{idx:03d}", period, base)
    con.executemany("insert into marts.fct_contributions values (" + ",".join("?" * 26) + ")", lines)

    con.execute("""create table marts.rpt_rights_statement (person_id varchar, statement_period varchar,
        period_start date, period_end date, insurance_type varchar, region_codes varchar, months_paid integer,
        avg_base decimal(18,2), personal_amount decimal(18,2), unit_amount decimal(18,2),
        account_credit decimal(18,2), back_paid_months integer, months_in_arrears integer,
        cumulative_months integer, unit_count integer, unit_ids varchar, unit_names varchar,
        first_fee_month date, last_fee_month date)""")
    rights = []
    for ins, (ur, pr) in RATES.items():
        # 2023-07 .. 2024-06 statement 202406 for the mover: U002 only 202307-202312 (6 months)
        base = Decimal("12000.00")
        ur = Decimal("0.002") if ins == "410" else ur
        rights.append(
            (
                "P001",
                "202406",
                date(2023, 7, 1),
                date(2024, 6, 30),
                ins,
                "SZ_SIP",
                6,
                base,
                _round(base * pr) * 6,
                _round(base * ur) * 6,
                _round(base * pr) * 6 if ins == "110" else Decimal(0),
                0,
                0,
                12,
                1,
                "U002",
                UNITS[1][1],
                date(2023, 7, 1),
                date(2023, 12, 1),
            )
        )
        base = Decimal("8890.00")
        ur1 = Decimal("0.004") if ins == "410" else RATES[ins][0]
        rights.append(
            (
                "P001",
                "202306",
                date(2022, 7, 1),
                date(2023, 6, 30),
                ins,
                "SZ_SIP",
                6,
                base,
                _round(base * pr) * 6,
                _round(base * ur1) * 6,
                _round(base * pr) * 6 if ins == "110" else Decimal(0),
                0,
                0,
                6,
                1,
                "U001",
                UNITS[0][1],
                date(2023, 1, 1),
                date(2023, 6, 1),
            )
        )
    con.executemany("insert into marts.rpt_rights_statement values (" + ",".join("?" * 19) + ")", rights)

    con.execute("""create table marts.rpt_pension_account (person_id varchar, year integer,
        opening_balance decimal(18,2), credits decimal(18,2), interest decimal(18,2), closing_balance decimal(18,2))""")
    con.execute("""insert into marts.rpt_pension_account values
        ('P001', 2023, 0.00, 9998.40, 0.00, 9998.40),
        ('P001', 2024, 9998.40, 0.00, 261.96, 10260.36)""")
    con.execute("""create table marts.rpt_pension_estimate (person_id varchar, retirement_month date,
        statutory_age_label varchar, projected_contribution_years decimal(18,2), average_contribution_index decimal(18,4),
        benefit_base decimal(18,2), basic_pension decimal(18,2), projected_account_balance decimal(18,2),
        annuity_divisor_months decimal(18,1), account_pension decimal(18,2), estimated_monthly_pension decimal(18,2),
        is_estimate boolean)""")
    con.execute("""insert into marts.rpt_pension_estimate values
        ('P001', date '2048-06-01', '63岁', 36.00, 1.2000, 11000.00, 4356.00, 412345.67, 132.0, 3123.83, 7479.83, true)""")

    # seed 004's two notices of September 2022, moved to 2023-09 for unit U001 / U002
    con.execute("""create table marts.rpt_payment_notice_lines (unit_id varchar, notice_key varchar, notice_no varchar,
        fee_period varchar, insurance_type varchar, insurance_name varchar, contribution_type varchar,
        personal_amount decimal(18,2), unit_amount decimal(18,2), interest decimal(18,2), late_fee decimal(18,2),
        other_amount decimal(18,2), total_amount decimal(18,2))""")
    con.execute("""insert into marts.rpt_payment_notice_lines values
        ('U001', 'K1', '320522C066', '202309', '310', '职工基本医疗保险', '正常应缴', 11204.90, 33614.70, 0, 0, 0, 44819.60),
        ('U001', 'K1', '320522C066', '202309', '350', '公务员医疗补助', '正常应缴', 0.00, 50200.00, 0, 0, 0, 50200.00),
        ('U001', 'K1', '320522C066', '202309', '330', '大额医疗费用补助', '正常应缴', 190.00, 0.00, 0, 0, 0, 190.00),
        ('U001', 'K1', '320522C066', '202309', '320', '地方补充医疗保险', '正常应缴', 0.00, 5602.45, 0, 0, 0, 5602.45),
        ('U001', 'K1', '320522C066', '202309', '510', '生育保险', '正常应缴', 0.00, 4481.93, 0, 0, 0, 4481.93),
        ('U002', 'K2', '320522090038', '202308', '310', '职工基本医疗保险', '补收', 300.00, 900.00, 0, 0, 0, 1200.00),
        ('U002', 'K2', '320522090038', '202309', '310', '职工基本医疗保险', '一次性补收', 84003.15, 0.00, 0, 0, 0, 84003.15)""")
    con.execute("""create table marts.rpt_payment_notices (unit_id varchar, unit_name varchar, notice_key varchar,
        notice_no varchar, fee_period varchar, fee_periods varchar, contribution_types varchar,
        notice_line_count integer, personal_amount decimal(18,2), unit_amount decimal(18,2), interest decimal(18,2),
        late_fee decimal(18,2), other_amount decimal(18,2), total_amount decimal(18,2), total_amount_capital varchar)""")
    con.execute(f"""insert into marts.rpt_payment_notices values
        ('U001', '{UNITS[0][1]}', 'K1', '320522C066', '202309', '202309', '正常应缴', 5,
         11394.90, 93899.08, 0, 0, 0, 105293.98, '{NOTICE_CAPITAL}'),
        ('U002', '{UNITS[1][1]}', 'K2', '320522090038', '202309', '202308,202309', '一次性补收,补收', 2,
         84303.15, 900.00, 0, 0, 0, 85203.15, '捌万伍仟贰佰零叁圆壹角伍分')""")
    con.close()
    return directory / "warehouse.duckdb"
