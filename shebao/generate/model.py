"""The synthetic population: units, people and their enrolment spells.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so the same
seed and arguments give the same population. Months are absolute indices
(year * 12 + month - 1) so spells can be compared and shifted with plain integers.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from foundation.landing.identifiers import USCC_ALPHABET, id_check_char, uscc_check_char
from shebao.generate import pools
from shebao.generate.reference import CENT, Reference, post_groups

REGION_SHARES = (("SZ_SIP", 0.40), ("SZ_CITY", 0.35), ("HB_PROV", 0.25))
REGION_WAGE_MEDIAN = {"SZ_SIP": 9500, "SZ_CITY": 8200, "HB_PROV": 6800}
ORIGINAL_AGE = {"male": 60, "female_cadre": 55, "female_worker": 50}
CADRE_POSTS, WORKER_POSTS = post_groups()
HOUSING_FUND = "610"

# People whose figures the tests and the demo check against the published examples
# (docs/domain.md section 3): (region, declared monthly wage every year).
PLANTED = (
    ("HB_PROV", Decimal("8888.00")),  # seed 002: 8888 -> base 8890, pension 1422.40 / 711.20
    ("SZ_SIP", Decimal("9805.00")),  # seed 004: medical 588.30 / 196.10, supplementary 98.05, maternity 78.44
    ("SZ_CITY", Decimal("6000.50")),  # half-up to the yuan: 6001
    ("HB_PROV", Decimal("7885.00")),  # half-up to ten yuan: 7890
    ("HB_PROV", Decimal("2500.00")),  # below the floor
    ("SZ_SIP", Decimal("30000.00")),  # above the cap
)


def ym_abs(period: str) -> int:
    return int(period[:4]) * 12 + int(period[4:6]) - 1


def abs_ym(month: int) -> str:
    return f"{month // 12:04d}{month % 12 + 1:02d}"


def month_of(date: dt.date) -> int:
    return date.year * 12 + date.month - 1


def first_day(month: int) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


def last_day(month: int) -> dt.date:
    return first_day(month + 1) - dt.timedelta(days=1)


@dataclass
class Unit:
    idx: int
    unit_id: str
    name: str
    uscc: str
    unit_type: str
    region: str
    risk_class: int
    legal_rep: str
    address: str
    founded: dt.date
    status: str
    has_housing_fund: bool
    chronic_late: bool = False
    weight: float = 1.0


@dataclass
class Spell:
    unit: int  # Unit.idx
    start: int  # first insured month (absolute)
    end: int | None  # last insured month, None while open
    status: str  # 正常参保 / 暂停缴费 / 终止参保
    reason: str  # 变更原因
    registered: int  # month the enrolment was declared; months before it are back payments


@dataclass
class Person:
    idx: int
    person_id: str
    name: str
    id_number: str
    sex: str
    birth: dt.date
    hukou: str
    work_start: dt.date
    post: str
    mobile: str
    region: str
    wages: dict[int, Decimal]  # fee year -> declared monthly wage (last year's average)
    scenario: str
    spells: list[Spell] = field(default_factory=list)

    @property
    def retirement_group(self) -> str:
        if self.sex == "男":
            return "male"
        return "female_cadre" if self.post in CADRE_POSTS else "female_worker"

    @property
    def original_retirement_month(self) -> int:
        """Birth month plus the original statutory age (60 / 55 / 50); the 2025 reform is dbt's business."""
        return month_of(self.birth) + ORIGINAL_AGE[self.retirement_group] * 12


# --------------------------------------------------------------------------- helpers


def chinese_name(rng: random.Random, male: bool) -> str:
    surname = rng.choices(pools.SURNAMES, weights=pools.SURNAME_WEIGHTS)[0]
    chars = pools.MALE_CHARS if male else pools.FEMALE_CHARS
    given = rng.choice(chars) if rng.random() < 0.35 else rng.choice(chars) + rng.choice(chars)
    return surname + given


def random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


def org_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its own check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if rng.random() < 0.4:
        body = "MA" + "".join(rng.choice(alphabet) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, weights)) % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


