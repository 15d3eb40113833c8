"""GX suites on tiny raw tables: good data passes, each bad value is caught exactly."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from decimal import Decimal

import duckdb
import pandas as pd
import pytest

from foundation import paths
from foundation.landing import schema
from foundation.landing.schema import raw_columns

pytestmark = pytest.mark.unit

# Valid identifiers (GB 11643 / GB 32100 examples and hand-checked values).
ID_A = "11010519491231002X"  # born 1949-12-31 (the GB 11643 example)
ID_B = "320501199003071234"  # born 1990-03-07
ID_C = "420106198512120013"  # born 1985-12-12
ID_B_BAD = "320501199003071235"  # check character should be 4
USCC_A = "91350100M000100Y43"  # the GB 32100 example
USCC_B = "91320594MA1N8KPQ0K"
USCC_A_BAD = "91350100M000100Y44"


def _refuse(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """No socket may connect or resolve while GX is imported and run."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", _refuse)
        mp.setattr(socket.socket, "connect_ex", _refuse)
        mp.setattr(socket, "create_connection", _refuse)
        mp.setattr(socket, "getaddrinfo", _refuse)
        yield


@pytest.fixture(scope="module")
def gxrun(no_network):
    from expectations import run

    return run


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA raw")
    yield c
    c.close()


def make_raw(con, source: str, rows: list[dict], types: dict[str, str] | None = None) -> None:
    """raw.<source> with the loader's columns (schema.py + lineage), given rows inserted."""
    cols = dict(raw_columns(schema.SOURCES[source]))
    cols.update(types or {})
    con.execute(f"CREATE OR REPLACE TABLE raw.{source} ({', '.join(f'{n} {t}' for n, t in cols.items())})")
    names = list(cols)
    for i, row in enumerate(rows):
        full = {
            "source_file": f"{source}/test.csv",
            "source_row": i + 2,
            "file_hash": "h1",
            "load_id": "L1",
            "loaded_at": dt.datetime(2025, 1, 1),
            "superseded_at": None,
        } | row
        unknown = set(full) - set(names)
        assert not unknown, unknown
        con.execute(
            f"INSERT INTO raw.{source} ({', '.join(full)}) VALUES ({', '.join('?' * len(full))})",
            list(full.values()),
        )


def failures_by(outcome) -> dict[tuple[str, tuple[str, ...]], dict]:
    return {(f["expectation"], tuple(f["columns"])): f for f in outcome.failures}


def assert_fails_exactly(outcome, expected: dict[tuple[str, tuple[str, ...]], tuple[int, list]]) -> None:
    """The outcome fails on exactly these expectations, with these counts and values."""
    got = failures_by(outcome)
    assert outcome.success is False
    assert set(got) == set(expected), (set(got), outcome.failures)
    for key, (count, values) in expected.items():
        assert got[key]["unexpected_count"] == count, got[key]
        assert got[key]["partial_unexpected_list"] == values, got[key]
    assert outcome.successful_expectations == outcome.evaluated_expectations - len(expected)


# --------------------------------------------------------------------------- rows


def employer(**kw) -> dict:
    return {
        "unit_id": "U001",
        "unit_name": "苏州园区示例科技有限公司",
        "uscc": USCC_A,
        "unit_type": "企业",
        "region_code": "SZ_SIP",
        "risk_class": 1,
        "founded_date": dt.date(2010, 5, 1),
        "status": "正常",
    } | kw


def person(**kw) -> dict:
    return {
        "person_id": "P001",
        "name": "张三",
        "id_type": "居民身份证",
        "id_number": ID_B,
        "sex": "男",
        "birth_date": dt.date(1990, 3, 7),
        "post_category": "生产岗",
    } | kw


def enrolment(**kw) -> dict:
    return {
        "person_id": "P001",
        "unit_id": "U001",
        "insurance_type": "110",
        "start_period": "202201",
        "end_period": None,
        "status": "正常参保",
    } | kw


def ledger(**kw) -> dict:
    return {
        "unit_id": "U001",
        "person_id": "P001",
        "id_type": "居民身份证",
        "id_number": ID_B,
        "fee_period": "202207",
        "insurance_type": "310",
        "contribution_type": "正常应缴",
        "personal_base": Decimal("9805.00"),
        "unit_base": Decimal("9805.00"),
        "personal_amount": Decimal("196.10"),
        "unit_amount": Decimal("588.30"),
        "paid_status": "已到账",
        "paid_amount": Decimal("784.40"),
        "paid_date": dt.date(2022, 7, 31),
        "region_code": "SZ_SIP",
    } | kw


