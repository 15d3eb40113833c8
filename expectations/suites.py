"""The GX suites, as code: one function per suite, reviewed like any other code.

Vocabularies come from pipelines/ingest/schema.py and the dbt reference seeds; nothing
is typed twice. Each function returns a fresh ExpectationSuite (suites hold no data).
Descriptions are Chinese because they end up in the data-quality report.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from functools import cache

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.expectations.row_conditions import Column as C

import expectations  # noqa: F401  (sets GX_ANALYTICS_ENABLED before GX is imported)
from expectations.custom import (
    ExpectColumnPairIdNumberToMatchBirthDate,
    ExpectColumnValuesToBeValidCnIdNumber,
    ExpectColumnValuesToBeValidFeePeriod,
    ExpectColumnValuesToBeValidUscc,
    ExpectColumnValuesToHaveAtMostTwoDecimals,
)
from foundation import paths
from foundation.landing import schema
from foundation.landing.schema import Source, raw_column_name

SEED_DIR = paths.REFERENCE_SEEDS_DIR

# Only resident ID numbers carry a GB 11643 check character; passports etc. are exempt.
# The loader fills an empty 证件类型 with DEFAULT_ID_TYPE; null is treated the same.
# Raw tables hold the canonicalised region code in region_code (the loader's naming).
REGION = raw_column_name(schema.EMPLOYERS.column("region"))

RESIDENT_ID_ROWS = C("id_type").is_null() | (C("id_type") == schema.DEFAULT_ID_TYPE)


@cache
def amount_tolerance() -> Decimal:
    """The soft findings' tolerance in yuan: the dbt project's var, so GX and the models that
    flag the same lines (int_contribution_checks, rpt_data_quality_findings) cannot disagree."""
    import yaml  # type: ignore[import-untyped]

    project = yaml.safe_load((paths.DBT_PROJECT_DIR / "dbt_project.yml").read_text("utf-8"))
    return Decimal(str(project["vars"]["amount_tolerance"]))


# Columns the soft suite expects from the dbt model it validates (int_contribution_checks).
CONTRIBUTION_CHECK_COLUMNS = (
    "personal_amount_diff",  # personal_amount - round_half_up(personal_base x personal_rate, 2)
    "unit_amount_diff",  # unit_amount - round_half_up(unit_base x unit_rate, 2)
    "base_below_floor",  # boolean: base under the year's published floor
    "base_above_cap",  # boolean: base over the year's published cap
)
# The dbt model that provides them (one row per current ledger line).
CONTRIBUTION_CHECKS_RELATION = "intermediate.int_contribution_checks"


@cache
def seed_values(seed: str, column: str) -> tuple[str, ...]:
    """Distinct values of one column of a reference seed, as text, in file order."""
    with open(SEED_DIR / f"{seed}.csv", newline="", encoding="utf-8") as fh:
        values = [row[column].strip() for row in csv.DictReader(fh)]
    return tuple(dict.fromkeys(v for v in values if v))


def region_codes() -> list[str]:
    return list(seed_values("regions", "region_code"))


def insurance_type_codes() -> list[str]:
    return list(seed_values("insurance_types", "insurance_type"))


def risk_classes() -> list[int]:
    return [int(v) for v in seed_values("work_injury_rates", "risk_class")]


def _suite(name: str, exps: list) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=name, expectations=exps)
    # The constructor only logs an expectation it cannot take; a check must not vanish.
    if len(suite.expectations) != len(exps):
        raise ValueError(f"suite {name}: {len(exps) - len(suite.expectations)} expectation(s) rejected")
    return suite


def _contract(source: Source) -> list:
    """What schema.py already says: mandatory columns filled, natural key unique."""
    exps: list = [
        gxe.ExpectColumnValuesToNotBeNull(column=raw_column_name(c), description=f"{c.label}不能为空")
        for c in source.columns
        if c.required and not c.nullable
    ]
    key = [raw_column_name(source.column(k)) for k in source.natural_key]
    key_label = "+".join(source.column(k).label for k in source.natural_key)
    if len(key) == 1:
        exps.append(gxe.ExpectColumnValuesToBeUnique(column=key[0], description=f"{key_label}不能重复"))
    else:
        exps.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=key, description=f"同一{key_label}不能有重复记录"))
    return exps


def _money(source: Source, non_negative: tuple[str, ...]) -> list:
    exps: list = []
    for c in source.columns:
        if c.dtype != schema.MONEY:
            continue
        exps.append(ExpectColumnValuesToHaveAtMostTwoDecimals(column=c.name, description=f"{c.label}最多两位小数"))
        if c.name in non_negative:
            exps.append(
                gxe.ExpectColumnValuesToBeBetween(column=c.name, min_value=0, description=f"{c.label}不能为负数")
            )
    return exps


def employers_suite() -> gx.ExpectationSuite:
    s = schema.EMPLOYERS
    return _suite(
        "raw_employers",
        _contract(s)
        + [
            ExpectColumnValuesToBeValidUscc(column="uscc", description="统一社会信用代码校验位正确"),
            gxe.ExpectColumnValuesToBeInSet(column=REGION, value_set=region_codes(), description="参保地为已知统筹区"),
            gxe.ExpectColumnValuesToBeInSet(
                column="risk_class", value_set=risk_classes(), description="行业风险类别为1-8类"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="unit_type", value_set=list(schema.UNIT_TYPES), description="单位类型为规定取值"
            ),
        ],
    )


def persons_suite() -> gx.ExpectationSuite:
    s = schema.PERSONS
    return _suite(
        "raw_persons",
        _contract(s)
        + [
            ExpectColumnValuesToBeValidCnIdNumber(
                column="id_number", row_condition=RESIDENT_ID_ROWS, description="居民身份证号码校验位正确"
            ),
            ExpectColumnPairIdNumberToMatchBirthDate(
                column_A="id_number",
                column_B="birth_date",
                row_condition=RESIDENT_ID_ROWS,
                description="出生日期与身份证号码一致",
            ),
            gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=list(schema.SEXES), description="性别为男或女"),
            gxe.ExpectColumnValuesToBeInSet(
                column="post_category", value_set=list(schema.POST_CATEGORIES), description="岗位类别为规定取值"
            ),
        ],
    )


def enrolments_suite() -> gx.ExpectationSuite:
    s = schema.ENROLMENTS
    return _suite(
        "raw_enrolments",
        _contract(s)
        + [
            gxe.ExpectColumnValuesToBeInSet(
                column="insurance_type", value_set=insurance_type_codes(), description="险种类型为已知险种"
            ),
            ExpectColumnValuesToBeValidFeePeriod(column="start_period", description="参保开始年月为有效年月"),
            ExpectColumnValuesToBeValidFeePeriod(column="end_period", description="参保终止年月为有效年月"),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_period",
                column_B="start_period",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                description="参保终止年月不早于开始年月",
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="status", value_set=list(schema.ENROLMENT_STATUSES), description="参保状态为规定取值"
            ),
        ],
    )


def ledgers_suite() -> gx.ExpectationSuite:
    s = schema.LEDGERS
    return _suite(
        "raw_ledgers",
        _contract(s)
        + [
            ExpectColumnValuesToBeValidCnIdNumber(
                column="id_number", row_condition=RESIDENT_ID_ROWS, description="居民身份证号码校验位正确"
            ),
            ExpectColumnValuesToBeValidFeePeriod(column="fee_period", description="费款所属期为有效年月"),
            gxe.ExpectColumnValuesToBeInSet(
                column="insurance_type", value_set=insurance_type_codes(), description="险种类型为已知险种"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="contribution_type", value_set=list(schema.CONTRIBUTION_TYPES), description="缴费类型为规定取值"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="paid_status", value_set=list(schema.PAID_STATUSES), description="到账标志为规定取值"
            ),
            gxe.ExpectColumnValuesToBeInSet(column=REGION, value_set=region_codes(), description="参保地为已知统筹区"),
        ]
        + _money(s, non_negative=("personal_base", "unit_base", "personal_amount", "unit_amount")),
    )


def legacy_history_suite() -> gx.ExpectationSuite:
    """Migrated spells: the loader's rules again on what is stored (start <= end, base >= 0, known codes)."""
    s = schema.LEGACY_HISTORY
    return _suite(
        "raw_legacy_history",
        _contract(s)
        + [
            gxe.ExpectColumnValuesToBeInSet(
                column="insurance_type", value_set=insurance_type_codes(), description="险种类型为已知险种"
            ),
            ExpectColumnValuesToBeValidFeePeriod(column="start_period", description="起始年月为有效年月"),
            ExpectColumnValuesToBeValidFeePeriod(column="end_period", description="终止年月为有效年月"),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="end_period",
                column_B="start_period",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                description="终止年月不早于起始年月",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="month_count", min_value=1, max_value=600, description="缴费月数为1-600"
            ),
            gxe.ExpectColumnValuesToBeInSet(column=REGION, value_set=region_codes(), description="参保地为已知统筹区"),
        ]
        + _money(s, non_negative=("base", "account_balance")),
    )


