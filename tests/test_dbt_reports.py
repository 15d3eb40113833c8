"""The report marts (models/marts outside core) built by `dbt build` on a small hand-made raw dataset.

Raw tables are laid out as the loader writes them (pipelines/ingest/schema.py) in a warehouse
in tmp_path; dbt runs in a subprocess with its target and log folders in tmp_path so the
source tree stays clean. Figures asserted are worked out by hand in the comments.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from foundation.landing.identifiers import id_check_char
from foundation.landing.schema import LINEAGE_COLUMNS, SOURCES
from pipelines.ingest.loader import ensure_raw_schema

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
AS_OF = "2024-07-10"
# Every mart outside core and its upstream (the report marts, by domain folder).
REPORTS = " ".join(f"+path:models/marts/{domain}" for domain in ("arrears", "retirement", "statements", "quality"))
INCREMENTAL_REPORTS = ["rpt_unit_contribution_summary", "rpt_payment_notice_lines", "rpt_data_quality_findings"]
D = Decimal


def person_id_number(first17: str) -> str:
    return first17 + id_check_char(first17)


P1_ID = person_id_number("32058619650515123")  # man born 1965-05
P2_ID = person_id_number("42010619760615234")  # woman on a production post born 1976-06


def create_raw(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for source in SOURCES.values():
        cols = [("region_code", "VARCHAR") if c.name == "region" else (c.name, c.dtype) for c in source.columns]
        cols += list(LINEAGE_COLUMNS)
        con.execute(f"create or replace table {source.table} ({', '.join(f'{n} {t}' for n, t in cols)})")
    ensure_raw_schema(con)  # the loader's own bookkeeping tables (raw.quarantine, raw.load_files)


def insert(con: duckdb.DuckDBPyConnection, source: str, file: str, rows: list[dict]) -> None:
    """Insert rows as one loaded file: lineage filled like the loader does (row 2 = first data row)."""
    cols = [("region_code" if c.name == "region" else c.name) for c in SOURCES[source].columns]
    lineage = [n for n, _ in LINEAGE_COLUMNS]
    for i, row in enumerate(rows):
        values = [row.get(c) for c in cols] + [
            file,
            i + 2,
            f"hash-{file}",
            "load-1",
            dt.datetime(2024, 7, 1, 8, 0),
            None,
        ]
        con.execute(
            f"insert into raw.{source} ({', '.join(cols + lineage)}) values ({', '.join('?' * len(values))})", values
        )


def ledger(
    unit,
    person,
    id_number,
    period,
    itype,
    base,
    personal,
    unit_amount,
    status,
    paid_date,
    region,
    notice=None,
    ctype="正常应缴",
):
    return dict(
        unit_id=unit,
        person_id=person,
        id_number=id_number,
        fee_period=period,
        insurance_type=itype,
        contribution_type=ctype,
        personal_base=D(base),
        unit_base=D(base),
        personal_amount=D(personal),
        unit_amount=D(unit_amount),
        paid_status=status,
        paid_date=paid_date,
        region_code=region,
        notice_no=notice,
    )


def month_end(period: str) -> dt.date:
    y, m = int(period[:4]), int(period[4:])
    return dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


def fill_legacy(con: duckdb.DuckDBPyConnection) -> None:
    """P1's migrated history: 200001 and 300 months (to 202412), of which the 288 up to the cut-off
    202312 count; a spell from 199001 in a superseded file version counts nothing."""
    insert(
        con,
        "legacy_history",
        "legacy_history/h.csv",
        [
            dict(person_id="P1", insurance_type="110", start_period="200001", month_count=300, base=D("3000.00"),
                 account_balance=D("28800.00"), region_code="SZ_SIP"),
            dict(person_id="P1", insurance_type="310", start_period="200001", end_period="202312", month_count=288,
                 base=D("3000.00"), region_code="SZ_SIP"),
        ],
    )  # fmt: skip
    insert(
        con,
        "legacy_history",
        "legacy_history/old.csv",
        [dict(person_id="P1", insurance_type="110", start_period="199001", month_count=12, base=D("900.00"),
              region_code="SZ_SIP")],
    )  # fmt: skip
    con.execute("update raw.legacy_history set superseded_at = loaded_at where source_file = 'legacy_history/old.csv'")


def fill(con: duckdb.DuckDBPyConnection) -> None:
    insert(
        con,
        "employers",
        "employers/units.csv",
        [
            dict(
                unit_id="U1",
                unit_name="甲公司",
                uscc="91320594MA1XXXXX01",
                unit_type="企业",
                region_code="SZ_SIP",
                risk_class=1,
                status="正常",
            ),
            dict(
                unit_id="U2",
                unit_name="乙公司",
                uscc="91320594MA1XXXXX02",
                unit_type="企业",
                region_code="SZ_SIP",
                risk_class=1,
                status="正常",
            ),
            dict(
                unit_id="U3",
                unit_name="丙公司",
                uscc="91420100MA1XXXXX03",
                unit_type="企业",
                region_code="HB_PROV",
                risk_class=2,
                status="正常",
            ),
        ],
    )
    insert(
        con,
        "persons",
        "persons/persons.csv",
        [
            dict(
                person_id="P1",
                name="张三",
                id_number=P1_ID,
                sex="男",
                birth_date=dt.date(1965, 5, 15),
                post_category="管理岗",
            ),
            dict(
                person_id="P2",
                name="李四",
                id_number=P2_ID,
                sex="女",
                birth_date=dt.date(1976, 6, 15),
                post_category="生产岗",
            ),
        ],
    )
    insert(
        con,
        "enrolments",
        "enrolments/enrolments.csv",
        [
            dict(
                person_id="P1",
                unit_id="U1",
                insurance_type="110",
                start_period="201907",
                end_period="201912",
                status="终止参保",
            ),
            dict(person_id="P1", unit_id="U2", insurance_type="110", start_period="202001", status="正常参保"),
            dict(person_id="P2", unit_id="U3", insurance_type="110", start_period="202401", status="正常参保"),
        ],
    )
    lines = []
    # P1 at U1 for 2019-07..2019-12 (base 5000: 400 + 800), at U2 for 2020-01..2020-06 (base 6000: 480 + 960).
    for m in range(7, 13):
        p = f"2019{m:02d}"
        lines.append(ledger("U1", "P1", P1_ID, p, "110", "5000", "400.00", "800.00", "已到账", month_end(p), "SZ_SIP"))
    for m in range(1, 7):
        p = f"2020{m:02d}"
        lines.append(ledger("U2", "P1", P1_ID, p, "110", "6000", "480.00", "960.00", "已到账", month_end(p), "SZ_SIP"))
    # 202405 pension arrived 15 days late; 202406 notice N2406 (base 6543) not arrived at all.
    lines.append(
        ledger(
            "U2", "P1", P1_ID, "202405", "110", "6543", "523.44", "1046.88", "已到账", dt.date(2024, 6, 15), "SZ_SIP"
        )
    )
    for itype, personal, unit_amount in [
        ("110", "523.44", "1046.88"),
        ("610", "654.30", "654.30"),
        ("310", "130.86", "392.58"),
        ("330", "5.00", "0.00"),
    ]:
        lines.append(
            ledger(
                "U2",
                "P1",
                P1_ID,
                "202406",
                itype,
                "6543",
                personal,
                unit_amount,
                "未到账",
                None,
                "SZ_SIP",
                notice="N2406",
            )
        )
    # P2 in Hubei: base 8888 not rounded to 10 and personal 711.00 instead of 711.04; arrived on time.
    lines.append(
        ledger(
            "U3", "P2", P2_ID, "202406", "110", "8888", "711.00", "1422.08", "已到账", dt.date(2024, 7, 5), "HB_PROV"
        )
    )
    insert(con, "ledgers", "ledgers/ledger.csv", lines)


def dbt(warehouse: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHEBAO_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    cmd = [
        str(DBT),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc


REPORT_UNIT_TESTS = 25  # dbt unit tests of the report marts and their intermediate models


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    warehouse = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    create_raw(con)
    fill(con)
    fill_legacy(con)
    con.close()
    # Models, seeds and the reports' dbt unit and data tests in one invocation (dbt start-up
    # dominates); the core's own tests belong to its test file.
    core = [
        "path:seeds",
        "path:models/staging",
        "path:models/intermediate/core",
        "path:models/marts/core",
        "path:tests/singular",
    ]
    proc = dbt(
        warehouse,
        tmp,
        "build",
        "--select",
        *REPORTS.split(),
        "--vars",
        json.dumps({"as_of": AS_OF}),
        "--exclude",
        *[f"test_type:{kind},{path}" for kind in ("data", "unit") for path in core],
    )
    assert "assert_payment_notice_totals_match_lines" in proc.stdout
    return warehouse, tmp, proc.stdout


def rows(warehouse: Path, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_rights_statement_person_changing_units(built):
    warehouse, _, _ = built
    got = rows(
        warehouse,
        """
        select statement_period, period_start, period_end, months_paid, avg_base, personal_amount, unit_amount,
               months_in_arrears, cumulative_months, cumulative_migrated_months, unit_ids, unit_names
        from marts.rpt_rights_statement where person_id = 'P1' and insurance_type = '110'
        order by statement_period""",
    )
    # cumulative months count the insured months to the period end, migrated history included
    # (fill_legacy: 200001-202312): to 2020-06, 234 migrated months (200001-201906) + 12 ledger months = 246;
    # to 2024-06, 288 - 12 (the ledger months inside the spell count once) = 276 migrated + 13 ledger = 289.
    assert got == [
        # 2019-07..2020-06: 6 x 400 + 6 x 480, 6 x 800 + 6 x 960, average base (6 x 5000 + 6 x 6000) / 12
        (
            "202006",
            dt.date(2019, 7, 1),
            dt.date(2020, 6, 30),
            12,
            D("5500.00"),
            D("5280.00"),
            D("10560.00"),
            0,
            246,
            234,
            "U1,U2",
            "甲公司,乙公司",
        ),
        # 2023-07..2024-06: 202405 paid (late), 202406 not arrived
        (
            "202406",
            dt.date(2023, 7, 1),
            dt.date(2024, 6, 30),
            1,
            D("6543.00"),
            D("523.44"),
            D("1046.88"),
            1,
            289,
            276,
            "U2",
            "乙公司",
        ),
    ]


def test_personal_account_opens_with_the_migrated_balance(built):
    """P1's history carried 28,800.00 at the cut-off 202312; the ledger months before it are inside that balance."""
    warehouse, _, _ = built

    def fen(x: D) -> D:
        return x.quantize(D("0.01"), rounding="ROUND_HALF_UP")

    migrated, credit_202405 = D("28800.00"), D("523.44")  # 202406 has not arrived
    interest_2024 = fen(migrated * D("0.0262") + credit_202405 * D("0.0262") * D("1.083") / 12)  # 755.797700
    assert interest_2024 == D("755.80")
    assert rows(
        warehouse,
        "select year, opening_balance, migrated_balance, credits, interest, closing_balance "
        "from marts.rpt_pension_account where person_id = 'P1' order by year",
    ) == [
        # December cut-off: no month of 2023 is left for interest on it
        (2023, D("0.00"), migrated, D("0.00"), D("0.00"), migrated),
        (2024, migrated, D("0.00"), credit_202405, interest_2024, migrated + credit_202405 + interest_2024),
    ]
    # statement 2023-07..2024-06: opens at 0.00 (the account's history is the migrated balance), takes in
    # 28,800.00 and 523.44; 2023 (closed inside the period) earned 0.00 on it
    assert rows(
        warehouse,
        "select statement_period, opening_balance, migrated_balance, credits, interest, closing_balance "
        "from marts.rpt_rights_statement_account where person_id = 'P1' and statement_period = '202406'",
    ) == [("202406", D("0.00"), migrated, credit_202405, D("0.00"), migrated + credit_202405)]
    # the estimate's account balance is the latest closing: 30,079.24
    assert rows(warehouse, "select current_account_balance from marts.rpt_pension_estimate where person_id = 'P1'") == [
        (D("30079.24"),)
    ]


