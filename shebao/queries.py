"""`shebao query`: read-only look-ups in the serving copy (retirement ages, 到龄, arrears, rights statements).

The rules (ages, minimum months, late fees, statement periods) live in the dbt marts; this
module only selects from them, masks nothing itself (the marts carry masked IDs only) and
renders a table, CSV or JSON. It opens the latest serving copy beside the warehouse, read-only.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import decimal
import json
import os
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from foundation import exports, id_hash, serving
from foundation import paths as settings
from shebao.options import add_warehouse_option, iso_date, period, period_month

FORMATS = ("table", "csv", "json")


def _retirement_groups() -> tuple[str, ...]:
    """The --group choices: the groups of the retirement_reform_groups seed (labels come from the served copy)."""
    with open(settings.REFERENCE_SEEDS_DIR / "retirement_reform_groups.csv", encoding="utf-8", newline="") as fh:
        return tuple(row["retirement_group"] for row in csv.DictReader(fh))


GROUPS = _retirement_groups()


class QueryError(Exception):
    """A user-facing failure; the message is Chinese and printed as is."""


@dataclass
class Result:
    columns: list[tuple[str, str]]  # (key for JSON, Chinese header for table/CSV)
    rows: list[dict[str, Any]]
    title: str = ""
    notes: list[str] | None = None


# ---------------------------------------------------------------- connection and parsing


@contextmanager
def connect(args: argparse.Namespace) -> Iterator[duckdb.DuckDBPyConnection]:
    """The latest published serving copy beside the warehouse, held for the query."""
    warehouse = Path(args.warehouse or settings.default_warehouse()).resolve()
    try:
        snapshot = serving.open_snapshot(warehouse)
    except serving.ServingUnavailable as exc:
        raise QueryError(str(exc)) from exc
    with snapshot:
        yield snapshot.con


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


# ---------------------------------------------------------------- rendering


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact to the fen, never a float
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def render(result: Result, fmt: str, out=None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        payload = [{key: _json_value(row.get(key)) for key, _ in result.columns} for row in result.rows]
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt == "csv":
        rows = ([row.get(key) for key, _ in result.columns] for row in result.rows)
        exports.write_csv(out, [label for _, label in result.columns], rows, text=_text, lineterminator="\n")
        return
    if result.title:
        out.write(result.title + "\n")
    cells = [[_text(row.get(key)) for key, _ in result.columns] for row in result.rows]
    numeric = [
        all(
            isinstance(row.get(key), (int, decimal.Decimal)) and not isinstance(row.get(key), bool)
            for row in result.rows
            if row.get(key) is not None
        )
        and bool(result.rows)
        for key, _ in result.columns
    ]
    widths = [max([_width(label)] + [_width(c[i]) for c in cells]) for i, (_, label) in enumerate(result.columns)]
    out.write(
        "  ".join(_pad(label, widths[i], numeric[i]) for i, (_, label) in enumerate(result.columns)).rstrip() + "\n"
    )
    out.write("  ".join("-" * w for w in widths) + "\n")
    for c in cells:
        out.write("  ".join(_pad(v, widths[i], numeric[i]) for i, v in enumerate(c)).rstrip() + "\n")
    out.write(f"共 {len(result.rows)} 条\n")
    for note in result.notes or []:
        out.write(note + "\n")


# ---------------------------------------------------------------- queries


def query_retirement_age(con: duckdb.DuckDBPyConnection, birth: dt.date, group: str) -> Result:
    rows = fetch(
        con,
        """
        select strftime(birth_month, '%Y-%m') as birth_month, retirement_group, group_label,
               statutory_age_months, statutory_age_label as statutory_age,
               strftime(retirement_month, '%Y-%m') as retirement_month, required_months,
               strftime(original_retirement_month, '%Y-%m') as original_retirement_month,
               strftime(latest_flexible_month, '%Y-%m') as latest_flexible_month
        from marts.dim_retirement_age_rules
        where birth_month = ? and retirement_group = ?""",
        [birth, group],
    )
    if not rows:
        raise QueryError(f"出生年月 {birth:%Y-%m} 不在法定退休年龄表范围内（1940-01 至 2015-12）")
    return Result(
        columns=[
            ("birth_month", "出生年月"),
            ("retirement_group", "人员类别"),
            ("statutory_age", "法定退休年龄"),
            ("statutory_age_months", "法定退休年龄(月)"),
            ("retirement_month", "退休年月"),
            ("required_months", "最低缴费月数"),
            ("original_retirement_month", "原退休年月"),
            ("latest_flexible_month", "弹性延迟最晚"),
        ],
        rows=rows,
    )


def query_retirement(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, unit: str | None) -> Result:
    if end < start:
        raise QueryError("--to 不能早于 --from")
    rows = fetch(
        con,
        f"""
        select d.person_id, d.name, d.id_number_masked, d.unit_id, d.unit_name,
               coalesce(g.group_short_label, d.retirement_group) as retirement_group,
               strftime(d.birth_month, '%Y-%m') as birth_month, d.statutory_age_label as statutory_age,
               strftime(d.retirement_month, '%Y-%m') as retirement_month, d.contribution_months,
               d.required_months, d.shortfall_months,
               strftime(d.earliest_flexible_month, '%Y-%m') as earliest_flexible_month,
               strftime(d.latest_flexible_month, '%Y-%m') as latest_flexible_month
        from marts.rpt_retirement_due as d
        left join reference.retirement_reform_groups as g on g.retirement_group = d.retirement_group
        where d.retirement_month between ? and ? {"and d.unit_id = ?" if unit else ""}
        order by d.retirement_month, d.unit_id, d.person_id""",
        [start, end] + ([unit] if unit else []),
    )
    scope = f"单位 {unit} " if unit else ""
    return Result(
        title=f"{scope}到龄查询 {start:%Y-%m} 至 {end:%Y-%m}（按 2024-09-13 渐进式延迟法定退休年龄决定）",
        columns=[
            ("person_id", "个人编号"),
            ("name", "姓名"),
            ("id_number_masked", "证件号码"),
            ("unit_id", "单位编号"),
            ("unit_name", "单位名称"),
            ("retirement_group", "人员类别"),
            ("birth_month", "出生年月"),
            ("statutory_age", "法定退休年龄"),
            ("retirement_month", "到龄年月"),
            ("contribution_months", "实缴月数"),
            ("required_months", "最低缴费月数"),
            ("shortfall_months", "尚缺月数"),
            ("earliest_flexible_month", "弹性提前最早"),
            ("latest_flexible_month", "弹性延迟最晚"),
        ],
        rows=rows,
        notes=["弹性提前最早为空：尚未达到最低缴费年限，不能弹性提前退休。"]
        if any(r["earliest_flexible_month"] is None for r in rows)
        else None,
    )


def build_as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The date the served arrears were computed as of (fct_arrears, else the build info)."""
    row = con.execute(
        "select coalesce((select max(as_of_date) from marts.fct_arrears), (select max(as_of) from meta.build_info))"
    ).fetchone()
    return row[0] if row else None


