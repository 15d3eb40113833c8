"""Batched loading: the same outcome as one file at a time, and a bad file in a batch fails alone.

The loader checks and inserts the new files of a source together, in one transaction
(pipelines/ingest/batch.py). These tests hold it to the per-file rules: every table equal to
loading the files one by one on generated data with planted errors (plus files that repeat keys
of other files of the same batch, loaded and held), a bad file anywhere in a batch leaving
nothing behind while the others load as if it were not there, and a killed load leaving all of
a batch or none of it.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest import loader
from tests.test_ingest import GOOD_1, GOOD_2, LEDGER_HEADER, ledger, write_csv

pytestmark = pytest.mark.unit

generate = pytest.importorskip("shebao.generate")

# Set per load by design (when and under which load id), so not compared between two loads.
PER_LOAD = {"load_id", "loaded_at", "quarantined_at", "held_at", "released_at", "superseded_at"}
TABLES = (
    "raw.employers",
    "raw.persons",
    "raw.enrolments",
    "raw.ledgers",
    "raw.legacy_history",
    "raw.quarantine",
    "raw.pending",
    "raw.load_files",
)
REPO = Path(__file__).resolve().parents[1]


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    schema, name = table.split(".")
    cols = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ? order by column_index",
            [schema, name],
        ).fetchall()
        if c not in PER_LOAD
    ]
    return con.execute(f"select {', '.join(cols)} from {table} order by all").fetchall()


def outcomes(reports: dict[str, loader.SourceReport]) -> list[tuple]:
    return [
        (
            f.source,
            f.file,
            f.status,
            f.rows_read,
            f.rows_loaded,
            f.rows_quarantined,
            f.rows_held,
            f.rows_skipped,
            f.reasons,
            f.error,
            f.note,
            f.replaced_by,
        )
        for r in reports.values()
        for f in r.files
    ]


def _extra_ledgers(landing: Path) -> None:
    """Two files after ledger_202406_SZ_SIP.csv in the same batch: keys repeated across the batch."""
    with open(landing / "ledgers" / "ledger_202406_SZ_SIP.csv", encoding="utf-8-sig", newline="") as fh:
        header, *body = list(csv.reader(fh))
    col = {h: i for i, h in enumerate(header)}

    def changed(row: list[str], **kw: str) -> list[str]:
        out = list(row)
        for label, value in kw.items():
            out[col[label]] = value
        return out

    fresh = changed(body[1], 费款所属期="202407")  # a key nobody has: loaded from file a
    held = changed(body[2], 个人编号="19999999999", 费款所属期="202407")  # person not registered: held in file a
    file_a = [body[0], fresh, held, changed(body[3], 到账标志="已到")]
    file_b = [fresh, held, fresh, changed(body[4], 费款所属期="202408"), body[5]]
    for name, part in (("ledger_202406_zz_a.csv", file_a), ("ledger_202406_zz_b.csv", file_b)):
        with open(landing / "ledgers" / name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows([header, *part])


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("batch") / "landing"
    generate.generate_landing(folder, persons=60, months=("202401", "202406"), inject_errors=True)
    _extra_ledgers(folder)
    return folder


def test_batched_and_per_file_loading_agree_table_by_table(landing, tmp_path, monkeypatch):
    batches: list[list[str]] = []
    real = loader.load_rows

    def spy(con, source, reference, members, now):
        batches.append([m.rep.file for m in members])
        return real(con, source, reference, members, now)

    monkeypatch.setattr(loader, "load_rows", spy)
    one = duckdb.connect(str(tmp_path / "per_file.duckdb"))
    many = duckdb.connect(str(tmp_path / "batched.duckdb"))
    try:
        per_file = loader.load_landing(one, landing, batched=False)
        assert all(len(b) == 1 for b in batches)
        batches.clear()
        batched = loader.load_landing(many, landing)
        assert outcomes(batched) == outcomes(per_file)
        for table in TABLES:
            assert rows(many, table) == rows(one, table), table
        # batching did happen, and the two extra files shared a batch with the other CSV ledgers
        (with_extras,) = [b for b in batches if "ledgers/ledger_202406_zz_b.csv" in b]
        assert "ledgers/ledger_202406_zz_a.csv" in with_extras and len(with_extras) >= 4
        reasons = [
            r
            for (r,) in many.execute(
                "select reason from raw.quarantine where source_file = 'ledgers/ledger_202406_zz_b.csv' "
                "order by source_row"
            ).fetchall()
        ]
        assert "与已加载的文件 ledgers/ledger_202406_zz_a.csv 第3行相同" in reasons[0]
        assert "与已加载的文件 ledgers/ledger_202406_zz_a.csv（暂挂待登记） 第4行相同" in reasons[1]
        assert "与已加载的文件 ledgers/ledger_202406_zz_a.csv 第3行相同" in reasons[2]
        assert "与已加载的文件 ledgers/ledger_202406_SZ_SIP.csv 第7行相同" in reasons[3]
        # and loading again changes nothing, batched or not
        again = loader.load_landing(many, landing)
        assert all(f.status in ("already_loaded", "failed") for r in again.values() for f in r.files)
        for table in TABLES:
            assert rows(many, table) == rows(one, table), table
    finally:
        one.close()
        many.close()


# --------------------------------------------------------------------------- a bad file in a batch

GOOD_FILES = {
    "b.csv": [GOOD_1, ledger(个人编号="P003", 到账标志="x")],
    "d.csv": [GOOD_2, ledger(个人编号="P004", 费款所属期="202404")],
    "f.csv": [ledger(个人编号="P005"), GOOD_1, ledger(个人编号="P006", 险种类型="X")],
}
BAD_NAME = {"first": "a.csv", "middle": "c.csv", "last": "g.csv", "only": "a.csv"}


def _landing(root: Path, with_good: bool, bad: str | None, kind: str) -> Path:
    folder = root / "landing"
    if with_good:
        for name, body in GOOD_FILES.items():
            write_csv(folder / "ledgers" / name, LEDGER_HEADER, body)
    if bad is not None:
        # rows that later good files repeat: if any of them stayed behind, those files would differ
        rows_ = [ledger(个人编号="P005"), ledger(个人编号="P007")]
        path = write_csv(folder / "ledgers" / bad, LEDGER_HEADER, rows_)
        if kind == "unreadable":
            path.write_bytes(path.read_bytes().replace("证件号码".encode(), b"whatever"))  # a required column gone
    return folder


@pytest.mark.parametrize("kind", ["unreadable", "fails inside the batch"])
@pytest.mark.parametrize("where", ["first", "middle", "last", "only"])
def test_a_bad_file_inside_a_batch_fails_alone_and_leaves_nothing_behind(tmp_path, monkeypatch, where, kind):
    bad = BAD_NAME[where]
    with_good = where != "only"
    if kind == "fails inside the batch":
        original = loader._Loader._write_load_file

        def explode(self, rep, now):
            if rep.file == f"ledgers/{bad}" and rep.status == "loaded":
                raise RuntimeError("disk full")
            return original(self, rep, now)

        monkeypatch.setattr(loader._Loader, "_write_load_file", explode)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ref = duckdb.connect(str(tmp_path / "ref.duckdb"))  # the good files alone
    try:
        report = loader.load_source(con, _landing(tmp_path / "x", with_good, bad, kind), "ledgers")
        expected = loader.load_source(ref, _landing(tmp_path / "y", with_good, None, kind), "ledgers")
        by_file = {f.file: f for f in report.files}
        failed = by_file.pop(f"ledgers/{bad}")
        assert (failed.status, failed.rows_read, failed.rows_loaded, failed.rows_quarantined) == ("failed", 0, 0, 0)
        assert failed.error.startswith(f"文件 ledgers/{bad} ") and failed.error.endswith("整个文件未加载")
        assert ("disk full" in failed.error) == (kind == "fails inside the batch")
        assert outcomes({"x": loader.SourceReport("ledgers", list(by_file.values()))}) == outcomes({"x": expected})
        for table in ("raw.ledgers", "raw.quarantine", "raw.pending"):
            assert rows(con, table) == rows(ref, table), table
        assert con.execute(
            "select status, rows_read from raw.load_files where source_file = ?", [f"ledgers/{bad}"]
        ).fetchall() == [("failed", 0)]
        assert con.execute("select count(*) from raw.load_files where status = 'loaded'").fetchone()[0] == (
            3 if with_good else 0
        )
    finally:
        con.close()
        ref.close()


# --------------------------------------------------------------------------- a killed load

CHILD = """
import sys, time
from pathlib import Path
import duckdb
from pipelines.ingest import bookkeeping, loader