def test_arrears_and_late_fees_as_of_fixed_date(built):
    warehouse, _, _ = built
    got = rows(
        warehouse,
        """
        select fee_period, insurance_type, amount_due, amount_paid, outstanding, due_date, days_overdue, late_fee,
               as_of_date
        from marts.fct_arrears where unit_id = 'U2' order by fee_period, insurance_type""",
    )
    assert got == [
        # arrived 2024-06-15, due 2024-05-31: 15 days x 0.05 % x 1570.32 = 11.7774
        (
            "202405",
            "110",
            D("1570.32"),
            D("1570.32"),
            D("0.00"),
            dt.date(2024, 5, 31),
            15,
            D("11.78"),
            dt.date(2024, 7, 10),
        ),
        # unpaid, due 2024-06-30, as of 2024-07-10: 10 days x 0.05 %
        (
            "202406",
            "110",
            D("1570.32"),
            D("0.00"),
            D("1570.32"),
            dt.date(2024, 6, 30),
            10,
            D("7.85"),
            dt.date(2024, 7, 10),
        ),
        (
            "202406",
            "310",
            D("523.44"),
            D("0.00"),
            D("523.44"),
            dt.date(2024, 6, 30),
            10,
            D("2.62"),
            dt.date(2024, 7, 10),
        ),
        # 5.00 x 0.0005 x 10 = 0.025 -> 0.03 (half-up)
        ("202406", "330", D("5.00"), D("0.00"), D("5.00"), dt.date(2024, 6, 30), 10, D("0.03"), dt.date(2024, 7, 10)),
        # housing fund: overdue, no late fee
        (
            "202406",
            "610",
            D("1308.60"),
            D("0.00"),
            D("1308.60"),
            dt.date(2024, 6, 30),
            10,
            D("0.00"),
            dt.date(2024, 7, 10),
        ),
    ]
    # P2's Hubei line arrived before its due date (2024-07-15): no arrears for U3
    assert rows(warehouse, "select count(*) from marts.fct_arrears where unit_id = 'U3'") == [(0,)]
    # the two late fees kept apart: 202405 paid late, 202406 still owed
    assert rows(
        warehouse,
        """select fee_period, insurance_type, late_fee_on_owed, late_fee_on_paid_late, days_owed, days_paid_late
           from marts.fct_arrears where unit_id = 'U2' order by fee_period, insurance_type""",
    ) == [
        ("202405", "110", D("0.00"), D("11.78"), None, 15),
        ("202406", "110", D("7.85"), D("0.00"), 10, None),
        ("202406", "310", D("2.62"), D("0.00"), 10, None),
        ("202406", "330", D("0.03"), D("0.00"), 10, None),
        ("202406", "610", D("0.00"), D("0.00"), 10, None),
    ]


