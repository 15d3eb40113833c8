"""`cert verify --offline`: the cached signed trust list and revocation list, never the registry.

The verdict says how old its revocation list is, and without a list younger than its
next-update time it is 无法确认是否撤销, never 有效.
"""

from __future__ import annotations

from datetime import UTC, datetime

from certificates import trust as trusts
from certificates.pdf_verify import verify_any
from certificates.verify import Verdict

# reasons where the certificate itself checked out, so its revocation status decides
STATUS_DECIDES = {"ok", "expired"}


def verify_offline(value: str, cache: trusts.OfflineCache | None = None, *, now: datetime | None = None) -> Verdict:
    now = now or datetime.now(UTC)
    cache = cache or trusts.OfflineCache()
    try:
        trust = cache.trust_list(now)
    except trusts.TrustError as exc:
        return Verdict(exc.reason, exc.detail)
    verdict = verify_any(value, trust, None, now=now)
    if verdict.reason not in STATUS_DECIDES or verdict.cert_id is None:
        return verdict
    revocations, reason, age = cache.revocations(now)
    verdict.revocation_list_age = age
    if revocations is None:
        verdict.revocation_checked = False
        if verdict.reason == "ok":
            verdict.reason, verdict.detail = reason, age
        return verdict
    verdict.revocation_checked = True
    status = revocations.status_of(verdict.cert_id)
    if status != "valid":
        verdict.reason, verdict.detail = status, "离线吊销列表"
    return verdict