USCC_KIND = {"企业": "91", "机关事业单位": "12", "个体工商户": "92", "社会团体": "51", "民办非企业单位": "52"}


def make_uscc(rng: random.Random, unit_type: str, region: str) -> str:
    first17 = USCC_KIND[unit_type] + rng.choice(pools.USCC_DIVISIONS[region]) + org_code(rng)
    assert all(c in USCC_ALPHABET for c in first17)
    return first17 + uscc_check_char(first17)


def make_id_number(rng: random.Random, county: str, birth: dt.date, male: bool, used: set[str]) -> str:
    while True:
        last = rng.choice("13579" if male else "02468")
        first17 = f"{county}{birth:%Y%m%d}{rng.randint(0, 99):02d}{last}"
        number = first17 + id_check_char(first17)
        if number not in used:
            used.add(number)
            return number


def mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + f"{rng.randint(0, 999_999_999):09d}"


# --------------------------------------------------------------------------- units


def unit_name(rng: random.Random, unit_type: str, region: str, risk: int) -> str:
    city = rng.choice(pools.CITY_PREFIX[region])
    if unit_type == "企业":
        return city + rng.choice(pools.BRANDS) + rng.choice(pools.INDUSTRIES[risk]) + rng.choice(pools.COMPANY_SUFFIX)
    if unit_type == "机关事业单位":
        return city + rng.choice(pools.PUBLIC_BODIES)
    if unit_type == "个体工商户":
        return city + rng.choice(pools.BRANDS) + rng.choice(pools.SHOPS)
    if unit_type == "社会团体":
        return city + rng.choice(pools.ASSOCIATIONS)
    return city + rng.choice(pools.BRANDS) + rng.choice(pools.PRIVATE_NONPROFITS)


