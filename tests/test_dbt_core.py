"""The dbt core (staging, intermediate/core, marts/core) against a small raw warehouse.

The raw tables are created by the loader's own DDL (pipelines/ingest/loader.py, from the
landing contract in schema.py), filled with a handful of lines whose figures come from docs/domain.md,
then `dbt build` runs in a subprocess and the marts are checked to the fen. Reruns check
that the incremental fct_contributions is stable without new loads and follows a
corrected (superseding) file.
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

from foundation.landing.identifiers import id_check_char, uscc_check_char
from pipelines.ingest import loader

ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT = Path(os.environ.get("SHEBAO_DBT_PROJECT", ROOT / "dbt_project"))
# The core this file tests: seeds, staging, intermediate/core, marts/core (and their tests).
CORE_SELECT = ["path:seeds", "path:models/staging", "path:models/intermediate/core", "path:models/marts/core"]
DBT = Path(sys.executable).parent / "dbt"

D = Decimal


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The raw layout exactly as the loader creates it (schema.py columns + lineage)."""
    loader.ensure_raw_schema(con)


def insert_rows(
    con,
    source: str,
    rows: list[dict],
    *,
    source_file: str,
    file_hash: str,
    loaded_at: dt.datetime,
    superseded_at: dt.datetime | None = None,
) -> None:
    """Insert business rows with lineage; source_row counts from 2 (row 1 is the header)."""
    table_cols = [r[0] for r in con.execute(f"describe raw.{source}").fetchall()]
    for i, row in enumerate(rows):
        values = dict(row)
        values.update(
            source_file=source_file,
            source_row=i + 2,
            file_hash=file_hash,
            load_id=f"load-{file_hash}",
            loaded_at=loaded_at,
            superseded_at=superseded_at,
        )
        unknown = set(values) - set(table_cols)
        assert not unknown, unknown
        cols = [c for c in table_cols if c in values]
        con.execute(
            f"insert into raw.{source} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
            [values[c] for c in cols],
        )


def resident_id(first17: str) -> str:
    return first17 + id_check_char(first17)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


T0 = dt.datetime(2024, 4, 20, 9, 0)
T1 = dt.datetime(2024, 5, 20, 9, 0)
T2 = dt.datetime(2024, 6, 20, 9, 0)

ID_P001 = resident_id("42010619900101123")
ID_P002 = resident_id("42010619760203234")
ID_P003 = resident_id("32058219850315456")


def ledger(
    unit_id,
    person_id,
    id_number,
    period,
    ins,
    base,
    personal,
    unit,
    status,
    region,
    paid_amount=None,
    paid_date=None,
    ctype="正常应缴",
):
    return dict(
        unit_id=unit_id,
        person_id=person_id,
        id_number=id_number,
        fee_period=period,
        insurance_type=ins,
        contribution_type=ctype,
        personal_base=D(base),
        unit_base=D(base),
        personal_amount=D(personal),
        unit_amount=D(unit),
        paid_status=status,
        paid_amount=None if paid_amount is None else D(paid_amount),
        paid_date=paid_date,
        region_code=region,
    )