def test_each_late_fee_at_the_grain_a_clerk_checks(built):
    """fct_late_fees: one row per fee with amount, due date, arrival date, days and rate; none for the housing fund."""
    warehouse, _, _ = built
    got = rows(
        warehouse,
        """select fee_period, insurance_type, contribution_type, fee_kind_label, charged_amount, due_date, arrival_date,
                  days_overdue, daily_rate, late_fee
           from marts.fct_late_fees where unit_id = 'U2' order by fee_period, insurance_type""",
    )
    assert got == [
        (
            "202405",
            "110",
            "正常应缴",
            "逾期缴费滞纳金",
            D("1570.32"),
            dt.date(2024, 5, 31),
            dt.date(2024, 6, 15),
            15,
            D("0.000500"),
            D("11.78"),
        ),
        (
            "202406",
            "110",
            "正常应缴",
            "欠费滞纳金",
            D("1570.32"),
            dt.date(2024, 6, 30),
            None,
            10,
            D("0.000500"),
            D("7.85"),
        ),
        (
            "202406",
            "310",
            "正常应缴",
            "欠费滞纳金",
            D("523.44"),
            dt.date(2024, 6, 30),
            None,
            10,
            D("0.000500"),
            D("2.62"),
        ),
        (
            "202406",
            "330",
            "正常应缴",
            "欠费滞纳金",
            D("5.00"),
            dt.date(2024, 6, 30),
            None,
            10,
            D("0.000500"),
            D("0.03"),
        ),
    ]
    for _, _, _, _, amount, due, arrival, days, rate, fee in got:
        assert days == ((arrival or dt.date(2024, 7, 10)) - due).days
        assert fee == (amount * rate * days).quantize(D("0.01"), rounding="ROUND_HALF_UP")
    # U2 still owes: a 欠费单位, with both kinds of late fee
    assert rows(
        warehouse,
        """select unit_id, arrears_status_label, outstanding, late_fee_on_owed, late_fee_on_paid_late, total_payable
           from marts.rpt_unit_arrears order by unit_id""",
    ) == [("U2", "欠费单位", D("3407.36"), D("10.50"), D("11.78"), D("3429.64"))]


