"""The reference seeds the loader maps codes through (insurance types, regions)."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from foundation.paths import REFERENCE_SEEDS_DIR
from pipelines.ingest.sql import lit


@dataclass(frozen=True)
class Reference:
    insurance: list[tuple[str, str]]  # upper-cased code, name or short name -> insurance code
    regions: list[tuple[str, str]]  # upper-cased code or name -> region code
    region_names: list[str]  # in seed order, for the Chinese reason of an unknown region
    pension: tuple[str, ...] = ()  # insurance codes of the pension (a personal account exists only there)


def read_reference() -> Reference:
    ins: dict[str, str] = {}
    pension: list[str] = []
    with open(REFERENCE_SEEDS_DIR / "insurance_types.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["insurance_type"].strip()
            if row["is_pension"].strip().lower() == "true":
                pension.append(code)
            for key in (code, row["insurance_name"], row["insurance_short_name"]):
                ins.setdefault(key.strip().upper(), code)
    regions: dict[str, str] = {}
    names = []
    with open(REFERENCE_SEEDS_DIR / "regions.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["region_code"].strip()
            names.append(row["region_name"].strip())
            for key in (code, row["region_name"]):
                regions.setdefault(key.strip().upper(), code)
    return Reference(sorted(ins.items()), sorted(regions.items()), names, tuple(pension))


def lookup_sql(expr: str, pairs: list[tuple[str, str]]) -> str:
    """Map upper(expr) through a short reference list inline: a join would hash the whole file."""
    if not pairs:
        return "CAST(NULL AS VARCHAR)"
    return f"CASE upper({expr}) " + " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in pairs) + " END"