# --------------------------------------------------------------------------- contract


def test_analytics_off_and_vocabularies_from_seeds(gxrun):
    from expectations import suites

    assert suites.region_codes() == ["SZ_SIP", "SZ_CITY", "HB_PROV"]
    assert suites.insurance_type_codes() == [
        "110",
        "210",
        "310",
        "320",
        "330",
        "340",
        "350",
        "410",
        "510",
        "610",
        "620",
    ]
    assert suites.risk_classes() == [1, 2, 3, 4, 5, 6, 7, 8]
    cols = gxrun.suite_columns(suites.ledgers_suite())
    assert "region_code" in cols and "id_type" in cols  # id_type only via the row condition
    assert "name" not in cols and "source_file" not in cols  # nullable, unchecked: not read


# --------------------------------------------------------------------------- employers


def test_employers_good(con, gxrun):
    make_raw(con, "employers", [employer(), employer(unit_id="U002", uscc=USCC_B, region_code="HB_PROV", risk_class=8)])
    out = gxrun.validate_table(con, "employers")
    assert out.success, out.failures
    assert out.row_count == 2 and out.evaluated_expectations == out.successful_expectations > 10


def test_employers_bad(con, gxrun):
    make_raw(
        con,
        "employers",
        [
            employer(),
            employer(unit_id="U002", uscc=USCC_A_BAD),
            employer(unit_id="U003", uscc=USCC_B, region_code="XX_REGION", risk_class=9),
            employer(unit_id="U003", uscc=USCC_B, unit_type="公司"),
        ],
    )
    out = gxrun.validate_table(con, "employers")
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_be_valid_uscc", ("uscc",)): (1, [USCC_A_BAD]),
            ("expect_column_values_to_be_in_set", ("region_code",)): (1, ["XX_REGION"]),
            ("expect_column_values_to_be_in_set", ("risk_class",)): (1, [9]),
            ("expect_column_values_to_be_in_set", ("unit_type",)): (1, ["公司"]),
            ("expect_column_values_to_be_unique", ("unit_id",)): (2, ["U003", "U003"]),
        },
    )
    uscc = failures_by(out)[("expect_column_values_to_be_valid_uscc", ("uscc",))]
    assert uscc["reasons"] == {USCC_A_BAD: "统一社会信用代码校验位错误（应为3）"}
    assert uscc["description"] == "统一社会信用代码校验位正确"


# --------------------------------------------------------------------------- persons


def test_persons_good_and_foreign_id_exempt(con, gxrun):
    make_raw(
        con,
        "persons",
        [
            person(),
            person(person_id="P002", id_number=ID_A, sex="女", birth_date=dt.date(1949, 12, 31), id_type=None),
            # A passport carries no GB 11643 check character nor an embedded birth date.
            person(person_id="P003", id_type="护照", id_number="E12345678", birth_date=dt.date(1980, 1, 1)),
        ],
    )
    out = gxrun.validate_table(con, "persons")
    assert out.success, out.failures


def test_persons_bad(con, gxrun):
    make_raw(
        con,
        "persons",
        [
            person(),
            person(person_id="P002", id_number=ID_B_BAD),  # bad check digit, birth date agrees
            person(person_id="P003", id_number=ID_C, birth_date=dt.date(1985, 12, 13)),  # mismatch
            person(person_id="P003", id_number=ID_A, birth_date=dt.date(1949, 12, 31), sex="男性"),
        ],
    )
    out = gxrun.validate_table(con, "persons")
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_be_valid_cn_id_number", ("id_number",)): (1, [ID_B_BAD]),
            ("expect_column_pair_id_number_to_match_birth_date", ("id_number", "birth_date")): (
                1,
                [[ID_C, "1985-12-13"]],
            ),
            ("expect_column_values_to_be_in_set", ("sex",)): (1, ["男性"]),
            ("expect_column_values_to_be_unique", ("person_id",)): (2, ["P003", "P003"]),
        },
    )
    f = failures_by(out)[("expect_column_values_to_be_valid_cn_id_number", ("id_number",))]
    assert f["reasons"] == {ID_B_BAD: "证件号码校验位错误（应为4）"}


# --------------------------------------------------------------------------- enrolments


