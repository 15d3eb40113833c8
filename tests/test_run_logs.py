"""A quiet run's output goes to a log file under SHEBAO_HOME/logs, and only the last runs' logs are kept."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.run_logs import KEEP_LOGS, new_log_path, output_to_file, prune_logs

pytestmark = pytest.mark.unit


def test_print_logging_and_a_child_process_all_land_in_the_file(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    path = new_log_path("run")
    assert path.parent == tmp_path / "logs" and path.name.startswith("run-") and path.suffix == ".log"
    with output_to_file(path):
        print("python print")
        print("python stderr", file=sys.stderr)
        subprocess.run([sys.executable, "-c", "import os; os.write(1, b'child out\\n'); os.write(2, b'child err\\n')"])
    print("after")
    text = path.read_text("utf-8")
    assert all(s in text for s in ("python print", "python stderr", "child out", "child err"))
    out, err = capfd.readouterr()
    assert "after" in out and "python print" not in out + err and "child" not in out + err
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_console_is_restored_when_the_run_raises(tmp_path, capfd):
    path = tmp_path / "logs" / "run-x.log"
    with pytest.raises(RuntimeError), output_to_file(path):
        raise RuntimeError("boom")
    print("visible")
    assert "visible" in capfd.readouterr().out


def test_verbose_leaves_the_console_alone(capfd):
    with output_to_file(None) as path:
        print("on the console")
    assert path is None and "on the console" in capfd.readouterr().out


def test_only_the_newest_logs_are_kept(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    for i in range(KEEP_LOGS + 5):
        p = folder / f"run-{i:03d}.log"
        p.write_text(str(i))
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    (folder / "notes.txt").write_text("not a run log")
    deleted = prune_logs(folder)
    assert sorted(p.name for p in deleted) == [f"run-{i:03d}.log" for i in range(5)]
    assert len(list(folder.glob("run-*.log"))) == KEEP_LOGS == 20
    assert (folder / "notes.txt").exists()
