"""Every command's help is Chinese, argparse's own words included; periods take YYYYMM or YYYY-MM."""

from __future__ import annotations

import argparse
import re

import pytest

from shebao import cli
from shebao.options import period, period_range

pytestmark = pytest.mark.unit

CJK = re.compile(r"[\u4e00-\u9fff]")
# argparse's English boilerplate (Python 3.11), none of which may reach a user
ENGLISH = (
    "usage:",
    "positional arguments",
    "optional arguments",
    "options:",
    "show this help message",
    "error:",
    "the following arguments are required",
    "invalid choice",
    "unrecognized arguments",
)


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def _tree():
    return list(_walk(cli.build_parser()))


def _allowed_words(action: argparse.Action) -> set[str]:
    """Names a help may quote: commands, the action's choices, landing folders, the program."""
    commands = {word for p, _ in _tree() for part in p for word in part.split("-")}
    choices = {str(c) for c in action.choices or ()}
    return (
        commands
        | choices
        | {"shebao", "json", "table", "employers", "persons", "enrolments", "ledgers", "legacy_history"}
    )


def test_the_tree_is_walked_whole():
    paths = {" ".join(p) for p, _ in _tree()}
    # every command family and a sample of leaves: a refactor that hides a branch fails here
    assert {"run", "demo", "generate", "query statement", "cert issue unit-proof", "keys withdraw"} <= paths
    assert {"users add", "audit export", "serve dashboard", "serve verify", "cert batch-issue"} <= paths
    assert len(paths) >= 30


@pytest.mark.parametrize("path", [" ".join(p) for p, _ in _tree()])
def test_help_is_chinese_with_no_argparse_english(path, capsys):
    argv = [*path.split(), "--help"] if path else ["--help"]
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("用法：shebao")
    for phrase in ENGLISH:
        assert phrase not in text.lower(), (path, phrase)
    parser = dict((" ".join(p), parser) for p, parser in _tree())[path]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:  # each sub-command's one-line help
                assert CJK.search(choice.help or ""), (path, choice.dest)
            continue
        assert action.help and CJK.search(action.help), (path, action.option_strings or action.dest)
        # what is left once option names, metavars, choices and paths are removed has no English word
        rest = action.help
        for token in re.findall(r"--?[a-z][a-z-]*|\$?[A-Z_]{2,}[A-Za-z_/.]*|[\w./-]+\.(?:json|duckdb|csv)", rest):
            rest = rest.replace(token, "")
        words = re.findall(r"\b[a-z]{4,}\b", rest)
        assert not set(words) - _allowed_words(action), (path, words)


def test_a_bad_argument_is_one_chinese_line(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["query", "retirement", "--from", "2025-13", "--to", "202601"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "shebao query retirement：错误：参数 --from：年月 '2025-13' 无效，请写成 YYYYMM 或 YYYY-MM（例如 202501 或 "
        "2025-01）（用 shebao query retirement --help 查看用法）"
    ]


def test_a_missing_argument_and_an_unknown_command_are_chinese(capsys):
    with pytest.raises(SystemExit):
        cli.main(["cert", "issue", "contribution-record", "--unit", "U001", "--person", "P001"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "shebao cert issue contribution-record：错误：缺少必需的参数：--from, --to"
    )
    with pytest.raises(SystemExit):
        cli.main(["nope"])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "错误：参数 命令：无效的取值 'nope'" in err[0]


@pytest.mark.parametrize("text", ["202501", "2025-01", " 2025-01 "])
def test_one_period_parser_takes_both_spellings(text):
    assert period(text) == "202501"


@pytest.mark.parametrize("text", ["2025-13", "202500", "2025/01", "25-01", "2025-1", "abcdef", ""])
def test_a_bad_period_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="无效"):
        period(text)


def test_ranges_and_every_period_option_use_the_same_parser():
    assert period_range("2024-01:202610") == ("202401", "202610")
    with pytest.raises(argparse.ArgumentTypeError, match="结束年月早于开始年月"):
        period_range("202610:202401")
    parser = cli.build_parser()
    for argv, attr in (
        (["query", "retirement", "--from", "2025-01", "--to", "202512"], "date_from"),
        (["query", "retirement-age", "--birth", "1965-03", "--group", "male"], "birth"),
        (["query", "statement", "--person", "P001", "--period", "2024-06"], "period"),
        (["cert", "issue", "unit-proof", "--unit", "U001", "--from", "2025-01", "--to", "2025-03"], "from_"),
        (["cert", "issue", "payment-notice", "--unit", "U001", "--period", "2025-03"], "period"),
        (["generate", "--out", "x", "--months", "2025-01:2025-03"], "months"),
        (["demo", "--months", "2025-01:202503"], "months"),
    ):
        value = getattr(parser.parse_args(argv), attr)
        assert value in ("202501", "196503", "202406", "202503", ("202501", "202503")), (argv, value)