warehouse, landing, marker = sys.argv[1:4]
write = bookkeeping.write_load_file

def write_then_stall(con, source, rep, now):
    write(con, source, rep, now)
    if rep.file.endswith("f.csv"):  # the batch's last file: every row and bookkeeping written, not committed
        Path(marker).write_text("ready")
        time.sleep(600)

bookkeeping.write_load_file = write_then_stall
loader.load_source(duckdb.connect(warehouse), landing, "ledgers")
"""


def test_a_load_killed_before_its_commit_leaves_none_of_the_batch(tmp_path):
    landing = _landing(tmp_path, True, None, "")
    warehouse, marker = tmp_path / "w.duckdb", tmp_path / "ready"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(warehouse), str(landing), str(marker)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the child never reached the end of its batch"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    con = duckdb.connect(str(warehouse))
    try:
        for table in ("raw.ledgers", "raw.quarantine", "raw.pending", "raw.load_files"):
            assert con.execute(f"select count(*) from {table}").fetchone()[0] == 0, table
        report = loader.load_source(con, landing, "ledgers")  # the next run loads the whole batch
        assert [(f.status, f.rows_loaded) for f in report.files] == [("loaded", 1), ("loaded", 2), ("loaded", 1)]
        assert [f.rows_quarantined for f in report.files] == [1, 0, 2]
    finally:
        con.close()