def seed_raw(path: Path) -> None:
    con = duckdb.connect(str(path))
    create_raw_schema(con)
    insert_rows(
        con,
        "employers",
        [
            dict(
                unit_id="HB0001",
                unit_name="湖北示例科技有限公司",
                uscc=uscc("91420100MA4K12345"),
                unit_type="企业",
                region_code="HB_PROV",
                risk_class=3,
                status="正常",
            ),
            dict(
                unit_id="SZ0001",
                unit_name="苏州园区示例有限公司",
                uscc=uscc("91320594MA1M23456"),
                unit_type="企业",
                region_code="SZ_SIP",
                risk_class=1,
                status="正常",
                founded_date=dt.date(2010, 5, 1),
            ),
        ],
        source_file="employers/units.csv",
        file_hash="e1",
        loaded_at=T0,
    )
    insert_rows(
        con,
        "persons",
        [
            dict(
                person_id="P001",
                name="张三",
                id_number=ID_P001,
                sex="男",
                birth_date=dt.date(1990, 1, 1),
                post_category="生产岗",
                mobile="13812345678",
            ),
            dict(
                person_id="P002",
                name="李四",
                id_number=ID_P002,
                sex="女",
                birth_date=dt.date(1976, 2, 3),
                post_category="专业技术岗",
            ),
            dict(
                person_id="P003",
                name="王五",
                id_number=ID_P003,
                sex="女",
                birth_date=dt.date(1985, 3, 15),
                post_category="工勤岗",
            ),
        ],
        source_file="persons/persons.csv",
        file_hash="p1",
        loaded_at=T0,
    )
    insert_rows(
        con,
        "enrolments",
        [
            dict(person_id="P001", unit_id="HB0001", insurance_type="110", start_period="201501", status="正常参保"),
            dict(
                person_id="P002",
                unit_id="HB0001",
                insurance_type="110",
                start_period="201801",
                end_period="202312",
                status="终止参保",
                change_reason="离职",
            ),
            dict(person_id="P003", unit_id="SZ0001", insurance_type="310", start_period="202001", status="正常参保"),
        ],
        source_file="enrolments/enrolments.csv",
        file_hash="n1",
        loaded_at=T0,
    )
    # Hubei March 2024 (seed 002 figures) and an unrounded 8888 base paid short.
    insert_rows(
        con,
        "ledgers",
        [
            ledger(
                "HB0001",
                "P001",
                ID_P001,
                "202403",
                "110",
                "17780",
                "1422.40",
                "2844.80",
                "已到账",
                "HB_PROV",
                paid_date=dt.date(2024, 4, 10),
            ),
            ledger("HB0001", "P001", ID_P001, "202403", "210", "17780", "53.34", "124.46", "未到账", "HB_PROV"),
            ledger(
                "HB0001",
                "P002",
                ID_P002,
                "202403",
                "110",
                "8888",
                "711.04",
                "1422.08",
                "未足额到账",
                "HB_PROV",
                paid_amount="1000.00",
            ),
        ],
        source_file="ledgers/hb_202403.csv",
        file_hash="l1",
        loaded_at=T0,
    )
    # Suzhou 2022 medical (seed 004 figures); supplementary medical 0.05 short.
    insert_rows(
        con,
        "ledgers",
        [
            ledger(
                "SZ0001",
                "P003",
                ID_P003,
                "202206",
                "310",
                "9805",
                "196.10",
                "588.30",
                "已到账",
                "SZ_SIP",
                paid_date=dt.date(2022, 6, 30),
            ),
            ledger(
                "SZ0001",
                "P003",
                ID_P003,
                "202206",
                "320",
                "9805",
                "0",
                "98.00",
                "已到账",
                "SZ_SIP",
                paid_date=dt.date(2022, 6, 30),
            ),
            ledger(
                "SZ0001",
                "P003",
                ID_P003,
                "202206",
                "330",
                "9805",
                "5.00",
                "0",
                "已到账",
                "SZ_SIP",
                paid_date=dt.date(2022, 6, 30),
            ),
            ledger(
                "SZ0001",
                "P003",
                ID_P003,
                "202206",
                "510",
                "9805",
                "0",
                "78.44",
                "已到账",
                "SZ_SIP",
                paid_date=dt.date(2022, 6, 30),
            ),
        ],
        source_file="ledgers/sz_202206.csv",
        file_hash="l2",
        loaded_at=T0,
    )
    # February 2024: a first version replaced by a corrected file; only the correction counts.
    insert_rows(
        con,
        "ledgers",
        [
            ledger(
                "HB0001",
                "P001",
                ID_P001,
                "202402",
                "110",
                "17000",
                "1360.00",
                "2720.00",
                "已到账",
                "HB_PROV",
                paid_date=dt.date(2024, 3, 10),
            ),
        ],
        source_file="ledgers/hb_202402.csv",
        file_hash="l3",
        loaded_at=T0,
        superseded_at=T0,
    )
    insert_rows(
        con,
        "ledgers",
        [
            ledger(
                "HB0001",
                "P001",
                ID_P001,
                "202402",
                "110",
                "17780",
                "1422.40",
                "2844.80",
                "已到账",
                "HB_PROV",
                paid_date=dt.date(2024, 3, 10),
            ),
        ],
        source_file="ledgers/hb_202402.csv",
        file_hash="l4",
        loaded_at=T0,
    )
    con.close()


