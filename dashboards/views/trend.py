"""缴费趋势: contributions and headcount by month and dimension; the filters live in the URL."""

import altair as alt
import streamlit as st

from dashboards import data, ui

ui.require("analyst")
r = ui.reader()
st.title("缴费趋势")
ui.stamp(r)

periods = data.fee_periods(r)
regions = data.regions(r)
ins = data.insurance_types(r)
units = data.units(r)
qp = st.query_params


def _list(name, allowed):
    return [v for v in qp.get_all(name) if v in allowed]


region_names = dict(zip(regions["region_code"], regions["region_name"]))
ins_names = dict(zip(ins["insurance_type"], ins["insurance_name"]))
unit_names = dict(zip(units["unit_id"], units["unit_name"]))
dims = {k: v[0] for k, v in data.GROUP_DIMENSIONS.items()}

with st.sidebar:
    st.header("筛选")
    if periods:
        p_from = qp.get("from") if qp.get("from") in periods else periods[0]
        p_to = qp.get("to") if qp.get("to") in periods else periods[-1]
        p_from, p_to = st.select_slider("费款所属期", options=periods, value=(p_from, p_to), key="f_period")
    else:
        p_from = p_to = None
    sel_regions = st.multiselect(
        "参保地",
        list(region_names),
        default=_list("region", region_names),
        format_func=lambda c: region_names[c],
        key="f_region",
        placeholder="全部参保地",
    )
    unit_opts = [""] + list(unit_names)
    sel_unit = st.selectbox(
        "单位",
        unit_opts,
        index=unit_opts.index(qp.get("unit")) if qp.get("unit") in unit_names else 0,
        format_func=lambda u: "全部单位" if not u else f"{u} {unit_names[u]}",
        key="f_unit",
    )
    sel_ins = st.multiselect(
        "险种",
        list(ins_names),
        default=_list("ins", ins_names),
        format_func=lambda c: ins_names[c],
        key="f_ins",
        placeholder="全部险种",
    )
    by_opts: list[str] = list(dims)
    by_param = qp.get("by")
    by: str = st.radio(
        "分组",
        by_opts,
        index=by_opts.index(by_param) if by_param in dims else 0,
        format_func=lambda d: dims[d],
        key="f_by",
    )

# Mirror the filters into the URL so the view can be shared.
new_qp: dict[str, str | list[str]] = {"by": by}
if p_from and p_to:
    new_qp.update({"from": p_from, "to": p_to})
if sel_regions:
    new_qp["region"] = sel_regions
if sel_unit:
    new_qp["unit"] = sel_unit
if sel_ins:
    new_qp["ins"] = sel_ins
if {k: qp.get_all(k) for k in qp} != {k: (v if isinstance(v, list) else [v]) for k, v in new_qp.items()}:
    st.query_params.from_dict(new_qp)

df = data.trend(r, p_from, p_to, sel_regions, sel_unit or None, sel_ins, by)
label = dims[by]
if len(df):
    plot = df.assign(应缴金额=df["应缴金额"].astype(float))
    money = (
        alt.Chart(plot)
        .mark_line(point=True)
        .encode(
            x="费款所属期:O",
            y=alt.Y("应缴金额:Q", title="应缴金额（元）", axis=alt.Axis(format=",.2f")),
            color=f"{label}:N",
            tooltip=["费款所属期", label, alt.Tooltip("应缴金额:Q", format=",.2f")],
        )
    )
    heads = (
        alt.Chart(plot)
        .mark_line(point=True)
        .encode(
            x="费款所属期:O",
            y=alt.Y("缴费人数:Q", axis=alt.Axis(format="d")),
            color=f"{label}:N",
            tooltip=["费款所属期", label, "缴费人数"],
        )
    )
    c1, c2 = st.columns(2)
    c1.altair_chart(money.properties(title="应缴金额"), width="stretch")
    c2.altair_chart(heads.properties(title="缴费人数"), width="stretch")
else:
    st.info("所选条件下没有缴费记录。")
ui.table(df, "缴费趋势", money=["个人缴费", "单位缴费", "应缴金额", "到账金额"], key="trend")
