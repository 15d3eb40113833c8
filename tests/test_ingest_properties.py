"""Property-based tests of the landing contract: every row ends somewhere with a reason, and loading is idempotent."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foundation.landing.identifiers import id_check_char
from pipelines.ingest import loader

pytestmark = pytest.mark.slow

ID_A = "32058119900101123" + id_check_char("32058119900101123")
BAD_ID = ID_A[:-1] + ("0" if ID_A[-1] != "0" else "1")
FILE = "ledgers/g.csv"

HEADER = [
    "单位编号",
    "单位名称",
    "个人编号",
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
free_text = st.text(st.characters(whitelist_categories=("L", "N", "P", "Zs")), max_size=6)
money = st.sampled_from(["9805", "784.40", "1,234.50", "-1", "-0.00", "1e3", "0.001", "", " 12 ", "+5", ".5"])
CELLS = {
    "单位编号": st.sampled_from(["U001", "U001", "U002", "U404", ""]),
    "单位名称": st.one_of(st.just("星湖科技"), free_text),
    "个人编号": st.sampled_from(["P1", "P2", "P3", "P404", ""]),
    "证件号码": st.sampled_from([ID_A, ID_A, BAD_ID, "123", ""]),
    "费款所属期": st.sampled_from(["202403", "202404", "2024-03", "202413", "abc", ""]),
    "险种类型": st.sampled_from(["110", "企业职工基本养老保险", "999", ""]),
    "缴费类型": st.sampled_from(["正常应缴", "补缴", "xx", ""]),
    "个人缴费基数": money,
    "单位缴费基数": money,
    "个人缴费金额": money,
    "单位缴费金额": money,
    "到账标志": st.sampled_from(["已到账", "未到账", "已到", ""]),
    "到账日期": st.sampled_from(["2024-03-15", "2024/3/5", "2024-02-30", ""]),
    "参保地": st.one_of(st.sampled_from(["苏州工业园区", "SZ_SIP", "火星", ""]), free_text),
}
rows_strategy = st.lists(st.fixed_dictionaries(CELLS), min_size=1, max_size=12)
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True, database=None
)


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows([[r[h] for h in HEADER] for r in rows])
    return out.getvalue().encode("utf-8")


def warehouse_with_registry() -> duckdb.DuckDBPyConnection:
    """Units U001/U002 and persons P1/P2 registered, so rows for P3, P404 or U404 are held."""
    con = duckdb.connect()
    loader.ensure_raw_schema(con)
    con.execute("INSERT INTO raw.employers (unit_id) VALUES ('U001'), ('U002')")
    con.execute("INSERT INTO raw.persons (person_id) VALUES ('P1'), ('P2')")
    return con


def snapshot(con: duckdb.DuckDBPyConnection) -> list[list[tuple]]:
    tables = ("raw.ledgers", "raw.quarantine", "raw.pending", "raw.load_files")
    return [con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables]


def load(landing: Path, rows: list[dict[str, str]]):
    (landing / "ledgers").mkdir()
    (landing / FILE).write_bytes(csv_bytes(rows))
    con = warehouse_with_registry()
    return con, loader.load_source(con, landing, "ledgers")


@PROPERTY
@given(rows_strategy)
def test_every_row_is_loaded_quarantined_held_or_skipped_with_a_reason(rows):
    with tempfile.TemporaryDirectory() as tmp:
        con, report = load(Path(tmp), rows)
    (f,) = report.files
    assert f.status in ("loaded", "empty"), f.error
    assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_held + f.rows_skipped
    assert f.rows_read <= len(rows)
    loaded = {r[0] for r in con.execute("SELECT source_row FROM raw.ledgers").fetchall()}
    quarantined = con.execute("SELECT source_row, reason FROM raw.quarantine").fetchall()
    held = con.execute("SELECT source_row, reason FROM raw.pending").fetchall()
    assert len(loaded) == f.rows_loaded and len(quarantined) == f.rows_quarantined and len(held) == f.rows_held
    for row, reason in quarantined + held:
        assert reason.startswith(f"文件 {FILE} 第{row}行 ")
        assert 2 <= row <= len(rows) + 1
    ends = [loaded, {r for r, _ in quarantined}, {r for r, _ in held}]
    assert sum(len(e) for e in ends) == len(set().union(*ends))  # no row ends in two places
    assert sum(f.reasons.values()) == f.rows_quarantined
    counts = con.execute("SELECT rows_read, rows_loaded, rows_quarantined, rows_held, rows_skipped FROM raw.load_files")
    assert counts.fetchall() == [(f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_held, f.rows_skipped)]


@PROPERTY
@given(rows_strategy)
def test_loading_the_same_file_twice_equals_loading_it_once(rows):
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp)
        con, first = load(landing, rows)
        before = snapshot(con)
        (landing / "ledgers" / "copy.csv").write_bytes((landing / FILE).read_bytes())  # same bytes, another name
        again = loader.load_source(con, landing, "ledgers")
    assert [f.file for f in first.files] == [FILE]
    statuses = {f.file: f.status for f in again.files}
    assert statuses[FILE] in ("already_loaded", "empty")
    assert statuses["ledgers/copy.csv"] == "already_loaded"
    assert sum(f.rows_loaded + f.rows_quarantined + f.rows_held for f in again.files) == 0
    after = snapshot(con)
    assert after[:3] == before[:3]  # rows: loaded, quarantined, held
    assert [r for r in after[3] if r[2] == FILE] == [r for r in before[3] if r[2] == FILE]
