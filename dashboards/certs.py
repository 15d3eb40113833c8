"""Thin adapter from the dashboard to the certificates package.

Pages call only these functions, so a change in the certificates API is absorbed here.
Issuing goes through the same code as `shebao cert issue`; verdicts come from the same
verification as the service; statistics come from the certificate registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


class CertificatesUnavailable(RuntimeError):
    """The certificates package is not installed or not ready."""


@dataclass
class Issued:
    pdf: bytes
    cert_id: str
    code: str | None
    filename: str
    voided: tuple[str, ...] = ()
    still_valid: tuple[str, ...] = ()


@dataclass
class Verdict:
    ok: bool
    status: str  # Chinese status as the service shows it
    reason: str  # machine-readable reason
    facts: dict = field(default_factory=dict)


# Documents an employer may download (every type the CLI issues), in the order the page offers them
EMPLOYER_DOCUMENTS = (
    ("unit-proof", "单位参保证明"),
    ("summary-proof", "缴费人员汇总参保证明"),
    ("contribution-record", "个人缴费记录明细"),
    ("rights-statement", "个人权益记录单"),
    ("payment-notice", "征集缴费通知单"),
)
_EMPLOYER_TYPES = {code for code, _ in EMPLOYER_DOCUMENTS}


class NotThisUnit(ValueError):
    """A person asked for on a document is not of the logged-in unit (message in Chinese)."""


def _import(name: str):
    try:
        return __import__(f"certificates.{name}", fromlist=[name])
    except ImportError as exc:
        raise CertificatesUnavailable(f"证书服务尚未就绪：{exc}") from exc


def ready() -> bool:
    """Whether the certificates package offers what these pages need."""
    try:
        _import("issue")
        _import("verify")
    except CertificatesUnavailable:
        return False
    return True


def _warehouse(warehouse):
    if warehouse is None:
        from dashboards.db import warehouse_path

        return warehouse_path()
    return warehouse


def employer_params(doc_type: str, unit_id: str, params: dict) -> dict:
    """The CLI's parameters for a document, bound to the logged-in unit whatever the page sent."""
    if doc_type not in _EMPLOYER_TYPES:
        raise ValueError(f"不支持的证明类型：{doc_type}")
    params = {k: v for k, v in params.items() if v not in (None, "", [], False)}
    if doc_type != "rights-statement":
        params["unit"] = unit_id
    return params


def check_own_people(doc_type: str, unit_id: str, params: dict, warehouse=None) -> None:
    """Refuse, by ID, any person on the document who never paid at this unit."""
    wanted = list(params.get("persons") or []) + ([params["person"]] if params.get("person") else [])
    if not wanted:
        return
    from foundation.serving import connect

    with connect(_warehouse(warehouse)) as con:
        found = {
            row[0]
            for row in con.execute(
                "select distinct person_id from marts.fct_contributions where unit_id = ? and person_id in "
                f"({', '.join('?' * len(wanted))})",
                [unit_id, *wanted],
            ).fetchall()
        }
    foreign = [p for p in wanted if p not in found]
    if foreign:
        raise NotThisUnit(f"以下人员不是本单位的参保人员：{'、'.join(map(str, foreign))}")


def document_key(doc_type: str, unit_id: str, params: dict, warehouse=None) -> tuple[str, str, str]:
    """(registry type code, period, subject) of the document these parameters give, as the
    certificates package itself builds it (so a chosen set of people is part of the key)."""
    params = employer_params(doc_type, unit_id, params)
    check_own_people(doc_type, unit_id, params, warehouse)
    doc = _import("documents").build(doc_type, params, _warehouse(warehouse))
    return doc.kind.code, doc.period, doc.subject


def previous_valid(doc_type: str, unit_id: str, params: dict, warehouse=None) -> list[str]:
    """Numbers of the valid certificates for the same document (what a re-issue would void if
    the employer asks it to)."""
    code, period, subject = document_key(doc_type, unit_id, params, warehouse)
    return [r.id for r in _import("registry").Registry().find_valid(code, period, subject)]


def issue(
    doc_type: str,
    unit_id: str,
    period_from: str | None = None,
    period_to: str | None = None,
    warehouse=None,
    *,
    params: dict | None = None,
    void_previous: bool = False,
    actor: str | None = None,
) -> Issued:
    """Issue through certificates.issue.issue_document (what `shebao cert issue` runs) for this unit only.

    `params` are the CLI's (persons, person, period, notice, from, to, all); without them a
    range document for period_from..period_to (or the notice of period_to)."""
    issue_mod = _import("issue")
    if params is None:
        params = {"period": period_to} if doc_type == "payment-notice" else {"from": period_from, "to": period_to}
    params = employer_params(doc_type, unit_id, params)
    warehouse = _warehouse(warehouse)
    check_own_people(doc_type, unit_id, params, warehouse)
    actor = actor or f"dashboard:{unit_id}"
    cert = issue_mod.issue_document(doc_type, params, warehouse, void_previous=void_previous, actor=actor)
    pdf = cert.path.read_bytes()
    _audit("download", actor, cert.id, channel="dashboard", file=cert.path.name)
    return Issued(
        pdf=pdf,
        cert_id=cert.id,
        code=cert.code,
        filename=cert.path.name,
        voided=cert.superseded,
        still_valid=cert.still_valid,
    )