def test_payment_notice_total_and_capital_numerals(built):
    warehouse, _, _ = built
    got = rows(
        warehouse,
        """
        select unit_id, notice_no, fee_period, notice_line_count, personal_amount, unit_amount, total_amount,
               total_amount_capital
        from marts.rpt_payment_notices where notice_no = 'N2406'""",
    )
    # 1570.32 + 1308.60 + 523.44 + 5.00
    assert got == [("U2", "N2406", "202406", 4, D("1313.60"), D("2093.76"), D("3407.36"), "叁仟肆佰零柒圆叁角陆分")]
    lines = rows(
        warehouse,
        """
        select insurance_type, contribution_type, personal_amount, unit_amount, total_amount
        from marts.rpt_payment_notice_lines where notice_no = 'N2406' order by insurance_sort_order""",
    )
    assert lines == [
        ("110", "正常应缴", D("523.44"), D("1046.88"), D("1570.32")),
        ("310", "正常应缴", D("130.86"), D("392.58"), D("523.44")),
        ("330", "正常应缴", D("5.00"), D("0.00"), D("5.00")),
        ("610", "正常应缴", D("654.30"), D("654.30"), D("1308.60")),
    ]


def test_unit_summary_retirement_and_findings(built):
    warehouse, _, _ = built
    assert rows(
        warehouse,
        """
        select headcount, unit_rate, personal_rate, unit_base_total, unit_amount, personal_amount
        from marts.rpt_unit_contribution_summary
        where unit_id = 'U1' and fee_period = '201910' and insurance_type = '110'
        """,
    ) == [(1, D("0.16"), D("0.08"), D("5000.00"), D("800.00"), D("400.00"))]
    # P1: man born 1965-05 -> 60岁2个月 -> 2025-07; 13 paid pension months (201907-202006 and 202405;
    # 202406 not arrived) and the migrated 200001-202312 (288 months; the spell's 2024 months are after the
    # cut-off, the superseded spell counts nothing). The 12 ledger months inside the spell count once:
    # 13 + 288 - 12 = 289 of 180 required: minimum met, so flexible retirement from the original age, 2025-05.
    # P2: woman worker born 1976-06 -> 50岁9个月 -> 2027-03.
    assert rows(
        warehouse,
        """
        select person_id, unit_id, retirement_group, statutory_age_months, retirement_month, contribution_months,
               required_months, shortfall_months, earliest_flexible_month, latest_flexible_month, id_number_masked
        from marts.rpt_retirement_due order by person_id""",
    ) == [
        (
            "P1",
            "U2",
            "male",
            722,
            dt.date(2025, 7, 1),
            289,
            180,
            0,
            dt.date(2025, 5, 1),
            dt.date(2028, 7, 1),
            P1_ID[:4] + "*" * 10 + P1_ID[-4:],
        ),
        (
            "P2",
            "U3",
            "female_worker",
            609,
            dt.date(2027, 3, 1),
            1,
            180,
            179,
            None,
            dt.date(2030, 3, 1),
            P2_ID[:4] + "*" * 10 + P2_ID[-4:],
        ),
    ]
    findings = rows(
        warehouse,
        """
        select finding_type, source_file, source_row, message from marts.rpt_data_quality_findings
        where person_id = 'P2' order by finding_type""",
    )
    # the Hubei line is the 18th data line of ledger.csv: spreadsheet row 19 (header = row 1)
    assert [(f, s, r) for f, s, r, _ in findings] == [
        ("base_not_rounded", "ledgers/ledger.csv", 19),
        ("personal_amount_mismatch", "ledgers/ledger.csv", 19),
    ]
    assert "711.04" in findings[1][3] and "-0.04" in findings[1][3]
    assert rows(warehouse, "select bool_and(is_estimate), count(*) from marts.rpt_pension_estimate") == [(True, 2)]
    assert rows(
        warehouse,
        "select person_id, contribution_months_to_date, meets_minimum from marts.rpt_pension_estimate order by 1",
    ) == [("P1", 289, True), ("P2", 1, False)]
    # months only the history has: 288 minus the 12 the ledger also has
    assert rows(warehouse, "select person_id, migrated_months from marts.rpt_retirement_due order by 1") == [
        ("P1", 276),
        ("P2", 0),
    ]


