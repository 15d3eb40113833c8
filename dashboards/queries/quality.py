"""数据质量: quarantined rows, load files, GX results and soft findings, each from its mart or meta table."""

from __future__ import annotations

import pandas as pd

from dashboards.db import Reader


def quarantine_by_reason(r: Reader) -> pd.DataFrame:
    return r.df("""select source_label as 数据源, reason as 原因, count(*) as 行数
                   from marts.rpt_quarantine_current group by all order by 行数 desc, 原因""")


def quarantine_by_file(r: Reader) -> pd.DataFrame:
    return r.df("""select source_label as 数据源, source_file as 文件, count(*) as 隔离行数
                   from marts.rpt_quarantine_current group by all order by 文件""")


def quarantine_rows(r: Reader, reason: str | None = None, source_file: str | None = None) -> pd.DataFrame:
    params: list = []
    where = "where true"
    if reason:
        where += " and reason = ?"
        params.append(reason)
    if source_file:
        where += " and source_file = ?"
        params.append(source_file)
    return r.df(
        f"""select source_label as 数据源, source_file as 文件, source_row as 行号, field as 字段,
                   value_masked as 值, reason as 原因
            from marts.rpt_quarantine_current {where} order by source_file, source_row, field""",
        params,
    )


def load_files(r: Reader) -> pd.DataFrame:
    """Per landing file: what was read, loaded, quarantined (rpt_load_files, labelled in Chinese)."""
    return r.df("""select source_label as 数据源, source_file as 文件, file_version as 版本, status_label as 状态,
                          rows_read as 读取行数, rows_loaded as 入库行数, rows_quarantined as 隔离行数,
                          rows_skipped as 跳过模板行数, error as 错误, loaded_at as 接收时间,
                          replaced_by as 被替换为
                   from marts.rpt_load_files order by source_order, source_file""")


def expectation_results(r: Reader) -> pd.DataFrame:
    """The latest GX outcome of each check (meta.expectation_results; empty before any check ran)."""
    return r.df("""select check_name as 检查, suite as 校验套件,
                          case when blocking then '阻断' else '仅报告' end as 级别,
                          case when success then '通过' else '未通过' end as 结果,
                          row_count as 校验行数, evaluated_expectations as 期望数,
                          successful_expectations as 通过期望数, failures as 未通过详情, checked_at as 校验时间
                   from meta.expectation_results order by blocking desc, check_name""")


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


def soft_findings(r: Reader) -> pd.DataFrame:
    """rpt_data_quality_findings with its columns labelled in Chinese (the row and the reason)."""
    picked = ", ".join(f'{c} as "{label}"' for c, label in SOFT_FINDING_COLUMNS)
    return r.df(f"select {picked} from marts.rpt_data_quality_findings order by source_file, source_row")
