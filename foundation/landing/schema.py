"""The landing-folder contract (docs/domain.md section 2) as data.

One place for every source's canonical columns, the Chinese headers agencies and
employer templates use for them, and the DuckDB type each column has once loaded.
The generator writes these headers, the loader maps them back, the GX suites and
the dbt sources describe the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str  # canonical snake_case name (also accepted as a header)
    label: str  # the Chinese header the generator writes and messages use
    dtype: str  # DuckDB type of the loaded column
    required: bool = True  # must be present as a column in the file
    nullable: bool = False  # may be empty in a row
    aliases: tuple[str, ...] = ()  # further Chinese headers seen in agency exports


@dataclass(frozen=True)
class Source:
    name: str  # landing sub-folder and raw table name
    label: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]  # a second row with the same key is a duplicate
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


MONEY = "DECIMAL(18,2)"

EMPLOYERS = Source(
    name="employers",
    label="单位信息",
    natural_key=("unit_id",),
    columns=(
        Column("unit_id", "单位编号", "VARCHAR"),
        Column("unit_name", "单位名称", "VARCHAR"),
        Column("uscc", "统一社会信用代码", "VARCHAR"),
        Column("unit_type", "单位类型", "VARCHAR"),
        Column("region", "参保地", "VARCHAR", aliases=("统筹区",)),
        Column("risk_class", "行业风险类别", "INTEGER"),
        Column("legal_representative", "法定代表人", "VARCHAR", nullable=True),
        Column("address", "地址", "VARCHAR", nullable=True, aliases=("单位地址",)),
        Column("founded_date", "成立日期", "DATE", nullable=True),
        Column("status", "单位状态", "VARCHAR", aliases=("状态",)),
    ),
)

PERSONS = Source(
    name="persons",
    label="人员信息",
    natural_key=("person_id",),
    columns=(
        Column("person_id", "个人编号", "VARCHAR", aliases=("人员编号",)),
        Column("name", "姓名", "VARCHAR"),
        Column("id_type", "证件类型", "VARCHAR", required=False, nullable=True),
        Column("id_number", "证件号码", "VARCHAR", aliases=("公民身份号码", "社会保障号", "社会保障号码")),
        Column("sex", "性别", "VARCHAR"),
        Column("birth_date", "出生日期", "DATE"),
        Column("hukou_type", "户籍性质", "VARCHAR", nullable=True),
        Column("work_start_date", "参加工作日期", "DATE", nullable=True),
        Column("post_category", "岗位类别", "VARCHAR", nullable=True),
        Column("mobile", "手机号码", "VARCHAR", required=False, nullable=True),
    ),
)

ENROLMENTS = Source(
    name="enrolments",
    label="参保登记",
    natural_key=("person_id", "unit_id", "insurance_type", "start_period"),
    columns=(
        Column("person_id", "个人编号", "VARCHAR", aliases=("人员编号",)),
        Column("unit_id", "单位编号", "VARCHAR"),
        Column("insurance_type", "险种类型", "VARCHAR"),
        Column("start_period", "参保开始年月", "VARCHAR"),
        Column("end_period", "参保终止年月", "VARCHAR", nullable=True),
        Column("status", "参保状态", "VARCHAR"),
        Column("change_reason", "变更原因", "VARCHAR", required=False, nullable=True),
    ),
)

LEDGERS = Source(
    name="ledgers",
    label="缴费明细",
    natural_key=("unit_id", "person_id", "fee_period", "insurance_type", "contribution_type"),
    columns=(
        Column("unit_id", "单位编号", "VARCHAR"),
        Column("unit_name", "单位名称", "VARCHAR", required=False, nullable=True),
        Column("person_id", "个人编号", "VARCHAR", aliases=("人员编号",)),
        Column("name", "姓名", "VARCHAR", required=False, nullable=True),
        Column("id_type", "证件类型", "VARCHAR", required=False, nullable=True),
        Column("id_number", "证件号码", "VARCHAR", aliases=("公民身份号码", "社会保障号", "社会保障号码")),
        Column("fee_period", "费款所属期", "VARCHAR", aliases=("对应费款所属期",)),
        Column("insurance_type", "险种类型", "VARCHAR"),
        Column("contribution_type", "缴费类型", "VARCHAR"),
        Column("personal_base", "个人缴费基数", MONEY, aliases=("人员缴费基数",)),
        Column("unit_base", "单位缴费基数", MONEY),
        Column("personal_amount", "个人缴费金额", MONEY, aliases=("个人实缴金额",)),
        Column("unit_amount", "单位缴费金额", MONEY, aliases=("单位实缴金额",)),
        Column("account_credit", "划拨总金额", MONEY, required=False, nullable=True),
        Column("interest", "利息", MONEY, required=False, nullable=True),
        Column("late_fee", "滞纳金", MONEY, required=False, nullable=True),
        Column("paid_status", "到账标志", "VARCHAR"),
        Column("paid_amount", "到账金额", MONEY, required=False, nullable=True),
        Column("paid_date", "到账日期", "DATE", nullable=True, aliases=("到账时间",)),
        Column("notice_no", "征集通知单号", "VARCHAR", required=False, nullable=True),
        Column("region", "参保地", "VARCHAR", aliases=("统筹区",)),
    ),
)

# Optional: insured months before the ledger window, as an agency migrates them from its old
# system. A row is a spell of one insurance: start and end month, or start and a number of
# months (empty end and count: one month). The unit may be one that no longer exists, so only
# the person must be registered. 个人账户迁移金额 is the pension personal-account money the
# spell carried into the new system (up to the region's cut-off month, legacy_history_cutoffs).
LEGACY_HISTORY = Source(
    name="legacy_history",
    label="历史缴费记录",
    natural_key=("person_id", "insurance_type", "start_period"),
    columns=(
        Column("person_id", "个人编号", "VARCHAR", aliases=("人员编号",)),
        Column("name", "姓名", "VARCHAR", required=False, nullable=True),
        Column("unit_id", "单位编号", "VARCHAR", required=False, nullable=True, aliases=("原单位编号",)),
        Column("unit_name", "单位名称", "VARCHAR", required=False, nullable=True, aliases=("原单位名称",)),
        Column("insurance_type", "险种类型", "VARCHAR"),
        Column("start_period", "起始年月", "VARCHAR", aliases=("缴费起始年月", "开始年月")),
        Column("end_period", "终止年月", "VARCHAR", nullable=True, aliases=("缴费终止年月", "截止年月")),
        Column("month_count", "缴费月数", "INTEGER", required=False, nullable=True, aliases=("月数",)),
        Column("base", "缴费基数", MONEY, aliases=("个人缴费基数",)),
        Column("account_balance", "个人账户迁移金额", MONEY, required=False, nullable=True, aliases=("个人账户余额",)),
        Column("region", "参保地", "VARCHAR", aliases=("统筹区",)),
    ),
)

SOURCES: dict[str, Source] = {s.name: s for s in (EMPLOYERS, PERSONS, ENROLMENTS, LEDGERS, LEGACY_HISTORY)}
# Sources a landing folder may lack without anyone noticing (the others are the core registry and ledger).
OPTIONAL_SOURCES = ("legacy_history",)

# Lineage columns every raw table carries after its business columns.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source_file", "VARCHAR"),  # path relative to the landing folder
    ("source_row", "INTEGER"),  # row number as a spreadsheet shows it (header = row 1 in CSV)
    ("file_hash", "VARCHAR"),  # SHA-256 of the file's bytes
    ("load_id", "VARCHAR"),
    ("loaded_at", "TIMESTAMP"),
    ("superseded_at", "TIMESTAMP"),  # set when a corrected file version replaces this row's file
)

# Controlled vocabularies (the loader quarantines anything else).
CONTRIBUTION_TYPES = ("正常应缴", "补收", "一次性补收", "补缴", "退收")
PAID_STATUSES = ("已到账", "未到账", "未足额到账")
ENROLMENT_STATUSES = ("正常参保", "暂停缴费", "终止参保")
SEXES = ("男", "女")
POST_CATEGORIES = ("管理岗", "专业技术岗", "生产岗", "工勤岗")
UNIT_TYPES = ("企业", "机关事业单位", "个体工商户", "社会团体", "民办非企业单位")
DEFAULT_ID_TYPE = "居民身份证"


def raw_column_name(col: Column) -> str:
    """The column's name in raw.<source>: the region arrives by name and is stored as its code."""
    return "region_code" if col.name == "region" else col.name


def raw_columns(source: Source) -> list[tuple[str, str]]:
    return [(raw_column_name(c), c.dtype) for c in source.columns] + list(LINEAGE_COLUMNS)