def build_units(rng: random.Random, n_persons: int) -> list[Unit]:
    n_units = max(6, round(n_persons / 28))
    per_region = {r: max(2, round(n_units * share)) for r, share in REGION_SHARES}
    units: list[Unit] = []
    names: set[str] = set()
    seq = {r: 0 for r, _ in REGION_SHARES}
    kinds = ("企业", "机关事业单位", "个体工商户", "社会团体", "民办非企业单位")
    for region, _ in REGION_SHARES:
        closed = 1 if per_region[region] >= 8 else 0  # a deregistered unit without staff
        for i in range(per_region[region] + closed):
            unit_type = "企业" if i == 0 else rng.choices(kinds, weights=(80, 8, 6, 3, 3))[0]
            risk = (
                1
                if unit_type in ("机关事业单位", "社会团体")
                else rng.choices(range(1, 9), weights=(20, 20, 16, 14, 12, 8, 6, 4))[0]
            )
            name = unit_name(rng, unit_type, region, risk)
            n = 2
            while name in names:
                name = f"{name.removesuffix(f'（{n - 1}）')}（{n}）" if n > 2 else f"{name}（{n}）"
                n += 1
            names.add(name)
            seq[region] += 1
            unit_id = (
                pools.UNIT_ID_PREFIX[region]
                + f"{seq[region] * 37 % 10 ** pools.UNIT_ID_DIGITS[region]:0{pools.UNIT_ID_DIGITS[region]}d}"
            )
            units.append(
                Unit(
                    idx=len(units),
                    unit_id=unit_id,
                    name=name,
                    uscc=make_uscc(rng, unit_type, region),
                    unit_type=unit_type,
                    region=region,
                    risk_class=risk,
                    legal_rep=chinese_name(rng, rng.random() < 0.7),
                    address=f"{rng.choice(pools.ADDRESSES[region])}{rng.randint(1, 999)}号",
                    founded=random_date(rng, dt.date(1995, 1, 1), dt.date(2019, 12, 31)),
                    status="注销" if i == per_region[region] else "正常",
                    has_housing_fund=(i == 0) or rng.random() < 0.85,
                    weight=min(rng.paretovariate(1.1), 40.0),
                )
            )
    # A few chronically late payers (never the first unit of a region, which hosts the planted people).
    candidates = [u for u in units if u.status == "正常" and u.unit_id != first_unit(units, u.region).unit_id]
    for u in rng.sample(candidates, max(1, len(candidates) // 25)):
        u.chronic_late = True
    return units


def first_unit(units: list[Unit], region: str) -> Unit:
    return next(u for u in units if u.region == region)


# --------------------------------------------------------------------------- people

SCENARIOS = (
    ("stable", 62),
    ("late_joiner", 14),
    ("transfer", 9),
    ("suspension", 5),
    ("termination", 5),
    ("backpay_old", 2),
)


def _wages(rng: random.Random, region: str, years: list[int]) -> dict[int, Decimal]:
    wage = Decimal(int(rng.lognormvariate(0, 0.42) * REGION_WAGE_MEDIAN[region]))
    if rng.random() < 0.25:
        wage += Decimal(rng.randint(1, 99)) / 100
    wages = {}
    for year in years:
        wages[year] = wage.quantize(CENT)
        wage = (wage * Decimal(100 + rng.randint(0, 8)) / 100).quantize(CENT)
    return wages


def build_people(
    rng: random.Random, n_persons: int, units: list[Unit], ref: Reference, w0: int, w1: int
) -> list[Person]:
    years = list(range(w0 // 12, w1 // 12 + 1))
    active_units = {r: [u for u in units if u.region == r and u.status == "正常"] for r, _ in REGION_SHARES}
    used_ids: set[str] = set()
    people: list[Person] = []
    band_cycle = 0
    regions = [r for r, _ in REGION_SHARES]
    shares = [s for _, s in REGION_SHARES]
    for i in range(n_persons):
        planted = PLANTED[i] if i < len(PLANTED) else None
        region = planted[0] if planted else rng.choices(regions, weights=shares)[0]
        in_band = planted is None and rng.random() < 0.13
        if in_band:
            group = ("male", "female_cadre", "female_worker")[band_cycle % 3]
            band_cycle += 1
            male = group == "male"
            post = rng.choice(
                CADRE_POSTS
                if group == "female_cadre"
                else WORKER_POSTS
                if group == "female_worker"
                else CADRE_POSTS + WORKER_POSTS
            )
            retire = rng.randint(w0, w1 + 30)
            birth_month = retire - ORIGINAL_AGE[group] * 12
        else:
            male = rng.random() < 0.53
            post = rng.choices(CADRE_POSTS + WORKER_POSTS, weights=(18, 30, 34, 18))[0]
            group = "male" if male else ("female_cadre" if post in CADRE_POSTS else "female_worker")
            age = rng.randint(34, 39) if planted else rng.randint(20, ORIGINAL_AGE[group] - 4)
            birth_month = w0 - age * 12 - rng.randint(0, 11)
        birth = first_day(birth_month) + dt.timedelta(days=rng.randint(0, 27))
        age_at_w0 = (w0 - birth_month) // 12
        county = rng.choice(pools.LOCAL_COUNTIES[region]) if rng.random() < 0.7 else rng.choice(pools.OTHER_COUNTIES)
        work_start = dt.date(birth.year + rng.randint(18, max(18, min(22, age_at_w0 - 1))), rng.randint(1, 12), 1)
        work_start = min(work_start, first_day(w0 - 3))
        wages = {y: planted[1] for y in years} if planted else _wages(rng, region, years)
        scenario = "stable" if planted else rng.choices([s for s, _ in SCENARIOS], weights=[w for _, w in SCENARIOS])[0]
        person = Person(
            idx=i,
            person_id=f"{10000000000 + 1 + i * 3:011d}",
            name=chinese_name(rng, male),
            id_number=make_id_number(rng, county, birth, male, used_ids),
            sex="男" if male else "女",
            birth=birth,
            hukou="城镇户口" if rng.random() < 0.6 else "农村户口",
            work_start=work_start,
            post=post,
            mobile=mobile(rng),
            region=region,
            wages=wages,
            scenario=scenario,
        )
        people.append(person)
    _ensure_scenarios(people, n_persons, w1)
    for person in people:
        unit_list = active_units[person.region]
        home = (
            first_unit(units, person.region)
            if person.idx < len(PLANTED)
            else rng.choices(unit_list, weights=[u.weight for u in unit_list])[0]
        )
        person.spells = _spells(rng, person, home, unit_list, ref, w0, w1)
    return people


def _ensure_scenarios(people: list[Person], n_persons: int, w1: int) -> None:
    """Several transfers, suspensions and back payments exist whatever the draw (tests and demos rely on them)."""
    wanted = {
        "transfer": (max(3, n_persons // 25), ("SZ_SIP", "SZ_CITY", "HB_PROV")),
        "backpay_old": (max(2, n_persons // 100), ("SZ_SIP", "SZ_CITY")),
        "suspension": (max(2, n_persons // 50), ("SZ_SIP", "SZ_CITY", "HB_PROV")),
        "late_joiner": (max(3, n_persons // 20), ("SZ_SIP", "SZ_CITY", "HB_PROV")),
    }
    for scenario, (count, regions) in wanted.items():
        have = sum(p.scenario == scenario and p.region in regions and p.original_retirement_month > w1 for p in people)
        for p in people[len(PLANTED) :]:
            if have >= count:
                break
            if p.scenario == "stable" and p.region in regions and p.original_retirement_month > w1:
                p.scenario = scenario
                have += 1


def _spells(
    rng: random.Random, p: Person, home: Unit, unit_list: list[Unit], ref: Reference, w0: int, w1: int
) -> list[Spell]:
    span = w1 - w0
    lo = max(month_of(p.work_start), month_of(home.founded), w0 - 144)
    pre_start = rng.randint(min(lo, w0 - 1), w0 - 1)
    scenario = p.scenario if span >= 8 else "stable"
    spells: list[Spell]
    if scenario in ("late_joiner", "backpay_old"):
        start = rng.randint(w0 + 1, w1 - 1)
        limit = ref.regions[p.region].backpay_limit_months
        if scenario == "backpay_old" and p.region.startswith("SZ"):
            lag = rng.randint(limit + 1, limit + 4)  # beyond the online limit: settled at the counter as 一次性补收
        elif rng.random() < 0.45:
            lag = rng.randint(1, min(limit, 12))
        else:
            lag = 0
        start = max(w0, min(start, w1 - lag))
        spells = [Spell(home.idx, start, None, "正常参保", rng.choice(("新参保", "转入")), start + lag)]
    elif scenario == "transfer" and len(unit_list) > 1:
        t = rng.randint(w0 + 2, w1 - 3)
        other = rng.choice([u for u in unit_list if u.idx != home.idx])
        gap = 1 if rng.random() < 0.7 else rng.randint(2, 3)
        spells = [
            Spell(home.idx, pre_start, t, "终止参保", "转出", pre_start),
            Spell(other.idx, t + gap, None, "正常参保", "转入", t + gap),
        ]
    elif scenario == "suspension":
        t = rng.randint(w0 + 1, w1 - 4)
        spells = [
            Spell(home.idx, pre_start, t, "暂停缴费", rng.choice(("停薪留职", "长期病假", "中断缴费")), pre_start)
        ]
        resume = t + rng.randint(2, 8)
        if rng.random() < 0.5 and resume <= w1:
            spells.append(Spell(home.idx, resume, None, "正常参保", "恢复缴费", resume))
    elif scenario == "termination":
        t = rng.randint(w0 + 1, w1 - 2)
        spells = [Spell(home.idx, pre_start, t, "终止参保", rng.choice(("离职", "解除劳动合同", "转外地")), pre_start)]
    else:
        spells = [Spell(home.idx, pre_start, None, "正常参保", "新参保", pre_start)]
    # Retirement at the original statutory age ends every spell.
    retire = p.original_retirement_month
    if retire > w1:
        return spells
    kept = []
    for s in spells:
        if s.start > retire:
            continue
        if s.end is None or s.end >= retire:
            s.end, s.status, s.reason = retire, "终止参保", "退休"
        s.registered = min(s.registered, s.end if s.end is not None else s.registered)
        kept.append(s)
    return kept
