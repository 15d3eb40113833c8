"""Faults injected into real `shebao run` processes: kill -9 at each stage, SIGTERM, two runs at once.

Every run is a subprocess on a small generated landing folder, bounded by timeouts, with no
network. After each fault no dbt process of that warehouse may survive, the next run must
finish without waiting on anything the dead run left (no lock, no Dagster concurrency slot),
and its serving copy must hold marts equal, row for row, to an uninterrupted build's. A reader
holding an earlier serving version keeps it through the faults and the re-publishes.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from foundation import paths, serving
from pipelines.defs.serving import versions

pytestmark = pytest.mark.slow

AS_OF = "2025-07-15"
RUN_TIMEOUT = 900  # seconds for one whole run on a loaded 2-core machine
SHEBAO = str(Path(sys.executable).with_name("shebao"))
# Bookkeeping of when a file was loaded, different in every warehouse by design: the load id and time, and the
# incremental marts' per-fee-period hash of the contribution rows that include them; and the keyed ID hash, since
# each home has its own key by design. Every other column is compared.
PER_LOAD_COLUMNS = {"load_id", "loaded_at", "source_fingerprint", "id_number_hash"}
FIGURES = {"faults injected": 0, "runs recovered": 0, "tables compared": 0, "rows compared": 0, "differences": 0}


@dataclass
class Run:
    """A `shebao run` subprocess whose output is collected line by line as it comes."""

    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, home: Path, landing: Path, *extra: str) -> Run:
        env = {k: v for k, v in os.environ.items() if k not in ("SHEBAO_WAREHOUSE", "SHEBAO_AS_OF")}
        env.update(SHEBAO_HOME=str(home), DAGSTER_HOME=str(home / "dagster"), PYTHONUNBUFFERED="1")
        args = [SHEBAO, "run", "--landing", str(landing), "--warehouse", str(home / "warehouse.duckdb")]
        proc = subprocess.Popen(
            [*args, "--as-of", AS_OF, "--verbose", "--log-level", "DEBUG", *extra],  # events on the console
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        run = cls(proc)
        threading.Thread(target=run._collect, daemon=True).start()
        return run

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = RUN_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text):
            if self.proc.poll() is not None and not re.search(pattern, self.text):
                time.sleep(0.5)  # let the reader thread drain
                if not re.search(pattern, self.text):
                    raise AssertionError(f"run ended before {pattern!r}:\n{self.text[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.text[-3000:]}")
            time.sleep(0.02)

    def finish(self, timeout: float = RUN_TIMEOUT) -> int:
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.2)
        return code


def step_started(step: str) -> str:
    return f'STEP_START - Started execution of step "{step}"'


def dbt_processes(warehouse: Path) -> list[int]:
    """Processes started for this warehouse's dbt builds: the launcher gives dbt SHEBAO_WAREHOUSE in its environment."""
    marker = f"SHEBAO_WAREHOUSE={warehouse}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes() and "State:\tZ" not in (entry / "status").read_text():
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def assert_no_dbt_survives(warehouse: Path, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while dbt_processes(warehouse) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dbt_processes(warehouse) == [], "a dbt process outlived its run"


def kill(run: Run, sig: signal.Signals = signal.SIGKILL) -> int:
    run.proc.send_signal(sig)
    FIGURES["faults injected"] += 1
    return run.finish(timeout=120)


def mart_rows(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple[object, ...]]:
    cols = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and schema_name = 'marts' "
            "and table_name = ? order by column_index",
            [db, table],
        ).fetchall()
        if c not in PER_LOAD_COLUMNS
    ]
    select = ", ".join(f'"{c}"' for c in cols)
    return con.execute(f'select {select} from {db}.marts."{table}" order by all').fetchall()


def assert_marts_equal(serving: Path, baseline: Path) -> None:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{baseline}' as base (read_only)")
        con.execute(f"attach '{serving}' as got (read_only)")
        tables = {
            db: {
                t
                for (t,) in con.execute(
                    "select table_name from duckdb_tables() where database_name = ? and schema_name = 'marts'", [db]
                ).fetchall()
            }
            for db in ("base", "got")
        }
        assert tables["got"] == tables["base"] and len(tables["base"]) >= 10
        for table in sorted(tables["base"]):
            want, got = mart_rows(con, "base", table), mart_rows(con, "got", table)
            FIGURES["tables compared"] += 1
            FIGURES["rows compared"] += len(want)
            differences = len(set(want) ^ set(got)) + abs(len(want) - len(got))
            FIGURES["differences"] += differences
            assert got == want, f"marts.{table}: {differences} rows differ"
    finally:
        con.close()


def recover(home: Path, landing: Path, baseline: Path) -> None:
    """The next run finishes without waiting for anything the faulted run left, with the uninterrupted marts."""
    run = Run.start(home, landing, "--wait", "5")
    code = run.finish()
    assert code == 0, run.text[-4000:]
    assert "结果：成功" in run.text
    assert_no_dbt_survives(home / "warehouse.duckdb", within=1)
    assert_marts_equal(served(home), baseline)
    FIGURES["runs recovered"] += 1


def served(home: Path) -> Path:
    """The serving version CURRENT names in `home`."""
    path = paths.serving_path(home / "warehouse.duckdb")
    assert path.parent == home / "serving" and path.exists(), path
    return path


def unpublish(home: Path) -> None:
    """Drop the pointer, so the next run builds and publishes again over the same loaded files."""
    (home / "serving" / paths.SERVING_POINTER).unlink()


def temporary_files(home: Path) -> list[Path]:
    return list((home / "serving").glob("*.tmp-*"))


