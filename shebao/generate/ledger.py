"""Contribution ledger lines (缴费明细) for each fee month and region.

Amounts follow the published rule: base = last year's declared wage rounded by the
region's unit and kept between the year's floor and cap; amount = round_half_up(base x
rate, 2); fixed items as fixed amounts; work injury at the rate of the unit's risk class.
Amounts are computed once per person, unit and fee year and reused for every month of that
year; the cache holds one fee year at a time (the window is written month by month in order),
so the generator's memory does not grow with the number of years times people: SF 100 is
streamed to disk file by file.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

from foundation.landing.schema import DEFAULT_ID_TYPE, LEDGERS
from shebao.generate.model import Person, Spell, Unit, first_day, last_day
from shebao.generate.pools import NOTICE_PREFIX
from shebao.generate.reference import WORK_INJURY, ZERO, Reference, round_half_up

LEDGER_HEADER = [c.label for c in LEDGERS.columns]
COL = {c.name: i for i, c in enumerate(LEDGERS.columns)}
MONEY_COLS = tuple(i for i, c in enumerate(LEDGERS.columns) if c.dtype.startswith("DECIMAL"))
PENSION = "110"
HOUSING_FUND = "610"
LATE_FEE_PER_DAY = Decimal("0.0005")  # the agency's own figure on its back-payment notices
BACKPAY_INTEREST_RATE = Decimal("0.0262")
NOTICE_LETTER = {"正常应缴": "C", "补收": "B", "一次性补收": "Y"}


class LedgerBuilder:
    def __init__(self, ref: Reference, units: list[Unit], people: list[Person], rng: random.Random, w0: int, w1: int):
        self.ref, self.units, self.rng, self.w0, self.w1 = ref, units, rng, w0, w1
        self.entries: dict[str, list[tuple[Unit, Person, Spell]]] = {}
        for person in people:
            for spell in person.spells:
                unit = units[spell.unit]
                self.entries.setdefault(unit.region, []).append((unit, person, spell))
        for rows in self.entries.values():
            rows.sort(key=lambda e: (e[0].unit_id, e[1].person_id, e[2].start))
        self._amounts: dict[tuple[int, int, int], list[tuple]] = {}
        self._amounts_year: int | None = None  # the one fee year whose amounts are cached
        self._line_counts: dict[tuple[str, int, bool], int] = {}
        self._pay: dict[tuple, tuple[str, str, Decimal | None]] = {}
        self._backpay: dict[tuple[int, int], dt.date] = {}

    # ------------------------------------------------------------------ figures

    def amounts(self, person: Person, unit: Unit, year: int) -> list[tuple]:
        if year != self._amounts_year:  # a new fee year: the previous year's amounts are not read again
            self._amounts.clear()
            self._amounts_year = year
        key = (person.idx, unit.idx, year)
        cached = self._amounts.get(key)
        if cached is not None:
            return cached
        ref, region = self.ref, unit.region
        wage = person.wages[year]
        bases = {
            "social": ref.contribution_base(region, year, "social", wage),
            "housing_fund": ref.contribution_base(region, year, "housing_fund", wage),
        }
        out = []
        for code in ref.insurances(region, year):
            if code == HOUSING_FUND and not unit.has_housing_fund:
                continue
            base = bases[ref.insurance_groups[code]]
            rate = ref.rate(region, year, code)
            if code == WORK_INJURY:
                unit_amt, pers_amt = round_half_up(base * ref.work_injury[unit.risk_class]), ZERO
            else:
                unit_amt = (
                    rate.unit_fixed
                    if rate.unit_fixed is not None
                    else (round_half_up(base * rate.unit_rate) if rate.unit_rate else ZERO)
                )
                pers_amt = (
                    rate.personal_fixed
                    if rate.personal_fixed is not None
                    else (round_half_up(base * rate.personal_rate) if rate.personal_rate else ZERO)
                )
            credit = pers_amt if code == PENSION else (pers_amt + unit_amt if code == HOUSING_FUND else ZERO)
            out.append(
                (
                    code,
                    ref.insurance_names[code],
                    str(base),
                    str(pers_amt),
                    str(unit_amt),
                    str(credit),
                    str(pers_amt + unit_amt),
                    pers_amt,
                    unit_amt,
                )
            )
        self._amounts[key] = out
        return out

    def due_date(self, region: str, month: int) -> dt.date:
        offset, day = self.ref.due_rules[region]
        if day is None:
            return last_day(month + offset)
        return first_day(month + offset).replace(day=day)

    def _on_time(self, unit: Unit, month: int) -> dt.date:
        if unit.region == "HB_PROV" and self.rng.random() < 0.2:
            return first_day(month + 1) + dt.timedelta(days=self.rng.randint(0, 11))
        return first_day(month) + dt.timedelta(days=self.rng.randint(9, 24))

    def pay_info(self, unit: Unit, month: int) -> tuple[str, str, Decimal | None]:
        """(paid_status, paid_date, fraction arrived) for a unit's regular contributions of one month."""
        key = (unit.idx, month)
        info = self._pay.get(key)
        if info is None:
            r = self.rng.random()
            due = self.due_date(unit.region, month)
            if unit.chronic_late and month >= self.w1 - 2:
                info = ("未到账", "", None)
            elif (unit.chronic_late and r < 0.5) or r < 0.03:
                info = ("已到账", (due + dt.timedelta(days=self.rng.randint(3, 60))).isoformat(), None)
            elif r < 0.045:
                info = ("未足额到账", self._on_time(unit, month).isoformat(), Decimal(self.rng.randint(50, 90)) / 100)
            else:
                info = ("已到账", self._on_time(unit, month).isoformat(), None)
            self._pay[key] = info
        return info

    def backpay_date(self, unit: Unit, registered: int) -> dt.date:
        key = (unit.idx, registered)
        day = self._backpay.get(key)
        if day is None:
            day = first_day(registered) + dt.timedelta(days=self.rng.randint(9, 24))
            self._backpay[key] = day
        return day

    # ------------------------------------------------------------------ lines

    def lines_per_month(self, unit: Unit, year: int) -> int:
        """How many lines (one per insurance) a person of `unit` has in a month of `year`: len(amounts(...))."""
        key = (unit.region, year, unit.has_housing_fund)
        n = self._line_counts.get(key)
        if n is None:
            codes = self.ref.insurances(unit.region, year)
            n = sum(1 for code in codes if code != HOUSING_FUND or unit.has_housing_fund)
            self._line_counts[key] = n
        return n

    def expected_lines(self, months: list[int]) -> int:
        """Exact number of lines the window will hold (decides CSV or Parquet before writing).

        Counted from the insurances charged, without computing (and caching) every person's amounts.
        """
        total = 0
        for entries in self.entries.values():
            for unit, _person, spell in entries:
                lo = max(spell.start, months[0])
                hi = min(spell.end if spell.end is not None else months[-1], months[-1])
                for m in range(lo, hi + 1):
                    total += self.lines_per_month(unit, m // 12)
        return total

    def month_rows(self, month: int, region: str) -> list[list[str]]:
        return list(self.iter_month_rows(month, region))

    def iter_month_rows(self, month: int, region: str) -> Iterator[list[str]]:
        """The lines of one fee month and region, in file order (lazily, so a large file is written in chunks)."""
        period = f"{month // 12:04d}{month % 12 + 1:02d}"
        year = month // 12
        region_name = self.ref.regions[region].name
        limit = self.ref.regions[region].backpay_limit_months
        yymm = period[2:]
        for unit, person, spell in self.entries.get(region, ()):
            if spell.start > month or (spell.end is not None and spell.end < month):
                continue
            lines = self.amounts(person, unit, year)
            head = [unit.unit_id, unit.name, person.person_id, person.name, DEFAULT_ID_TYPE, person.id_number, period]
            seq = f"{(unit.idx + 1) % 1000:03d}"
            if month < spell.registered:
                lag = spell.registered - month
                ctype = "补收" if lag <= limit else "一次性补收"
                paid = self.backpay_date(unit, spell.registered)
                days = (paid - self.due_date(region, month)).days
                notice = f"{_notice_prefix(region)}{_yymm(spell.registered)}{NOTICE_LETTER[ctype]}{seq}"
                charge_fee = ctype == "一次性补收" or region == "HB_PROV"
                for code, name, base, pa_s, ua_s, credit, _total_s, pa, ua in lines:
                    total = pa + ua
                    interest = (
                        round_half_up(total * BACKPAY_INTEREST_RATE * lag / 12)
                        if ctype == "一次性补收" and code == PENSION
                        else ZERO
                    )
                    late_fee = round_half_up(total * LATE_FEE_PER_DAY * days) if charge_fee and days > 0 else ZERO
                    yield (
                        head
                        + [
                            name,
                            ctype,
                            base,
                            base,
                            pa_s,
                            ua_s,
                            credit,
                            str(interest),
                            str(late_fee),
                            "已到账",
                            str(total + interest + late_fee),
                            paid.isoformat(),
                            notice,
                            region_name,
                        ]
                    )
                continue
            status, paid_date, fraction = self.pay_info(unit, month)
            notice = f"{_notice_prefix(region)}{yymm}C{seq}"
            for _code, name, base, pa_s, ua_s, credit, total_s, pa, ua in lines:
                if status == "未到账":
                    paid_amount = ""
                elif fraction is not None:
                    paid_amount = str(round_half_up((pa + ua) * fraction))
                else:
                    paid_amount = total_s
                yield (
                    head
                    + [
                        name,
                        "正常应缴",
                        base,
                        base,
                        pa_s,
                        ua_s,
                        credit,
                        "0.00",
                        "0.00",
                        status,
                        paid_amount,
                        paid_date,
                        notice,
                        region_name,
                    ]
                )


def _notice_prefix(region: str) -> str:
    return NOTICE_PREFIX[region]


def _yymm(month: int) -> str:
    return f"{month // 12 % 100:02d}{month % 12 + 1:02d}"
