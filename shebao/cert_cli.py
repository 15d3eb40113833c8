"""`shebao cert ...`, `shebao keys ...` and `shebao serve verify`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from certificates import config
from shebao.options import add_warehouse_option


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


def add_parser(subparsers) -> None:
    cert = subparsers.add_parser("cert", help="issue, verify and revoke signed certificates (PDF + QR)")
    sub = cert.add_subparsers(dest="cert_command", required=True)

    issue = sub.add_parser("issue", help="issue one document as a signed PDF")
    kinds = issue.add_subparsers(dest="kind", required=True)
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
                p.add_argument("--from", dest="from_", required=required, metavar="YYYYMM")
            elif name == "persons":
                p.add_argument(
                    "--persons",
                    metavar="P001,P003",
                    help="只列出所选人员（个人编号，逗号分隔）；不指定即全部人员",
                )
            elif name == "notice":
                p.add_argument("--notice", required=False, help="通知单号（同一期有多张通知单时）")
            elif name in ("to", "period"):
                p.add_argument(f"--{name}", required=required, metavar="YYYYMM")
            else:
                p.add_argument(f"--{name}", required=required)
        p.add_argument("--out", type=Path, default=None, help="PDF file (default under $SHEBAO_HOME/certificates)")
        p.add_argument(
            "--void-previous",
            action="store_true",
            help="void (supersede) earlier valid certificates for the same subject and period",
        )
        add_warehouse_option(p)
        p.set_defaults(func=cmd_issue)

    v = sub.add_parser("verify", help="verify a PDF, a scanned URL or a token offline (exit 0 when valid)")
    v.add_argument("input", help="F.pdf | URL | TOKEN")
    v.add_argument(
        "--offline",
        action="store_true",
        help="the cached signed trust list and revocation list only (see `cert sync`), never the registry",
    )
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=cmd_verify)

    sy = sub.add_parser("sync", help="cache the signed trust list and revocation list for --offline")
    sy.add_argument("--from", dest="source", metavar="URL", help="verification service (default: this machine's keys)")
    sy.set_defaults(func=cmd_sync)

    r = sub.add_parser("revoke", help="revoke a certificate")
    r.add_argument("id")
    r.add_argument("--reason", required=True)
    r.set_defaults(func=cmd_revoke)

    b = sub.add_parser("batch-issue", help="issue one document per unit of a unit type")
    b.add_argument("--unit-type", required=True, help="单位类型, e.g. 企业")
    b.add_argument("--kind", default="summary-proof", choices=["unit-proof", "summary-proof", "payment-notice"])
    b.add_argument("--from", dest="from_", metavar="YYYYMM")
    b.add_argument("--to", metavar="YYYYMM")
    b.add_argument("--period", metavar="YYYYMM")
    b.add_argument("--out", required=True, type=Path)
    add_warehouse_option(b)
    b.set_defaults(func=cmd_batch)

    keys = subparsers.add_parser("keys", help="certificate signing keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser("rotate", help="start a new signing key").set_defaults(func=cmd_keys_rotate)
    ksub.add_parser("list", help="list the trust list").set_defaults(func=cmd_keys_list)
    w = ksub.add_parser("withdraw", help="withdraw trust in a key (compromise): what it signed stops verifying")
    w.add_argument("kid")
    w.set_defaults(func=cmd_keys_withdraw)


def add_serve_parser(serve_subparsers) -> None:
    sv = serve_subparsers.add_parser("verify", help="the certificate verification service (uvicorn)")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8765)
    sv.set_defaults(func=cmd_serve_verify)
