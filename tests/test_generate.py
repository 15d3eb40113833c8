"""The sample-data generator: valid identifiers, published figures, file shapes, determinism, errors."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import itertools
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from foundation.landing.identifiers import id_birth_date, id_number_problem, uscc_problem
from foundation.landing.schema import SOURCES
from foundation.paths import REFERENCE_SEEDS_DIR
from shebao.generate import add_parser, generate_landing

pytestmark = pytest.mark.unit

INSTRUCTION = "以上一行填写示例请从下一行开始按示例填写"


# --------------------------------------------------------------------------- helpers


def read_rows(path: Path, source: str) -> list[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, {canonical: text}) for every data row of a landing file."""
    lookup = {h: c.name for c in SOURCES[source].columns for h in (c.name, c.label, *c.aliases)}
    if path.suffix == ".csv":
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
        rows = list(csv.reader(io.StringIO(text)))
        header, body, first = rows[0], rows[1:], 2
    elif path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
        rows = [["" if v is None else str(v) for v in r] for r in rows]
        header, body, first = rows[1], rows[4:], 5  # title, header, example, instruction
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        header, body, first = table.column_names, [list(r.values()) for r in table.to_pylist()], 1
    names = [lookup[h] for h in header]
    return [(first + i, dict(zip(names, r))) for i, r in enumerate(body)]


def seed_rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE_SEEDS_DIR / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def rhu(value: Decimal, exp: str = "0.01") -> Decimal:
    return value.quantize(Decimal(exp), rounding=ROUND_HALF_UP)


class Landing:
    """A generated folder read back, with the injected error rows set apart."""

    def __init__(self, root: Path, summary: dict):
        self.root, self.summary = root, summary
        errors_file = root / "expected_errors.json"
        self.errors = json.loads(errors_file.read_text("utf-8")) if errors_file.exists() else []
        findings_file = root / "expected_findings.json"
        self.findings = json.loads(findings_file.read_text("utf-8")) if findings_file.exists() else []
        self.bad = {(e["file"], e["row"]) for e in self.errors + self.findings}
        self.bad_files = {e["file"] for e in self.errors if e["kind"] == "duplicate_file"}
        self.rows: dict[str, list[tuple[str, int, dict]]] = {}
        for source, files in summary["files"].items():
            self.rows[source] = [(rel, n, r) for rel in files for n, r in read_rows(root / rel, source)]

    def clean(self, source: str) -> list[dict]:
        return [r for rel, n, r in self.rows[source] if (rel, n) not in self.bad and rel not in self.bad_files]


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Landing:
    root = tmp_path_factory.mktemp("landing")
    summary = generate_landing(root, persons=150, seed=7, inject_errors=True)
    return Landing(root, summary)


@pytest.fixture(scope="module")
def ref():
    regions = {r["region_name"]: r for r in seed_rows("regions")}
    names = {r["insurance_name"]: r for r in seed_rows("insurance_types")}
    rates = {(r["region_code"], int(r["year"]), r["insurance_type"]): r for r in seed_rows("contribution_rates")}
    limits = {
        (r["region_code"], int(r["year"]), r["insurance_group"]): (Decimal(r["base_floor"]), Decimal(r["base_cap"]))
        for r in seed_rows("base_limits")
    }
    injury = {r["risk_class"]: Decimal(r["base_rate"]) for r in seed_rows("work_injury_rates")}
    return {"regions": regions, "names": names, "rates": rates, "limits": limits, "injury": injury}


# --------------------------------------------------------------------------- identifiers


def test_every_id_and_uscc_is_valid_except_the_injected_ones(landing):
    for source in ("persons", "ledgers"):
        for rel, n, row in landing.rows[source]:
            problem = id_number_problem(row["id_number"])
            injected = (rel, n) in landing.bad and any(
                e["file"] == rel and e["row"] == n and e["field"] == "id_number" for e in landing.errors
            )
            assert (problem is not None) == injected, (rel, n, row["id_number"], problem)
    for rel, n, row in landing.rows["employers"]:
        assert (uscc_problem(row["uscc"]) is not None) == ((rel, n) in landing.bad), (rel, n, row["uscc"])
    kinds = {e["kind"] for e in landing.errors}
    assert {"bad_id_check_digit", "bad_uscc_check_char"} <= kinds


