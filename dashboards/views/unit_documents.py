"""证明下载: every document the agency issues, for the logged-in unit only, as a PDF.

Each type asks for what its paper asks for (seed 000, 002, 004): the unit proof a range and,
if wanted, chosen people; the summary proof a range or 全部; the contribution record and the
rights statement one person of the unit; payment notices are listed per month, each printable.
The unit comes from the session, never from the page; the adapter refuses foreign people.
"""

import pandas as pd
import streamlit as st

from dashboards import certs, data, ui, users
from dashboards.queries import documents as q

unit_id = ui.employer_unit(users.DOWNLOAD)
user = ui.current_user()
r = ui.reader()
info = data.unit(r, unit_id) or {"unit_name": ""}
st.title(f"证明下载 · {info['unit_name']}")
ui.stamp(r)

periods = data.unit_periods(r, unit_id)
if not periods:
    st.info("本单位暂无缴费记录，无法开具证明。")
    st.stop()
TITLES = dict(certs.EMPLOYER_DOCUMENTS)
NOTES = {
    "unit-proof": "单位参保信息、各险种费率、参保人员名单及每 10 人一页的缴费明细。不选人员即全部人员。",
    "summary-proof": "本单位缴费人员在本单位的汇总缴费情况，可勾选“全部”或选择起止期间。",
    "contribution-record": "一名职工在本单位的缴费记录明细（在其他单位的记录不显示）。",
    "rights-statement": "一名职工的个人权益记录单（每年 6 月 30 日或 12 月 31 日为一期）。",
    "payment-notice": "所选费款所属期的全部征集缴费通知单，逐张打印。",
}


def month(p: str) -> str:
    return f"{p[:4]}年{p[4:]}月"


def period_range(options: list[str], key: str) -> tuple[str, str]:
    """起止费款所属期; by default the last 12 months of the offered ones."""
    c1, c2 = st.columns(2)
    start = c1.selectbox("起始费款所属期", options, index=max(0, len(options) - 12), key=f"{key}_from")
    end = c2.selectbox("截止费款所属期", options, index=len(options) - 1, key=f"{key}_to")
    if start > end:
        st.error("起始期不能晚于截止期。")
        st.stop()
    return start, end


people = q.unit_people(r, unit_id)
names = dict(people)


def person_label(pid: str) -> str:
    return f"{pid} {names.get(pid, '')}".strip()


doc: str = st.selectbox("证明类型", list(TITLES), format_func=lambda c: TITLES[c], key="doc_type") or "unit-proof"
st.caption(NOTES[doc])

params: dict = {}
if doc == "unit-proof":
    start, end = period_range(periods, "doc")
    chosen = st.multiselect(
        "选择人员（不选即全部人员）",
        [p for p, _ in people],
        format_func=person_label,
        key="doc_persons",
        placeholder="全部人员",
    )
    params = {"from": start, "to": end, "persons": chosen or None}
elif doc == "summary-proof":
    if st.checkbox("全部期间", value=False, key="doc_all"):
        params = {"all": True}
    else:
        start, end = period_range(periods, "doc")
        params = {"from": start, "to": end}
elif doc in ("contribution-record", "rights-statement"):
    if not people:
        st.info("本单位暂无参保人员。")
        st.stop()
    person = st.selectbox("选择人员", [p for p, _ in people], format_func=person_label, key="doc_person")
    if doc == "contribution-record":
        start, end = period_range(q.person_periods(r, unit_id, person) or periods, "doc_pr")
        params = {"person": person, "from": start, "to": end}
    else:
        terms = q.rights_periods(r, unit_id, person)
        if not terms:
            st.info(f"{person_label(person)} 暂无个人权益记录。")
            st.stop()
        term = st.selectbox("期次", terms, index=len(terms) - 1, format_func=lambda p: f"{month(p)}期", key="doc_term")
        params = {"person": person, "period": term}


def reissue_choice(params: dict, key: str) -> bool | None:
    """The valid earlier issues of this very document and whether to void them (None: cannot issue)."""
    try:
        earlier = certs.previous_valid(doc, unit_id, params)
    except certs.CertificatesUnavailable as exc:
        st.warning(str(exc))
        return None
    except Exception as exc:  # the certificates package's own Chinese message (no data, foreign person)
        st.error(f"无法开具：{exc}")
        return None
    if not earlier:
        return False
    numbers = "、".join(earlier)
    st.info(f"同一证明已开具的有效证明：{numbers}。重新开具不会影响它们，除非勾选作废。")
    return st.checkbox(f"作废证明 {numbers}（已交给他人的该证明将显示为已被替换）", key=key)


def issue(params: dict, void: bool) -> None:
    try:
        with st.status("正在生成证明……", expanded=True) as status:
            st.write("读取本单位缴费数据、排版、加盖电子印章并签名，请稍候。")
            issued = certs.issue(
                doc,
                unit_id,
                params=params,
                void_previous=void,
                actor=f"dashboard:{unit_id}/{user.username if user else ''}",
            )
            status.update(label="证明已生成", state="complete", expanded=False)
        # Keep only this session's own unit's document; the unit is part of the key.
        st.session_state["_issued_doc"] = (unit_id, issued)
    except certs.CertificatesUnavailable as exc:
        st.warning(str(exc))
    except Exception as exc:  # the issuing code's own Chinese message
        st.error(f"生成失败：{exc}")


if doc == "payment-notice":
    months = q.notice_periods(r, unit_id)
    if not months:
        st.info("本单位暂无征集缴费通知单。")
        st.stop()
    period = st.selectbox("费款所属期", months, index=len(months) - 1, format_func=month, key="doc_period")
    notices = q.unit_notices(r, unit_id, period)
    st.write(f"{month(period)}共 {len(notices)} 张通知单：")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "序号": i,
                    "通知单号": n["notice_no"],
                    "费款所属期": n["fee_periods"],
                    "缴费类型": n["contribution_types"],
                    "单位缴费金额": ui.yuan(n["unit_amount"]),
                    "个人缴费金额": ui.yuan(n["personal_amount"]),
                    "合计": ui.yuan(n["total_amount"]),
                }
                for i, n in enumerate(notices, 1)
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    for n in notices:
        notice_params = {"period": period, "notice": n["notice_no"]}
        with st.container(border=True):
            st.write(f"通知单 {n['notice_no']}（{n['contribution_types']}，合计 {ui.yuan(n['total_amount'])}）")
            void = reissue_choice(notice_params, f"doc_void_{n['notice_no']}")
            if void is not None and st.button(f"打印通知单 {n['notice_no']}", key=f"doc_notice_{n['notice_no']}"):
                issue(notice_params, void)
else:
    void = reissue_choice(params, "doc_void")
    if void is not None and st.button("生成证明", type="primary", key="doc_issue"):
        issue(params, void)

held = st.session_state.get("_issued_doc")
if held and held[0] == unit_id:
    issued = held[1]
    st.success(f"证明编号 {issued.cert_id}" + (f"，验证码 {issued.code}" if issued.code else ""))
    if getattr(issued, "voided", ()):
        st.warning("已作废：" + "、".join(issued.voided) + "（验证时显示为已被替换，并指向本证明）")
    st.download_button(
        "下载 PDF",
        issued.pdf,
        file_name=issued.filename,
        mime="application/pdf",
        key="doc_download",
        type="primary",
        on_click="ignore",
    )