def _verdict(v) -> Verdict:
    """The service's verdict with the rows the verification page shows (Beijing dates, PDF names)."""
    status = v.status_zh if v.valid else f"{v.status_zh}（{v.reason_zh}）"
    return Verdict(ok=v.valid, status=status, reason=v.reason, facts=dict(v.rows()))


def _audit(event: str, actor: str, subject: str = "", **details) -> None:
    _import("audit").record(event, actor, subject, **details)


def _audit_verdict(v, channel: str):
    _audit("verify", "dashboard", v.cert_id or "", reason=v.reason, channel=channel)
    return v


def _trust():
    keys = _import("keys")
    return keys.KeyStore().trust_list()


def verify_text(text: str) -> Verdict:
    """A pasted QR text (the verification URL) or a bare token, checked as the service checks it."""
    verify = _import("verify")
    registry = _import("registry").Registry()
    text = text.strip()
    if "://" in text or text.upper().startswith("HTTP"):
        v = verify.verify_url(text, _trust(), registry, count=True)
    else:
        v = verify.verify_token(text, _trust(), registry, count=True)
    return _verdict(_audit_verdict(v, "dashboard-qr"))


def verify_code(number: str, code: str, client: str = "") -> Verdict:
    """Number + typed code, rate-limited per client like the service's lookup."""
    verify = _import("verify")
    if not _lookup_limiter().allow(client or "local"):
        return _verdict(_audit_verdict(verify.Verdict("rate_limited"), "dashboard-lookup"))
    v = verify.lookup(_import("registry").Registry(), number[:64], code[:64])
    return _verdict(_audit_verdict(v, "dashboard-lookup"))


_LIMITER = None


def _lookup_limiter():
    global _LIMITER
    if _LIMITER is None:
        _LIMITER = _import("service").RateLimiter(10, 60.0)
    return _LIMITER


def verify_pdf(path) -> Verdict:
    """A PDF file (a path or its bytes): signature, QR token and content, as the service checks it."""
    return _verdict(
        _audit_verdict(
            _import("pdf_verify").verify_pdf(path, _trust(), _import("registry").Registry()), "dashboard-pdf"
        )
    )


STATUS_ZH = {"valid": "有效", "revoked": "已撤销", "superseded": "已被替换"}


def registry_frame() -> pd.DataFrame:
    """Every certificate in the registry, with Chinese column names for the statistics page."""
    registry = _import("registry").Registry()
    kinds = {k.code: k.title for k in _import("documents").KINDS.values()}
    rows = [
        {
            "证书编号": r.id,
            "证书类型": kinds.get(r.doc_type, r.doc_type),
            "主体": r.subject,
            "期间": r.period,
            "签发时间": r.issued_at,
            "有效期至": r.expires_at,
            "状态": STATUS_ZH.get(r.status, r.status),
            "验证次数": r.verification_count,
            "最近验证": r.last_verified_at,
        }
        for r in registry.all()
    ]
    columns = ["证书编号", "证书类型", "主体", "期间", "签发时间", "有效期至", "状态", "验证次数", "最近验证"]
    return pd.DataFrame(rows, columns=columns)


AUDIT_COLUMNS = ["序号", "时间（北京）", "事件", "操作者", "对象", "详情", "哈希"]


def audit_frame() -> tuple[pd.DataFrame, list[str]]:
    """The audit trail, newest first, and the breaks `shebao audit verify` would report."""
    import json

    audit = _import("audit")
    render = _import("render")
    log = audit.AuditLog()
    entries = log.entries()

    def beijing(text: str) -> str:
        from datetime import UTC, datetime

        try:
            ts = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
        except (TypeError, ValueError):
            return str(text)
        return ts.astimezone(render.CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")

    rows = [
        {
            "序号": e.get("seq"),
            "时间（北京）": beijing(e.get("at", "")),
            "事件": audit.EVENTS.get(e.get("event", ""), e.get("event")),
            "操作者": e.get("actor"),
            "对象": e.get("subject"),
            "详情": json.dumps(e.get("details", {}), ensure_ascii=False),
            "哈希": str(e.get("hash", ""))[:16],
        }
        for e in reversed(entries)
    ]
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS), log.verify()