def test_enrolments_good_and_bad(con, gxrun):
    make_raw(con, "enrolments", [enrolment(), enrolment(insurance_type="330", end_period="202212", status="终止参保")])
    assert gxrun.validate_table(con, "enrolments").success

    make_raw(
        con,
        "enrolments",
        [
            enrolment(),
            enrolment(insurance_type="999"),
            enrolment(insurance_type="210", start_period="202313"),
            enrolment(insurance_type="310", start_period="202206", end_period="202205"),
        ],
    )
    out = gxrun.validate_table(con, "enrolments")
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_be_in_set", ("insurance_type",)): (1, ["999"]),
            ("expect_column_values_to_be_valid_fee_period", ("start_period",)): (1, ["202313"]),
            ("expect_column_pair_values_a_to_be_greater_than_b", ("end_period", "start_period")): (
                1,
                [["202205", "202206"]],
            ),
        },
    )


# --------------------------------------------------------------------------- ledgers


def test_ledgers_good(con, gxrun):
    make_raw(
        con,
        "ledgers",
        [
            ledger(),
            ledger(
                insurance_type="330",
                personal_base=Decimal("0.00"),
                unit_base=Decimal("0.00"),
                personal_amount=Decimal("5.00"),
                unit_amount=Decimal("0.00"),
            ),
            ledger(fee_period="202208"),
            ledger(person_id="P009", id_type="护照", id_number="E12345678"),
        ],
    )
    out = gxrun.validate_table(con, "ledgers")
    assert out.success, out.failures
    assert out.row_count == 4


def test_ledgers_bad(con, gxrun):
    make_raw(
        con,
        "ledgers",
        [
            ledger(),
            ledger(person_id="P002", id_number=ID_B_BAD),
            ledger(fee_period="202313"),
            ledger(insurance_type="999"),
            ledger(insurance_type="510", personal_amount=Decimal("-1.00")),
            ledger(fee_period="202208", insurance_type="210"),
            ledger(fee_period="202208", insurance_type="210", personal_amount=Decimal("49.03")),  # same key
        ],
    )
    out = gxrun.validate_table(con, "ledgers")
    key = tuple(schema.LEDGERS.natural_key)
    dup = {
        "unit_id": "U001",
        "person_id": "P001",
        "fee_period": "202208",
        "insurance_type": "210",
        "contribution_type": "正常应缴",
    }
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_be_valid_cn_id_number", ("id_number",)): (1, [ID_B_BAD]),
            ("expect_column_values_to_be_valid_fee_period", ("fee_period",)): (1, ["202313"]),
            ("expect_column_values_to_be_in_set", ("insurance_type",)): (1, ["999"]),
            ("expect_column_values_to_be_between", ("personal_amount",)): (1, [-1.0]),
            ("expect_compound_columns_to_be_unique", key): (2, [dup, dup]),
        },
    )


def test_ledgers_validated_in_chunks_give_the_same_outcome(con, gxrun):
    """Chunks are whole fee periods (part of the natural key): duplicates are still found exactly."""
    make_raw(
        con,
        "ledgers",
        [
            ledger(),
            ledger(person_id="P002", id_number=ID_B_BAD),
            ledger(fee_period="202313"),
            ledger(fee_period="202208", insurance_type="210"),
            ledger(fee_period="202208", insurance_type="210", personal_amount=Decimal("49.03")),  # same key
            ledger(fee_period="202209", person_id="P003", id_number=ID_B_BAD),
        ],
    )
    whole = gxrun.validate_table(con, "ledgers")
    chunked = gxrun.validate_table(con, "ledgers", chunk_rows=1)
    assert chunked.row_count == whole.row_count == 6
    assert (chunked.success, chunked.evaluated_expectations, chunked.successful_expectations) == (
        whole.success,
        whole.evaluated_expectations,
        whole.successful_expectations,
    )
    key = tuple(schema.LEDGERS.natural_key)
    dup = {
        "unit_id": "U001",
        "person_id": "P001",
        "fee_period": "202208",
        "insurance_type": "210",
        "contribution_type": "正常应缴",
    }
    expected = {
        ("expect_column_values_to_be_valid_cn_id_number", ("id_number",)): (2, [ID_B_BAD, ID_B_BAD]),
        ("expect_column_values_to_be_valid_fee_period", ("fee_period",)): (1, ["202313"]),
        ("expect_compound_columns_to_be_unique", key): (2, [dup, dup]),
    }
    assert_fails_exactly(whole, expected)
    assert_fails_exactly(chunked, expected)


