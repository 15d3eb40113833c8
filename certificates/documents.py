"""The five document types: what each reads (data.py), prints (templates) and signs.

A Document carries the template context, the summary figures the token carries for a
verifier to compare with the paper, and the masked facts the verification page shows.
Figures come straight from the marts; nothing here computes a business figure.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from certificates import data
from certificates.folded import folded_rows
from certificates.render import date_zh, money, period_zh, plain_money

PERIOD_RE = re.compile(r"^(19|20)\d{2}(0[1-9]|1[0-2])$")
PERSON_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
DEFAULT_MONTHS = 12  # a unit proof without a range covers the unit's last 12 months


class DocumentError(ValueError):
    """Bad parameters (message in Chinese)."""


@dataclass(frozen=True)
class Kind:
    name: str  # CLI name
    code: str  # two letters in the token
    digit: str  # in the certificate number
    title: str
    template: str
    noun: str  # how the notes call the document


KINDS = {
    k.name: k
    for k in [
        Kind("unit-proof", "UP", "1", "单位参保证明", "unit_proof.html", "证明"),
        Kind("summary-proof", "SP", "2", "缴费人员汇总参保证明", "summary_proof.html", "证明"),
        Kind("rights-statement", "RS", "3", "个人权益记录单", "rights_statement.html", "权益记录单"),
        Kind("contribution-record", "CR", "4", "个人缴费记录明细", "contribution_record.html", "记录"),
        Kind("payment-notice", "PN", "5", "征集缴费通知单", "payment_notice.html", "通知单"),
    ]
}
KIND_BY_CODE = {k.code: k for k in KINDS.values()}

NOTES_PROOF = [
    "本证明涉及单位及参保职工个人信息，单位应妥善保管。",
    "本证明为打印时参保情况。",
    "本证明已签具电子印章，不再加盖鲜章。",
]
NOTE_VERIFY = (
    "本{noun}出具后有效期内（{months}个月），如需核对真伪，请扫描右上方二维码，"
    "或在验证服务中输入证明编号和校验码进行验证（可多次验证）。"
)
NOTE_OWN_UNIT = "参保单位只能打印本单位缴纳社保和公积金的参保人员在本单位的汇总缴费情况。"
NOTE_RECORD = "仅可打印该职工在本单位下的缴费记录明细，在其他单位的缴费记录明细会自动隐藏，视同不存在缴费记录。"
NOTE_RIGHTS = "本权益记录单仅记录本期参保缴费情况，不作为计发社会保险待遇的依据；养老金测算为估算值，仅供参考。"

ESTIMATE_LABELS = [  # rpt_pension_estimate columns shown, labelled as an estimate
    ("retirement_month", "预计退休年月"),
    ("statutory_age_label", "法定退休年龄"),
    ("projected_contribution_years", "预计缴费年限（年）"),
    ("average_contribution_index", "平均缴费指数"),
    ("benefit_base", "计发基数（元）"),
    ("basic_pension", "基础养老金（元/月，估算）"),
    ("projected_account_balance", "预计个人账户储存额（元）"),
    ("annuity_divisor_months", "计发月数"),
    ("account_pension", "个人账户养老金（元/月，估算）"),
    ("estimated_monthly_pension", "预计月养老金（元/月，估算）"),
]


@dataclass
class Document:
    kind: Kind
    subject: str
    period: str
    context: dict
    figures: dict  # travels in the token: never a wage or a full ID number
    facts: dict  # shown on the verification page, masked
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return self.kind.title


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)


def check_period(value: str | None, label: str) -> str:
    """YYYYMM, or YYYY-MM as the dashboards and other commands write it."""
    text = str(value or "").strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        text = text.replace("-", "")
    if not PERIOD_RE.match(text):
        raise DocumentError(f"{label}格式应为YYYYMM或YYYY-MM，例如202301：{value!r}")
    return text


def _range(params: dict) -> tuple[str, str]:
    start = check_period(params.get("from"), "起始期号")
    end = check_period(params.get("to"), "结束期号")
    if start > end:
        raise DocumentError(f"起始期号 {start} 晚于结束期号 {end}")
    return start, end


def _required(params: dict, key: str, label: str) -> str:
    value = params.get(key)
    if not value:
        raise DocumentError(f"缺少{label}")
    return str(value)


def _unit_facts(unit: dict) -> dict:
    return {"单位名称": unit["unit_name"], "统一社会信用代码": unit["uscc"], "单位编号": unit["unit_id"]}


def shift_period(period: str, months: int) -> str:
    index = int(period[:4]) * 12 + int(period[4:]) - 1 + months
    return f"{index // 12:04d}{index % 12 + 1:02d}"


def chosen_persons(params: dict) -> list[str] | None:
    """params["persons"]: a list of 个人编号 or one string separated by commas; none means everyone."""
    value = params.get("persons")
    if not value:
        return None
    items = re.split(r"[,，、\s]+", value) if isinstance(value, str) else [str(v) for v in value]
    persons = list(dict.fromkeys(p.strip() for p in items if p and p.strip()))
    if not persons:
        return None
    for person_id in persons:
        if not PERSON_RE.match(person_id):
            raise DocumentError(f"个人编号格式不正确：{person_id!r}")
    return persons


def selection_subject(unit_id: str, persons: list[str] | None) -> str:
    """The registry's subject: the unit, or the unit and a digest of the chosen set, so
    re-issuing or voiding one selection never touches another."""
    if not persons:
        return unit_id
    digest = hashlib.sha256(",".join(sorted(persons)).encode()).hexdigest()[:8]
    return f"{unit_id}/{digest}"  # the headcount travels in the figures; the QR has no room twice


def unit_proof(con, params: dict) -> Document:
    unit_id = _required(params, "unit", "单位编号")
    persons = chosen_persons(params)
    if params.get("from") and params.get("to"):
        start, end = _range(params)
    else:  # the default range: the last 12 months up to the unit's latest fee period (or `to`)
        end = check_period(params["to"], "结束期号") if params.get("to") else data.last_period(con, unit_id)
        start = (
            check_period(params["from"], "起始期号") if params.get("from") else shift_period(end, 1 - DEFAULT_MONTHS)
        )
        _range({"from": start, "to": end})
    d = data.unit_proof(con, unit_id, start, end, persons)
    detail_rows = folded_rows(d["roster"], d["details"])
    label = f"{period_zh(start)} 至 {period_zh(end)}"
    totals = d["totals"]
    paid_to = max((r["paid_to"] for r in d["rates"] if r["paid_to"]), default="")
    facts = {
        **_unit_facts(d["unit"]),
        "缴费期间": label,
        "缴费人数": f"{totals['headcount']}人",
        "缴费人月": str(totals["person_months"]),
        "缴费截止时间": paid_to,
    }
    if persons:
        facts["证明范围"] = f"所选{len(persons)}人"
    return Document(
        KINDS["unit-proof"],
        selection_subject(unit_id, persons),
        f"{start}-{end}",
        dict(
            d,
            start=start,
            end=end,
            period_label=label,
            scope_label=f"本证明列出所选{len(persons)}人" if persons else "",
            detail_rows=detail_rows,
            detail_persons=len(d["roster"]),
        ),
        {"n": totals["headcount"], "pm": totals["person_months"], "to": paid_to},
        facts,
        NOTES_PROOF + [NOTE_VERIFY],
    )


def summary_proof(con, params: dict) -> Document:
    unit_id = _required(params, "unit", "单位编号")
    if params.get("all") or (not params.get("from") and not params.get("to")):
        start, end = data.period_bounds(con, unit_id)
        label = f"全部（{period_zh(start)} 至 {period_zh(end)}）"
    else:
        start, end = _range(params)
        label = f"{period_zh(start)} 至 {period_zh(end)}"
    d = data.summary_proof(con, unit_id, start, end)
    totals = d["totals"]
    number, previous = 0, None
    for row in d["rows"]:  # numbered by person, printed on the person's first row
        row["first"] = row["person_id"] != previous
        number += row["first"]
        row["number"], previous = number, row["person_id"]
    return Document(
        KINDS["summary-proof"],
        unit_id,
        f"{start}-{end}",
        dict(d, start=start, end=end, period_label=label),
        {"n": totals["headcount"], "pm": totals["person_months"], "t": plain_money(totals["total_amount"])},
        {
            **_unit_facts(d["unit"]),
            "缴费期间": label,
            "缴费人数": f"{totals['headcount']}人",
            "缴费人月": str(totals["person_months"]),
            "缴费总额": f"{money(totals['total_amount'])}元",
        },
        NOTES_PROOF + [NOTE_OWN_UNIT, NOTE_VERIFY],
    )


def rights_statement(con, params: dict) -> Document:
    person_id = _required(params, "person", "个人编号")
    period = check_period(params.get("period"), "期次")
    d = data.rights_statement(con, person_id, period)
    person = d["person"]
    pension = next((r for r in d["rows"] if r["is_pension"]), d["rows"][0])
    units = []
    for row in d["rows"]:
        for name in (row.get("unit_names") or "").split(","):
            if name and name not in units:
                units.append(name)
    estimate = d["estimate"] or {}
    items = []
    for key, label in ESTIMATE_LABELS:
        if estimate.get(key) is not None:
            value = estimate[key]
            if hasattr(value, "strftime"):
                value = value.strftime("%Y年%m月")
            items.append((label, money(value) if "元" in label else str(value)))
    return Document(
        KINDS["rights-statement"],
        person_id,
        period,
        dict(
            d,
            period=period,
            unit_names="、".join(units),
            estimate_items=items,
            minimum_note=_minimum_note(estimate),
            account_note=_account_note(d["account"]),
        ),
        {"nm": mask_name(person["name"]), "m": pension["months_paid"], "cm": pension["cumulative_months"]},
        {
            "姓名": mask_name(person["name"]),
            "证件号码": person["id_number_masked"],
            "期次": period,
            "养老保险缴费月数": str(pension["months_paid"]),
            "累计缴费月数": str(pension["cumulative_months"]),
        },
        [
            NOTE_RIGHTS,
            "本权益记录单涉及个人信息，请妥善保管。",
            "本权益记录单已签具电子印章，不再加盖鲜章。",
            NOTE_VERIFY,
        ],
    )


def _years(months) -> str:
    years = f"{months / 12:.1f}"
    return years[:-2] if years.endswith(".0") else years


def _minimum_note(estimate: dict) -> str:
    """The estimate's verdict on the minimum years (rpt_pension_estimate.meets_minimum), in words."""
    if not estimate or estimate.get("meets_minimum") is None or estimate["meets_minimum"]:
        return ""
    required = _years(estimate["required_months"])
    return (
        f"缴费年限不足{required}年：预计至法定退休年龄累计缴费{estimate['projected_contribution_years']}年，"
        f"不满足按月领取基本养老金条件（须累计缴费满{required}年）；以下金额仅为按现有缴费测算的参考值。"
    )


