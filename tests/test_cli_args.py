"""A bad argument is a one-line Chinese message and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from shebao import cli

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("command", ["run", "demo"])
def test_an_impossible_as_of_date_is_refused_in_one_line(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    argv = [command, "--as-of", "2023-13-01"] + (["--landing", str(tmp_path)] if command == "run" else [])
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [  # one line, no usage block, no English
        f"shebao {command}：错误：参数 --as-of：日期 '2023-13-01' 无效，请写成 YYYY-MM-DD（例如 2025-04-15）"
        f"（用 shebao {command} --help 查看用法）"
    ]
    assert "Traceback" not in "\n".join(err)


def test_a_file_that_is_not_a_pdf_gets_a_verdict_not_a_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    fake = tmp_path / "证明 'x'.pdf"
    fake.write_text("hello", encoding="utf-8")
    assert cli.main(["cert", "verify", str(fake)]) == 1
    out = capsys.readouterr().out
    assert "无效: 无法读取文件" in out and "Traceback" not in out