def contribution_lines_soft_suite() -> gx.ExpectationSuite:
    """Soft (reported, non-blocking): amounts against base x rate, bases against limits."""
    tolerance = amount_tolerance()
    tol = float(tolerance)
    return _suite(
        "contribution_lines_soft",
        [
            gxe.ExpectColumnValuesToBeBetween(
                column="personal_amount_diff",
                min_value=-tol,
                max_value=tol,
                mostly=1.0,
                description=f"个人缴费金额与基数×费率相差不超过{tolerance}元",
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="unit_amount_diff",
                min_value=-tol,
                max_value=tol,
                mostly=1.0,
                description=f"单位缴费金额与基数×费率相差不超过{tolerance}元",
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="base_below_floor", value_set=[False], mostly=1.0, description="缴费基数不低于当年下限"
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="base_above_cap", value_set=[False], mostly=1.0, description="缴费基数不高于当年上限"
            ),
        ],
    )


# The blocking suites by raw source name.
RAW_SUITES: dict[str, Callable[[], gx.ExpectationSuite]] = {
    "employers": employers_suite,
    "persons": persons_suite,
    "enrolments": enrolments_suite,
    "ledgers": ledgers_suite,
    "legacy_history": legacy_history_suite,
}
assert set(RAW_SUITES) == set(schema.SOURCES)
