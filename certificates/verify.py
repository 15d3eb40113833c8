"""Verification of a token, a scanned URL or a PDF, online (with the registry) or offline.

The verdict carries a machine-readable reason and the Chinese status a verifier reads:
有效 / 已过期 / 已撤销 / 已被替换 / 无效: ... (each failure its own) / 未知证书 / 无法确认是否撤销,
and the rows a verifier compares with the paper, named and dated as the PDF prints them.
PDF files are checked in pdf_verify, offline verdicts in offline.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from certificates import qr
from certificates import token as tokens
from certificates.documents import KIND_BY_CODE
from certificates.keys import TrustList, parse_iso
from certificates.registry import Record, Registry

STATUS = {  # reason -> (status, Chinese status)
    "ok": ("valid", "有效"),
    "expired": ("expired", "已过期"),
    "revoked": ("revoked", "已撤销"),
    "superseded": ("superseded", "已被替换"),
    "unknown_kid": ("unknown", "未知证书"),
    "unknown_certificate": ("unknown", "未知证书"),
    "code_mismatch": ("unknown", "未知证书"),
    "not_yet_valid": ("invalid", "无效: 尚未生效"),
    "code_checksum": ("invalid", "无效: 校验码有误"),
    "code_malformed": ("invalid", "无效: 校验码有误"),
    "content_mismatch": ("invalid", "无效: 内容与签名不符"),
    "revocation_unknown": ("unconfirmed", "无法确认是否撤销"),
    "revocation_list_invalid": ("unconfirmed", "无法确认是否撤销"),
    "trust_list_missing": ("unconfirmed", "无法验证: 没有信任列表"),
    "trust_list_stale": ("unconfirmed", "无法验证: 信任列表已过期"),
    "trust_list_invalid": ("invalid", "无效: 信任列表签名无效"),
    "pdf_unsigned": ("invalid", "无效: 文件没有电子签名"),
    "pdf_bad_signature": ("invalid", "无效: 签名无效"),
    "pdf_untrusted": ("invalid", "无效: 签名无效"),
    "pdf_digest_mismatch": ("invalid", "无效: 文件签名后被修改"),
    "pdf_modified": ("invalid", "无效: 文件签名后被修改"),
    "pdf_malformed": ("invalid", "无效: 无法读取文件"),
}
INVALID = ("invalid", "无效: 签名或内容不符")

REASON_ZH = {
    "ok": "签名有效，内容未被篡改，在有效期内",
    "expired": "证明已超过有效期",
    "revoked": "证明已被出具机构撤销",
    "superseded": "证明已被重新开具的证明替换",
    "unknown_kid": "签名密钥不在信任列表中",
    "unknown_certificate": "出具机构没有该证明的记录",
    "code_mismatch": "证明编号与校验码不匹配",
    "not_yet_valid": "证明尚未生效",
    "bad_signature": "签名无效",
    "content_mismatch": "文件内容与签名不符（可能被篡改或二维码被替换）",
    "pdf_unsigned": "文件没有出具机构的电子签名（电子印章），不是出具机构签发的原件",
    "pdf_bad_signature": "文件的电子签名无效（签名数据损坏或被伪造）",
    "pdf_untrusted": "文件的签名证书不是出具机构的证书",
    "pdf_digest_mismatch": "文件在签名后被改动，签名覆盖的内容与签名摘要不符",
    "pdf_modified": "文件在签名后被追加修改（如覆盖图片、批注或表单域）",
    "pdf_malformed": "文件不是可读取的PDF",
    "revocation_unknown": "签名有效，但没有有效期内的离线吊销列表，无法确认是否已被撤销",
    "revocation_list_invalid": "离线吊销列表的签名无效，无法确认是否已被撤销",
    "trust_list_missing": "本机没有出具机构的信任列表，请先同步（shebao cert sync）",
    "trust_list_stale": "本机的信任列表已超过下次更新时间，请重新同步",
    "trust_list_invalid": "信任列表不是出具机构的根密钥签发的",
    "kid_unprotected": "密钥标识未受签名保护",
    "alg_not_allowed": "不允许的签名算法",
    "key_withdrawn": "签名密钥已被撤销",
    "malformed": "格式错误",
    "trailing_data": "数据末尾有多余内容",
    "too_large": "输入过长",
    "wrong_prefix": "二维码不是本机构验证服务的地址",
    "no_qr": "文件中没有可识别的验证二维码",
    "code_checksum": "校验码输入有误（校验位不符）",
    "code_malformed": "校验码格式有误",
    "rate_limited": "查询过于频繁，请稍后再试",
}


@dataclass
class Verdict:
    reason: str
    detail: str = ""
    cert_id: str | None = None
    doc_type: str | None = None
    title: str | None = None
    period: str | None = None
    issued_at: str | None = None
    expires_at: str | None = None
    figures: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    verification_count: int | None = None
    last_verified_at: str | None = None
    kid: str | None = None
    online: bool = False
    status_changed_at: str | None = None
    superseded_by: str | None = None
    revocation_checked: bool | None = None  # offline: whether a fresh revocation list was consulted
    revocation_list_age: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason == "ok"

    @property
    def status(self) -> str:
        return STATUS.get(self.reason, INVALID)[0]

    @property
    def status_zh(self) -> str:
        return STATUS.get(self.reason, INVALID)[1]

    @property
    def reason_zh(self) -> str:
        return REASON_ZH.get(self.reason, "验证失败")

    def as_json(self) -> dict:
        data = asdict(self)
        data.update(
            valid=self.valid,
            status=self.status,
            status_zh=self.status_zh,
            reason_zh=self.reason_zh,
            issued_date_zh=_date_zh(self.issued_at),
            expires_date_zh=_date_zh(self.expires_at),
            status_changed_date_zh=_date_zh(self.status_changed_at),
        )
        return data

    def rows(self) -> list[tuple[str, str]]:
        """What a verifier compares with the paper, named and dated as the PDF prints them."""
        if not self.cert_id:
            return []
        out = [("证明编号", self.cert_id)]
        if self.title:
            out.append(("证明类型", self.title))
        out += [(k, str(v)) for k, v in self.facts.items() if k != "证明类型"]
        if self.issued_at:
            out.append(("开具日期", _date_zh(self.issued_at)))
        if self.expires_at:
            out.append(("有效期至", _date_zh(self.expires_at)))
        if self.reason == "revoked":
            out.append(("撤销日期", _date_zh(self.status_changed_at)))
            out.append(("撤销原因", self.detail or "未说明"))
        if self.reason == "superseded":
            out.append(("替换日期", _date_zh(self.status_changed_at)))
            out.append(("替换为证明编号", self.superseded_by or ""))
        if self.verification_count is not None:
            out.append(("验证次数", f"{self.verification_count}（可多次验证）"))
        if self.revocation_list_age:
            out.append(("离线吊销列表", self.revocation_list_age))
        return out


def _date_zh(text: str | None) -> str:
    """An ISO UTC timestamp as paper prints it: the Beijing date, 2026年12月02日."""
    from certificates.render import date_zh

    if not text:
        return ""
    try:
        return date_zh(parse_iso(text))
    except ValueError:
        return text


def _fmt(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _apply_record(verdict: Verdict, record: Record) -> None:
    verdict.facts = record.facts
    verdict.verification_count = record.verification_count
    verdict.last_verified_at = record.last_verified_at
    verdict.status_changed_at = record.status_changed_at
    verdict.superseded_by = record.superseded_by


def verify_raw(
    raw: bytes,
    trust: TrustList,
    registry: Registry | None = None,
    *,
    now: datetime | None = None,
    count: bool = False,
) -> Verdict:
    """Signature, then the registry's status (authoritative online), then the dates."""
    now = now or datetime.now(UTC)
    try:
        verified = tokens.verify(raw, trust, now, check_time=False)
    except tokens.TokenError as exc:
        return Verdict(exc.reason, exc.detail)
    c = verified.claims
    kind = KIND_BY_CODE.get(c.doc_type)
    verdict = Verdict(
        "ok",
        cert_id=c.cert_id,
        doc_type=kind.name if kind else c.doc_type,
        title=kind.title if kind else None,
        period=c.period,
        issued_at=_fmt(c.issued_at),
        expires_at=_fmt(c.expires_at),
        figures=c.figures,
        kid=verified.kid.hex(),
    )
    if registry is not None:
        verdict.online = True
        record = registry.count_verification(c.cert_id) if count else registry.get(c.cert_id)
        if record is None:
            verdict.reason = "unknown_certificate"
            return verdict
        _apply_record(verdict, record)
        if not hmac.compare_digest(record.digest, c.digest.hex()) or record.kid != verified.kid.hex():
            verdict.reason, verdict.detail = "bad_signature", "token differs from the issued certificate"
            return verdict
        if record.status in ("revoked", "superseded"):
            verdict.reason, verdict.detail = record.status, record.status_reason or ""
            return verdict
    try:
        tokens.check_times(c, now)
    except tokens.TokenError as exc:
        verdict.reason, verdict.detail = exc.reason, exc.detail
    return verdict


