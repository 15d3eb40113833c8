"""The dbt reference seeds, read as Decimals, so generated figures follow the same published values."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from foundation.paths import REFERENCE_SEEDS_DIR

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
WORK_INJURY = "410"


def round_half_up(value: Decimal, places: int = 2) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_to_unit(value: Decimal, unit: Decimal) -> Decimal:
    """Half-up to a multiple of unit (1 or 10 yuan): Hubei turns 8888 into 8890."""
    return ((value / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP) * unit).quantize(CENT)


def _dec(text: str) -> Decimal | None:
    text = (text or "").strip()
    return Decimal(text) if text else None


def _rows(name: str, folder: Path) -> list[dict[str, str]]:
    with open(folder / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def post_groups(folder: Path = REFERENCE_SEEDS_DIR) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Cadre and worker posts from the post_categories seed (the same rule dim_persons applies)."""
    rows = _rows("post_categories", folder)
    cadre = tuple(r["post_category"] for r in rows if r["is_cadre_post"].strip().lower() == "true")
    worker = tuple(r["post_category"] for r in rows if r["is_cadre_post"].strip().lower() != "true")
    return cadre, worker


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    province: str
    rounding_unit: Decimal
    backpay_limit_months: int


@dataclass(frozen=True)
class Rate:
    unit_rate: Decimal | None
    personal_rate: Decimal | None
    unit_fixed: Decimal | None
    personal_fixed: Decimal | None

    @property
    def is_empty(self) -> bool:
        return not any((self.unit_rate, self.personal_rate, self.unit_fixed, self.personal_fixed))


class Reference:
    """Regions, insurance types, rates, base limits, due-date rules and work-injury rates."""

    def __init__(self, folder: Path = REFERENCE_SEEDS_DIR):
        self.regions: dict[str, Region] = {
            r["region_code"]: Region(
                r["region_code"],
                r["region_name"],
                r["province"],
                Decimal(r["base_rounding_unit"]),
                int(r["backpay_limit_months"]),
            )
            for r in _rows("regions", folder)
        }
        self.insurance_names: dict[str, str] = {}
        self.insurance_groups: dict[str, str] = {}
        for r in _rows("insurance_types", folder):
            self.insurance_names[r["insurance_type"]] = r["insurance_name"]
            self.insurance_groups[r["insurance_type"]] = r["insurance_group"]
        self.rates: dict[tuple[str, int, str], Rate] = {
            (r["region_code"], int(r["year"]), r["insurance_type"]): Rate(
                _dec(r["unit_rate"]),
                _dec(r["personal_rate"]),
                _dec(r["unit_fixed_amount"]),
                _dec(r["personal_fixed_amount"]),
            )
            for r in _rows("contribution_rates", folder)
        }
        self.limits: dict[tuple[str, int, str], tuple[Decimal, Decimal]] = {
            (r["region_code"], int(r["year"]), r["insurance_group"]): (Decimal(r["base_floor"]), Decimal(r["base_cap"]))
            for r in _rows("base_limits", folder)
        }
        self.due_rules: dict[str, tuple[int, int | None]] = {
            r["region_code"]: (int(r["due_month_offset"]), int(r["due_day"]) if r["due_day"].strip() else None)
            for r in _rows("due_date_rules", folder)
        }
        self.work_injury: dict[int, Decimal] = {
            int(r["risk_class"]): Decimal(r["base_rate"]) for r in _rows("work_injury_rates", folder)
        }
        self._years: dict[str, list[int]] = {}
        for region, year, _ in self.rates:
            self._years.setdefault(region, []).append(year)

    def rate_year(self, region: str, year: int) -> int:
        """The seed year whose rates apply: the fee year itself, else the latest earlier one."""
        years = sorted(set(self._years.get(region, ())))
        usable = [y for y in years if y <= year]
        if not usable:
            raise ValueError(f"no contribution rates for {region} in or before {year}")
        return usable[-1]

    def insurances(self, region: str, year: int) -> list[str]:
        """Insurance codes charged in the region and year, in code order (rate 0/empty on both sides skipped)."""
        y = self.rate_year(region, year)
        codes = []
        for (reg, yr, code), rate in self.rates.items():
            if reg == region and yr == y and (code == WORK_INJURY or not rate.is_empty):
                codes.append(code)
        return sorted(codes)

    def rate(self, region: str, year: int, code: str) -> Rate:
        return self.rates[(region, self.rate_year(region, year), code)]

    def base_limits(self, region: str, year: int, group: str) -> tuple[Decimal, Decimal]:
        years = sorted(y for (r, y, g) in self.limits if r == region and g == group and y <= year)
        if not years:
            raise ValueError(f"no base limits for {region}/{group} in or before {year}")
        return self.limits[(region, years[-1], group)]

    def contribution_base(self, region: str, year: int, group: str, wage: Decimal) -> Decimal:
        """Declared wage rounded by the region's unit, then floored and capped at the published figures."""
        floor, cap = self.base_limits(region, year, group)
        base = round_to_unit(wage, self.regions[region].rounding_unit)
        return min(max(base, floor), cap).quantize(CENT)
