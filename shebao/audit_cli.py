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
    audit = subparsers.add_parser("audit", help="the audit trail of issuing, revoking, keys, logins and verifications")
    sub = audit.add_subparsers(dest="audit_command", required=True)
    sub.add_parser(
        "verify",
        help="check the hash chain and the signed anchors (exit 1 on an edited, deleted, reordered or rewritten entry)",
    ).set_defaults(func=cmd_verify)
    show = sub.add_parser("show", help="the latest entries")
    show.add_argument("--last", type=int, default=50)
    show.set_defaults(func=cmd_show)
    export = sub.add_parser("export", help="every entry as CSV (UTF-8 with BOM, opens in Excel)")
    export.add_argument("--out", required=True, type=Path)
    export.set_defaults(func=cmd_export)
