"""数据质量: quarantined rows, load files, GX results and soft findings, each from its mart or meta table.

Categories and labels come from the quality marts and seeds (rpt_quarantine_reasons, seeds
quality_reasons and quality_checks). Every frame the page shows, and so exports, passes
through mask_frame: a value shaped like an ID number is masked again here, whatever table it
came from (a GX failure sample, a file error), and no English code, "None" or JSON is shown.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from dashboards.db import Reader

# 18-digit resident ID (last character may be X) or the old 15-digit one, not part of a longer number
ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")


def mask_ids(text: str) -> str:
    """First 4 and last 4 characters of every ID-like run kept (docs/domain.md masking)."""
    return ID_LIKE.sub(lambda m: m.group()[:4] + "*" * (len(m.group()) - 8) + m.group()[-4:], text)


def _shown(value: object) -> object:
    if isinstance(value, str):
        return mask_ids(value)
    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else value


def mask_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells with ID numbers masked and empty cells blank (never "None")."""
    out = df.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(_shown)
    return out


def quarantine_by_category(r: Reader) -> pd.DataFrame:
    """Quarantined rows per category and reason (rpt_quarantine_reasons), all sources together."""
    return mask_frame(
        r.df("""select category_label as 问题类别, reason_label as 问题, sum(row_count) as 行数,
                       string_agg(distinct source_label, '、') as 数据源
                from marts.rpt_quarantine_reasons
                group by category_label, category_order, reason_label, reason_order, reason_code
                order by category_order, reason_order""")
    )


def quarantine_by_file(r: Reader) -> pd.DataFrame:
    return mask_frame(
        r.df("""select source_label as 数据源, source_file as 文件, count(*) as 隔离行数
                from marts.rpt_quarantine_current group by all order by 文件""")
    )


def quarantine_rows(r: Reader, reason: str | None = None, source_file: str | None = None) -> pd.DataFrame:
    """The quarantined rows, optionally of one reason label (问题) or one file."""
    params: list = []
    where = "where true"
    if reason:
        where += " and reason_label = ?"
        params.append(reason)
    if source_file:
        where += " and source_file = ?"
        params.append(source_file)
    return mask_frame(
        r.df(
            f"""select source_label as 数据源, source_file as 文件, source_row as 行号, category_label as 问题类别,
                       reason_label as 问题, field_label as 字段, value_masked as 值, reason as 原因
                from marts.rpt_quarantine_current {where} order by source_file, source_row, field""",
            params,
        )
    )


def load_files(r: Reader) -> pd.DataFrame:
    """Per landing file: what was read, loaded, quarantined (rpt_load_files, labelled in Chinese)."""
    return mask_frame(
        r.df("""select source_label as 数据源, source_file as 文件, file_version as 版本, status_label as 状态,
                       rows_read as 读取行数, rows_loaded as 入库行数, rows_quarantined as 隔离行数,
                       rows_skipped as 跳过模板行数, error as 错误, loaded_at as 接收时间,
                       replaced_by as 被替换为
                from marts.rpt_load_files order by source_order, source_file""")
    )


def _labels(r: Reader) -> dict[str, str]:
    return {code: label for code, label in r.rows("select check_code, check_label from reference.quality_checks")}


def describe_failures(raw: str | None, labels: dict[str, str]) -> str:
    """GX failures (JSON as recorded) in one Chinese line: what failed, how many rows, masked samples."""
    if not raw:
        return ""
    try:
        failures = json.loads(raw)
    except (TypeError, ValueError):
        return "未通过详情无法解析"
    parts = []
    for f in failures if isinstance(failures, list) else [failures]:
        if not isinstance(f, dict):
            continue
        what = f.get("description") or labels.get(str(f.get("expectation")), "其他校验")
        text = (
            f"{what}：{f['unexpected_count']} 行未通过" if f.get("unexpected_count") is not None else f"{what}：未通过"
        )
        samples = [str(v) for v in f.get("partial_unexpected_list") or [] if v is not None][:3]
        if samples:
            text += "（示例：" + "、".join(samples) + "）"
        parts.append(text)
    return "；".join(parts)


def expectation_results(r: Reader) -> pd.DataFrame:
    """The latest GX outcome of each check (meta.expectation_results) with Chinese labels."""
    df = r.df("""select coalesce(c.check_label, '其他校验') as 检查,
                        coalesce(s.check_label, '其他校验规则') as 校验规则,
                        case when e.blocking then '阻断' else '仅报告' end as 级别,
                        case when e.success then '通过' else '未通过' end as 结果,
                        e.row_count as 校验行数, e.evaluated_expectations as 期望数,
                        e.successful_expectations as 通过期望数, e.failures as 未通过详情, e.checked_at as 校验时间
                 from meta.expectation_results e
                 left join reference.quality_checks c on c.check_code = e.check_name
                 left join reference.quality_checks s on s.check_code = e.suite
                 order by e.blocking desc, coalesce(c.sort_order, 999), e.check_name""")
    labels = _labels(r)
    df["未通过详情"] = [describe_failures(v, labels) for v in df["未通过详情"]]
    return mask_frame(df)


SOFT_FINDING_COLUMNS = (
    ("source_file", "文件"),
    ("source_row", "行号"),
    ("finding_type", "问题类型"),
    ("message", "说明"),
    ("unit_id", "单位编号"),
    ("person_id", "个人编号"),
    ("fee_period", "费款所属期"),
    ("insurance_type", "险种"),
    ("personal_base", "个人缴费基数"),
    ("personal_amount", "个人缴费"),
    ("expected_personal_amount", "按费率应为（个人）"),
    ("unit_amount", "单位缴费"),
    ("expected_unit_amount", "按费率应为（单位）"),
    ("base_floor", "基数下限"),
    ("base_cap", "基数上限"),
)
SOFT_FINDING_MONEY = [
    "个人缴费基数",
    "个人缴费",
    "按费率应为（个人）",
    "单位缴费",
    "按费率应为（单位）",
    "基数下限",
    "基数上限",
]
# the finding type and insurance shown by their Chinese labels (seeds quality_checks, insurance_types)
_SOFT_EXPR = {
    "finding_type": "coalesce(q.check_label, '其他问题')",
    "insurance_type": "coalesce(it.insurance_name, f.insurance_type)",
}


def soft_findings(r: Reader) -> pd.DataFrame:
    """rpt_data_quality_findings with its columns labelled in Chinese (the row and the reason)."""
    picked = ", ".join(f'{_SOFT_EXPR.get(c, "f." + c)} as "{label}"' for c, label in SOFT_FINDING_COLUMNS)
    return mask_frame(
        r.df(f"""select {picked} from marts.rpt_data_quality_findings f
                 left join reference.quality_checks q on q.check_code = f.finding_type
                 left join reference.insurance_types it
                   on cast(it.insurance_type as varchar) = cast(f.insurance_type as varchar)
                 order by f.source_file, f.source_row""")
    )
