"""Legacy history (历史缴费记录): insured spells before the ledger window, as an agency migrates them.

Most insured people started work long before the ledger window, so the demo's minimum-years
check and pension estimate only mean something with their earlier months. Each person who is
insured in the window gets, with probability HISTORY_SHARE, spells going back from the month
before the window (or the region's migration cut-off, whichever is earlier) towards the
person's first working month: the home unit's spell first, then earlier units that may no
longer exist, with gaps between them. Pension rows carry the personal-account money the spell
migrated (8 % of the base per month, with interest). A separate random stream keeps every
other generated file byte for byte what it was.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from decimal import Decimal

from foundation.landing.schema import LEGACY_HISTORY
from foundation.paths import REFERENCE_SEEDS_DIR
from shebao.generate.model import Person, Unit, abs_ym, month_of, ym_abs
from shebao.generate.reference import CENT, Reference, round_half_up, round_to_unit

HISTORY_SHARE = 0.8  # share of insured people whose earlier months were migrated
EARLIEST_MONTH = "199501"  # personal accounts as migrated start here
INSURANCES = ("110", "310")  # pension and basic medical
PENSION = "110"
ACCOUNT_RATE = Decimal("0.08")  # personal pension contribution credited to the account
INTEREST_FACTOR = Decimal("1.25")  # credited interest accumulated up to the cut-off (demo)
WAGE_DRIFT = Decimal("0.93")  # a year earlier, wages were this share of the next year's
OLD_UNITS = ("纺织厂", "机床厂", "电子仪器厂", "百货公司", "化工厂", "食品厂", "建筑公司", "运输公司")
CITY = {"SZ_SIP": "苏州", "SZ_CITY": "苏州", "HB_PROV": "武汉"}
HEADER = [c.label for c in LEGACY_HISTORY.columns]


def cutoffs() -> dict[str, int]:
    """Region code -> last migrated month (absolute), from the legacy_history_cutoffs seed."""
    with open(REFERENCE_SEEDS_DIR / "legacy_history_cutoffs.csv", encoding="utf-8", newline="") as fh:
        return {r["region_code"]: ym_abs(r["cutoff_period"]) for r in csv.DictReader(fh)}


def _base(ref: Reference, p: Person, w0: int, month: int) -> Decimal:
    """The first window year's wage taken back year by year, rounded as the region rounds bases."""
    wage = p.wages[w0 // 12] * WAGE_DRIFT ** max(0, w0 // 12 - month // 12)
    return max(round_to_unit(wage, ref.regions[p.region].rounding_unit), Decimal("600.00")).quantize(CENT)


def _segments(rng: random.Random, lo: int, hi: int) -> list[tuple[int, int]]:
    """(first, last) months from hi back towards lo, covering 40-85 % of the span, with gaps."""
    remaining = round((hi - lo + 1) * rng.uniform(0.40, 0.85))
    cursor = hi
    out: list[tuple[int, int]] = []
    while remaining > 0 and cursor >= lo:
        length = remaining if len(out) >= 2 or remaining < 24 else rng.randint(max(12, remaining // 3), remaining)
        length = min(length, cursor - lo + 1)
        out.append((cursor - length + 1, cursor))
        remaining -= length
        cursor -= length + rng.randint(1, 18)
    return out


def person_rows(
    rng: random.Random, ref: Reference, p: Person, units: list[Unit], w0: int, cutoff: int
) -> list[list[str]]:
    """The legacy rows of one person (none for someone never insured in the window, or unlucky)."""
    if not p.spells or rng.random() >= HISTORY_SHARE:
        return []
    hi = min(w0 - 1, cutoff)
    lo = max(month_of(p.work_start), ym_abs(EARLIEST_MONTH))
    if hi < lo:
        return []
    home = units[p.spells[0].unit]
    rows = []
    region_name = ref.regions[p.region].name
    for k, (first, last) in enumerate(_segments(rng, lo, hi)):
        at_home = k == 0 and p.spells[0].start <= first and month_of(home.founded) <= first
        if at_home:
            unit_id, unit_name = home.unit_id, home.name
        else:
            unit_id = f"L{p.idx:06d}{k}"
            unit_name = f"{CITY[p.region]}市第{'一二三四五六七八九'[rng.randrange(9)]}{rng.choice(OLD_UNITS)}"
        base = _base(ref, p, w0, (first + last) // 2)
        months = last - first + 1
        by_count = k % 2 == 1  # every other spell is given as start and 缴费月数, as some systems export it
        for code in INSURANCES:
            balance = ""
            if code == PENSION:
                balance = str(round_half_up(base * ACCOUNT_RATE * months * INTEREST_FACTOR))
            rows.append(
                [
                    p.person_id,
                    p.name,
                    unit_id,
                    unit_name,
                    ref.insurance_names[code],
                    abs_ym(first),
                    "" if by_count else abs_ym(last),
                    str(months),
                    str(base),
                    balance,
                    region_name,
                ]
            )
    return rows


def iter_rows(
    seed: int, ref: Reference, people: list[Person], units: list[Unit], w0: int
) -> Iterator[tuple[str, list]]:
    """(region code, row) for every person in file order, lazily (SF 100 streams them to disk)."""
    rng = random.Random(f"{seed}:legacy")
    cut = cutoffs()
    for p in people:
        for row in person_rows(rng, ref, p, units, w0, cut[p.region]):
            yield p.region, row


def build_rows(seed: int, ref: Reference, people: list[Person], units: list[Unit], w0: int) -> dict[str, list[list]]:
    """Region code -> rows, people in file order."""
    out: dict[str, list[list[str]]] = {}
    for region, row in iter_rows(seed, ref, people, units, w0):
        out.setdefault(region, []).append(row)
    return out
