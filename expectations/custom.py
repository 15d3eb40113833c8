"""Custom GX 1.x expectations for Chinese identifiers, fee periods and money.

The identifier checks call pipelines.ingest.identifiers (the loader's own rules), so
the loader and the suites can never disagree on what a valid ID or USCC is. Python
per-value checks run once per *distinct* value and are mapped back with ``isin``:
ledgers repeat the same ID on every line, so 1M lines cost a few thousand calls.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    ColumnPairMapMetricProvider,
    column_condition_partial,
    column_pair_condition_partial,
)

import expectations  # noqa: F401  (sets GX_ANALYTICS_ENABLED before GX is imported)
from foundation.landing.identifiers import id_birth_date, id_number_problem, uscc_problem

FEE_PERIOD_MIN_YEAR = 1990
FEE_PERIOD_MAX_YEAR = 2100


def _ok_by_distinct(column: pd.Series, ok: Callable[[object], bool]) -> pd.Series:
    """Evaluate ``ok`` once per distinct non-null value and map the verdict back."""
    values = column.dropna().unique()
    bad = [v for v in values if not ok(v)]
    if not bad:
        return pd.Series(True, index=column.index)
    return ~column.isin(bad)


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


# --- resident ID number (GB 11643) --------------------------------------------------


class ColumnValuesValidCnIdNumber(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_cn_id_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return _ok_by_distinct(column, lambda v: id_number_problem(_as_text(v)) is None)


class ExpectColumnValuesToBeValidCnIdNumber(ColumnMapExpectation):
    """18-character resident ID number with a correct ISO 7064 MOD 11-2 check character."""

    map_metric: ClassVar[str] = "column_values.valid_cn_id_number"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["shebao"], "contributors": ["shebao"]}


# --- unified social credit code (GB 32100) ------------------------------------------


class ColumnValuesValidUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_uscc"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return _ok_by_distinct(column, lambda v: uscc_problem(_as_text(v)) is None)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """18-character unified social credit code with a correct MOD 31 check character."""

    map_metric: ClassVar[str] = "column_values.valid_uscc"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["shebao"], "contributors": ["shebao"]}


# --- ID number agrees with the birth date --------------------------------------------


def _as_date(value: object) -> dt.date | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _id_matches_birth(id_number: object, birth: object) -> bool:
    born = _as_date(birth)
    return born is not None and id_birth_date(_as_text(id_number).strip()) == born


class ColumnPairIdNumberMatchesBirthDate(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.id_number_matches_birth_date"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_A",
        "column_B",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ()

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        # Once per distinct (id, birth) pair; persons have one row per person anyway.
        pairs = pd.DataFrame({"a": column_A.to_numpy(), "b": column_B.to_numpy()})
        distinct = pairs.drop_duplicates()
        verdict = [_id_matches_birth(a, b) for a, b in zip(distinct["a"], distinct["b"])]
        distinct = distinct.assign(ok=verdict)
        ok = pairs.merge(distinct, on=["a", "b"], how="left")["ok"]
        return pd.Series(ok.to_numpy(dtype=bool), index=column_A.index)


class ExpectColumnPairIdNumberToMatchBirthDate(ColumnPairMapExpectation):
    """Digits 7-14 of the ID number (column_A) equal the birth date (column_B)."""

    ignore_row_if: Literal["both_values_are_missing", "either_value_is_missing", "neither"] = "either_value_is_missing"
    map_metric: ClassVar[str] = "column_pair_values.id_number_matches_birth_date"
    success_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B", "ignore_row_if", "mostly")
    args_keys: ClassVar[tuple[str, ...]] = ("column_A", "column_B")
    library_metadata: ClassVar[dict] = {"tags": ["shebao"], "contributors": ["shebao"]}


# --- fee period YYYYMM -----------------------------------------------------------------


_FEE_PERIOD = re.compile(r"[0-9]{6}")


def fee_period_ok(value: object, min_year: int, max_year: int) -> bool:
    text = _as_text(value)
    if not _FEE_PERIOD.fullmatch(text):
        return False
    return min_year <= int(text[:4]) <= max_year and 1 <= int(text[4:]) <= 12


class ColumnValuesValidFeePeriod(ColumnMapMetricProvider):
    condition_metric_name = "column_values.valid_fee_period"
    condition_value_keys = ("min_year", "max_year")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, min_year=FEE_PERIOD_MIN_YEAR, max_year=FEE_PERIOD_MAX_YEAR, **kwargs):
        # A few hundred distinct periods per million lines: check each once.
        return _ok_by_distinct(column, lambda v: fee_period_ok(v, min_year, max_year))


class ExpectColumnValuesToBeValidFeePeriod(ColumnMapExpectation):
    """A fee period is YYYYMM with month 01-12 and a year within [min_year, max_year]."""

    min_year: int = FEE_PERIOD_MIN_YEAR
    max_year: int = FEE_PERIOD_MAX_YEAR
    map_metric: ClassVar[str] = "column_values.valid_fee_period"
    success_keys: ClassVar[tuple[str, ...]] = ("min_year", "max_year", "mostly")
    library_metadata: ClassVar[dict] = {"tags": ["shebao"], "contributors": ["shebao"]}


# --- money with at most two decimals ---------------------------------------------------

_FEN = Decimal("0.01")


def _decimal_has_at_most_two_places(value: object) -> bool:
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        return False
    return d.is_finite() and d == d.quantize(_FEN)


class ColumnValuesAtMostTwoDecimals(ColumnMapMetricProvider):
    condition_metric_name = "column_values.at_most_two_decimals"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        if pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
            return pd.Series(True, index=column.index)
        if pd.api.types.is_float_dtype(column.dtype):
            # DuckDB hands DECIMAL to pandas as float64. A value that really has a third
            # decimal is >= 0.1 fen off a whole fen; float noise is ~1e-14 relative.
            fen = column.to_numpy(dtype="float64", na_value=np.nan) * 100.0
            tolerance = 1e-6 + np.abs(fen) * 1e-14
            ok = np.abs(fen - np.rint(fen)) <= tolerance
            return pd.Series(ok | np.isnan(fen), index=column.index)
        # Decimal objects or text: exact, once per distinct value.
        return _ok_by_distinct(column, _decimal_has_at_most_two_places)


class ExpectColumnValuesToHaveAtMostTwoDecimals(ColumnMapExpectation):
    """Money is kept to the fen: no value may carry a third decimal."""

    map_metric: ClassVar[str] = "column_values.at_most_two_decimals"
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["shebao"], "contributors": ["shebao"]}
