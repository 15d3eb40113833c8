"""Every odd input ends with a clear outcome: landing folders, links, encodings, empty files, delimiters, held rows."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from foundation.landing.identifiers import id_check_char, uscc_check_char
from pipelines.ingest import loader
from pipelines.ingest.discovery import LandingFolderError

pytestmark = pytest.mark.unit

ID_A = "32058119900101123" + id_check_char("32058119900101123")  # born 1990-01-01
ID_B = "42010619851231002" + id_check_char("42010619851231002")  # born 1985-12-31
USCC = "91320594MA1XYK123"[:17] + uscc_check_char("91320594MA1XYK123"[:17])

LEDGER_HEADER = (
    "单位编号,个人编号,证件号码,费款所属期,险种类型,缴费类型,"
    "个人缴费基数,单位缴费基数,个人缴费金额,单位缴费金额,到账标志,参保地,到账日期"
)
PERSON_HEADER = "个人编号,姓名,证件号码,性别,出生日期,户籍性质,参加工作日期,岗位类别"
EMPLOYER_HEADER = "单位编号,单位名称,统一社会信用代码,单位类型,参保地,行业风险类别,单位状态,法定代表人,地址,成立日期"


def ledger_line(person: str = "P001", unit: str = "U001", id_number: str = ID_A, period: str = "202403") -> str:
    return f"{unit},{person},{id_number},{period},110,正常应缴,9805,9805,784.40,1568.80,已到账,苏州工业园区,2024-03-15"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
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


def only_file(report):
    assert len(report.files) == 1
    return report.files[0]


def register(landing: Path, con, persons: list[tuple[str, str, str]], name: str = "p.csv") -> None:
    """Employer U001 and the given (person_id, name, id_number) persons, loaded."""
    write(landing / "employers" / "e.csv", f"{EMPLOYER_HEADER}\nU001,星湖科技,{USCC},企业,苏州工业园区,2,正常,,,\n")
    born = {ID_A: "1990-01-01", ID_B: "1985-12-31"}
    lines = [f"{pid},{pname},{idn},男,{born[idn]},,," for pid, pname, idn in persons]
    write(landing / "persons" / name, PERSON_HEADER + "\n" + "\n".join(lines) + "\n")
    loader.load_source(con, landing, "employers")
    loader.load_source(con, landing, "persons")


# --------------------------------------------------------------------------- the landing folder


def test_missing_landing_folder_is_an_error(con, tmp_path):
    with pytest.raises(LandingFolderError) as exc:
        loader.load_landing(con, tmp_path / "nope")
    assert str(exc.value) == f"落地目录 {tmp_path / 'nope'} 不存在，没有可加载的数据"


def test_landing_folder_without_source_folders_or_files_is_an_error(con, landing):
    (landing / "other").mkdir()
    with pytest.raises(LandingFolderError) as exc:
        loader.load_landing(con, landing)
    assert str(exc.value) == (
        f"落地目录 {landing} 中没有 employers、persons、enrolments、ledgers 中的任何一个子文件夹，没有可加载的数据"
    )
    (landing / "ledgers").mkdir()
    (landing / "ledgers" / ".hidden.csv").write_text("x")
    with pytest.raises(LandingFolderError) as exc:
        loader.load_landing(con, landing)
    assert str(exc.value) == f"落地目录 {landing} 的子文件夹（ledgers）中没有任何文件，没有可加载的数据"


def test_shebao_run_on_a_missing_landing_folder_is_one_line_and_non_zero(tmp_path, capsys):
    from shebao.cli import main

    rc = main(["run", "--landing", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "w.duckdb")])
    out = capsys.readouterr()
    assert rc == 2
    assert out.err == f"错误：落地目录 {tmp_path / 'nope'} 不存在，没有可加载的数据\n"
    assert out.out == ""
    assert not (tmp_path / "w.duckdb").exists()


def test_the_ingestion_asset_fails_on_a_missing_landing_folder(tmp_path):
    """Outside the CLI (dagster dev, the sensor) the ingestion step fails with the same message."""
    import dagster as dg

    from pipelines.defs.ingestion.assets import raw_assets
    from pipelines.resources import LandingResource, WarehouseResource

    result = dg.materialize(
        [raw_assets[0]],
        resources={
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
            "landing": LandingResource(path=str(tmp_path / "nope")),
        },
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_failure_data.user_failure_data.description == (
        f"落地目录 {tmp_path / 'nope'} 不存在，没有可加载的数据"
    )


# --------------------------------------------------------------------------- symbolic links


def test_symlinks_are_refused_and_never_read(con, landing, tmp_path):
    outside = tmp_path / "outside"
    write(outside / "secret.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n")
    write(outside / "dir" / "x.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n")
    write(landing / "ledgers" / "ok.csv", f"{LEDGER_HEADER}\n{ledger_line(person='P002', id_number=ID_B)}\n")
    os.symlink(outside / "secret.csv", landing / "ledgers" / "link.csv")
    os.symlink(outside / "dir", landing / "ledgers" / "linked_dir")
    os.symlink(outside / "missing.csv", landing / "ledgers" / "dangling.csv")
    rep = loader.load_source(con, landing, "ledgers")
    got = {f.file: (f.status, f.error) for f in rep.files}
    assert got == {
        "ledgers/ok.csv": ("loaded", None),
        "ledgers/link.csv": (
            "failed",
            "文件 ledgers/link.csv 是符号链接，为安全起见不读取它指向的内容（不跟随任何链接）；"
            "请把文件本身而不是链接放入落地目录，未加载",
        ),
        "ledgers/linked_dir": (
            "failed",
            "文件夹 ledgers/linked_dir 是符号链接，为安全起见不读取它指向的内容（不跟随任何链接）；"
            "请把文件夹本身而不是链接放入落地目录，未加载",
        ),
        "ledgers/dangling.csv": (
            "failed",
            "文件 ledgers/dangling.csv 是符号链接，为安全起见不读取它指向的内容（不跟随任何链接）；"
            "请把文件本身而不是链接放入落地目录，未加载",
        ),
    }
    assert con.execute("select person_id, source_file from raw.ledgers").fetchall() == [("P002", "ledgers/ok.csv")]
    assert con.execute("select count(*) from raw.quarantine").fetchone()[0] == 0
    assert con.execute("select source_file, status from raw.load_files").fetchall() == [("ledgers/ok.csv", "loaded")]


def test_a_linked_source_folder_is_refused(con, landing, tmp_path):
    write(tmp_path / "elsewhere" / "a.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n")
    os.symlink(tmp_path / "elsewhere", landing / "ledgers")
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.file, f.status) == ("ledgers", "failed")
    assert f.error.startswith("文件夹 ledgers 是符号链接，为安全起见不读取它指向的内容")
    assert con.execute("select count(*) from raw.ledgers").fetchone()[0] == 0


# --------------------------------------------------------------------------- encodings


def test_latin1_bytes_that_decode_as_gb18030_fail_the_file(con, landing):
    write(
        landing / "persons" / "latin1.csv",
        "person_id,name,id_number,sex,birth_date,hukou_type,work_start_date,post_category\n"
        f"P001,Müller,{ID_A},M,1990-01-01,,,\n",
        encoding="latin-1",
    )
    assert "Müller".encode("latin-1").decode("gb18030") == "M黮ler"
    f = only_file(loader.load_source(con, landing, "persons"))
    assert f.status == "failed"
    assert f.error == (
        "文件 persons/latin1.csv 按GB18030/GBK解码后，第2行“name”(name)中出现姓名中不应有的字符“黮”"
        "（值为“M黮ler”），文件很可能不是GB18030/GBK编码（例如Latin-1/Windows-1252），"
        "请另存为UTF-8编码的CSV文件，整个文件未加载"
    )
    assert con.execute("select count(*) from raw.persons").fetchone()[0] == 0
    assert con.execute("select count(*) from raw.quarantine").fetchone()[0] == 0


def test_gbk_names_with_middle_dot_and_latin_letters_load(con, landing):
    text = f"{PERSON_HEADER}\nP001,约翰·史密斯,{ID_A},男,1990-01-01,,,\nP002,Anna Lee,{ID_B},女,1985-12-31,,,\n"
    write(landing / "persons" / "gbk.csv", text, encoding="gbk")
    f = only_file(loader.load_source(con, landing, "persons"))
    assert (f.status, f.rows_loaded) == ("loaded", 2)
    assert con.execute("select name from raw.persons order by 1").fetchall() == [("Anna Lee",), ("约翰·史密斯",)]


def test_a_rare_name_character_loads_from_utf8(con, landing):
    """Only a guessed (GB18030) decoding is checked: 堃 is outside GB 2312 and fine in UTF-8."""
    write(landing / "persons" / "u.csv", f"{PERSON_HEADER}\nP001,王堃,{ID_A},男,1990-01-01,,,\n")
    f = only_file(loader.load_source(con, landing, "persons"))
    assert (f.status, f.rows_loaded) == ("loaded", 1)


# --------------------------------------------------------------------------- empty files and delimiters


def test_header_only_and_zero_byte_files_are_empty(con, landing):
    write(landing / "ledgers" / "header_only.csv", LEDGER_HEADER + "\n\n")
    write(landing / "ledgers" / "zero.csv", "")
    rep = loader.load_source(con, landing, "ledgers")
    got = {f.file: (f.status, f.rows_read, f.error) for f in rep.files}
    assert got == {
        "ledgers/header_only.csv": ("empty", 0, "文件 ledgers/header_only.csv 只有表头，没有数据行，未加载任何记录"),
        "ledgers/zero.csv": ("empty", 0, "文件 ledgers/zero.csv 是空文件：没有表头，也没有数据行，未加载任何记录"),
    }
    assert rep.summary_lines() == [
        "ledgers/header_only.csv: empty - 文件 ledgers/header_only.csv 只有表头，没有数据行，未加载任何记录",
        "ledgers/zero.csv: empty - 文件 ledgers/zero.csv 是空文件：没有表头，也没有数据行，未加载任何记录",
        "ledgers total: 2 files (0 loaded, 0 already loaded, 0 replaced, 0 failed, 2 empty); read 0, loaded 0, "
        "quarantined 0, skipped template rows 0",
    ]
    assert rep.to_metadata()["files_empty"] == 2
    rows = "select source_file, status, rows_read, rows_loaded, error from raw.load_files order by 1"
    before = con.execute(rows).fetchall()
    assert [r[:4] for r in before] == [("ledgers/header_only.csv", "empty", 0, 0), ("ledgers/zero.csv", "empty", 0, 0)]
    again = loader.load_source(con, landing, "ledgers")  # the same outcome, nothing written twice
    assert {f.file: (f.status, f.error) for f in again.files} == {k: (v[0], v[2]) for k, v in got.items()}
    assert con.execute(rows).fetchall() == before


@pytest.mark.parametrize(("delimiter", "name"), [(";", "分号（;）"), ("|", "竖线（|）")])
def test_a_file_delimited_otherwise_says_so(con, landing, delimiter, name):
    text = f"{LEDGER_HEADER}\n{ledger_line()}\n".replace(",", delimiter)
    write(landing / "ledgers" / "d.csv", text)
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert f.status == "failed"
    assert f.error == (
        "文件 ledgers/d.csv 未找到表头行：前30行中没有可识别的列名（应包含 单位编号、个人编号、证件号码、费款所属期、"
        "险种类型、缴费类型、个人缴费基数、单位缴费基数、个人缴费金额、单位缴费金额、到账标志、到账日期、参保地 等）；"
        f"文件看起来是以{name}分隔的，请另存为以逗号分隔的CSV文件，整个文件未加载"
    )


def test_a_tab_delimited_file_loads(con, landing):
    write(landing / "ledgers" / "t.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n".replace(",", "\t"))
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.status, f.rows_loaded) == ("loaded", 1)


# --------------------------------------------------------------------------- held rows


HELD_P009 = (
    "文件 ledgers/a.csv 第3行 字段“个人编号”(person_id)：人员未登记（人员信息中没有个人编号为“P009”的有效记录），"
    "暂挂，登记后自动加载"
)


def ledgers_table(con):
    return con.execute(
        "select person_id, fee_period, personal_amount, unit_amount, region_code, source_file, source_row "
        "from raw.ledgers where superseded_at is null order by person_id"
    ).fetchall()


def test_rows_for_an_unregistered_person_are_held_then_released(con, landing):
    register(landing, con, [("P001", "张三", ID_A)])
    assert con.execute("select count(*) from raw.employers union all select count(*) from raw.persons").fetchall() == [
        (1,),
        (1,),
    ]
    write(landing / "ledgers" / "a.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n{ledger_line('P009', id_number=ID_B)}\n")
    rep = loader.load_source(con, landing, "ledgers")
    f = only_file(rep)
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_held, f.rows_skipped) == (2, 1, 0, 1, 0)
    assert (
        f.summary_line() == "ledgers/a.csv: loaded - read 2, loaded 1, quarantined 0, held 1, skipped template rows 0"
    )
    assert ledgers_table(con) == [
        ("P001", "202403", Decimal("784.40"), Decimal("1568.80"), "SZ_SIP", "ledgers/a.csv", 2)
    ]
    assert con.execute(
        "select source, source_file, source_row, field, value, reason, released_at from raw.pending"
    ).fetchall() == [("ledgers", "ledgers/a.csv", 3, "person_id", "P009", HELD_P009, None)]
    lf = "select rows_read, rows_loaded, rows_quarantined, rows_held from raw.load_files where source = 'ledgers'"
    assert con.execute(lf).fetchall() == [(2, 1, 0, 1)]

    # nothing arrived: a re-run changes nothing
    again = loader.load_source(con, landing, "ledgers")
    assert (again.rows_released, only_file(again).status) == (0, "already_loaded")
    assert con.execute("select count(*) from raw.ledgers").fetchone()[0] == 1

    # the person is registered by a later persons file; the next ledger load releases the held line
    write(landing / "persons" / "p2.csv", f"{PERSON_HEADER}\nP009,李四,{ID_B},女,1985-12-31,,,\n")
    loader.load_source(con, landing, "persons")
    rep = loader.load_source(con, landing, "ledgers")
    assert rep.rows_released == 1
    assert rep.summary_lines()[1] == "released 1 held rows: their person or unit is now registered"
    assert ledgers_table(con) == [
        ("P001", "202403", Decimal("784.40"), Decimal("1568.80"), "SZ_SIP", "ledgers/a.csv", 2),
        ("P009", "202403", Decimal("784.40"), Decimal("1568.80"), "SZ_SIP", "ledgers/a.csv", 3),
    ]
    released = con.execute("select released_at from raw.pending").fetchone()[0]
    assert isinstance(released, dt.datetime)
    assert con.execute(lf).fetchall() == [(2, 2, 0, 0)]

    # re-running never double-counts
    for _ in range(2):
        assert loader.load_source(con, landing, "ledgers").rows_released == 0
    assert con.execute("select count(*), count(distinct source_row) from raw.ledgers").fetchone() == (2, 2)
    assert con.execute(lf).fetchall() == [(2, 2, 0, 0)]


def test_unknown_unit_and_person_both_named_and_enrolments_held(con, landing):
    register(landing, con, [("P001", "张三", ID_A)])
    write(
        landing / "enrolments" / "r.csv",
        "个人编号,单位编号,险种类型,参保开始年月,参保终止年月,参保状态\nP001,U001,110,202401,,正常参保\nP404,U404,110,202401,,正常参保\n",
    )
    f = only_file(loader.load_source(con, landing, "enrolments"))
    assert (f.rows_loaded, f.rows_held) == (1, 1)
    assert con.execute("select field, value, reason from raw.pending").fetchall() == [
        (
            "person_id",
            "P404",
            "文件 enrolments/r.csv 第3行 "
            "字段“个人编号”(person_id)：人员未登记（人员信息中没有个人编号为“P404”的有效记录）；"
            "字段“单位编号”(unit_id)：单位未登记（单位信息中没有单位编号为“U404”的有效记录），暂挂，登记后自动加载",
        )
    ]


def test_a_quarantined_person_holds_their_lines(con, landing):
    """A person whose registry row was quarantined is not registered: the lines wait instead of breaking dbt."""
    bad_id = ID_B[:-1] + ("0" if ID_B[-1] != "0" else "1")
    write(landing / "employers" / "e.csv", f"{EMPLOYER_HEADER}\nU001,星湖科技,{USCC},企业,苏州工业园区,2,正常,,,\n")
    write(
        landing / "persons" / "p.csv",
        f"{PERSON_HEADER}\nP001,张三,{ID_A},男,1990-01-01,,,\nP009,李四,{bad_id},女,1985-12-31,,,\n",
    )
    write(landing / "ledgers" / "a.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n{ledger_line('P009', id_number=ID_B)}\n")
    reports = loader.load_landing(con, landing)
    assert reports["persons"].rows_quarantined == 1
    assert (reports["ledgers"].rows_loaded, reports["ledgers"].rows_held) == (1, 1)
    assert con.execute("select reason from raw.pending").fetchone()[0] == HELD_P009


def test_a_second_copy_of_a_held_row_is_a_duplicate_and_a_correction_supersedes_held_rows(con, landing):
    register(landing, con, [("P001", "张三", ID_A)])
    write(landing / "ledgers" / "a.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n{ledger_line('P009', id_number=ID_B)}\n")
    loader.load_source(con, landing, "ledgers")
    write(landing / "ledgers" / "b.csv", f"{LEDGER_HEADER}\n{ledger_line('P009', id_number=ID_B)}\n")
    b = next(f for f in loader.load_source(con, landing, "ledgers").files if f.file == "ledgers/b.csv")
    assert (b.rows_loaded, b.rows_held, b.rows_quarantined) == (0, 0, 1)
    assert con.execute("select reason from raw.quarantine").fetchone()[0] == (
        "文件 ledgers/b.csv 第2行 重复记录：自然键（单位编号、个人编号、费款所属期、险种类型、缴费类型）与已加载的文件 "
        "ledgers/a.csv（暂挂待登记） 第3行相同，值为“U001|P009|202403|110|正常应缴”"
    )
    # a.v2 drops the P009 line: the held row is superseded and never released
    write(landing / "ledgers" / "a.v2.csv", f"{LEDGER_HEADER}\n{ledger_line()}\n")
    loader.load_source(con, landing, "ledgers")
    write(landing / "persons" / "p2.csv", f"{PERSON_HEADER}\nP009,李四,{ID_B},女,1985-12-31,,,\n")
    loader.load_source(con, landing, "persons")
    assert loader.load_source(con, landing, "ledgers").rows_released == 0
    assert con.execute("select released_at is null, superseded_at is not null from raw.pending").fetchall() == [
        (True, True)
    ]
    assert ledgers_table(con) == [
        ("P001", "202403", Decimal("784.40"), Decimal("1568.80"), "SZ_SIP", "ledgers/a.v2.csv", 2)
    ]


def test_without_any_registry_rows_nothing_is_held(con, landing):
    """A partial reload of one source (no persons or employers delivered yet) loads as before."""
    write(landing / "ledgers" / "a.csv", f"{LEDGER_HEADER}\n{ledger_line('P009', unit='U404')}\n")
    f = only_file(loader.load_source(con, landing, "ledgers"))
    assert (f.rows_loaded, f.rows_held) == (1, 0)
