"""Streamlit helpers shared by every page: data access, login state, formatting, exports."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import streamlit as st

from dashboards import auth, data, db, users
from foundation import exports

# ---------------------------------------------------------------- data access


def reader() -> db.Reader:
    """This session's cursor on the latest published build; stops the page with a message if there is none.

    The pointer is read on every rerun, so a session sees a new build on its next interaction.
    """
    path = db.serving_file()
    if not path.exists():
        st.error(f"尚无数据副本（{path}）。请先运行 `shebao run` 或 `shebao demo`。")
        st.stop()
    try:
        snapshot = db.current_snapshot()
    except db.ServingUnavailable as exc:
        st.error(str(exc))
        st.stop()
    key = "_shebao_cursor"
    held = st.session_state.get(key)
    if not held or held[0] != snapshot.path:
        held = (snapshot.path, db.Reader(snapshot.con.cursor()))
        st.session_state[key] = held
    return held[1]


def stamp(r: db.Reader) -> None:
    """The "数据截至" line every page shows."""
    info = data.build_info(r)
    as_of = info["as_of"].isoformat() if info["as_of"] else "未知"
    published = info["published_at"].strftime("%Y-%m-%d %H:%M:%S") if info["published_at"] else "未知"
    st.caption(f"数据截至 {as_of}（数据副本发布于 {published}）")


# ---------------------------------------------------------------- formatting and export


def yuan(value) -> str:
    """Money for display: yuan, two decimals, thousands separators (value stays exact)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return f"¥{Decimal(value):,.2f}"


def money_columns(df: pd.DataFrame, columns: list[str]) -> dict:
    return {c: st.column_config.NumberColumn(c, format="accounting") for c in columns if c in df.columns}


def _xlsx(df: pd.DataFrame, money: list[str]) -> bytes:
    return exports.xlsx_bytes(df, money)


def table(df: pd.DataFrame, name: str, money: list[str] | None = None, key: str | None = None, **kwargs):
    """A dataframe with money formatted and the shown (filtered) rows exportable as CSV and XLSX."""
    money = [c for c in (money or []) if c in df.columns]
    event = st.dataframe(
        df, hide_index=True, width="stretch", column_config=money_columns(df, money), key=key, **kwargs
    )
    user = auth.current_user()
    if user is None or not user.can(users.EXPORT):
        return event
    c1, c2, _ = st.columns([1, 1, 4])
    key = key or name
    c1.download_button(
        "导出 CSV",
        exports.csv_bytes(df),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv_{key}",
        on_click="ignore",
    )
    c2.download_button(
        "导出 Excel",
        _xlsx(df, money),
        file_name=f"{name}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{key}",
        on_click="ignore",
    )
    return event


# ---------------------------------------------------------------- login state (dashboards/auth.py)

current_user, require, logout = auth.current_user, auth.require, auth.logout


def employer_unit(service: str = users.VIEW) -> str:
    """The unit of the logged-in employer (the only source of the unit id on employer pages),
    provided the account may use `service`."""
    user = auth.employer(service)
    assert user.unit_id
    return user.unit_id
