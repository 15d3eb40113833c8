"""A small serving copy with hand-checkable figures, for the dashboard's tests.

It has the shape the pipeline publishes (schemas marts, reference, raw, meta; the mart
columns fixed by issue 3) and a few rows whose sums a person can check by hand. Mart
values (amounts, statutory ages, late fees) are written as literals, as the marts would
hold them; nothing here re-derives a rule. Reference tables are the real dbt seeds.

Figures the tests assert (as of 2025-04-15; current fee period 202503, previous 202502):
- 202503: 5 paying persons, 3 units, due 11,040.00, arrived 6,240.00 (56.52 %; U002 unpaid);
  202502: 6 persons, 3 units, due 13,528.64, arrived 13,528.64 (100.00 %).
- Arrears outstanding 5,880.00 (202503: 4,800.00 of U002; 202410: 1,080.00 of U003),
  late fees 143.64 (27.00 + 9.00 + 89.64, and 18.00 for U001's late-paid 202412).
- Retirement in 2025-04 .. 2028-03: 4 people under the current law, 3 under pre-2025 ages;
  2 of them short of the minimum years (P001 short 10, P002 short 80).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb

SEEDS = Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "reference"
AS_OF = dt.date(2025, 4, 15)

UNITS = [
    # unit_id, unit_name, uscc, unit_type, region_code
    ("U001", "苏州甲科技有限公司", "91320594MA1XXXXXX1", "企业", "SZ_SIP"),
    ("U002", "湖北乙制造有限公司", "91420100MA4XXXXXX2", "企业", "HB_PROV"),
    ("U003", "苏州丙咨询服务中心", "52320500MJXXXXXXX3", "民办非企业单位", "SZ_CITY"),
]

PERSONS = [
    # person_id, name, id_number_masked, sex, birth_month, retirement_group, post_category
    ("P001", "张三", "3205**********0011", "男", "1965-03-01", "male", "生产岗"),
    ("P002", "李四", "3205**********0022", "女", "1975-06-01", "female_worker", "生产岗"),
    ("P003", "王五", "3205**********0033", "男", "1990-01-01", "male", "专业技术岗"),
    ("P004", "赵六", "4201**********0044", "女", "1970-08-01", "female_cadre", "管理岗"),
    ("P005", "钱七", "4201**********0055", "男", "1966-01-01", "male", "生产岗"),
    ("P006", "孙八", "3205**********0066", "女", "1980-02-01", "female_worker", "工勤岗"),
]

# dim_retirement_age_rules rows for the fixture's birth months (hand-derived from DOMAIN.md §3):
# birth_month, group, statutory_age_months, label, retirement_month, original_retirement_month
RULES = [
    ("1965-03-01", "male", 721, "60岁1个月", "2025-04-01", "2025-03-01"),
    ("1975-06-01", "female_worker", 603, "50岁3个月", "2025-09-01", "2025-06-01"),
    ("1990-01-01", "male", 756, "63岁", "2053-01-01", "2050-01-01"),
    ("1970-08-01", "female_cadre", 662, "55岁2个月", "2025-10-01", "2025-08-01"),
    ("1966-01-01", "male", 724, "60岁4个月", "2026-05-01", "2026-01-01"),
    ("1980-02-01", "female_worker", 631, "52岁7个月", "2032-09-01", "2030-02-01"),
]

# rpt_retirement_due: person_id, unit_id, contribution_months, required_months, shortfall
DUE = [
    ("P001", "U001", 170, 180, 10),
    ("P002", "U001", 100, 180, 80),
    ("P004", "U002", 190, 180, 0),
    ("P005", "U002", 200, 180, 0),
    ("P006", "U003", 120, 198, 78),
]

# Monthly lines per person: (unit, region, [(insurance, personal, unit)])
LINES = {
    "P001": ("U001", "SZ_SIP", [("110", "800.00", "1600.00"), ("310", "200.00", "600.00")]),
    "P002": ("U001", "SZ_SIP", [("110", "400.00", "800.00"), ("310", "100.00", "300.00")]),
    "P003": ("U001", "SZ_SIP", [("110", "622.16", "1244.32"), ("310", "155.54", "466.62")]),
    "P004": ("U002", "HB_PROV", [("110", "480.00", "960.00"), ("310", "120.00", "360.00")]),
    "P005": ("U002", "HB_PROV", [("110", "720.00", "1440.00"), ("310", "180.00", "540.00")]),
    "P006": ("U003", "SZ_CITY", [("110", "360.00", "720.00"), ("310", "90.00", "270.00")]),
}

# Bases and rates behind LINES (shown on issued proofs; the amounts above are the marts' figures)
BASES = {
    "P001": "10000.00",
    "P002": "5000.00",
    "P003": "7777.00",
    "P004": "6000.00",
    "P005": "9000.00",
    "P006": "4500.00",
}
RATES = {"110": ("0.080000", "0.160000"), "310": ("0.020000", "0.060000")}

# fct_arrears: unit, period, insurance, due, paid, outstanding, due_date, days_overdue, late_fee
ARREARS = [
    ("U002", "202503", "110", "3600.00", "0.00", "3600.00", "2025-03-31", 15, "27.00"),
    ("U002", "202503", "310", "1200.00", "0.00", "1200.00", "2025-03-31", 15, "9.00"),
    ("U003", "202410", "110", "1080.00", "0.00", "1080.00", "2024-10-31", 166, "89.64"),
    ("U001", "202412", "110", "3600.00", "3600.00", "0.00", "2024-12-31", 10, "18.00"),
]

QUARANTINE = [
    ("ledgers", "ledgers/2025-03.csv", 5, "id_number", "320594199001010030", "证件号码校验位错误"),
    ("ledgers", "ledgers/2025-03.csv", 9, "fee_period", "2025-13", "费款所属期格式错误"),
    ("ledgers", "ledgers/2025-02.csv", 4, "id_number", "32059419900101003X", "证件号码校验位错误"),
    ("persons", "persons/persons.csv", 3, "birth_date", "1980-02-30", "出生日期与证件号码不符"),
]


def _contribution_rows() -> list[tuple]:
    rows = []
    for period in ("202410", "202501", "202502", "202503"):
        for person, (unit, region, items) in LINES.items():
            if period == "202410" and person != "P006":
                continue
            if period == "202503" and person == "P003":  # left U001 after February
                continue
            for ins, personal, unit_amt in items:
                total = Decimal(personal) + Decimal(unit_amt)
                unpaid = (period == "202503" and unit == "U002") or (period == "202410" and ins == "110")
                if period == "202410" and ins != "110":
                    continue
                status = "未到账" if unpaid else "已到账"
                paid = Decimal("0.00") if unpaid else total
                paid_date = None if unpaid else f"{period[:4]}-{period[4:]}-20"
                p_rate, u_rate = RATES[ins]
                base = BASES[person]
                rows.append(
                    (
                        unit,
                        person,
                        region,
                        period,
                        f"{period[:4]}-{period[4:]}-01",
                        ins,
                        "正常应缴",
                        personal,
                        unit_amt,
                        str(total),
                        status,
                        str(paid),
                        paid_date,
                        not unpaid,
                        base,
                        base,
                        p_rate,
                        u_rate,
                        None,
                        None,
                        personal if ins == "110" else "0.00",
                        f"{unit}-{person}-{period}-{ins}",
                    )
                )
    return rows


def build_serving(path: Path | str, as_of: dt.date = AS_OF) -> Path:
    """Write the fixture serving copy to `path` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "reference", "raw", "meta"):
            con.execute(f"create schema {schema}")
        for seed in ("insurance_types", "regions", "retirement_reform_groups", "minimum_contribution_months"):
            con.execute(
                f"create table reference.{seed} as select * from read_csv_auto(?, header=true)",
                [str(SEEDS / f"{seed}.csv")],
            )
        con.execute("create table meta.build_info (published_at timestamp, as_of date)")
        con.execute("insert into meta.build_info values (?, ?)", [dt.datetime(2025, 4, 16, 2, 0), as_of])
        # The latest GX results, shaped as pipelines/assets/serving.py publishes them.
        con.execute("""create table meta.expectation_results (check_name varchar, suite varchar, blocking boolean,
                       success boolean, row_count bigint, evaluated_expectations integer,
                       successful_expectations integer, failures varchar, checked_at timestamp)""")
        con.execute("""insert into meta.expectation_results values
                       ('gx_ledgers', 'ledgers', true, true, 40, 17, 17, '[]', '2025-04-16 02:00:00'),
                       ('gx_contribution_amounts', 'contribution_lines_soft', false, false, 40, 4, 3,
                        '[{"expectation": "expect_column_values_to_be_between", "column": "personal_amount_diff", "unexpected_count": 1}]',
                        '2025-04-16 02:00:00')""")

        con.execute("""create table marts.dim_units (unit_id varchar, unit_name varchar, uscc varchar,
                       unit_type varchar, region_code varchar, region_name varchar, risk_class integer,
                       work_injury_rate decimal(9,6))""")
        con.executemany(
            """insert into marts.dim_units
                           select ?, ?, ?, ?, ?, region_name, 1, 0.002 from reference.regions where region_code = ?""",
            [(*u, u[4]) for u in UNITS],
        )
        con.execute("""create table marts.dim_persons (person_id varchar, name varchar, id_number_masked varchar,
                       sex varchar, birth_month date, retirement_group varchar, post_category varchar,
                       birth_date date)""")
        con.executemany(
            "insert into marts.dim_persons values (?, ?, ?, ?, ?, ?, ?, ?)", [(*p, p[4][:8] + "15") for p in PERSONS]
        )

        con.execute("""create table marts.fct_contributions (unit_id varchar, person_id varchar, region_code varchar,
                       fee_period varchar, fee_month date, insurance_type varchar, contribution_type varchar,
                       personal_amount decimal(18,2), unit_amount decimal(18,2), total_amount decimal(18,2),
                       paid_status varchar, paid_amount decimal(18,2), paid_date date, is_paid boolean,
                       personal_base decimal(18,2), unit_base decimal(18,2), personal_rate decimal(9,6),
                       unit_rate decimal(9,6), personal_fixed_amount decimal(18,2), unit_fixed_amount decimal(18,2),
                       account_credit decimal(18,2), ledger_line_id varchar)""")
        con.executemany(
            "insert into marts.fct_contributions values (" + ", ".join("?" * 22) + ")", _contribution_rows()
        )

        con.execute("""create table marts.fct_enrolments (person_id varchar, unit_id varchar, insurance_type varchar,
                       start_month date, end_month date, status varchar, is_current boolean)""")
        enrol = []
        for person, (unit, _, items) in LINES.items():
            for ins, _, _ in items:
                current = person != "P003"
                enrol.append(
                    (
                        person,
                        unit,
                        ins,
                        "2020-01-01",
                        None if current else "2025-02-01",
                        "正常参保" if current else "终止参保",
                        current,
                    )
                )
        # P006 moved from U001 to U003: the old spell is closed
        enrol.append(("P006", "U001", "110", "2019-01-01", "2023-12-01", "终止参保", False))
        con.executemany("insert into marts.fct_enrolments values (?, ?, ?, ?, ?, ?, ?)", enrol)

        con.execute("""create table marts.fct_arrears (unit_id varchar, fee_period varchar, insurance_type varchar,
                       amount_due decimal(18,2), amount_paid decimal(18,2), outstanding decimal(18,2),
                       due_date date, days_overdue integer, late_fee decimal(18,2), as_of_date date)""")
        con.executemany(
            "insert into marts.fct_arrears values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [(*a, as_of) for a in ARREARS]
        )

        con.execute("""create table marts.dim_retirement_age_rules (birth_month date, retirement_group varchar,
                       statutory_age_months integer, statutory_age_label varchar, retirement_month date,
                       original_retirement_month date)""")
        con.executemany("insert into marts.dim_retirement_age_rules values (?, ?, ?, ?, ?, ?)", RULES)

        con.execute(
            """create table marts.rpt_retirement_due as
                       select p.person_id, p.name, p.id_number_masked, p.sex, d.unit_id, u.unit_name,
                              p.retirement_group, p.birth_month, r.statutory_age_months, r.statutory_age_label,
                              r.retirement_month, d.contribution_months, d.required_months,
                              d.shortfall_months
                       from (select * from (values """
            + ", ".join(f"('{a}', '{b}', {c}, {d}, {e})" for a, b, c, d, e in DUE)
            + """)
                             t(person_id, unit_id, contribution_months, required_months, shortfall_months)) d
                       join marts.dim_persons p using (person_id)
                       join marts.dim_units u using (unit_id)
                       join marts.dim_retirement_age_rules r
                         on r.birth_month = p.birth_month and r.retirement_group = p.retirement_group"""
        )

        con.execute("""create table marts.rpt_data_quality_findings (ledger_line_id varchar, finding_type varchar,
                       message varchar, source_file varchar, source_row integer, unit_id varchar, person_id varchar,
                       fee_period varchar, insurance_type varchar, personal_base decimal(18,2),
                       personal_amount decimal(18,2), expected_personal_amount decimal(18,2))""")
        con.execute("""insert into marts.rpt_data_quality_findings values
                       ('L7', 'amount_mismatch', '个人缴费金额与基数×费率相差超过0.01元', 'ledgers/2025-01.csv', 7,
                        'U001', 'P003', '202501', '110', 7777.00, 622.20, 622.16)""")

        con.execute("""create table raw.quarantine (source varchar, source_file varchar, source_row integer,
                       field varchar, value varchar, reason varchar, load_id varchar, quarantined_at timestamp)""")
        con.executemany("insert into raw.quarantine values (?, ?, ?, ?, ?, ?, 'L1', '2025-04-16 01:00:00')", QUARANTINE)
        con.execute("""create table raw.load_files (source varchar, source_file varchar, file_hash varchar,
                       rows_read integer, rows_loaded integer, rows_quarantined integer, status varchar,
                       loaded_at timestamp)""")
        con.execute("""insert into raw.load_files values
                       ('ledgers', 'ledgers/2025-02.csv', 'aa11', 40, 39, 1, 'loaded', '2025-04-16 01:00:00'),
                       ('ledgers', 'ledgers/2025-03.csv', 'bb22', 36, 34, 2, 'loaded', '2025-04-16 01:00:00'),
                       ('persons', 'persons/persons.csv', 'cc33', 7, 6, 1, 'loaded', '2025-04-16 01:00:00')""")
        con.execute("checkpoint")
    finally:
        con.close()
    return path


# ---------------------------------------------------------------- AppTest helpers shared by the test files

APP = str(Path(__file__).resolve().parent / "app.py")
PASSWORDS = {"ana": "analyst-pass-1", "U001": "unit-one-pass", "U002": "unit-two-pass"}


def prepare_home(home: Path) -> Path:
    """Serving copy and accounts (one analyst, units U001 and U002) in `home`."""
    from dashboards import users

    build_serving(home / "serving.duckdb")
    db = users.users_db_path(home)
    users.add_user("ana", PASSWORDS["ana"], role="analyst", path=db)
    users.add_user("U001", PASSWORDS["U001"], path=db)
    users.add_user("U002", PASSWORDS["U002"], path=db)
    return home


def app_test():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=30)


def login(username: str, password: str | None = None):
    """An AppTest session logged in through the real login form."""
    at = app_test()
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password or PASSWORDS[username])
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(at, name: str):
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def metrics(at) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def frame(at, index: int = 0):
    return at.dataframe[index].value


def stamp_shown(at, as_of: dt.date = AS_OF) -> bool:
    return any(f"数据截至 {as_of.isoformat()}" in c.value for c in at.caption)
