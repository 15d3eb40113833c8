"""Options every `shebao` command shares, the one period parser, and argparse in Chinese.

argparse words its boilerplate through ``argparse._`` (gettext): :func:`localise_argparse`
points that at a Chinese table, and :class:`ChineseArgumentParser` (every sub-command parser
inherits it) turns a bad argument into one Chinese line on standard error and exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import NoReturn

from foundation import paths

# argparse's own English, as Python 3.11 spells it, and what the user sees instead.
ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "optional arguments": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的取值 %(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的值 %(value)r（应为 %(type)s）",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "expected one argument": "缺少参数值",
    "expected at most one argument": "最多只能有一个参数值",
    "expected at least one argument": "至少需要一个参数值",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 不明确，可能是 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "必须提供 %s 中的一个参数",
    "ignored explicit argument %r": "忽略了多余的参数值 %r",
    "unexpected option string: %s": "意外的选项：%s",
}

PERIOD_RE = re.compile(r"(\d{4})-?(\d{2})")
PERIOD_HINT = "请写成 YYYYMM 或 YYYY-MM（例如 202501 或 2025-01）"


def _zh(message: str) -> str:
    return ARGPARSE_ZH.get(message, message)


def _zh_plural(singular: str, plural: str, n: int) -> str:
    return _zh(singular if n == 1 else plural)


def localise_argparse() -> None:
    """Make argparse's own words Chinese; call before building any parser (group titles are set then)."""
    argparse._ = _zh  # type: ignore[attr-defined]
    argparse.ngettext = _zh_plural  # type: ignore[attr-defined]


class ChineseArgumentParser(argparse.ArgumentParser):
    """A bad argument is one Chinese line (no usage block) and exit 2; help is in Chinese."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}：错误：{message}（用 {self.prog} --help 查看用法）\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def add_warehouse_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        metavar="路径",
        help="DuckDB 数据仓库文件（默认 $SHEBAO_HOME/warehouse.duckdb；查询读取其旁边的数据副本）",
    )


def warehouse(args: argparse.Namespace) -> Path:
    return paths.warehouse_or_default(getattr(args, "warehouse", None))


def iso_date(text: str) -> str:
    """An argparse type: a calendar date as YYYY-MM-DD, refused with a one-line Chinese message."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期 {text!r} 无效，请写成 YYYY-MM-DD（例如 2025-04-15）") from None


def period(text: str) -> str:
    """The one period parser: YYYYMM or YYYY-MM (month 01-12) to 'YYYYMM'; an argparse type."""
    m = PERIOD_RE.fullmatch(str(text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1900 <= int(m.group(1)) <= 2999:
        raise argparse.ArgumentTypeError(f"年月 {text!r} 无效，{PERIOD_HINT}")
    return m.group(1) + m.group(2)


def period_range(text: str) -> tuple[str, str]:
    """'FROM:TO' of two periods (each YYYYMM or YYYY-MM), FROM not after TO; an argparse type."""
    first, sep, last = str(text).partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"年月范围 {text!r} 无效，请写成 起:止，例如 202401:202610 或 2024-01:2026-10")
    start, end = period(first), period(last)
    if end < start:
        raise argparse.ArgumentTypeError(f"年月范围 {text!r} 无效：结束年月早于开始年月")
    return start, end


def period_month(value: str) -> dt.date:
    """The first day of a period's month."""
    p = period(value)
    return dt.date(int(p[:4]), int(p[4:]), 1)