@pytest.fixture(scope="module")
def corpus() -> Iterator[dict[str, Path]]:
    # Its own folder, not pytest's rotating basetemp, which other sessions on this machine may prune mid-run.
    with tempfile.TemporaryDirectory(prefix="shebao-faults-") as tmp:
        root = Path(tmp)
        landing = root / "landing 落地"
        subprocess.run(
            [SHEBAO, "generate", "--out", str(landing), "--persons", "60", "--months", "202501:202506", "--seed", "7"],
            check=True,
            capture_output=True,
            timeout=300,
        )
        home = root / "baseline"
        run = Run.start(home, landing)
        assert run.finish() == 0, run.text[-4000:]
        yield {"root": root, "landing": landing, "baseline": served(home)}
        print("\nfault suite figures: " + ", ".join(f"{k} {v}" for k, v in FIGURES.items()))


def wait_for_dbt(run: Run, warehouse: Path) -> list[int]:
    run.wait_for(r"Running dbt command")
    deadline = time.monotonic() + 120
    while not dbt_processes(warehouse) and time.monotonic() < deadline:
        time.sleep(0.05)
    found = dbt_processes(warehouse)
    assert found, "dbt did not start"
    return found


def test_kill_at_every_stage_and_sigterm_then_recover(corpus: dict[str, Path]) -> None:
    """One warehouse through every fault; each recovery is compared with the uninterrupted build.

    Removing the serving pointer makes the next run build and publish again over the same loaded
    files, so the dbt and serving-copy stages can be faulted without loading everything anew.
    """
    home, landing, baseline = corpus["root"] / "faults", corpus["landing"], corpus["baseline"]
    warehouse = home / "warehouse.duckdb"

    run = Run.start(home, landing)  # kill -9 while loading the ledgers
    run.wait_for(step_started("raw__ledgers"))
    time.sleep(0.3)  # the corpus's ledgers load in about 1 s (995 ms seen): kill well inside the step
    assert kill(run) == -signal.SIGKILL
    assert 'STEP_SUCCESS - Finished execution of step "raw__ledgers"' not in run.text
    assert_no_dbt_survives(warehouse, within=1)

    run = Run.start(home, landing, "--wait", "5")  # kill -9 in the GX checks of the re-run
    run.wait_for(step_started("raw__ledgers_gx_ledgers"))
    assert kill(run) == -signal.SIGKILL
    assert "Running dbt command" not in run.text
    recover(home, landing, baseline)

    reader = serving.open_snapshot(path=served(home))  # a dashboard on the first good build
    rows_read = reader.con.execute("select count(*) from marts.fct_contributions").fetchone()
    unpublish(home)
    run = Run.start(home, landing, "--wait", "5")  # kill -9 while dbt builds
    wait_for_dbt(run, warehouse)
    time.sleep(3)  # some models built, others not
    assert kill(run) == -signal.SIGKILL
    assert_no_dbt_survives(warehouse)
    assert not (home / "serving" / paths.SERVING_POINTER).exists()
    recover(home, landing, baseline)
    # The reader's version was neither removed nor changed under it; a new version is current.
    assert reader.path.exists() and served(home) != reader.path
    assert reader.con.execute("select count(*) from marts.fct_contributions").fetchone() == rows_read
    reader.close()

    unpublish(home)
    run = Run.start(home, landing, "--wait", "5")  # kill -9 while the serving copy is written
    run.wait_for(step_started("serving_copy"))
    deadline = time.monotonic() + 5
    while not temporary_files(home) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert kill(run) == -signal.SIGKILL
    recover(home, landing, baseline)
    assert not temporary_files(home)  # the dead run's half-written copy is gone
    folder = home / "serving"
    assert versions.versions(folder)[-1] == served(home).name  # nothing newer than the pointer is left
    assert len(versions.versions(folder)) <= versions.KEEP_VERSIONS

    unpublish(home)
    run = Run.start(home, landing, "--wait", "5")  # SIGTERM while dbt builds
    wait_for_dbt(run, warehouse)
    time.sleep(2)
    started = time.monotonic()
    code = kill(run, signal.SIGTERM)
    assert time.monotonic() - started < 60  # dagster-dbt gives dbt 25 s to stop after the interrupt
    assert code == 128 + signal.SIGTERM, run.text[-3000:]
    assert run.lines[-1].startswith("已停止：运行被信号 SIGTERM 中断"), run.text[-3000:]
    assert_no_dbt_survives(warehouse, within=1)
    recover(home, landing, baseline)


def test_two_runs_at_once_wait_or_fail_with_a_chinese_message(corpus: dict[str, Path]) -> None:
    home, landing, baseline = corpus["root"] / "concurrent", corpus["landing"], corpus["baseline"]
    lock = home / "warehouse.duckdb.lock"

    first = Run.start(home, landing)
    deadline = time.monotonic() + RUN_TIMEOUT
    while not (lock.exists() and f"进程 {first.proc.pid}" in lock.read_text("utf-8")):
        assert time.monotonic() < deadline and first.proc.poll() is None, first.text[-3000:]
        time.sleep(0.05)
    impatient = Run.start(home, landing, "--wait", "1")
    patient = Run.start(home, landing, "--wait", str(RUN_TIMEOUT))
    assert impatient.finish(timeout=300) == 1
    assert "另一个运行正在写入数仓" in impatient.text and f"进程 {first.proc.pid}" in impatient.text
    assert "Traceback" not in impatient.text
    FIGURES["faults injected"] += 1
    assert first.proc.poll() is None, "the impatient run must not disturb the running one"
    assert first.finish() == 0, first.text[-4000:]
    assert patient.finish() == 0, patient.text[-4000:]
    assert "结果：成功" in patient.text
    assert_marts_equal(served(home), baseline)
    FIGURES["runs recovered"] += 1
