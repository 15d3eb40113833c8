"""A generated corpus of malformed landing files: each ends failed, empty or quarantined with its Chinese
reason, per file read = loaded + quarantined + held + skipped, and loading the corpus again changes nothing.

Every file is made here at test time (the 10 MB cell included); nothing of it is committed.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xlsxwriter

from foundation.landing.identifiers import id_check_char, uscc_check_char
from pipelines.ingest import loader

pytestmark = pytest.mark.unit

ID_A = "32058119900101123" + id_check_char("32058119900101123")  # P001, born 1990-01-01
ID_B = "42010619851231002" + id_check_char("42010619851231002")  # P002, born 1985-12-31
USCC = "91320594MA1XYK12" + "3"
USCC = USCC[:17] + uscc_check_char(USCC[:17])
HEADER = [
    "单位编号",
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
    "参保地",
    "到账日期",
]
HUGE = 10 * 1024 * 1024  # characters in the huge cell
REASON_QUOTE_MAX = 200


def line(period: str, person: str = "P001", name: str = "张伟") -> list[str]:
    id_number = ID_A if person == "P001" else ID_B
    return ["U001", person, name, id_number, period, "110", "正常应缴", "9805", "9805", "784.40", "1568.80",
            "已到账", "苏州工业园区", f"{period[:4]}-{period[4:]}-15"]  # fmt: skip


def csv_text(rows: list[list[str]], delimiter: str = ",", header: list[str] = HEADER) -> str:
    return "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet()
    for r, row in enumerate([HEADER, *rows]):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return buf.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def wrong_types_table() -> pa.Table:
    """Numbers where text belongs and the other way round, as a careless export writes them."""
    return pa.table(
        {
            "单位编号": pa.array(["U001", "U001", "U001"]),
            "个人编号": pa.array(["P001", "P002", "P001"]),
            "证件号码": pa.array([ID_A, ID_B, ID_A]),
            "费款所属期": pa.array([202405, 202405, 202406], pa.int64()),  # an integer period is still a period
            "险种类型": pa.array([110, 110, 110], pa.int32()),
            "缴费类型": pa.array(["正常应缴"] * 3),
            "个人缴费基数": pa.array([9805.0, 9805.125, 9805.0], pa.float64()),  # three decimals
            "单位缴费基数": pa.array([True, False, True], pa.bool_()),  # a boolean base
            "个人缴费金额": pa.array(["784.40", "784.40", "784.40"]),
            "单位缴费金额": pa.array([1568.8, 1568.8, 1568.8], pa.float64()),
            "到账标志": pa.array(["已到账"] * 3),
            "参保地": pa.array(["苏州工业园区"] * 3),
            "到账日期": pa.array([None, None, None], pa.timestamp("ms")),
        }
    )


def build_corpus(landing: Path) -> dict[str, str]:
    """Write the corpus; returns file -> what it is."""
    emp = "单位编号,单位名称,统一社会信用代码,单位类型,参保地,行业风险类别,单位状态\n"
    (landing / "employers").mkdir(parents=True)
    (landing / "employers" / "e.csv").write_text(emp + f"U001,星湖科技,{USCC},企业,苏州工业园区,2,正常\n", "utf-8")
    (landing / "persons").mkdir()
    (landing / "persons" / "p.csv").write_text(
        f"个人编号,姓名,证件号码,性别,出生日期\nP001,张伟,{ID_A},男,1990-01-01\nP002,李娜,{ID_B},女,1985-12-31\n",
        "utf-8",
    )
    led = landing / "ledgers"
    led.mkdir()
    rng = random.Random(12)
    whole = csv_text([line("202401"), line("202401", "P002")])
    two_rows = csv_text([line("202402"), line("202402", "P002")])
    files: dict[str, bytes] = {
        "ok.csv": whole.encode(),
        # cut in the middle of the second data row: the first loads, the cut row is quarantined
        "truncated.csv": two_rows[: two_rows.rindex(",784.40,")].encode(),
        # an opening quote never closed: the rest of the file is one cell of one row
        "truncated_quote.csv": (csv_text([line("202403")]) + f'U001,P002,"李娜,{ID_B},202403').encode(),
        "truncated.xlsx": xlsx_bytes([line("202401")])[:900],
        "truncated.parquet": parquet_bytes(wrong_types_table())[:-40],
        # GB18030 text with one Latin-1 name: decodes as GB18030 into M黮ler
        "latin1.csv": csv_text([line("202404", name="@@")])
        .encode("gb18030")
        .replace(b"@@", "Müller".encode("latin-1")),
        "utf16.csv": csv_text([line("202404")]).encode("utf-16"),
        "undecodable.csv": csv_text([line("202404")]).encode() + b"U001,P002,\xff\xfe\x80,\n",
        "semicolon.csv": csv_text([line("202404")], ";").encode(),
        "pipe.csv": csv_text([line("202404")], "|").encode(),
        "tab.csv": csv_text([line("202407")], "\t").encode(),
        "huge_cell.csv": csv_text([line("202408"), line("202408", "P002", name="李" * HUGE)]).encode(),
        "binary.csv": bytes(rng.randrange(256) for _ in range(4096)),
        "binary.xlsx": b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2048)),
        "wrong_types.parquet": parquet_bytes(wrong_types_table()),
        "duplicated_header.csv": csv_text([line("202409") + ["P002"]], header=HEADER + ["人员编号"]).encode(),
        "header_only.csv": csv_text([]).encode(),
        "empty.csv": b"",
    }
    for name, data in files.items():
        (led / name).write_bytes(data)
    return {name: name for name in files}


# file -> (status, rows read, loaded, quarantined, what the error or the first quarantine reason says)
EXPECTED = {
    "ok.csv": ("loaded", 2, 2, 0, None),
    "truncated.csv": ("loaded", 2, 1, 1, "第3行 字段“个人缴费金额”(personal_amount)：必填字段为空"),
    "truncated_quote.csv": ("loaded", 2, 1, 1, "第3行 字段“证件号码”(id_number)：必填字段为空"),
    "truncated.xlsx": ("failed", 0, 0, 0, "不是有效的Excel（XLSX）文件或已损坏"),
    "truncated.parquet": ("failed", 0, 0, 0, "不是有效的Parquet文件或已损坏"),
    "latin1.csv": ("failed", 0, 0, 0, "第2行“姓名”(name)中出现姓名中不应有的字符“黮”（值为“M黮ler”）"),
    "utf16.csv": ("failed", 0, 0, 0, "是UTF-16编码，请另存为UTF-8或GB18030编码的CSV文件"),
    "undecodable.csv": ("failed", 0, 0, 0, "无法识别字符编码（既不是UTF-8也不是GB18030/GBK"),
    "semicolon.csv": ("failed", 0, 0, 0, "文件看起来是以分号（;）分隔的，请另存为以逗号分隔的CSV文件"),
    "pipe.csv": ("failed", 0, 0, 0, "文件看起来是以竖线（|）分隔的，请另存为以逗号分隔的CSV文件"),
    "tab.csv": ("loaded", 1, 1, 0, None),  # tab-separated text is read as such
    "huge_cell.csv": ("loaded", 2, 1, 1, f"第3行 字段“姓名”(name)：内容过长（{HUGE}个字符，最多1000个）"),
    "binary.csv": ("failed", 0, 0, 0, "无法识别字符编码"),
    "binary.xlsx": ("failed", 0, 0, 0, "不是有效的Excel（XLSX）文件或已损坏"),
    "wrong_types.parquet": ("loaded", 3, 0, 3, "第1行 字段“单位缴费基数”(unit_base)：不是有效的数字，值为“true”"),
    "duplicated_header.csv": (
        "failed",
        0,
        0,
        0,
        "第1行表头中字段“个人编号”(person_id)出现了2次（第2列“个人编号”、第15列“人员编号”），无法确定使用哪一列",
    ),
    "header_only.csv": ("empty", 0, 0, 0, "只有表头，没有数据行，未加载任何记录"),
    "empty.csv": ("empty", 0, 0, 0, "是空文件：没有表头，也没有数据行"),
}
RAW_TABLES = ("raw.ledgers", "raw.quarantine", "raw.pending", "raw.load_files")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    landing = root / "landing"
    build_corpus(landing)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    reports = loader.load_landing(con, landing)
    yield landing, con, {f.file.removeprefix("ledgers/"): f for f in reports["ledgers"].files}
    con.close()


def _snapshot(con) -> dict[str, list]:
    """Every raw table's rows without load times (a retried failed file keeps its first record)."""
    out = {}
    for table in RAW_TABLES:
        cols = [r[0] for r in con.execute(f"describe {table}").fetchall() if r[0] not in ("loaded_at",)]
        out[table] = sorted(map(repr, con.execute(f"select {', '.join(cols)} from {table}").fetchall()))
    return out


