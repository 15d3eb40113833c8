"""Ingestion loader: formats, template rows, quarantine reasons, idempotency, corrections, failures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from foundation.landing.identifiers import id_check_char, uscc_check_char
from pipelines.ingest import loader

ID_A = "32058119900101123" + id_check_char("32058119900101123")  # born 1990-01-01
ID_B = "42010619851231002" + id_check_char("42010619851231002")  # born 1985-12-31
USCC_A = "91320594MA1XYK12" + "3"
USCC_A = USCC_A[:17] + uscc_check_char(USCC_A[:17])

LEDGER_HEADER = [
    "单位编号",
    "单位名称",
    "个人编号",
    "姓名",
    "证件号码",
    "费款所属期",
    "险种类型",
    "缴费类型",
    "个人缴费基数",
    "单位缴费基数",
    "个人缴费金额",
    "单位缴费金额",
    "到账标志",
    "到账日期",
    "参保地",
]


def ledger(**kw) -> list[str]:
    row = {
        "单位编号": "U001",
        "单位名称": "苏州星湖科技有限公司",
        "个人编号": "P001",
        "姓名": "张三",
        "证件号码": ID_A,
        "费款所属期": "202403",
        "险种类型": "110",
        "缴费类型": "正常应缴",
        "个人缴费基数": "9805",
        "单位缴费基数": "9805",
        "个人缴费金额": "784.40",
        "单位缴费金额": "1568.80",
        "到账标志": "已到账",
        "到账日期": "2024-03-15",
        "参保地": "苏州工业园区",
    }
    row.update(kw)
    return [row[h] for h in LEDGER_HEADER]


GOOD_1 = ledger()
GOOD_2 = ledger(
    **{
        "个人编号": "P002",
        "姓名": "李四",
        "证件号码": ID_B,
        "险种类型": "企业职工基本养老保险",
        "个人缴费金额": "1422.4",
        "参保地": "HB_PROV",
        "到账日期": "",
    }
)


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8", above: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_bytes((above + "\n".join(lines) + "\n").encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    ws = wb.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value not in (None, ""):
                ws.write(r, c, value)
    wb.close()
    return path


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield c
    c.close()


@pytest.fixture
def landing(tmp_path) -> Path:
    d = tmp_path / "landing"
    d.mkdir()
    return d


def live(con, table="raw.ledgers"):
    return con.execute(f"select count(*) from {table} where superseded_at is null").fetchone()[0]


def quarantine(con):
    return con.execute(
        "select source_file, source_row, field, value, reason from raw.quarantine order by source_file, source_row"
    ).fetchall()


def only_file(report):
    assert len(report.files) == 1
    return report.files[0]


# --------------------------------------------------------------------------- formats


def _expect_two_good_rows(con, rows: list[int], source_file: str):
    got = con.execute(
        """select person_id, id_type, id_number, fee_period, insurance_type, personal_amount, unit_amount,
                  region_code, paid_date, source_file, source_row
           from raw.ledgers order by source_row"""
    ).fetchall()
    assert got == [
        (
            "P001",
            "居民身份证",
            ID_A,
            "202403",
            "110",
            Decimal("784.40"),
            Decimal("1568.80"),
            "SZ_SIP",
            dt.date(2024, 3, 15),
            source_file,
            rows[0],
        ),
        (
            "P002",
            "居民身份证",
            ID_B,
            "202403",
            "110",
            Decimal("1422.40"),
            Decimal("1568.80"),
            "HB_PROV",
            None,
            source_file,
            rows[1],
        ),
    ]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_load_identically(con, landing, encoding):
    write_csv(landing / "ledgers" / "l.csv", LEDGER_HEADER, [GOOD_1, GOOD_2], encoding=encoding)
    if encoding == "gb18030":  # really GBK bytes, not UTF-8
        with pytest.raises(UnicodeDecodeError):
            (landing / "ledgers" / "l.csv").read_bytes().decode("utf-8")
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_skipped) == ("loaded", 2, 2, 0, 0)
    _expect_two_good_rows(con, [2, 3], "ledgers/l.csv")


def test_xlsx_employer_template_skips_title_example_and_instruction_rows(con, landing):
    write_xlsx(
        landing / "ledgers" / "t.xlsx",
        [
            ["苏州工业园区2024年03月缴费明细表"],
            ["序号"] + [h + "*" if h == "证件号码" else h for h in LEDGER_HEADER],
            [1] + ledger(**{"个人编号": "P999", "姓名": "示例"}),
            ["以上一行填写示例请从下一行开始按示例填写(不要删除示例和本行说明文字)"],
            [1] + GOOD_1[:8] + [9805, 9805, 784.4, 1568.8] + GOOD_1[12:],
            [2] + GOOD_2,
            [3],  # a pre-numbered empty template line is blank, not a row
        ],
    )
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.status, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_skipped) == ("loaded", 4, 2, 0, 2)
    _expect_two_good_rows(con, [5, 6], "ledgers/t.xlsx")
    assert con.execute("select count(*) from raw.ledgers where person_id = 'P999'").fetchone()[0] == 0


def test_xlsx_rows_marked_example_and_instruction_footers_are_skipped(con, landing):
    write_xlsx(
        landing / "ledgers" / "m.xlsx",
        [
            ["序号"] + LEDGER_HEADER,
            ["示例"] + ledger(**{"个人编号": "P998"}),
            ["填写说明：金额保留两位小数"],
            [1] + GOOD_1,
            [2] + GOOD_2,
            ["合 计：2人"],
        ],
    )
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_skipped) == (5, 2, 0, 3)
    _expect_two_good_rows(con, [4, 5], "ledgers/m.xlsx")


def test_parquet_with_english_headers(con, landing):
    (landing / "ledgers").mkdir()
    names = [
        c.name
        for c in loader.schema.LEDGERS.columns
        if c.name
        in (
            "unit_id",
            "unit_name",
            "person_id",
            "name",
            "id_number",
            "fee_period",
            "insurance_type",
            "contribution_type",
            "personal_base",
            "unit_base",
            "personal_amount",
            "unit_amount",
            "paid_status",
            "paid_date",
            "region",
        )
    ]
    cols = list(zip(GOOD_1, GOOD_2))
    table = pa.table({n: pa.array(list(v), pa.string()) for n, v in zip(names, cols)})
    pq.write_table(table, landing / "ledgers" / "p.parquet")
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.status, f.rows_read, f.rows_loaded) == ("loaded", 2, 2)
    _expect_two_good_rows(con, [1, 2], "ledgers/p.parquet")


def test_csv_title_row_aliases_blank_lines_and_extra_columns(con, landing):
    header = [
        {"个人编号": "人员编号", "个人缴费金额": "个人实缴金额(元)", "到账日期": "到账时间"}.get(h, h)
        for h in LEDGER_HEADER
    ]
    path = landing / "ledgers" / "a.csv"
    path.parent.mkdir()
    body = (
        "缴费明细导出,,\n"
        + ",".join(header + ["备注"])
        + "\n"
        + ",".join(GOOD_1 + ["x"])
        + "\n\n"
        + ",".join(GOOD_2 + [""])
        + "\n"
    )
    path.write_text(body, encoding="utf-8")
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (2, 2, 0)
    _expect_two_good_rows(con, [3, 5], "ledgers/a.csv")  # title row 1, header row 2, blank row 4


# --------------------------------------------------------------------------- quarantine reasons

F = "ledgers/bad.csv"

LEDGER_CASES = {
    "id_check_digit": (
        dict(证件号码=ID_B[:-1] + ("0" if ID_B[-1] != "0" else "1")),
        "id_number",
        f"字段“证件号码”(id_number)：证件号码校验位错误（应为{ID_B[-1]}），值为“{ID_B[:-1] + ('0' if ID_B[-1] != '0' else '1')}”",
    ),
    "id_length": (
        dict(证件号码="3205811990"),
        "id_number",
        "字段“证件号码”(id_number)：证件号码应为18位，实际为10位，值为“3205811990”",
    ),
    "bad_period": (
        dict(费款所属期="202313"),
        "fee_period",
        "字段“费款所属期”(fee_period)：年月无效（应为YYYYMM格式，月份为01-12），值为“202313”",
    ),
    "unknown_insurance": (
        dict(险种类型="意外伤害保险"),
        "insurance_type",
        "字段“险种类型”(insurance_type)：未知的险种类型（应为险种代码或险种名称，见险种代码表），值为“意外伤害保险”",
    ),
    "unknown_region": (
        dict(参保地="火星"),
        "region",
        "字段“参保地”(region)：未知的参保地（应为苏州工业园区、苏州市区、湖北省本级或其代码），值为“火星”",
    ),
    "negative_base": (
        dict(个人缴费基数="-10350.00"),
        "personal_base",
        "字段“个人缴费基数”(personal_base)：不能为负数，值为“-10350.00”",
    ),
    "three_decimals": (
        dict(单位缴费金额="1568.805"),
        "unit_amount",
        "字段“单位缴费金额”(unit_amount)：金额最多保留两位小数，值为“1568.805”",
    ),
    "bad_number": (
        dict(个人缴费金额="七百"),
        "personal_amount",
        "字段“个人缴费金额”(personal_amount)：不是有效的数字，值为“七百”",
    ),
    "bad_date": (
        dict(到账日期="2024-02-30"),
        "paid_date",
        "字段“到账日期”(paid_date)：不是有效的日期（应为YYYY-MM-DD），值为“2024-02-30”",
    ),
    "contribution_type": (
        dict(缴费类型="正常"),
        "contribution_type",
        "字段“缴费类型”(contribution_type)：不在允许的取值范围内（应为正常应缴、补收、一次性补收、补缴、退收），值为“正常”",
    ),
    "paid_status": (
        dict(到账标志="已到"),
        "paid_status",
        "字段“到账标志”(paid_status)：不在允许的取值范围内（应为已到账、未到账、未足额到账），值为“已到”",
    ),
    "required_empty": (dict(个人编号=""), "person_id", "字段“个人编号”(person_id)：必填字段为空"),
}


@pytest.mark.parametrize("case", sorted(LEDGER_CASES))
def test_ledger_quarantine_reason_names_file_row_and_field(con, landing, case):
    overrides, field, message = LEDGER_CASES[case]
    bad = ledger(**{"个人编号": "P002", **overrides})
    write_csv(landing / F, LEDGER_HEADER, [GOOD_1, bad])
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_skipped) == (2, 1, 1, 0)
    ((file, row, got_field, value, reason),) = quarantine(con)
    assert (file, row, got_field) == (F, 3, field)
    assert reason == f"文件 {F} 第3行 {message}"
    assert value == (overrides[next(iter(overrides))] or None)
    assert sum(f.reasons.values()) == 1 and next(iter(f.reasons)).startswith(f"{field}：")


def test_all_failing_fields_are_listed_and_first_one_is_the_field(con, landing):
    write_csv(landing / F, LEDGER_HEADER, [ledger(费款所属期="2024-13", 个人缴费基数="-1")])
    loader.load_source(con, landing, "ledgers")
    ((_, row, field, value, reason),) = quarantine(con)
    assert (row, field, value) == (2, "fee_period", "2024-13")
    assert reason == (
        f"文件 {F} 第2行 字段“费款所属期”(fee_period)：年月无效（应为YYYYMM格式，月份为01-12），值为“2024-13”；"
        "字段“个人缴费基数”(personal_base)：不能为负数，值为“-1”"
    )


def test_duplicates_within_file_and_against_loaded_rows(con, landing):
    write_csv(landing / "ledgers" / "a.csv", LEDGER_HEADER, [GOOD_1, GOOD_2, GOOD_1])
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_loaded, f.rows_quarantined) == (2, 1)
    assert f.reasons == {"自然键：与本文件前面的行重复": 1}
    write_csv(landing / "ledgers" / "b.csv", LEDGER_HEADER, [ledger(个人编号="P003"), ledger(个人缴费金额="1.00")])
    rep = loader.load_source(con, landing, "ledgers")
    b = next(x for x in rep.files if x.file == "ledgers/b.csv")
    assert (b.rows_loaded, b.rows_quarantined, b.reasons) == (1, 1, {"自然键：与已加载记录重复": 1})
    reasons = [r[4] for r in quarantine(con)]
    assert reasons == [
        "文件 ledgers/a.csv 第4行 重复记录：自然键（单位编号、个人编号、费款所属期、险种类型、缴费类型）与本文件第2行相同，"
        "值为“U001|P001|202403|110|正常应缴”",
        "文件 ledgers/b.csv 第3行 重复记录：自然键（单位编号、个人编号、费款所属期、险种类型、缴费类型）与已加载的文件 "
        "ledgers/a.csv 第2行相同，值为“U001|P001|202403|110|正常应缴”",
    ]
    assert live(con) == 3


def test_a_bad_row_does_not_block_a_later_good_row_with_the_same_key(con, landing):
    write_csv(landing / F, LEDGER_HEADER, [ledger(到账标志="?"), GOOD_1])
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_loaded, f.rows_quarantined) == (1, 1)
    assert con.execute("select source_row from raw.ledgers").fetchall() == [(3,)]


PERSON_HEADER = ["个人编号", "姓名", "证件类型", "证件号码", "性别", "出生日期", "户籍性质", "参加工作日期", "岗位类别"]
BAD_ID_A = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")


def test_persons_birth_date_must_agree_with_id_and_sex_vocabulary(con, landing):
    rows = [
        ["P001", "张三", "", ID_A, "男", "1990-01-01", "城镇户口", "2012-07-01", "管理岗"],
        ["P002", "李四", "居民身份证", ID_B, "女", "1985-12-30", "城镇户口", "", "生产岗"],
        ["P003", "王五", "身份证", BAD_ID_A, "M", "1990-01-01", "", "", ""],
        ["P004", "John Smith", "护照", "E12345678", "男", "1980-05-05", "", "", ""],
    ]  # no resident-ID check
    write_csv(landing / "persons" / "p.csv", PERSON_HEADER, rows)
    f = only_file(loader.load_source(con, landing, "persons"))
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (4, 2, 2)
    assert con.execute("select person_id, id_type, birth_date from raw.persons order by 1").fetchall() == [
        ("P001", "居民身份证", dt.date(1990, 1, 1)),
        ("P004", "护照", dt.date(1980, 5, 5)),
    ]
    assert [r[4] for r in quarantine(con)] == [
        "文件 persons/p.csv 第3行 字段“出生日期”(birth_date)：出生日期与证件号码不一致（证件号码中为1985-12-31），值为“1985-12-30”",
        f"文件 persons/p.csv 第4行 字段“证件号码”(id_number)：证件号码校验位错误（应为{ID_A[-1]}），值为“{BAD_ID_A}”；"
        "字段“性别”(sex)：不在允许的取值范围内（应为男、女），值为“M”",
    ]


EMPLOYER_HEADER = [
    "单位编号",
    "单位名称",
    "统一社会信用代码",
    "单位类型",
    "参保地",
    "行业风险类别",
    "法定代表人",
    "地址",
    "成立日期",
    "单位状态",
]


def test_employers_uscc_and_risk_class(con, landing):
    bad_uscc = USCC_A[:17] + ("0" if USCC_A[17] != "0" else "1")
    rows = [
        ["U001", "星湖科技", USCC_A, "企业", "苏州工业园区", "2", "张三", "星湖街88号", "2015-06-01", "正常"],
        ["U002", "汇通信息", bad_uscc, "企业", "苏州市区", "1", "", "", "", "正常"],
        ["U003", "楚天建设", USCC_A, "企业", "湖北省本级", "9", "", "", "2001/3/5", "正常"],
    ]
    write_csv(landing / "employers" / "e.csv", EMPLOYER_HEADER, rows, encoding="utf-8-sig")
    f = only_file(loader.load_source(con, landing, "employers"))
    assert (f.rows_loaded, f.rows_quarantined) == (1, 2)
    assert con.execute("select unit_id, region_code, risk_class, founded_date from raw.employers").fetchall() == [
        ("U001", "SZ_SIP", 2, dt.date(2015, 6, 1))
    ]
    assert [r[4] for r in quarantine(con)] == [
        f"文件 employers/e.csv 第3行 字段“统一社会信用代码”(uscc)：统一社会信用代码校验位错误（应为{USCC_A[17]}），值为“{bad_uscc}”",
        "文件 employers/e.csv 第4行 字段“行业风险类别”(risk_class)：应为1-8之间的整数，值为“9”",
    ]


def test_enrolments_status_and_period(con, landing):
    header = ["个人编号", "单位编号", "险种类型", "参保开始年月", "参保终止年月", "参保状态", "变更原因"]
    rows = [
        ["P001", "U001", "失业保险", "202401", "", "正常参保", ""],
        ["P002", "U001", "医疗保险", "2024-02", "202400", "在保", ""],
    ]
    write_csv(landing / "enrolments" / "n.csv", header, rows)
    f = only_file(loader.load_source(con, landing, "enrolments"))
    assert (f.rows_loaded, f.rows_quarantined) == (1, 1)
    assert con.execute("select insurance_type, start_period, end_period from raw.enrolments").fetchall() == [
        ("210", "202401", None)
    ]
    assert quarantine(con)[0][4] == (
        "文件 enrolments/n.csv 第3行 字段“参保终止年月”(end_period)：年月无效（应为YYYYMM格式，月份为01-12），值为“202400”；"
        "字段“参保状态”(status)：不在允许的取值范围内（应为正常参保、暂停缴费、终止参保），值为“在保”"
    )


# --------------------------------------------------------------------------- bookkeeping


def test_reconciliation_lineage_and_load_files(con, landing):
    path = write_csv(
        landing / "ledgers" / "r.csv",
        LEDGER_HEADER,
        [GOOD_1, ledger(费款所属期="202313"), GOOD_2, GOOD_1, ledger(个人编号="P005", 险种类型="X")],
    )
    rep = loader.load_source(con, landing, "ledgers")
    f = only_file(rep)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_skipped) == (5, 2, 3, 0)
    assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_skipped
    assert f.reasons == {
        "fee_period：年月无效": 1,
        "insurance_type：未知的险种类型": 1,
        "自然键：与本文件前面的行重复": 1,
    }
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f.file_hash == digest
    lineage = con.execute(
        "select distinct source_file, file_hash, load_id, loaded_at is not null, superseded_at from raw.ledgers"
    ).fetchall()
    assert lineage == [("ledgers/r.csv", digest, f.load_id, True, None)]
    assert con.execute("select source_row from raw.ledgers order by 1").fetchall() == [(2,), (4,)]
    assert (
        con.execute(
            "select count(*) from raw.quarantine where load_id = ? and file_hash = ? and quarantined_at is not null",
            [f.load_id, digest],
        ).fetchone()[0]
        == 3
    )
    assert con.execute(
        """select file_hash, source, source_file, logical_name, version, status, rows_read, rows_loaded,
                  rows_quarantined, rows_skipped, error, load_id, replaced_by from raw.load_files"""
    ).fetchall() == [
        (digest, "ledgers", "ledgers/r.csv", "ledgers/r.csv", 1, "loaded", 5, 2, 3, 0, None, f.load_id, None)
    ]
    record = json.loads(con.execute("select record from raw.quarantine where source_row = 3").fetchone()[0])
    assert record["费款所属期"] == "202313" and record["证件号码"] == ID_A
    meta = rep.to_metadata()
    json.dumps(meta)
    assert (meta["rows_read"], meta["rows_loaded"], meta["rows_quarantined"], meta["files_loaded"]) == (5, 2, 3, 1)
    assert rep.summary_lines()[0] == "ledgers/r.csv: loaded - read 5, loaded 2, quarantined 3, skipped template rows 0"


def test_load_landing_twice_changes_nothing(con, landing):
    write_csv(
        landing / "employers" / "e.csv",
        EMPLOYER_HEADER,
        [["U001", "星湖科技", USCC_A, "企业", "苏州工业园区", "2", "", "", "", "正常"]],
    )
    write_csv(landing / "ledgers" / "a.csv", LEDGER_HEADER, [GOOD_1, GOOD_2, ledger(到账标志="x")])
    write_xlsx(landing / "ledgers" / "broken.xlsx", [["not really"]])
    (landing / "ledgers" / "broken.xlsx").write_bytes(b"PK\x03\x04 this is not a zip")
    first = loader.load_landing(con, landing)
    assert list(first) == ["employers", "persons", "enrolments", "ledgers", "legacy_history"]

    def snapshot():
        return [
            con.execute(f"select * from {t} order by all").fetchall()
            for t in ("raw.employers", "raw.ledgers", "raw.quarantine", "raw.load_files")
        ]

    before = snapshot()
    second = loader.load_landing(con, landing)
    assert snapshot() == before
    statuses = {f.file: f.status for f in second["ledgers"].files}
    assert statuses == {"ledgers/a.csv": "already_loaded", "ledgers/broken.xlsx": "failed"}
    assert second["ledgers"].rows_read == second["ledgers"].rows_loaded == 0
    assert second["employers"].files[0].status == "already_loaded"


def test_same_content_under_a_second_name_is_not_loaded_twice(con, landing):
    write_csv(landing / "ledgers" / "a.csv", LEDGER_HEADER, [GOOD_1, GOOD_2])
    shutil.copyfile(landing / "ledgers" / "a.csv", landing / "ledgers" / "a_copy.csv")
    rep = loader.load_source(con, landing, "ledgers")
    a, copy = rep.files
    assert (a.status, a.rows_loaded) == ("loaded", 2)
    assert (copy.file, copy.status, copy.rows_read, copy.rows_loaded, copy.rows_quarantined) == (
        "ledgers/a_copy.csv",
        "already_loaded",
        0,
        0,
        0,
    )
    assert "same content as ledgers/a.csv" in copy.summary_line()
    assert live(con) == 2 and quarantine(con) == []
    assert con.execute("select source_file, status from raw.load_files order by 1").fetchall() == [
        ("ledgers/a.csv", "loaded"),
        ("ledgers/a_copy.csv", "already_loaded"),
    ]


# --------------------------------------------------------------------------- corrections


def test_v2_correction_supersedes_its_predecessor(con, landing):
    write_csv(landing / "ledgers" / "l.csv", LEDGER_HEADER, [GOOD_1, GOOD_2, ledger(个人编号="P003", 到账标志="x")])
    loader.load_source(con, landing, "ledgers")
    write_csv(landing / "ledgers" / "l.v2.csv", LEDGER_HEADER, [ledger(个人缴费金额="790.00"), GOOD_2])
    rep = loader.load_source(con, landing, "ledgers")
    assert [(f.file, f.status, f.rows_loaded, f.replaced_by) for f in rep.files] == [
        ("ledgers/l.csv", "replaced", 0, "ledgers/l.v2.csv"),
        ("ledgers/l.v2.csv", "loaded", 2, None),
    ]
    assert con.execute(
        "select source_file, personal_amount from raw.ledgers where superseded_at is null order by source_row"
    ).fetchall() == [("ledgers/l.v2.csv", Decimal("790.00")), ("ledgers/l.v2.csv", Decimal("1422.40"))]
    assert (
        con.execute(
            "select count(*) from raw.ledgers where superseded_at is not null and source_file = 'ledgers/l.csv'"
        ).fetchone()[0]
        == 2
    )
    assert con.execute("select count(*) from raw.quarantine where superseded_at is not null").fetchone()[0] == 1
    assert con.execute(
        "select source_file, logical_name, version, status, replaced_by from raw.load_files order by 1"
    ).fetchall() == [
        ("ledgers/l.csv", "ledgers/l.csv", 1, "replaced", "ledgers/l.v2.csv"),
        ("ledgers/l.v2.csv", "ledgers/l.csv", 2, "loaded", None),
    ]
    # a version older than the loaded one is refused
    write_csv(landing / "ledgers" / "l.csv", LEDGER_HEADER, [GOOD_1])
    rep = loader.load_source(con, landing, "ledgers")
    old = next(f for f in rep.files if f.file == "ledgers/l.csv")
    assert old.status == "failed"
    assert (
        old.error
        == "文件 ledgers/l.csv 是 ledgers/l.csv 的第1版，但已加载更新的第2版（ledgers/l.v2.csv），本文件未加载"
    )
    assert live(con) == 2


def test_identical_header_only_corrections_each_empty_their_own_file(con, landing):
    """Two files withdrawn by header-only version-2 files with the same bytes: each correction
    supersedes its own predecessor (same bytes as an empty file are not 'already loaded')."""
    write_csv(landing / "ledgers" / "a.csv", LEDGER_HEADER, [GOOD_1])
    write_csv(landing / "ledgers" / "b.csv", LEDGER_HEADER, [GOOD_2])
    loader.load_source(con, landing, "ledgers")
    write_csv(landing / "ledgers" / "a.v2.csv", LEDGER_HEADER, [])
    write_csv(landing / "ledgers" / "b.v2.csv", LEDGER_HEADER, [])
    rep = loader.load_source(con, landing, "ledgers")
    assert [(f.file, f.status, f.replaced_by) for f in rep.files] == [
        ("ledgers/a.csv", "replaced", "ledgers/a.v2.csv"),
        ("ledgers/a.v2.csv", "empty", None),
        ("ledgers/b.csv", "replaced", "ledgers/b.v2.csv"),
        ("ledgers/b.v2.csv", "empty", None),
    ]
    assert live(con) == 0
    again = loader.load_source(con, landing, "ledgers")  # re-running changes nothing
    assert [f.status for f in again.files] == ["replaced", "empty", "replaced", "empty"] and live(con) == 0


def test_v1_and_v2_arriving_together(con, landing):
    write_csv(landing / "ledgers" / "l.v2.csv", LEDGER_HEADER, [GOOD_1])
    write_csv(landing / "ledgers" / "l.csv", LEDGER_HEADER, [GOOD_1, GOOD_2])
    write_csv(landing / "ledgers" / "other.csv", LEDGER_HEADER, [ledger(个人编号="P009")])
    rep = loader.load_source(con, landing, "ledgers")
    assert [(f.file, f.status, f.rows_loaded) for f in rep.files] == [
        ("ledgers/l.csv", "replaced", 2),
        ("ledgers/l.v2.csv", "loaded", 1),
        ("ledgers/other.csv", "loaded", 1),
    ]
    assert live(con) == 2


def test_a_name_without_version_suffix_never_replaces(con, landing):
    write_csv(landing / "ledgers" / "l.csv", LEDGER_HEADER, [GOOD_1])
    write_csv(landing / "ledgers" / "l_fixed.csv", LEDGER_HEADER, [ledger(个人缴费金额="790.00")])
    rep = loader.load_source(con, landing, "ledgers")
    assert [f.status for f in rep.files] == ["loaded", "loaded"]
    assert rep.files[1].reasons == {"自然键：与已加载记录重复": 1}
    assert con.execute("select personal_amount from raw.ledgers").fetchall() == [(Decimal("784.40"),)]


# --------------------------------------------------------------------------- whole-file failures


def test_corrupt_xlsx_fails_cleanly_and_other_files_load(con, landing):
    (landing / "ledgers").mkdir()
    (landing / "ledgers" / "bad.xlsx").write_bytes(b"PK\x03\x04garbage" * 10)
    write_csv(landing / "ledgers" / "good.csv", LEDGER_HEADER, [GOOD_1])
    rep = loader.load_source(con, landing, "ledgers")
    bad, good = rep.files
    assert (bad.status, bad.rows_read, bad.rows_loaded) == ("failed", 0, 0)
    assert bad.error.startswith("文件 ledgers/bad.xlsx 不是有效的Excel（XLSX）文件或已损坏，无法读取")
    assert bad.error.endswith("整个文件未加载")
    assert good.status == "loaded"
    assert con.execute("select distinct source_file from raw.ledgers").fetchall() == [("ledgers/good.csv",)]
    assert con.execute("select source_file, status, error is not null from raw.load_files order by 1").fetchall() == [
        ("ledgers/bad.xlsx", "failed", True),
        ("ledgers/good.csv", "loaded", False),
    ]
    assert "ledgers/bad.xlsx: failed - 文件 ledgers/bad.xlsx" in rep.summary_lines()[0]


def test_missing_required_column_fails_the_file(con, landing):
    header = [h for h in LEDGER_HEADER if h != "证件号码"]
    write_csv(landing / "ledgers" / "m.csv", header, [[v for h, v in zip(LEDGER_HEADER, GOOD_1) if h != "证件号码"]])
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert f.status == "failed"
    assert f.error == "文件 ledgers/m.csv 缺少必需列：“证件号码”(id_number)，整个文件未加载"
    assert live(con) == 0 and quarantine(con) == []


def test_undecodable_csv_and_corrupt_parquet_fail(con, landing):
    (landing / "ledgers").mkdir()
    (landing / "ledgers" / "x.csv").write_bytes(",".join(LEDGER_HEADER).encode("utf-8") + b"\n\x80\x80\xff\xfe,1\n")
    (landing / "ledgers" / "y.parquet").write_bytes(b"PAR1 not parquet")
    rep = loader.load_source(con, landing, "ledgers")
    x, y = rep.files
    assert x.status == y.status == "failed"
    assert x.error.startswith("文件 ledgers/x.csv 无法识别字符编码（既不是UTF-8也不是GB18030/GBK")
    assert y.error.startswith("文件 ledgers/y.parquet 不是有效的Parquet文件或已损坏")
    assert live(con) == 0


def test_failure_mid_file_rolls_back_everything(con, landing, monkeypatch):
    write_csv(landing / "ledgers" / "a.csv", LEDGER_HEADER, [GOOD_1, ledger(到账标志="x")])
    original = loader._Loader._write_load_file

    def explode(self, rep, now):
        if rep.status == "loaded":
            raise RuntimeError("disk full")
        return original(self, rep, now)

    monkeypatch.setattr(loader._Loader, "_write_load_file", explode)
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert f.status == "failed" and "disk full" in f.error
    assert live(con) == 0 and quarantine(con) == []
    monkeypatch.undo()
    f = only_file(loader.load_source(con, landing, "ledgers"))  # retried on the next run
    assert (f.status, f.rows_loaded, f.rows_quarantined) == ("loaded", 1, 1)
    assert con.execute("select status from raw.load_files").fetchall() == [("loaded",)]


# --------------------------------------------------------------------------- fast typing paths and large files


def test_money_date_and_period_spellings_type_exactly(con, landing):
    """The cheap cast path and the strict patterns agree: every accepted spelling keeps its exact value."""
    rows = [
        ledger(
            个人编号="P101", 个人缴费基数='"1,234.50"', 个人缴费金额="+5", 单位缴费金额="-0.00", 到账日期="2024/03/05"
        ),
        ledger(
            个人编号="P102",
            个人缴费基数=".5",
            个人缴费金额="784.4",
            单位缴费金额="1568.800",
            到账日期="20240305",
            费款所属期="2024-03",
        ),
        ledger(个人编号="P103", 个人缴费基数="-", 个人缴费金额="0012.30", 到账日期="2024-3-5", 费款所属期="2024.03"),
        ledger(个人编号="P104", 个人缴费基数="1e3"),
        ledger(个人编号="P105", 个人缴费金额="-0.01"),
    ]
    write_csv(landing / F, LEDGER_HEADER, rows)
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_loaded, f.rows_quarantined) == (3, 2)
    assert con.execute(
        "select person_id, fee_period, personal_base, personal_amount, unit_amount, paid_date from raw.ledgers order by 1"
    ).fetchall() == [
        ("P101", "202403", Decimal("1234.50"), Decimal("5.00"), Decimal("0.00"), dt.date(2024, 3, 5)),
        ("P102", "202403", Decimal("0.50"), Decimal("784.40"), Decimal("1568.80"), dt.date(2024, 3, 5)),
        ("P103", "202403", Decimal("0.00"), Decimal("12.30"), Decimal("1568.80"), dt.date(2024, 3, 5)),
    ]
    assert [r[4] for r in quarantine(con)] == [
        f"文件 {F} 第5行 字段“个人缴费基数”(personal_base)：不是有效的数字，值为“1e3”",
        f"文件 {F} 第6行 字段“个人缴费金额”(personal_amount)：不能为负数，值为“-0.01”",
    ]


def test_large_file_in_several_batches_with_bad_rows_and_duplicates(con, landing):
    """More rows than one scan batch: problems late in the file are found and the counts reconcile."""
    n = loader.SCAN_BATCH_ROWS + 7_000
    base = dict(zip(LEDGER_HEADER, GOOD_1))
    cols = {h: [base[h]] * n for h in LEDGER_HEADER}
    cols["个人编号"] = [f"P{i:07d}" for i in range(n)]
    bad_row, dup_of, dup_row = n - 10, 5, n - 3  # 0-based record indexes
    cols["到账标志"][bad_row] = "已到"
    cols["个人编号"][dup_row] = cols["个人编号"][dup_of]
    (landing / "ledgers").mkdir()
    pq.write_table(
        pa.table({h: pa.array(v, pa.string()) for h, v in cols.items()}), landing / "ledgers" / "big.parquet"
    )
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_skipped) == (n, n - 2, 2, 0)
    assert f.reasons == {"paid_status：不在允许的取值范围内": 1, "自然键：与本文件前面的行重复": 1}
    assert [(r[1], r[2]) for r in quarantine(con)] == [
        (bad_row + 1, "paid_status"),
        (dup_row + 1, "unit_id,person_id,fee_period,insurance_type,contribution_type"),
    ]
    assert con.execute("select count(*), count(distinct source_row), sum(unit_amount) from raw.ledgers").fetchone() == (
        n - 2,
        n - 2,
        Decimal("1568.80") * (n - 2),
    )
    # a second file of the same period finds the loaded rows as duplicates; another period does not collide
    again = {h: v[:3] for h, v in cols.items()}
    again["费款所属期"] = ["202403", "202404", "202404"]
    pq.write_table(
        pa.table({h: pa.array(v, pa.string()) for h, v in again.items()}), landing / "ledgers" / "next.parquet"
    )
    nxt = next(x for x in loader.load_source(con, landing, "ledgers").files if x.file == "ledgers/next.parquet")
    assert (nxt.rows_loaded, nxt.rows_quarantined, nxt.reasons) == (2, 1, {"自然键：与已加载记录重复": 1})


def test_load_source_leaves_the_connection_setting_as_it_found_it(con, landing):
    write_csv(landing / F, LEDGER_HEADER, [GOOD_1])
    con.execute("SET preserve_insertion_order = true")
    loader.load_source(con, landing, "ledgers")
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is True