def query_arrears(con: duckdb.DuckDBPyConnection, unit: str | None, as_of: dt.date | None) -> Result:
    """Arrears as served (fct_arrears, rpt_unit_arrears). Late fees and days depend on the as-of date and
    are computed by dbt; a different date is refused rather than approximated here."""
    built = build_as_of(con)
    if as_of is not None and built is not None and as_of != built:
        raise QueryError(
            f"服务副本中的欠费和滞纳金按 {built.isoformat()} 计算，不能改按 {as_of.isoformat()} 查询；"
            f"请运行 shebao run --as-of {as_of.isoformat()} 重新计算后再查询"
        )
    where, params = ("where a.unit_id = ?", [unit]) if unit else ("", [])
    rows = fetch(
        con,
        f"""
        select a.unit_id, u.unit_name, a.fee_period, a.insurance_type,
               coalesce(it.insurance_name, a.insurance_type) as insurance_name, a.amount_due, a.amount_paid,
               a.outstanding, a.due_date, a.days_overdue, a.late_fee_on_owed, a.late_fee_on_paid_late
        from marts.fct_arrears as a
        left join reference.insurance_types as it on it.insurance_type = a.insurance_type
        left join marts.dim_units as u on u.unit_id = a.unit_id
        {where} order by a.unit_id, a.fee_period, a.insurance_type""",
        params,
    )
    t = fetch(  # totals and units in arrears as every page counts them
        con,
        f"""select count(*) filter (where is_owing) as owing, count(*) filter (where not is_owing) as late,
                   coalesce(sum(outstanding), 0) as o, coalesce(sum(late_fee_on_owed), 0) as fo,
                   coalesce(sum(late_fee_on_paid_late), 0) as fl from marts.rpt_unit_arrears as a {where}""",
        params,
    )[0]
    keys = "unit_id unit_name fee_period insurance_name amount_due amount_paid outstanding due_date days_overdue"
    labels = "单位编号 单位名称 费款所属期 险种 应缴金额 到账金额 欠缴本金 缴费截止日期 逾期天数"
    return Result(
        title=f"{f'单位 {unit} ' if unit else ''}欠费查询（计算日 {built.isoformat() if built else '未知'}）",
        columns=[
            *zip(keys.split(" "), labels.split(" ")),
            ("late_fee_on_owed", "欠费滞纳金"),
            ("late_fee_on_paid_late", "逾期缴费滞纳金"),
        ],
        rows=rows,
        notes=[
            f"欠费单位 {t['owing']} 家，逾期缴费单位 {t['late']} 家；欠缴本金合计 {t['o']:.2f} 元，"
            f"欠费滞纳金合计 {t['fo']:.2f} 元，逾期缴费滞纳金合计 {t['fl']:.2f} 元。"
        ],
    )