def _account_note(account: dict | None) -> str:
    """Which year's interest the period holds, at what rate, and whether that rate is assumed."""
    if not account:
        return ""
    if account["interest_year"] is None:
        return "本期内无已结息年度（个人账户每年12月31日结息），本期利息为0。"
    rate = f"{account['credited_rate'] * 100:.2f}%"
    note = f"本期利息为{account['interest_year']}年度结息，记账利率{rate}"
    return note + ("（演示用假设利率）。" if account["is_demo_rate"] else "。")


def contribution_record(con, params: dict) -> Document:
    unit_id = _required(params, "unit", "单位编号")
    person_id = _required(params, "person", "个人编号")
    start, end = _range(params)
    d = data.contribution_record(con, unit_id, person_id, start, end)
    totals = d["totals"]
    return Document(
        KINDS["contribution-record"],
        f"{unit_id}/{person_id}",
        f"{start}-{end}",
        dict(d, start=start, end=end),
        {"nm": mask_name(d["person"]["name"]), "l": totals["line_count"], "m": totals["months"]},
        {
            **_unit_facts(d["unit"]),
            "姓名": mask_name(d["person"]["name"]),
            "证件号码": d["person"]["id_number_masked"],
            "缴费区间": f"{start} 至 {end}",
            "记录条数": str(totals["line_count"]),
        },
        [NOTE_RECORD, "本表取自示例市社会保险网上服务大厅。", "本表已签具电子印章，不再加盖鲜章。", NOTE_VERIFY],
    )