def test_birth_date_and_sex_agree_with_the_id_number(landing):
    people = landing.clean("persons")
    assert len(people) == 150
    for p in people:
        assert id_birth_date(p["id_number"]).isoformat() == p["birth_date"]
        assert p["sex"] == ("男" if int(p["id_number"][16]) % 2 else "女")
        assert p["post_category"] in ("管理岗", "专业技术岗", "生产岗", "工勤岗")
        assert len(p["mobile"]) == 11 and p["mobile"].startswith("1")
    mismatch = [e for e in landing.errors if e["kind"] == "birth_date_mismatch"]
    assert len(mismatch) == 1
    row = next(r for rel, n, r in landing.rows["persons"] if (rel, n) == (mismatch[0]["file"], mismatch[0]["row"]))
    assert id_number_problem(row["id_number"]) is None
    assert id_birth_date(row["id_number"]).isoformat() != row["birth_date"]


# --------------------------------------------------------------------------- figures


def test_published_examples_are_reproduced(landing):
    lines = landing.clean("ledgers")

    def figures(region: str, base: str, insurance: str, period: str = "202405") -> tuple[str, str, str]:
        hits = {
            (r["personal_amount"], r["unit_amount"], r["account_credit"])
            for r in lines
            if r["region"] == region
            and r["personal_base"] == base
            and r["insurance_type"] == insurance
            and r["fee_period"] == period
            and r["contribution_type"] == "正常应缴"
        }
        assert len(hits) == 1, (region, base, insurance, hits)
        return hits.pop()

    # Seed 002 (Hubei): 8888 declared -> base 8890; pension 16 % / 8 %, unemployment 0.7 % / 0.3 %.
    assert figures("湖北省本级", "8890.00", "企业职工基本养老保险") == ("711.20", "1422.40", "711.20")
    assert figures("湖北省本级", "8890.00", "失业保险") == ("26.67", "62.23", "0.00")
    assert figures("湖北省本级", "8890.00", "大额医疗费用补助") == ("7.00", "0.00", "0.00")
    assert figures("湖北省本级", "8890.00", "住房公积金") == ("1066.80", "1066.80", "2133.60")
    # Seed 004 (Suzhou): base 9805 -> medical 196.10 / 588.30, supplementary 98.05, maternity 78.44, 大额 5.00.
    assert figures("苏州工业园区", "9805.00", "职工基本医疗保险")[:2] == ("196.10", "588.30")
    assert figures("苏州工业园区", "9805.00", "地方补充医疗保险")[:2] == ("0.00", "98.05")
    assert figures("苏州工业园区", "9805.00", "生育保险")[:2] == ("0.00", "78.44")
    assert figures("苏州工业园区", "9805.00", "大额医疗费用补助")[:2] == ("5.00", "0.00")
    assert figures("苏州工业园区", "9805.00", "企业职工基本养老保险") == ("784.40", "1568.80", "784.40")


def test_every_amount_is_base_times_rate_rounded_half_up(landing, ref):
    risk = {r["unit_id"]: r["risk_class"] for r in landing.clean("employers")}
    checked = 0
    for r in landing.clean("ledgers"):
        region = ref["regions"][r["region"]]["region_code"]
        code = ref["names"][r["insurance_type"]]["insurance_type"]
        rate = ref["rates"][(region, int(r["fee_period"][:4]), code)]
        base = Decimal(r["personal_base"])
        assert r["unit_base"] == r["personal_base"]
        if code == "410":
            expect_unit, expect_pers = rhu(base * ref["injury"][risk[r["unit_id"]]]), Decimal("0.00")
        else:
            expect_unit = (
                Decimal(rate["unit_fixed_amount"])
                if rate["unit_fixed_amount"]
                else (rhu(base * Decimal(rate["unit_rate"])) if rate["unit_rate"] else Decimal("0.00"))
            )
            expect_pers = (
                Decimal(rate["personal_fixed_amount"])
                if rate["personal_fixed_amount"]
                else (rhu(base * Decimal(rate["personal_rate"])) if rate["personal_rate"] else Decimal("0.00"))
            )
        assert (Decimal(r["unit_amount"]), Decimal(r["personal_amount"])) == (expect_unit, expect_pers), r
        assert code not in ("340", "350", "620")  # rate 0 or absent on both sides: never charged
        checked += 1
    assert checked > 20_000