def test_chunk_plan_packs_small_values_and_cuts_a_large_one():
    from expectations.run import plan_chunks

    counts = [("202401", 5), ("202402", 1), ("202403", 1), ("202404", 3)]
    assert plan_chunks(counts, 2, split=True) == [
        (["202401"], 0, 3),
        (["202401"], 1, 3),
        (["202401"], 2, 3),
        (["202402", "202403"], 0, 1),
        (["202404"], 0, 2),
        (["202404"], 1, 2),
    ]
    # without a split column a large value stays whole (its key could span any other cut)
    assert plan_chunks(counts, 2, split=False) == [(["202401"], 0, 1), (["202402", "202403"], 0, 1), (["202404"], 0, 1)]


def test_a_fee_period_larger_than_a_chunk_is_cut_by_person_and_stays_exact(con, gxrun, monkeypatch):
    """SF 100 has ~2.9M lines a fee period: the period is cut by a hash of person_id, so a
    person's lines (and so every natural key) stay in one chunk and duplicates are still found."""
    rows = [ledger(person_id=f"P{i:03d}", insurance_type=t) for i in range(1, 13) for t in ("110", "210")]
    rows += [
        ledger(person_id="P005", insurance_type="210", personal_amount=Decimal("49.03")),  # same key as a row above
        ledger(person_id="P007", id_number=ID_B_BAD, insurance_type="310"),
    ]
    make_raw(con, "ledgers", rows)
    whole = gxrun.validate_table(con, "ledgers")
    seen: list[pd.DataFrame] = []
    real = gxrun.validate_dataframe
    monkeypatch.setattr(gxrun, "validate_dataframe", lambda df, suite: seen.append(df) or real(df, suite))
    chunked = gxrun.validate_table(con, "ledgers", chunk_rows=5)
    assert len(seen) == 6  # 26 lines of one fee period in ceil(26 / 5) hash parts
    persons = [set(df["person_id"]) for df in seen]
    assert sum(map(len, persons)) == len(set().union(*persons)) == 12  # each person in one chunk only
    assert sum(len(df) for df in seen) == chunked.row_count == whole.row_count == 26
    dup = {
        "unit_id": "U001",
        "person_id": "P005",
        "fee_period": "202207",
        "insurance_type": "210",
        "contribution_type": "正常应缴",
    }
    expected = {
        ("expect_column_values_to_be_valid_cn_id_number", ("id_number",)): (1, [ID_B_BAD]),
        ("expect_compound_columns_to_be_unique", tuple(schema.LEDGERS.natural_key)): (2, [dup, dup]),
    }
    assert_fails_exactly(whole, expected)
    assert_fails_exactly(chunked, expected)


def test_a_validated_chunk_is_freed_before_the_next_is_read(con, gxrun, monkeypatch):
    """GX keeps a frame in reference cycles; the check frees each chunk's frame itself (the SF 100
    ledgers check otherwise held every fee period's frame and grew past 20 GB)."""
    import weakref

    make_raw(con, "ledgers", [ledger(fee_period=f"2024{m:02d}") for m in range(1, 9)])
    frames: list[weakref.ref] = []
    real = gxrun.validate_dataframe

    def spy(df, suite):
        # GX's current context may still hold the frame just before this one; none older
        assert [ref() is None for ref in frames[:-1]] == [True] * len(frames[:-1])
        frames.append(weakref.ref(df))
        return real(df, suite)

    monkeypatch.setattr(gxrun, "validate_dataframe", spy)
    out = gxrun.validate_table(con, "ledgers", chunk_rows=1)
    assert len(frames) == 8 and out.row_count == 8 and out.success


def test_ledgers_three_decimals(con, gxrun):
    # raw.ledgers is DECIMAL(18,2), so a third decimal can only appear if the table drifts
    # from the contract; the suite is the guard for that.
    make_raw(
        con,
        "ledgers",
        [ledger(), ledger(fee_period="202208", unit_amount=Decimal("588.305"))],
        types={"unit_amount": "DECIMAL(18,3)"},
    )
    out = gxrun.validate_table(con, "ledgers")
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_have_at_most_two_decimals", ("unit_amount",)): (1, [588.305]),
        },
    )