def payment_notice(con, params: dict) -> Document:
    unit_id = _required(params, "unit", "单位编号")
    period = check_period(params.get("period"), "费款所属期")
    d = data.payment_notice(con, unit_id, period, params.get("notice"))
    notice = d["notice"]
    periods = sorted((notice.get("fee_periods") or period).split(","))
    contiguous = [shift_period(periods[0], i) for i in range(len(periods))] == periods
    periods_label = (
        periods[0] if len(periods) == 1 else (f"{periods[0]} 至 {periods[-1]}" if contiguous else "、".join(periods))
    )
    return Document(
        KINDS["payment-notice"],
        f"{unit_id}/{notice['notice_no']}",
        period,
        dict(d, period=period, periods_label=periods_label, due_date=date_zh(notice.get("due_date"))),
        {"t": plain_money(notice["total_amount"]), "l": len(d["lines"])},
        {
            **_unit_facts(d["unit"]),
            "通知单号": notice["notice_no"],
            "费款所属期": periods_label,
            "缴费截止日期": date_zh(notice.get("due_date")),
            "核定征集总额": f"{money(notice['total_amount'])}元",
            "核定征集总额(大写)": notice["total_amount_capital"],
        },
        ["本通知单已签具电子印章，不再加盖鲜章。", NOTE_VERIFY],
    )


BUILDERS = {
    "unit-proof": unit_proof,
    "summary-proof": summary_proof,
    "rights-statement": rights_statement,
    "contribution-record": contribution_record,
    "payment-notice": payment_notice,
}


def build(kind: str, params: dict, warehouse: Path | str | None) -> Document:
    if kind not in BUILDERS:
        raise DocumentError(f"未知的证明类型：{kind}")
    with data.connect(warehouse) as con:
        return BUILDERS[kind](con, params)