def test_dbt_unit_tests_of_the_reports_pass(built):
    _, _, stdout = built
    passed = [line for line in stdout.splitlines() if " PASS " in line and "unit_test" not in line and "::" in line]
    assert len(passed) == REPORT_UNIT_TESTS, stdout[-4000:]
    for name in (
        "retirement_age_men",
        "retirement_age_female_cadre",
        "retirement_age_female_worker",
        "arrears_lines_due_dates_arrivals_and_refunds",
        "late_fee_by_hand_paid_late_133_days",
        "late_fee_across_2011_07_01_housing_fund_and_half_up",
        "arrears_keep_owed_money_and_both_late_fees_apart",
        "unit_arrears_owing_apart_from_paid_late",
        "quarantine_reasons_classified_by_first_problem",
        "quarantine_reasons_counted_by_category",
        "rights_statement_unit_change_and_june_july_boundary",
        "pension_account_two_years_by_hand",
        "pension_account_opens_with_the_migrated_balance",
        "payment_notices_seed_004_totals_and_capital_numerals",
        "annuity_divisor_interpolated_by_month",
        "arrival_rate_half_up",
        "roster_month_paid_only_when_every_insurance_arrived",
        "quarantine_current_rows_masked_and_labelled",
        "unit_proof_months_back_payment_type",
        "unit_proof_runs_three_unchanged_months_one_row",
        "unit_proof_runs_base_change_splits",
        "unit_proof_runs_gap_month_splits",
        "unit_proof_runs_back_payment_month_own_row",
        "unit_proof_runs_two_insurances_differing",
        "rights_statement_account_within_the_statement_period",
    ):
        assert any(name in line for line in passed), name