def test_bases_respect_floor_cap_and_regional_rounding(landing, ref):
    groups = {v["insurance_type"]: v["insurance_group"] for v in ref["names"].values()}
    seen = defaultdict(set)
    for r in landing.clean("ledgers"):
        reg = ref["regions"][r["region"]]
        code = ref["names"][r["insurance_type"]]["insurance_type"]
        floor, cap = ref["limits"][(reg["region_code"], int(r["fee_period"][:4]), groups[code])]
        base = Decimal(r["personal_base"])
        assert floor <= base <= cap, r
        assert base in (floor, cap) or base % Decimal(reg["base_rounding_unit"]) == 0, r
        seen[(reg["region_code"], r["fee_period"][:4], groups[code])].add(base)
    # The planted wages: half-up to the yuan (6000.50 -> 6001), to ten yuan (7885 -> 7890), floor and cap.
    assert Decimal("6001.00") in seen[("SZ_CITY", "2024", "social")]
    assert Decimal("7890.00") in seen[("HB_PROV", "2025", "social")]
    assert Decimal("3845.00") in seen[("HB_PROV", "2024", "social")]
    assert Decimal("4077.00") in seen[("HB_PROV", "2026", "social")]
    assert Decimal("22470.00") in seen[("SZ_SIP", "2024", "social")]
    assert Decimal("24762.00") in seen[("SZ_SIP", "2025", "social")]
    assert not any(b % 10 for b in seen[("HB_PROV", "2025", "social")] if b not in (Decimal("4077"), Decimal("20385")))


def test_payments_back_payments_and_arrears(landing, ref):
    lines = landing.clean("ledgers")
    by_status = defaultdict(list)
    for r in lines:
        by_status[r["paid_status"]].append(r)
    assert all(r["paid_date"] == "" and r["paid_amount"] == "" for r in by_status["未到账"])
    assert {r["fee_period"] for r in by_status["未到账"]} <= {"202608", "202609", "202610"}
    assert by_status["未到账"] and by_status["未足额到账"]
    for r in by_status["未足额到账"]:
        assert r["paid_date"] and Decimal(r["paid_amount"]) < Decimal(r["unit_amount"]) + Decimal(r["personal_amount"])
    late = [
        r
        for r in by_status["已到账"]
        if r["contribution_type"] == "正常应缴" and dt.date.fromisoformat(r["paid_date"]) > _due(r, ref)
    ]
    assert late, "some regular contributions arrive after the due date"
    backs = [r for r in lines if r["contribution_type"] in ("补收", "一次性补收")]
    assert {r["contribution_type"] for r in backs} == {"补收", "一次性补收"}
    for r in backs:
        paid = dt.date.fromisoformat(r["paid_date"])
        lag = paid.year * 12 + paid.month - int(r["fee_period"][:4]) * 12 - int(r["fee_period"][4:])
        limit = int(ref["regions"][r["region"]]["backpay_limit_months"])
        assert (lag <= limit) == (r["contribution_type"] == "补收"), r
    assert any(Decimal(r["late_fee"]) > 0 for r in backs)
    assert all(
        Decimal(r["interest"]) == 0 and Decimal(r["late_fee"]) == 0
        for r in lines
        if r["contribution_type"] == "正常应缴"
    )
    assert all(len(r["notice_no"]) == 14 and r["notice_no"][:6].isdigit() for r in lines)


DUE_RULES = {x["region_code"]: x for x in seed_rows("due_date_rules")}


def _due(r: dict, ref) -> dt.date:
    rule = DUE_RULES[ref["regions"][r["region"]]["region_code"]]
    y, m = int(r["fee_period"][:4]), int(r["fee_period"][4:]) + int(rule["due_month_offset"])
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    if rule["due_day"]:
        return dt.date(y, m, int(rule["due_day"]))
    return dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


# --------------------------------------------------------------------------- enrolments