def test_ledgers_only_live_rows_and_where(con, gxrun):
    make_raw(
        con,
        "ledgers",
        [
            ledger(),
            ledger(fee_period="202313", superseded_at=dt.datetime(2025, 2, 1)),  # replaced file version
            ledger(fee_period="209913", load_id="L2"),
        ],
    )
    assert gxrun.validate_table(con, "ledgers", "load_id = ?", params=["L1"]).success
    out = gxrun.validate_table(con, "ledgers")
    assert out.row_count == 2
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_be_valid_fee_period", ("fee_period",)): (1, ["209913"]),
        },
    )


def test_missing_column_fails_with_reason(con, gxrun):
    make_raw(con, "employers", [employer()])
    con.execute("ALTER TABLE raw.employers DROP COLUMN risk_class")
    out = gxrun.validate_table(con, "employers")
    assert out.success is False
    bad = [f for f in out.failures if f["columns"] == ["risk_class"]]
    assert len(bad) == 2 and all('"risk_class"' in f["exception"] for f in bad)


def test_unknown_source(con, gxrun):
    with pytest.raises(ValueError):
        gxrun.validate_table(con, "quarantine")


# --------------------------------------------------------------------------- custom expectations


def test_fee_period_and_decimals_on_dataframes(gxrun):
    import great_expectations as gx

    from expectations.custom import ExpectColumnValuesToBeValidFeePeriod, ExpectColumnValuesToHaveAtMostTwoDecimals

    df = pd.DataFrame(
        {
            "p": ["199001", "198912", "210012", "210101", "20231", "2023-1", "202300", "202412"],
            "d": [
                Decimal("1.00"),
                Decimal("1.005"),
                Decimal("0.1"),
                Decimal("2"),
                Decimal("7.10"),
                None,
                Decimal("1E-3"),
                Decimal("3"),
            ],
            "s": ["1.00", "1.005", "12", "abc", "0.10", None, "3.1", "-2.999"],
            "f": [0.1 + 0.2, 12345678.91, 1e9 + 0.01, 1.005, -0.01, None, 100.0, 0.001],
        }
    )
    suite = gx.ExpectationSuite(
        name="custom",
        expectations=[
            ExpectColumnValuesToBeValidFeePeriod(column="p"),
            ExpectColumnValuesToHaveAtMostTwoDecimals(column="d"),
            ExpectColumnValuesToHaveAtMostTwoDecimals(column="s"),
            ExpectColumnValuesToHaveAtMostTwoDecimals(column="f"),
        ],
    )
    out = gxrun.validate_dataframe(df, suite)
    got = {f["column"]: f["partial_unexpected_list"] for f in out.failures}
    assert got == {
        "p": ["198912", "210101", "20231", "2023-1", "202300"],
        "d": ["1.005", "0.001"],
        "s": ["1.005", "abc", "-2.999"],
        "f": [1.005, 0.001],
    }


# --------------------------------------------------------------------------- soft suite


def contribution_checks(con, rows) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute("""CREATE OR REPLACE TABLE intermediate.int_contribution_checks (
        ledger_line_id VARCHAR, personal_amount_diff DECIMAL(18,2), unit_amount_diff DECIMAL(18,2),
        base_below_floor BOOLEAN, base_above_cap BOOLEAN)""")
    con.executemany("INSERT INTO intermediate.int_contribution_checks VALUES (?, ?, ?, ?, ?)", rows)


def test_soft_suite_tolerates_one_fen(con, gxrun):
    contribution_checks(
        con,
        [
            ("a", Decimal("0.00"), Decimal("0.00"), False, False),
            ("b", Decimal("0.01"), Decimal("-0.01"), False, False),
            ("c", None, Decimal("0.00"), False, False),  # no personal rate: nothing to compare
        ],
    )
    out = gxrun.validate_contribution_checks(con)
    assert out.success, out.failures
    assert out.suite == "contribution_lines_soft" and out.evaluated_expectations == 4