def test_the_corpus_is_generated_whole(corpus):
    landing, _con, files = corpus
    assert set(files) == set(EXPECTED)
    assert (landing / "ledgers" / "huge_cell.csv").stat().st_size > HUGE  # the 10 MB cell is really there


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_malformed_file_has_its_outcome_and_reason(corpus, name):
    _landing, con, files = corpus
    status, read, loaded, quarantined, says = EXPECTED[name]
    rep = files[name]
    assert (rep.status, rep.rows_read, rep.rows_loaded, rep.rows_quarantined) == (status, read, loaded, quarantined)
    assert rep.rows_read == rep.rows_loaded + rep.rows_quarantined + rep.rows_held + rep.rows_skipped
    if status in ("failed", "empty"):
        assert rep.error.startswith(f"文件 ledgers/{name} ") and says in rep.error
        assert "\n" not in rep.error and "内部错误" not in rep.error
    elif says is not None:
        reasons = [
            r[0]
            for r in con.execute(
                "select reason from raw.quarantine where source_file = ? order by source_row", [f"ledgers/{name}"]
            ).fetchall()
        ]
        assert len(reasons) == quarantined and reasons[0].startswith(f"文件 ledgers/{name} ") and says in reasons[0]
    stored = con.execute("select count(*) from raw.ledgers where source_file = ?", [f"ledgers/{name}"]).fetchone()
    assert stored[0] == loaded


