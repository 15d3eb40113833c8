"""`shebao generate`: write a sample landing folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from shebao.options import period_range


def cmd_generate(args: argparse.Namespace) -> int:
    from shebao.generate.core import generate_landing

    started = time.perf_counter()
    summary = generate_landing(
        Path(args.out),
        persons=args.persons,
        scale=args.scale,
        months=args.months,
        seed=args.seed,
        inject_errors=args.with_errors,
        progress=True,
        fmt=args.format,
    )
    elapsed = time.perf_counter() - started
    files = summary["files"]
    print(
        f"已生成落地目录 {summary['out_dir']}，用时 {elapsed:.1f} 秒（种子 {summary['seed']}，"
        f"费款所属期 {summary['months'][0]}-{summary['months'][1]}）"
    )
    print(f"  单位：{summary['units']} 个，{len(files['employers'])} 个文件")
    print(f"  人员：{summary['persons']} 人，{len(files['persons'])} 个文件")
    enrol_rows = sum(summary["rows"][f] for f in files["enrolments"])
    print(f"  参保登记：{enrol_rows} 行，{len(files['enrolments'])} 个文件")
    kind = "CSV，部分为 GB18030 和 XLSX" if summary["ledger_format"] == "csv" else "Parquet"
    print(f"  缴费明细：{summary['ledger_lines']} 行，{len(files['ledgers'])} 个文件（{kind}）")
    legacy_rows = sum(summary["rows"][f] for f in files["legacy_history"])
    print(f"  历史缴费记录：{legacy_rows} 行，{len(files['legacy_history'])} 个文件")
    if args.with_errors:
        print(f"  故意写错：{summary['expected_errors']} 处（列在 expected_errors.json 中）")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("generate", help="生成示例落地目录（单位、人员、参保登记、缴费明细、历史缴费记录）")
    p.add_argument("--out", required=True, metavar="目录", help="要创建的落地目录")
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="规模",
        help="规模系数：1 约为一百万行缴费明细（默认 0.1）",
    )
    size.add_argument("--persons", type=int, default=None, metavar="人数", help="参保人数")
    p.add_argument(
        "--months",
        type=period_range,
        default=("202401", "202610"),
        metavar="起:止",
        help="费款所属期范围，YYYYMM:YYYYMM 或 YYYY-MM:YYYY-MM（默认 202401:202610）",
    )
    p.add_argument("--seed", type=int, default=42, metavar="种子", help="随机种子；种子和选项相同则文件完全相同")
    p.add_argument("--with-errors", action="store_true", help="加入故意写错的行和文件（列在 expected_errors.json 中）")
    p.add_argument(
        "--format",
        choices=("auto", "csv", "parquet"),
        default="auto",
        help="缴费明细文件格式：auto 在超过 20 万行时写 Parquet",
    )
    p.set_defaults(func=cmd_generate)
    return p