def test_soft_suite_flags_two_fen_and_limits(con, gxrun):
    contribution_checks(
        con,
        [
            ("a", Decimal("0.01"), Decimal("0.02"), False, False),
            ("b", Decimal("-0.02"), Decimal("-0.01"), True, False),
            ("c", Decimal("0.00"), Decimal("0.00"), False, True),
        ],
    )
    out = gxrun.validate_contribution_checks(con)
    assert_fails_exactly(
        out,
        {
            ("expect_column_values_to_be_between", ("personal_amount_diff",)): (1, [-0.02]),
            ("expect_column_values_to_be_between", ("unit_amount_diff",)): (1, [0.02]),
            ("expect_column_values_to_be_in_set", ("base_below_floor",)): (1, [True]),
            ("expect_column_values_to_be_in_set", ("base_above_cap",)): (1, [True]),
        },
    )
    # The same suite on a frame the caller built with Decimal values.
    from expectations.suites import contribution_lines_soft_suite

    df = pd.DataFrame(
        {
            "personal_amount_diff": [Decimal("0.01"), Decimal("0.02")],
            "unit_amount_diff": [Decimal("-0.01"), Decimal("0.00")],
            "base_below_floor": [False, False],
            "base_above_cap": [False, False],
        }
    )
    out = gxrun.validate_dataframe(df, contribution_lines_soft_suite())
    assert [(f["column"], f["partial_unexpected_list"]) for f in out.failures] == [("personal_amount_diff", ["0.02"])]


def test_soft_suite_reads_the_tolerance_the_dbt_models_use(tmp_path, monkeypatch, gxrun):
    """One tolerance: the dbt project's var. Another value there moves GX's bounds with it."""
    from expectations import suites

    assert suites.amount_tolerance() == Decimal("0.01")
    project = (paths.DBT_PROJECT_DIR / "dbt_project.yml").read_text("utf-8")
    assert "amount_tolerance: 0.01" in project
    assert "{{ var('amount_tolerance') }}" in (paths.DBT_PROJECT_DIR / "macros" / "rules" / "quality.sql").read_text()
    other = tmp_path / "dbt_project"
    other.mkdir()
    (other / "dbt_project.yml").write_text(project.replace("amount_tolerance: 0.01", "amount_tolerance: 0.05"), "utf-8")
    monkeypatch.setattr(suites.paths, "DBT_PROJECT_DIR", other)
    suites.amount_tolerance.cache_clear()
    try:
        suite = suites.contribution_lines_soft_suite()
        df = pd.DataFrame(
            {
                "personal_amount_diff": [Decimal("0.05"), Decimal("0.06")],
                "unit_amount_diff": [Decimal("-0.05"), Decimal("0.00")],
                "base_below_floor": [False, False],
                "base_above_cap": [False, False],
            }
        )
        out = gxrun.validate_dataframe(df, suite)
        assert [(f["column"], f["partial_unexpected_list"]) for f in out.failures] == [
            ("personal_amount_diff", ["0.06"])
        ]
        assert [e.description for e in suite.expectations if "0.0" in (e.description or "")] == [
            "个人缴费金额与基数×费率相差不超过0.05元",
            "单位缴费金额与基数×费率相差不超过0.05元",
        ]
    finally:
        suites.amount_tolerance.cache_clear()


# --------------------------------------------------------------------------- metadata


def test_metadata_is_json(con, gxrun):
    make_raw(con, "persons", [person(), person(person_id="P002", id_number=ID_C, birth_date=dt.date(1985, 12, 13))])
    meta = gxrun.validate_table(con, "persons").to_metadata()
    assert json.loads(json.dumps(meta, ensure_ascii=False)) == meta
    assert meta["success"] is False and meta["row_count"] == 2
    assert meta["failures"] == [
        {
            "expectation": "expect_column_pair_id_number_to_match_birth_date",
            "description": "出生日期与身份证号码一致",
            "columns": ["id_number", "birth_date"],
            "unexpected_count": 1,
            "unexpected_percent": 50.0,
            "partial_unexpected_list": [[ID_C, "1985-12-13"]],
        }
    ]


@pytest.mark.slow  # a fresh interpreter importing GX: about 15 s
def test_importing_the_suites_switches_gx_analytics_off(tmp_path):
    """Without the variable in the environment, importing our GX code must set it before GX loads."""
    import subprocess

    from tests.support.processes import python_probe

    env = {k: v for k, v in os.environ.items() if k != "GX_ANALYTICS_ENABLED"}
    result = tmp_path / "result.txt"
    # The answer goes to a file, not stdout: a library's exit hook must not be able to swallow it.
    code = (
        "import sys, os, pathlib; import expectations.run; "
        f"pathlib.Path({str(result)!r}).write_text("
        "f\"{os.environ.get('GX_ANALYTICS_ENABLED')} {'great_expectations' in sys.modules}\")"
    )
    done = subprocess.run(python_probe(tmp_path, code), env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert result.read_text().split() == ["false", "True"], (done.stdout[-2000:], done.stderr[-2000:])