def test_counts_reconcile_over_the_corpus(corpus):
    _landing, con, files = corpus
    assert sum(f.rows_read for f in files.values()) == 12
    assert sum(f.rows_loaded for f in files.values()) == 6
    assert sum(f.rows_quarantined for f in files.values()) == 6
    assert sum(f.status == "failed" for f in files.values()) == 10
    assert con.execute("select count(*) from raw.ledgers").fetchone()[0] == 6
    assert con.execute("select count(*) from raw.quarantine where source = 'ledgers'").fetchone()[0] == 6
    db = con.execute(
        "select sum(rows_read), sum(rows_loaded + rows_quarantined + rows_held + rows_skipped) from raw.load_files "
        "where source = 'ledgers'"
    ).fetchone()
    assert db == (12, 12)


def test_a_huge_cell_is_quoted_short_and_stored_cut(corpus):
    _landing, con, _files = corpus
    reason, value, record = con.execute(
        "select reason, value, record from raw.quarantine where source_file = 'ledgers/huge_cell.csv'"
    ).fetchone()
    quote = reason.split("值为“", 1)[1].rsplit("”", 1)[0]
    assert quote == "李" * 200 + "…" and value == quote
    assert len(reason) < 400 and len(record) < 2000
    assert con.execute("select max(length(name)) from raw.ledgers").fetchone()[0] == 2  # 张伟, 李娜


def test_wrong_parquet_types_are_judged_as_text(corpus):
    _landing, con, _files = corpus
    reasons = [
        r[0]
        for r in con.execute(
            "select reason from raw.quarantine where source_file = 'ledgers/wrong_types.parquet' order by source_row"
        ).fetchall()
    ]
    assert "字段“个人缴费基数”(personal_base)：金额最多保留两位小数，值为“9805.125”" in reasons[1]
    assert "字段“单位缴费基数”(unit_base)：不是有效的数字，值为“false”" in reasons[1]


def test_loading_the_corpus_again_changes_nothing(corpus):
    landing, con, _files = corpus
    before = _snapshot(con)
    again = {f.file.removeprefix("ledgers/"): f for f in loader.load_landing(con, landing)["ledgers"].files}
    assert _snapshot(con) == before
    for name, (status, *_rest) in EXPECTED.items():
        expected = {"loaded": "already_loaded"}.get(status, status)
        assert again[name].status == expected, name
        assert again[name].rows_loaded == again[name].rows_quarantined == 0