def query_statement(con: duckdb.DuckDBPyConnection, person: str, period: str) -> Result:
    if not re.fullmatch(r"\d{4}(0[1-9]|1[0-2])", period):
        raise QueryError(f"--period 应为 YYYYMM 格式的期次，收到：{period}")
    rows = fetch(
        con,
        """
        select s.insurance_type, coalesce(it.insurance_name, s.insurance_type) as insurance_name, s.period_start,
               s.period_end, s.months_paid, s.avg_base, s.personal_amount, s.unit_amount, s.back_paid_months,
               s.months_in_arrears, s.cumulative_months, s.unit_ids, s.unit_names
        from marts.rpt_rights_statement as s
        left join reference.insurance_types as it on it.insurance_type = s.insurance_type
        where s.person_id = ? and s.statement_period = ?
        order by coalesce(it.sort_order, 999), s.insurance_type""",
        [person, period],
    )
    who = fetch(con, "select name, id_number_masked from marts.dim_persons where person_id = ?", [person])
    if not rows:
        raise QueryError(f"没有个人编号 {person} 在 {period} 期次的权益记录")
    span = f"{rows[0]['period_start']:%Y-%m-%d} 至 {rows[0]['period_end']:%Y-%m-%d}"
    head = f"个人权益记录 {period} 期次（{span}）个人编号 {person}"
    if who:
        head += f" 姓名 {who[0]['name']} 证件号码 {who[0]['id_number_masked']}"
    return Result(
        title=head,
        columns=[
            ("insurance_type", "险种代码"),
            ("insurance_name", "险种"),
            ("months_paid", "本期实缴月数"),
            ("avg_base", "月均缴费基数"),
            ("personal_amount", "个人缴费"),
            ("unit_amount", "单位缴费"),
            ("back_paid_months", "补缴月数"),
            ("months_in_arrears", "欠缴月数"),
            ("cumulative_months", "截至期末累计缴费月数（含历史缴费）"),
            ("unit_ids", "缴费单位编号"),
            ("unit_names", "缴费单位"),
        ],
        rows=rows,
        notes=["本记录单仅供参考，不作为待遇计发凭证。"],
    )


# ---------------------------------------------------------------- command line


def _run(args: argparse.Namespace) -> int:
    fmt = "json" if getattr(args, "json", False) else args.format
    try:
        with connect(args) as con:
            if args.query == "retirement-age":
                result = query_retirement_age(con, period_month(args.birth), args.group)
            elif args.query == "retirement":
                result = query_retirement(con, period_month(args.date_from), period_month(args.date_to), args.unit)
            elif args.query == "arrears":
                result = query_arrears(con, args.unit, dt.date.fromisoformat(args.as_of) if args.as_of else None)
            else:
                result = query_statement(con, id_hash.person_number(con, args.person, args.warehouse), args.period)
    except (QueryError, id_hash.IdLookupError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except duckdb.CatalogException:
        print("错误：服务副本缺少报表（可能由旧版本发布）：请重新运行 shebao run 构建报表", file=sys.stderr)
        return 2
    try:
        if args.query == "retirement-age" and fmt == "table":
            row = result.rows[0]
            print(
                f"出生年月 {row['birth_month']}，{row['group_label']}：法定退休年龄 {row['statutory_age']}，"
                f"退休年月 {row['retirement_month']}（最低缴费 {row['required_months']} 个月）"
            )
        else:
            render(result, fmt)
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into head and closed early
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("query", help="查询已发布的报表（退休年龄、到龄、欠费、权益记录）")
    sub = parser.add_subparsers(dest="query", required=True, metavar="{retirement-age,retirement,arrears,statement}")

    def common(p: argparse.ArgumentParser) -> None:
        add_warehouse_option(p)
        p.add_argument("--format", choices=FORMATS, default="table", help="输出格式（默认 table）")
        p.set_defaults(func=_run)

    p = sub.add_parser("retirement-age", help="按出生年月和人员类别查询法定退休年龄和退休年月")
    p.add_argument("--birth", required=True, type=period, metavar="YYYYMM", help="出生年月（YYYYMM 或 YYYY-MM）")
    p.add_argument("--group", required=True, choices=GROUPS, help="人员类别：男职工、原55岁女职工、原50岁女职工")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（同 --format json）")
    common(p)

    p = sub.add_parser("retirement", help="到龄查询：某一年月范围内达到法定退休年龄的参保人员")
    p.add_argument(
        "--from", dest="date_from", required=True, type=period, metavar="YYYYMM", help="起始年月（YYYYMM 或 YYYY-MM）"
    )
    p.add_argument(
        "--to", dest="date_to", required=True, type=period, metavar="YYYYMM", help="终止年月（YYYYMM 或 YYYY-MM）"
    )
    p.add_argument("--unit", default=None, metavar="单位编号", help="只查该单位")
    common(p)

    p = sub.add_parser("arrears", help="欠费查询（欠费及滞纳金）")
    p.add_argument("--unit", default=None, metavar="单位编号", help="只查该单位")
    p.add_argument(
        "--as-of",
        default=None,
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="计算日期；须与构建时的计算日期相同（否则请用 shebao run --as-of 重新构建）",
    )
    common(p)

    p = sub.add_parser("statement", help="某人某期次的个人权益记录单数据")
    p.add_argument("--person", required=True, metavar="个人编号", help="个人编号")
    p.add_argument(
        "--period", required=True, type=period, metavar="YYYYMM", help="期次（YYYYMM 或 YYYY-MM，例如 202006）"
    )
    common(p)
