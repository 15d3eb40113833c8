"""Daily issuing limits per person and per unit, from reference data (seed 001: a personal
proof at most 5 times a day), counted in the registry by Beijing calendar day.

The limit is checked twice: before the costly rendering (a quick refusal) and inside the
registry's insert transaction (authoritative, so two issuers at once cannot both pass).
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache

from certificates.keys import iso
from certificates.render import CHINA_TZ, date_zh, local_date
from foundation.paths import REFERENCE_SEEDS_DIR

LIMITS_FILE = REFERENCE_SEEDS_DIR / "certificate_issuing_limits.csv"
SCOPE_ZH = {"person": "个人", "unit": "单位"}


class IssueLimitReached(ValueError):
    """The daily limit for this person or unit is used up; the message is for the user."""


@dataclass(frozen=True)
class Limit:
    doc_type: str
    scope: str  # person | unit
    daily_limit: int


@lru_cache(maxsize=1)
def limits() -> dict[str, Limit]:
    with LIMITS_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, Limit] = {}
    for row in rows:
        if row["scope"] not in SCOPE_ZH or int(row["daily_limit"]) < 1:
            raise ValueError(f"{LIMITS_FILE.name}: 第 {len(out) + 2} 行 scope/daily_limit 无效：{row}")
        out[row["doc_type"]] = Limit(row["doc_type"], row["scope"], int(row["daily_limit"]))
    return out


def scope_of(kind_name: str, subject: str) -> tuple[str, str] | None:
    """(scope, key): rights statements P001 and contribution records U002/P001 count per person,
    unit documents U001 and payment notices U001/<notice number> per unit."""
    limit = limits().get(kind_name)
    if limit is None:
        return None
    parts = subject.split("/")
    return limit.scope, parts[-1] if limit.scope == "person" else parts[0]


def _key(scope: str, subject: str) -> str:
    parts = subject.split("/")
    return parts[-1] if scope == "person" else parts[0]


def _day_bounds(now: datetime) -> tuple[str, str]:
    day = local_date(now)
    start = datetime.combine(day, time(0), CHINA_TZ)
    return iso(start), iso(start + timedelta(days=1))


def guard(
    kind_name: str, doc_code: str, title: str, subject: str, now: datetime
) -> Callable[[sqlite3.Connection], None]:
    """A check the registry runs inside its insert transaction; raises IssueLimitReached."""
    scope = scope_of(kind_name, subject)

    def check(con: sqlite3.Connection) -> None:
        if scope is None:
            return
        kind, key = scope
        start, end = _day_bounds(now)
        rows = con.execute(
            "select subject from certificates where doc_type = ? and issued_at >= ? and issued_at < ?",
            (doc_code, start, end),
        )
        issued = sum(1 for (s,) in rows if _key(kind, s) == key)
        limit = limits()[kind_name].daily_limit
        if issued >= limit:
            raise IssueLimitReached(
                f"今日开具次数已达上限：{SCOPE_ZH[kind]} {key} 的{title}每天最多可开具 {limit} 次"
                f"（{date_zh(now)}已开具 {issued} 次），请明天再试"
            )

    return check
