"""`shebao audit verify | show | export`: the hash-chained audit trail under SHEBAO_HOME."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from foundation import exports

COLUMNS = ["seq", "at", "event", "actor", "subject", "details", "prev", "hash"]


def cmd_verify(args) -> int:
    from certificates.audit import AuditLog

    log = AuditLog()
    problems = log.verify()
    count = len(log.entries())
    if problems:
        print(f"审计日志校验失败（{log.path}，共 {count} 行）：", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"审计日志完整：{count} 条记录，哈希链无断裂，{log.anchor_count()} 个锚点签名有效（{log.path}）")
    return 0


def cmd_show(args) -> int:
    from certificates.audit import EVENTS, AuditLog

    for entry in AuditLog().entries()[-args.last :]:
        details = json.dumps(entry.get("details", {}), ensure_ascii=False)
        event = EVENTS.get(entry.get("event", ""), entry.get("event"))
        print(
            f"{entry.get('seq')}\t{entry.get('at')}\t{event}\t{entry.get('actor')}\t{entry.get('subject')}\t{details}"
        )
    return 0


def cmd_export(args) -> int:
    from certificates.audit import AuditLog

    entries = AuditLog().entries()
    out = Path(args.out)
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        rows = (
            [json.dumps(e.get(c), ensure_ascii=False) if c == "details" else e.get(c) for c in COLUMNS] for e in entries
        )
        exports.write_csv(fh, COLUMNS, rows)
    print(f"已导出 {len(entries)} 条审计记录到 {out}")
    return 0


def add_parser(subparsers) -> None:
    audit = subparsers.add_parser("audit", help="审计日志：签发、撤销、密钥、登录和验证")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="{verify,show,export}")
    sub.add_parser(
        "verify", help="校验哈希链和签名锚点（有记录被修改、删除、调换顺序或整体改写时退出码为 1）"
    ).set_defaults(func=cmd_verify)
    show = sub.add_parser("show", help="显示最近的记录")
    show.add_argument("--last", type=int, default=50, metavar="条数", help="显示的条数（默认 50）")
    show.set_defaults(func=cmd_show)
    export = sub.add_parser("export", help="把全部记录导出为 CSV（带 BOM 的 UTF-8，可用 Excel 打开）")
    export.add_argument("--out", required=True, type=Path, metavar="文件", help="CSV 文件")
    export.set_defaults(func=cmd_export)
