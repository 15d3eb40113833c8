"""SQL that types a landing cell and words the Chinese problem of a bad one.

Cells arrive as trimmed text or NULL (readers.clean_table). Each column has a typed
expression (NULL when the text is not valid) and a list of (condition, problem) pairs;
the cheap combined test decides which rows fail, and the problem text is only built for
those rows.
"""

from __future__ import annotations

from foundation.landing import schema
from foundation.landing.schema import Column, Source
from pipelines.ingest.sql import lit, lits

PERIOD_COLUMNS = {"fee_period", "start_period", "end_period"}
MAX_CELL_CHARS = 1000  # longer text in any field is no value of ours (a pasted document, a broken export)
QUOTE_MAX_CHARS = 200  # a reason quotes at most this much of a value
VOCABULARIES: dict[tuple[str | None, str], tuple[str, ...]] = {
    (None, "contribution_type"): schema.CONTRIBUTION_TYPES,
    (None, "paid_status"): schema.PAID_STATUSES,
    (None, "sex"): schema.SEXES,
    (None, "post_category"): schema.POST_CATEGORIES,
    (None, "unit_type"): schema.UNIT_TYPES,
    ("enrolments", "status"): schema.ENROLMENT_STATUSES,
}
INT_RANGES = {"risk_class": (1, 8), "month_count": (1, 600)}
RESIDENT_ID_SPELLINGS = (
    "身份证",
    "居民身份证(户口簿)",
    "居民身份证（户口簿）",
    "居民身份证(户口薄)",
    "居民身份证（户口薄）",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")


def resident_sql() -> str:
    return "(id_type IS NULL OR id_type IN (" + lits(("居民身份证",) + RESIDENT_ID_SPELLINGS) + "))"


def typed_sql(source: Source, col: Column, valid: bool = False) -> str:
    """The typed value, or NULL when the text is not valid.

    Money, periods and dates first try a cheap exact cast (TRY_CAST plus a shape or
    round-trip test, so only text the strict pattern accepts passes); the regular
    expressions run only on the rows the cast did not settle (DuckDB evaluates a CASE
    branch only for the rows that reach it).
    """
    c = col.name
    if c == "id_type":
        return (
            f"CASE WHEN id_type IS NULL OR id_type IN ({lits(RESIDENT_ID_SPELLINGS)}) "
            f"THEN {lit(schema.DEFAULT_ID_TYPE)} ELSE id_type END"
        )
    if c in ("id_number", "uscc"):
        return f"upper({c})"
    if c == "region":
        return "__region_code"
    if c == "insurance_type":
        return "__insurance_code"
    if c in PERIOD_COLUMNS:
        # six characters with a value 195001-209912 are six digits; then only the month is left to test
        n = f"TRY_CAST({c} AS INTEGER)"
        p = (
            f"CASE WHEN regexp_full_match({c}, '\\d{{4}}[-/.]\\d{{2}}') "
            f"THEN substr({c}, 1, 4) || substr({c}, 6, 2) ELSE {c} END"
        )
        return (
            f"CASE WHEN length({c}) = 6 AND {n} BETWEEN 195001 AND 209912 AND {n} % 100 BETWEEN 1 AND 12 THEN {c} "
            f"WHEN regexp_full_match({p}, '(19[5-9]\\d|20\\d\\d)(0[1-9]|1[0-2])') THEN {p} END"
        )
    if col.dtype == "INTEGER":
        return f"CASE WHEN regexp_full_match({c}, '[+]?\\d{{1,9}}') THEN CAST({c} AS INTEGER) END"
    if col.dtype.startswith("DECIMAL") and valid:
        # text that passed the strict patterns below casts to the same value once its commas are
        # gone; the only valid text with a minus is a zero ("-", "-0.00")
        return (
            f"CASE WHEN starts_with({c}, '-') THEN CAST(0 AS {col.dtype}) "
            f"WHEN contains({c}, ',') THEN CAST(replace({c}, ',', '') AS {col.dtype}) "
            f"ELSE CAST({c} AS {col.dtype}) END"
        )
    if col.dtype.startswith("DECIMAL"):
        # canonical text ("8890.00") round-trips through the cast exactly; anything else takes the strict patterns
        d = f"TRY_CAST({c} AS {col.dtype})"
        m = f"replace({c}, ',', '')"
        return (
            f"CASE WHEN CAST({d} AS VARCHAR) = {c} AND NOT starts_with({c}, '-') THEN {d} "
            f"WHEN regexp_full_match({m}, '[+]?(\\d{{1,16}}(\\.\\d{{0,2}}0*)?|\\.\\d{{1,2}}0*)') "
            f"THEN CAST({m} AS {col.dtype}) "
            f"WHEN regexp_full_match({m}, '-(0*(\\.0*)?)') THEN CAST(0 AS {col.dtype}) END"
        )
    if col.dtype == "DATE":
        return (
            f"CASE WHEN length({c}) = 10 AND substr({c}, 5, 1) = '-' AND substr({c}, 8, 1) = '-' "
            f"AND TRY_CAST({c} AS DATE) IS NOT NULL THEN TRY_CAST({c} AS DATE) "
            f"ELSE CAST(try_strptime({c}, [{lits(DATE_FORMATS)}]) AS DATE) END"
        )
    return c


def _month_number(period: str) -> str:
    """A typed YYYYMM as a month count (year x 12 + month), for spans between two periods."""
    return f"(CAST(substr({period}, 1, 4) AS INTEGER) * 12 + CAST(substr({period}, 5, 2) AS INTEGER))"


def _legacy_branches(c: str, pension: tuple[str, ...]) -> list[tuple[str, str]]:
    """Cross-field rules of a legacy-history spell (历史缴费记录): the conditions a row must not meet."""
    span = f"({_month_number('t_end_period')} - {_month_number('t_start_period')} + 1)"
    if c == "end_period":
        return [("t_end_period < t_start_period", lit("终止年月早于起始年月"))]
    if c == "month_count":
        return [
            (
                f"t_month_count IS NOT NULL AND t_end_period IS NOT NULL AND t_start_period IS NOT NULL "
                f"AND t_end_period >= t_start_period AND t_month_count <> {span}",
                f"'与起止年月不符（起止年月共' || {span} || '个月）'",
            )
        ]
    if c == "account_balance":
        codes = lits(pension) if pension else "''"
        return [
            (
                f"t_account_balance IS NOT NULL AND __insurance_code NOT IN ({codes})",
                lit("只有养老保险可以填写个人账户迁移金额"),
            )
        ]
    return []


def quoted(expr: str) -> str:
    """A value as a reason quotes it: at most QUOTE_MAX_CHARS characters, then an ellipsis."""
    return f"CASE WHEN length({expr}) > {QUOTE_MAX_CHARS} THEN left({expr}, {QUOTE_MAX_CHARS}) || '…' ELSE {expr} END"


def error_branches(
    source: Source, col: Column, region_names: list[str], pension: tuple[str, ...] = (), long: bool = False
) -> tuple[list[tuple[str, str]], str | None]:
    """(WHEN condition, Chinese problem) pairs of this field in schema order, and a cheap test that none holds.

    The problem text is only built for rows that failed (see checks.py); the
    cheap test (NULL when the field has no check) decides which rows those are.
    """
    c, t = col.name, f"t_{col.name}"
    branches = []
    ok = []
    if long:  # only for a column the reader found a long cell in: the common file pays nothing
        branches.append(
            (
                f"length({c}) > {MAX_CELL_CHARS}",
                f"'内容过长（' || length({c}) || '个字符，最多{MAX_CELL_CHARS}个）'",
            )
        )
        ok.append(f"coalesce(length({c}) <= {MAX_CELL_CHARS}, true)")
    if not col.nullable:
        branches.append((f"{c} IS NULL", lit("必填字段为空")))
        ok.append(f"{c} IS NOT NULL")
    if c == "id_number":
        branches.append(("__resident AND __id_problem IS NOT NULL", "__id_problem"))
        ok.append("(__id_problem IS NULL OR NOT __resident)")
    elif c == "uscc":
        branches.append(("__uscc_problem IS NOT NULL", "__uscc_problem"))
        ok.append("__uscc_problem IS NULL")
    elif c == "region":
        branches.append(
            (f"{c} IS NOT NULL AND {t} IS NULL", lit("未知的参保地（应为" + "、".join(region_names) + "或其代码）"))
        )
    elif c == "insurance_type":
        branches.append(
            (f"{c} IS NOT NULL AND {t} IS NULL", lit("未知的险种类型（应为险种代码或险种名称，见险种代码表）"))
        )
    elif c in PERIOD_COLUMNS:
        branches.append((f"{c} IS NOT NULL AND {t} IS NULL", lit("年月无效（应为YYYYMM格式，月份为01-12）")))
    elif col.dtype == "INTEGER":
        branches.append((f"{c} IS NOT NULL AND {t} IS NULL", lit("不是有效的整数")))
        if c in INT_RANGES:
            lo, hi = INT_RANGES[c]
            branches.append((f"{t} NOT BETWEEN {lo} AND {hi}", lit(f"应为{lo}-{hi}之间的整数")))
            ok.append(f"coalesce({t} BETWEEN {lo} AND {hi}, true)")
    elif col.dtype.startswith("DECIMAL"):
        m = f"replace({c}, ',', '')"
        branches += [
            (
                f"{c} IS NOT NULL AND {t} IS NULL AND NOT regexp_full_match({m}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)')",
                lit("不是有效的数字"),
            ),
            (f"{c} IS NOT NULL AND {t} IS NULL AND starts_with({m}, '-')", lit("不能为负数")),
            (
                f"{c} IS NOT NULL AND {t} IS NULL AND regexp_matches({m}, '\\.\\d{{2}}0*[1-9]')",
                lit("金额最多保留两位小数"),
            ),
            (f"{c} IS NOT NULL AND {t} IS NULL", lit("数值超出范围")),
        ]
    elif col.dtype == "DATE":
        branches.append((f"{c} IS NOT NULL AND {t} IS NULL", lit("不是有效的日期（应为YYYY-MM-DD）")))
    if (
        c in PERIOD_COLUMNS
        or col.dtype in ("INTEGER", "DATE")
        or col.dtype.startswith("DECIMAL")
        or c in ("region", "insurance_type")
    ):
        ok.append(f"({c} IS NULL OR {t} IS NOT NULL)")
    vocab = VOCABULARIES.get((source.name, c)) or VOCABULARIES.get((None, c))
    if vocab:
        branches.append(
            (
                f"{c} IS NOT NULL AND {c} NOT IN ({lits(vocab)})",
                lit("不在允许的取值范围内（应为" + "、".join(vocab) + "）"),
            )
        )
        ok.append(f"({c} IS NULL OR {c} IN ({lits(vocab)}))")
    if source.name == "persons" and c == "birth_date":
        cond = (
            f"{t} IS NOT NULL AND __resident AND __id_problem IS NULL AND __id_birth IS NOT NULL AND __id_birth <> {t}"
        )
        branches.append((cond, "'出生日期与证件号码不一致（证件号码中为' || strftime(__id_birth, '%Y-%m-%d') || '）'"))
        ok.append(f"({cond}) IS NOT TRUE")
    if source.name == "legacy_history":
        for cond, msg in _legacy_branches(c, pension):
            branches.append((cond, msg))
            ok.append(f"({cond}) IS NOT TRUE")
    return branches, (" AND ".join(ok) if ok else None)


def error_sql(
    source: Source, col: Column, region_names: list[str], pension: tuple[str, ...] = (), long: bool = False
) -> str:
    """CASE yielding the Chinese problem of this field (without file/row prefix), or NULL."""
    branches, _ = error_branches(source, col, region_names, pension, long)
    if not branches:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in branches) + " END"


def category_sql(expr: str) -> str:
    return f"regexp_replace({expr}, '[（，].*$', '')"