def test_incremental_rerun_keeps_built_months_and_adds_the_new_one(built):
    """A run after a new month is loaded rebuilds only that month: every row of the months
    already built is unchanged (re-running them changes nothing) and the new month appears."""
    warehouse, tmp, _ = built
    query = {m: f"select * exclude (source_fingerprint) from marts.{m} order by all" for m in INCREMENTAL_REPORTS}
    before = {m: rows(warehouse, q) for m, q in query.items()}
    fingerprints = rows(
        warehouse, "select distinct fee_period, source_fingerprint from marts.rpt_unit_contribution_summary order by 1"
    )
    con = duckdb.connect(str(warehouse))
    insert(
        con,
        "ledgers",
        "ledgers/ledger-202407.csv",
        [ledger("U3", "P2", P2_ID, "202407", "110", "8890", "711.20", "1422.40", "未到账", None, "HB_PROV")],
    )
    con.close()
    dbt(
        warehouse,
        tmp,
        "run",
        "--select",
        "fct_contributions",
        *INCREMENTAL_REPORTS,
        "--vars",
        json.dumps({"as_of": AS_OF}),
    )
    after = {m: rows(warehouse, q) for m, q in query.items()}
    summary_new = [
        r for r in after["rpt_unit_contribution_summary"] if r not in before["rpt_unit_contribution_summary"]
    ]
    assert len(summary_new) == 1 and summary_new[0][:3] == ("U3", "202407", "110")
    assert len(after["rpt_unit_contribution_summary"]) == len(before["rpt_unit_contribution_summary"]) + 1
    assert set(before["rpt_payment_notice_lines"]) < set(after["rpt_payment_notice_lines"])
    assert after["rpt_data_quality_findings"] == before["rpt_data_quality_findings"]  # 8890 x rate is exact
    assert set(fingerprints) <= set(
        rows(warehouse, "select distinct fee_period, source_fingerprint from marts.rpt_unit_contribution_summary")
    )