def dbt(args: list[str], warehouse: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, SHEBAO_WAREHOUSE=str(warehouse), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    cmd = [
        str(DBT),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


FCT_SNAPSHOT = "select * from marts.fct_contributions order by ledger_line_id"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("dbt_core")
    warehouse = tmp_path / "warehouse.duckdb"
    seed_raw(warehouse)
    result = dbt(["build", "--indirect-selection", "cautious", "--select", *CORE_SELECT], warehouse, tmp_path)
    return warehouse, tmp_path, result


def test_build_passes_models_data_and_unit_tests(built):
    _, tmp_path, _ = built
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert statuses and all(s in ("success", "pass") for s in statuses.values()), {
        k: v for k, v in statuses.items() if v not in ("success", "pass")
    }
    unit_tests = {uid.rsplit(".", 1)[1] for uid in statuses if uid.startswith("unit_test.")}
    assert {
        "test_hubei_pension_and_unemployment_published_example",
        "test_suzhou_2022_medical_published_example",
        "test_expected_amounts_round_half_up_and_special_items",
        "test_contribution_checks_bases_and_hubei_rounding",
        "test_paid_amount_follows_paid_status",
        "test_retirement_group_and_masking",
        "test_enrolment_is_current_as_of",
        "pension_credits_after_the_cut_off_and_the_migrated_balance",
    } <= unit_tests
    assert "model.shebao.fct_contributions" in statuses
    assert "test.shebao.assert_fct_contributions_matches_current_ledger" in statuses


def test_custom_schemas_used_as_is(built):
    warehouse, _, _ = built
    schemas = {r[0] for r in query(warehouse, "select schema_name from information_schema.schemata")}
    assert {"raw", "reference", "staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)
    types = dict(
        query(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'reference' and table_name = 'contribution_rates'",
        )
    )
    assert types["insurance_type"] == "VARCHAR"
    assert types["unit_rate"] == "DECIMAL(9,6)"


def test_hubei_published_amounts_and_paid_amounts(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """
        select insurance_type, person_id, unit_rate, personal_rate, expected_unit_amount,
               expected_personal_amount, total_amount, paid_amount, is_paid, fee_month, fee_year
        from marts.fct_contributions where fee_period = '202403' order by person_id, insurance_type""",
    )
    assert rows == [
        (
            "110",
            "P001",
            D("0.160000"),
            D("0.080000"),
            D("2844.80"),
            D("1422.40"),
            D("4267.20"),
            D("4267.20"),
            True,
            dt.date(2024, 3, 1),
            2024,
        ),
        (
            "210",
            "P001",
            D("0.007000"),
            D("0.003000"),
            D("124.46"),
            D("53.34"),
            D("177.80"),
            D("0.00"),
            False,
            dt.date(2024, 3, 1),
            2024,
        ),
        (
            "110",
            "P002",
            D("0.160000"),
            D("0.080000"),
            D("1422.08"),
            D("711.04"),
            D("2133.12"),
            D("1000.00"),
            False,
            dt.date(2024, 3, 1),
            2024,
        ),
    ]


def test_suzhou_2022_medical_expected_amounts_and_checks(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """
        select insurance_type, expected_personal_amount, expected_unit_amount
        from marts.fct_contributions where fee_period = '202206' order by insurance_type""",
    )
    assert rows == [
        ("310", D("196.10"), D("588.30")),
        ("320", D("0.00"), D("98.05")),
        ("330", D("5.00"), D("0.00")),
        ("510", D("0.00"), D("78.44")),
    ]
    checks = query(
        warehouse,
        """
        select insurance_type, unit_amount_diff, amount_mismatch, base_floor, base_cap,
               base_below_floor, base_above_cap
        from intermediate.int_contribution_checks where fee_period = '202206'
        order by insurance_type""",
    )
    assert checks[1] == ("320", D("-0.05"), True, D("4250.00"), D("21249.00"), False, False)
    assert [c[2] for c in checks] == [False, True, False, False]


def test_hubei_unrounded_base_is_flagged(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """
        select c.person_id, c.personal_base_rounded, c.base_not_rounded
        from intermediate.int_contribution_checks c
        where c.fee_period = '202403' and c.insurance_type = '110' order by c.person_id""",
    )
    assert rows == [("P001", D("17780.00"), False), ("P002", D("8890.00"), True)]


def test_superseded_rows_do_not_count(built):
    warehouse, _, _ = built
    rows = query(
        warehouse,
        """
        select fee_period, personal_base, file_hash, source_file, source_row
        from marts.fct_contributions where fee_period = '202402'""",
    )
    assert rows == [("202402", D("17780.00"), "l4", "ledgers/hb_202402.csv", 2)]
    assert query(warehouse, "select count(*) from marts.fct_contributions") == [(8,)]


def test_dimensions(built):
    warehouse, _, _ = built
    persons = query(
        warehouse,
        """
        select person_id, id_number_masked, retirement_group, birth_month, mobile_masked, id_type
        from marts.dim_persons order by person_id""",
    )
    assert persons == [
        ("P001", ID_P001[:4] + "*" * 10 + ID_P001[-4:], "male", dt.date(1990, 1, 1), "138****5678", "居民身份证"),
        ("P002", ID_P002[:4] + "*" * 10 + ID_P002[-4:], "female_cadre", dt.date(1976, 2, 1), None, "居民身份证"),
        ("P003", ID_P003[:4] + "*" * 10 + ID_P003[-4:], "female_worker", dt.date(1985, 3, 1), None, "居民身份证"),
    ]
    units = query(
        warehouse,
        """
        select unit_id, region_name, risk_class, work_injury_rate from marts.dim_units order by unit_id""",
    )
    assert units == [("HB0001", "湖北省本级", 3, D("0.007000")), ("SZ0001", "苏州工业园区", 1, D("0.002000"))]
    enrolments = query(
        warehouse,
        """
        select person_id, end_month, is_current from marts.fct_enrolments order by person_id""",
    )
    assert enrolments == [("P001", None, True), ("P002", dt.date(2023, 12, 1), False), ("P003", None, True)]


def test_incremental_rerun_is_stable_and_follows_corrections(built):
    warehouse, tmp_path, _ = built
    before = query(warehouse, FCT_SNAPSHOT)
    dbt(["run", "--select", "fct_contributions"], warehouse, tmp_path)
    assert query(warehouse, FCT_SNAPSHOT) == before

    # A corrected Hubei March file replaces l1 (P002's base fixed to 8890); the February
    # correction l4 is itself withdrawn with no replacement.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update raw.ledgers set superseded_at = ? where file_hash in ('l1', 'l4')", [T1])
        insert_rows(
            con,
            "ledgers",
            [
                ledger(
                    "HB0001",
                    "P001",
                    ID_P001,
                    "202403",
                    "110",
                    "17780",
                    "1422.40",
                    "2844.80",
                    "已到账",
                    "HB_PROV",
                    paid_date=dt.date(2024, 4, 10),
                ),
                ledger(
                    "HB0001",
                    "P002",
                    ID_P002,
                    "202403",
                    "110",
                    "8890",
                    "711.20",
                    "1422.40",
                    "已到账",
                    "HB_PROV",
                    paid_date=dt.date(2024, 5, 10),
                ),
            ],
            source_file="ledgers/hb_202403.csv",
            file_hash="l5",
            loaded_at=T1,
        )
    dbt(["run", "--select", "fct_contributions"], warehouse, tmp_path)

    after = query(
        warehouse,
        """
        select fee_period, person_id, insurance_type, personal_base, paid_amount, file_hash
        from marts.fct_contributions order by fee_period, person_id, insurance_type""",
    )
    assert after == [
        ("202206", "P003", "310", D("9805.00"), D("784.40"), "l2"),
        ("202206", "P003", "320", D("9805.00"), D("98.00"), "l2"),
        ("202206", "P003", "330", D("9805.00"), D("5.00"), "l2"),
        ("202206", "P003", "510", D("9805.00"), D("78.44"), "l2"),
        ("202403", "P001", "110", D("17780.00"), D("4267.20"), "l5"),
        ("202403", "P002", "110", D("8890.00"), D("2133.60"), "l5"),
    ]
    # untouched period kept its rows as they were (same loaded_at lineage)
    untouched = [r for r in before if r[7] == "202206"]  # fee_period is the 8th column
    assert untouched and all(r in query(warehouse, FCT_SNAPSHOT) for r in untouched)