def test_transfers_suspensions_and_retirements(landing):
    enrol = landing.clean("enrolments")
    spells = defaultdict(set)
    for e in enrol:
        spells[e["person_id"]].add((e["unit_id"], e["start_period"], e["end_period"], e["status"], e["change_reason"]))
    paid_units = defaultdict(set)
    for r in landing.clean("ledgers"):
        paid_units[r["person_id"]].add(r["unit_id"])
    transfers = [
        pid
        for pid, s in spells.items()
        if any(
            a[3] == "终止参保"
            and a[4] == "转出"
            and a[2] >= "202401"
            and any(b[0] != a[0] and b[1] > a[2] and b[4] == "转入" for b in s)
            for a in s
        )
    ]
    assert len(transfers) >= 3
    assert all(len(paid_units[pid]) == 2 for pid in transfers)
    assert any(a[3] == "暂停缴费" for s in spells.values() for a in s)

    persons = {p["person_id"]: p for p in landing.clean("persons")}
    last_paid = defaultdict(str)
    for r in landing.clean("ledgers"):
        last_paid[r["person_id"]] = max(last_paid[r["person_id"]], r["fee_period"])
    groups = set()
    for pid, s in spells.items():
        for _unit, _start, end, status, reason in s:
            if reason != "退休":
                continue
            p = persons[pid]
            birth = dt.date.fromisoformat(p["birth_date"])
            cadre = p["post_category"] in ("管理岗", "专业技术岗")
            age, group = (60, "male") if p["sex"] == "男" else ((55, "cadre") if cadre else (50, "worker"))
            assert end == f"{birth.year + age}{birth.month:02d}" and status == "终止参保"
            assert last_paid[pid] <= end
            groups.add(group)
    assert groups == {"male", "cadre", "worker"}


def test_legacy_history_spells_before_the_window(landing):
    """Migrated spells: registered people only, before the window and the cut-off, never overlapping,
    given by end month or by 缴费月数, pension rows carrying 8 % of the base a month with interest."""
    persons = {r["person_id"]: r for r in landing.clean("persons")}
    insured = {r["person_id"] for r in landing.clean("enrolments")}
    rows = landing.clean("legacy_history")
    assert rows and {r["person_id"] for r in rows} <= insured
    cutoffs = {r["region_code"]: r["cutoff_period"] for r in seed_rows("legacy_history_cutoffs")}
    names = {r["region_name"]: r["region_code"] for r in seed_rows("regions")}
    spells: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    by_count = 0
    for r in rows:
        first = int(r["start_period"][:4]) * 12 + int(r["start_period"][4:]) - 1
        last = first + int(r["month_count"]) - 1
        if r["end_period"]:
            assert int(r["end_period"][:4]) * 12 + int(r["end_period"][4:]) - 1 == last
        else:
            by_count += 1
        assert f"{last // 12}{last % 12 + 1:02d}" <= min("202312", cutoffs[names[r["region"]]])
        assert (
            dt.date(first // 12, first % 12 + 1, 1)
            >= min(
                dt.date.fromisoformat(persons[r["person_id"]]["work_start_date"]).replace(day=1), dt.date(1995, 1, 1)
            )
            or first >= 1995 * 12
        )
        spells[(r["person_id"], r["insurance_type"])].append((first, last))
        if r["insurance_type"] == "企业职工基本养老保险":
            expected = rhu(Decimal(r["base"]) * Decimal("0.08") * int(r["month_count"]) * Decimal("1.25"))
            assert Decimal(r["account_balance"]) == expected
        else:
            assert r["account_balance"] == ""
    assert by_count > 0 and by_count < len(rows)
    for periods in spells.values():
        periods.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(periods))  # gaps, never an overlap
    people_with_history = {p for p, _ in spells}
    assert 0.6 <= len(people_with_history) / len(insured) <= 0.95


# --------------------------------------------------------------------------- files