def normalise_token(text: str) -> str:
    """The one normalisation of a typed or pasted token, for the CLI and HTTP alike."""
    return "".join(text.split()).upper()


def verify_token(text: str, trust: TrustList, registry: Registry | None = None, **kw) -> Verdict:
    try:
        raw = tokens.b32decode(normalise_token(text))
    except tokens.TokenError as exc:
        return Verdict(exc.reason, exc.detail)
    return verify_raw(raw, trust, registry, **kw)


def verify_url(
    text: str, trust: TrustList, registry: Registry | None = None, *, base: str | None = None, **kw
) -> Verdict:
    if len(text) > tokens.MAX_TOKEN_CHARS + 200:
        return Verdict("too_large", f"{len(text)} characters")
    try:
        token_text = qr.token_from_url(text, base)
    except qr.QrError:
        return Verdict("wrong_prefix", text[:80])
    return verify_token(token_text, trust, registry, **kw)


def lookup(
    registry: Registry, cert_id: str, typed_code: str, *, now: datetime | None = None, count: bool = True
) -> Verdict:
    """Number + typed code (like a 校验码 lookup): the registry's record and status."""
    from certificates import code as codes

    now = now or datetime.now(UTC)
    try:
        normal = codes.normalise(typed_code)
    except codes.CodeError as exc:
        return Verdict(exc.reason, cert_id=cert_id)
    cert_id = cert_id.strip()
    record = registry.get(cert_id) if cert_id.isdigit() and len(cert_id) <= 32 else None
    if record is None or not hmac.compare_digest(record.code, normal):
        return Verdict("code_mismatch")
    if count:
        record = registry.count_verification(cert_id) or record
    kind = KIND_BY_CODE.get(record.doc_type)
    verdict = Verdict(
        "ok",
        cert_id=record.id,
        doc_type=kind.name if kind else record.doc_type,
        title=kind.title if kind else None,
        period=record.period,
        issued_at=record.issued_at,
        expires_at=record.expires_at,
        kid=record.kid,
        online=True,
    )
    _apply_record(verdict, record)
    if record.status in ("revoked", "superseded"):
        verdict.reason, verdict.detail = record.status, record.status_reason or ""
    elif tokens.is_expired(parse_iso(record.expires_at), now):
        verdict.reason = "expired"
    return verdict
