"""`shebao cert ...`, `shebao keys ...` and `shebao serve verify`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from certificates import config
from shebao.options import add_warehouse_option, period


def _params(args) -> dict:
    return {
        k: v
        for k, v in {
            "unit": getattr(args, "unit", None),
            "person": getattr(args, "person", None),
            "from": getattr(args, "from_", None),
            "to": getattr(args, "to", None),
            "period": getattr(args, "period", None),
            "all": getattr(args, "all", False),
            "notice": getattr(args, "notice", None),
            "persons": getattr(args, "persons", None),
        }.items()
        if v
    }


def cmd_issue(args) -> int:
    from certificates.data import DataError, NoticeNotChosen
    from certificates.documents import DocumentError
    from certificates.issue import issue_document
    from certificates.limits import IssueLimitReached
    from certificates.render import local_date

    try:
        cert = issue_document(args.kind, _params(args), args.warehouse, out=args.out, void_previous=args.void_previous)
    except (DataError, DocumentError, IssueLimitReached) as exc:
        hint = "（用 --notice 指定）" if isinstance(exc, NoticeNotChosen) else ""
        print(f"开具失败：{exc}{hint}", file=sys.stderr)
        return 2
    print(
        f"证明编号: {cert.id}\n校验码: {cert.code}\n有效期至: {local_date(cert.expires_at)}\n"
        f"文件: {cert.path}\n验证地址: {cert.url}"
    )
    if cert.superseded:
        print("已作废并由本证明替换: " + ", ".join(cert.superseded))
    if cert.still_valid:
        print(
            "同一证明期间已开具的 "
            + ", ".join(cert.still_valid)
            + " 仍然有效（如需作废，请使用 --void-previous 重新开具）"
        )
    return 0


def cmd_verify(args) -> int:
    from certificates.pdf_verify import verify_any
    from certificates.registry import Registry

    if args.offline:
        from certificates.offline import verify_offline

        verdict = verify_offline(args.input)
    else:
        registry = Registry() if config.registry_path().exists() else None
        verdict = verify_any(args.input, registry=registry)
    from certificates import audit

    audit.record(
        "verify", audit.cli_actor(), verdict.cert_id or "", reason=verdict.reason, channel="cli", online=verdict.online
    )
    if args.json:
        print(json.dumps(verdict.as_json(), ensure_ascii=False, indent=2))
    else:
        print(f"{verdict.status_zh}（{verdict.reason}）：{verdict.reason_zh}")
        for label, value in verdict.rows():
            print(f"{label}: {value}")
        if verdict.detail and verdict.reason not in ("revoked",):
            print(f"详情: {verdict.detail}")
    return 0 if verdict.valid else 1


def cmd_sync(args) -> int:
    """Fetch (or, on the issuer's machine, make) the signed lists and cache them for --offline."""
    from certificates import trust as trusts

    try:
        if args.source:
            import httpx

            base = args.source.rstrip("/")
            trust_doc = httpx.get(f"{base}/.well-known/shebao-trust-list.json", timeout=20).json()
            revocation_doc = httpx.get(f"{base}/.well-known/shebao-revocations.json", timeout=20).json()
        else:
            from certificates.keys import KeyStore
            from certificates.registry import Registry

            keystore = KeyStore()
            trust_doc = trusts.signed_trust_list(keystore)
            revocation_doc = trusts.signed_revocation_list(Registry(), keystore)
        trust_seq, revocation_seq = trusts.OfflineCache().store(trust_doc, revocation_doc)
    except trusts.TrustError as exc:
        print(f"同步失败：{exc.reason}（{exc.detail}）", file=sys.stderr)
        return 1
    except Exception as exc:  # network or JSON errors: one line, no traceback
        print(f"同步失败：{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"已同步信任列表（序号 {trust_seq}）和吊销列表（序号 {revocation_seq}），供 --offline 验证使用")
    return 0


def cmd_revoke(args) -> int:
    from certificates import audit
    from certificates.registry import Registry

    if Registry().revoke(args.id, args.reason):
        audit.record("revoke", audit.cli_actor(), args.id, reason=args.reason)
        print(f"已撤销 {args.id}：{args.reason}")
        return 0
    print(f"撤销失败：证明 {args.id} 不存在或已撤销", file=sys.stderr)
    return 1


def cmd_batch(args) -> int:
    from tqdm import tqdm

    from certificates import data
    from certificates.issue import issue_document

    with data.connect(args.warehouse) as con:
        units = data.units_of_type(con, args.unit_type)
    if not units:
        print(f"没有单位类型为“{args.unit_type}”的单位", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for unit_id in tqdm(units, desc=f"开具{args.kind}", unit="份"):
        params = {**_params(args), "unit": unit_id}
        try:
            cert = issue_document(args.kind, params, args.warehouse, out=out / f"{args.kind}-{unit_id}.pdf")
            tqdm.write(f"{unit_id}: {cert.id} {cert.code}")
        except (data.DataError, ValueError) as exc:  # IssueLimitReached is a ValueError
            failures += 1
            tqdm.write(f"{unit_id}: 未开具（{exc}）")
    print(f"完成：{len(units) - failures} 份，未开具 {failures} 份，输出目录 {out}")
    return 0 if failures < len(units) else 1


def cmd_keys_rotate(args) -> int:
    from certificates.keys import KeyStore

    kid = KeyStore().rotate()
    print(f"新签名密钥 kid={kid.hex()}；旧密钥继续验证其签发的未过期证明")
    return 0


def cmd_keys_withdraw(args) -> int:
    from certificates.keys import KeyStore

    store = KeyStore()
    if args.kid not in {k.kid.hex() for k in store.trust_list().keys}:
        print(f"没有 kid={args.kid} 的密钥", file=sys.stderr)
        return 1
    store.withdraw(args.kid)
    print(f"已撤回密钥 kid={args.kid}：其签发的全部证明不再有效（离线验证方需重新同步信任列表）")
    return 0


def cmd_keys_list(args) -> int:
    from certificates.keys import KeyStore

    for key in KeyStore().trust_list().as_json()["keys"]:
        print(
            f"{key['kid']}  {key['status']:<9} 签发 {key['sign_from']} ~ {key['sign_until']}"
            f"  验证至 {key['verify_until']}"
        )
    return 0


def cmd_serve_verify(args) -> int:
    from certificates.service import serve

    serve(args.host, args.port)
    return 0


PERIOD_HELP = {
    "from": "起始年月（YYYYMM 或 YYYY-MM）",
    "to": "终止年月（YYYYMM 或 YYYY-MM）",
    "period": "期次或费款所属期（YYYYMM 或 YYYY-MM）",
}
ID_HELP = {"unit": "单位编号", "person": "个人编号"}


def add_parser(subparsers) -> None:
    cert = subparsers.add_parser("cert", help="签发、验证和撤销带签名的证明（PDF + 二维码）")
    sub = cert.add_subparsers(dest="cert_command", required=True, metavar="{issue,verify,sync,revoke,batch-issue}")

    issue = sub.add_parser("issue", help="签发一份证明（带签名的 PDF）")
    kinds = issue.add_subparsers(dest="kind", required=True, metavar="证明类型")
    specs = {
        "unit-proof": ("单位参保证明（不指定期间即最近12个月）", ["unit", "from?", "to?", "persons"]),
        "summary-proof": ("缴费人员汇总参保证明（不指定期间即全部）", ["unit", "from?", "to?", "all"]),
        "rights-statement": ("个人权益记录单", ["person", "period"]),
        "contribution-record": ("个人缴费记录明细（仅本单位）", ["unit", "person", "from", "to"]),
        "payment-notice": ("征集缴费通知单", ["unit", "period", "notice?"]),
    }
    for kind, (help_text, options) in specs.items():
        p = kinds.add_parser(kind, help=help_text)
        for opt in options:
            name, required = opt.rstrip("?"), not opt.endswith("?")
            if name == "all":
                p.add_argument("--all", action="store_true", help="全部期间")
            elif name == "from":
                p.add_argument(
                    "--from", dest="from_", required=required, type=period, metavar="YYYYMM", help=PERIOD_HELP["from"]
                )
            elif name == "persons":
                p.add_argument(
                    "--persons",
                    metavar="P001,P003",
                    help="只列出所选人员（个人编号，逗号分隔）；不指定即全部人员",
                )
            elif name == "notice":
                p.add_argument("--notice", required=False, metavar="通知单号", help="通知单号（同一期有多张通知单时）")
            elif name in ("to", "period"):
                p.add_argument(f"--{name}", required=required, type=period, metavar="YYYYMM", help=PERIOD_HELP[name])
            else:
                p.add_argument(f"--{name}", required=required, help=ID_HELP.get(name, name))
        p.add_argument(
            "--out", type=Path, default=None, metavar="文件", help="PDF 文件（默认在 $SHEBAO_HOME/certificates 下）"
        )
        p.add_argument(
            "--void-previous",
            action="store_true",
            help="作废同一对象、同一期间之前签发的有效证明",
        )
        add_warehouse_option(p)
        p.set_defaults(func=cmd_issue)

    v = sub.add_parser("verify", help="验证 PDF、扫码得到的网址或令牌（有效时退出码为 0）")
    v.add_argument("input", metavar="输入", help="PDF 文件、网址或令牌")
    v.add_argument(
        "--offline",
        action="store_true",
        help="离线验证：只用缓存的已签名信任列表和撤销列表（见 cert sync），不查询登记簿",
    )
    v.add_argument("--json", action="store_true", help="以 JSON 输出")
    v.set_defaults(func=cmd_verify)

    sy = sub.add_parser("sync", help="缓存已签名的信任列表和撤销列表，供 --offline 使用")
    sy.add_argument("--from", dest="source", metavar="网址", help="验证服务地址（默认：本机的密钥）")
    sy.set_defaults(func=cmd_sync)

    r = sub.add_parser("revoke", help="撤销一份证明")
    r.add_argument("id", metavar="证明编号", help="要撤销的证明编号")
    r.add_argument("--reason", required=True, metavar="原因", help="撤销原因")
    r.set_defaults(func=cmd_revoke)

    b = sub.add_parser("batch-issue", help="为某一单位类型的每个单位各签发一份证明")
    b.add_argument("--unit-type", required=True, metavar="单位类型", help="单位类型，例如 企业")
    b.add_argument(
        "--kind",
        default="summary-proof",
        choices=["unit-proof", "summary-proof", "payment-notice"],
        help="证明类型（默认 summary-proof）",
    )
    b.add_argument("--from", dest="from_", type=period, metavar="YYYYMM", help="起始年月")
    b.add_argument("--to", type=period, metavar="YYYYMM", help="终止年月")
    b.add_argument("--period", type=period, metavar="YYYYMM", help="费款所属期")
    b.add_argument("--out", required=True, type=Path, metavar="目录", help="输出目录")
    add_warehouse_option(b)
    b.set_defaults(func=cmd_batch)

    keys = subparsers.add_parser("keys", help="证明签名密钥")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="{rotate,list,withdraw}")
    ksub.add_parser("rotate", help="启用新的签名密钥").set_defaults(func=cmd_keys_rotate)
    ksub.add_parser("list", help="列出信任列表").set_defaults(func=cmd_keys_list)
    w = ksub.add_parser("withdraw", help="撤回对某个密钥的信任（密钥泄露）：它签过的证明不再通过验证")
    w.add_argument("kid", metavar="密钥编号", help="要撤回的密钥编号")
    w.set_defaults(func=cmd_keys_withdraw)


def add_serve_parser(serve_subparsers) -> None:
    sv = serve_subparsers.add_parser("verify", help="证明验证服务（uvicorn）")
    sv.add_argument("--host", default="127.0.0.1", metavar="地址", help="监听地址（默认 127.0.0.1）")
    sv.add_argument("--port", type=int, default=8765, metavar="端口", help="监听端口（默认 8765）")
    sv.set_defaults(func=cmd_serve_verify)