def test_file_shapes_encodings_and_templates(landing):
    formats = landing.summary["formats"]
    gb = [rel for rel, f in formats.items() if f == "gb18030"]
    assert gb and any(f == "utf-8-sig" for f in formats.values())
    for rel in gb:
        data = (landing.root / rel).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert data.decode("gb18030").startswith("单位编号,单位名称,人员编号")
    assert (landing.root / "employers/employers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    xlsx = [rel for rel, f in formats.items() if f == "xlsx"]
    assert "persons/persons_batch.xlsx" in xlsx and any(rel.startswith("ledgers/") for rel in xlsx)
    from python_calamine import CalamineWorkbook

    for rel in xlsx:
        rows = CalamineWorkbook.from_path(str(landing.root / rel)).get_sheet_by_index(0).to_python()
        source = rel.split("/")[0]
        assert rows[0][0].endswith("表")  # title row
        assert [c for c in rows[1] if c] == [c.label for c in SOURCES[source].columns]
        assert "510725*****8319" in rows[2]  # example row
        assert rows[3][0].startswith(INSTRUCTION)
        assert id_number_problem(rows[4][3 if source == "persons" else 5]) is None
        assert len(rows) - 4 == landing.summary["rows"][rel]


def test_expected_errors_point_at_the_bad_values(landing):
    kinds = [e["kind"] for e in landing.errors]
    for kind in (
        "bad_id_check_digit",
        "bad_period",
        "unknown_insurance_type",
        "birth_date_mismatch",
        "negative_base",
        "duplicate_line",
        "bad_uscc_check_char",
        "duplicate_file",
    ):
        assert kind in kinds
    formats = landing.summary["formats"]
    hosts = {formats[e["file"]] for e in landing.errors if e["source"] == "ledgers" and e["row"]}
    assert {"gb18030", "xlsx"} <= hosts
    by_pos = {(rel, n): r for source in landing.rows for rel, n, r in landing.rows[source]}
    for e in landing.errors:
        if e["kind"] == "duplicate_file":
            assert (landing.root / e["file"]).read_bytes() == (landing.root / e["value"]).read_bytes()
            continue
        row = by_pos[(e["file"], e["row"])]
        if e["kind"] == "duplicate_line":
            twins = [r for (rel, n), r in by_pos.items() if rel == e["file"] and r == row]
            assert len(twins) == 2
        else:
            assert row[e["field"]] == e["value"]
    assert (
        by_pos[next((e["file"], e["row"]) for e in landing.errors if e["kind"] == "bad_period")]["fee_period"]
        == "202313"
    )
    neg = next(e for e in landing.errors if e["kind"] == "negative_base")
    assert e_row(by_pos, neg)["personal_base"].startswith("-") and neg["file"].endswith(".xlsx")


def e_row(by_pos, e):
    return by_pos[(e["file"], e["row"])]


def test_same_seed_same_bytes(tmp_path):
    args = dict(persons=20, months=("202401", "202404"), seed=11, inject_errors=True)
    a = generate_landing(tmp_path / "a", **args)
    b = generate_landing(tmp_path / "b", **args)
    assert a["rows"] == b["rows"]
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert any(str(f).endswith(".xlsx") for f in files) and len(files) > 10
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    generate_landing(tmp_path / "c", **{**args, "seed": 12})
    assert (tmp_path / "c/persons/persons.csv").read_bytes() != (tmp_path / "a/persons/persons.csv").read_bytes()


def test_scale_factor_gives_about_a_million_lines_per_unit(tmp_path):
    summary = generate_landing(tmp_path / "sf", scale=0.01)
    assert 8_500 <= summary["ledger_lines"] <= 11_500
    assert summary["ledger_format"] == "csv"
    counted = sum(summary["rows"][f] for f in summary["files"]["ledgers"])
    assert counted == summary["ledger_lines"]


def test_parquet_ledgers_keep_the_chinese_headers_as_strings(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    summary = generate_landing(tmp_path / "pq", persons=15, months=("202401", "202403"), fmt="parquet")
    files = summary["files"]["ledgers"]
    assert files and all(f.endswith(".parquet") for f in files)
    table = pq.read_table(tmp_path / "pq" / files[0])
    assert table.column_names == [c.label for c in SOURCES["ledgers"].columns]
    assert all(t == pa.string() for t in table.schema.types)
    assert table.num_rows == summary["rows"][files[0]]


def test_cli_subcommand(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="shebao")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "generate",
            "--out",
            str(tmp_path / "cli"),
            "--persons",
            "12",
            "--months",
            "202501:202503",
            "--seed",
            "5",
            "--with-errors",
            "--format",
            "csv",
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "12 人" in out and "缴费明细" in out and "历史缴费记录" in out
    assert (tmp_path / "cli/expected_errors.json").exists()
    periods = {r["fee_period"] for f in (tmp_path / "cli/ledgers").glob("*.csv") for _, r in read_rows(f, "ledgers")}
    assert periods - {"202313"} == {"202501", "202502", "202503"}
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--out", "x", "--scale", "1", "--persons", "3"])
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--out", "x", "--months", "2025-01"])
