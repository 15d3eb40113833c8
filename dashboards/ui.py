"""Streamlit helpers shared by every page: data access, login state, formatting, exports."""

from __future__ import annotations

import secrets
import threading
import time
from decimal import Decimal

import pandas as pd
import streamlit as st

from dashboards import data, db, users
from foundation import exports

SESSION_TTL_S = 8 * 3600
AUTH_KEY = "_shebao_auth_token"


# ---------------------------------------------------------------- data access


@st.cache_resource(max_entries=2, show_spinner=False)
def _connection(path: str, mtime_ns: int):
    """One read-only connection per published snapshot (a new mtime means a new file)."""
    return db.open_read_only(db.Path(path))


def reader() -> db.Reader:
    """This session's cursor on the current snapshot; stops the page with a message if there is none."""
    path = db.serving_file()
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        st.error(f"尚无数据副本（{path}）。请先运行 `shebao run` 或 `shebao demo`。")
        st.stop()
    try:
        con = _connection(str(path), mtime)
    except db.ServingUnavailable as exc:
        st.error(str(exc))
        st.stop()
    key = "_shebao_cursor"
    held = st.session_state.get(key)
    if not held or held[0] != (str(path), mtime):
        held = ((str(path), mtime), db.Reader(con.cursor()))
        st.session_state[key] = held
    return held[1]


def stamp(r: db.Reader) -> None:
    """The "数据截至" line every page shows."""
    info = data.build_info(r)
    as_of = info["as_of"].isoformat() if info["as_of"] else "未知"
    published = info["published_at"].strftime("%Y-%m-%d %H:%M") if info["published_at"] else "未知"
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


# ---------------------------------------------------------------- login state
# The session holds only a random token; who it belongs to lives server-side, so neither the
# URL nor a value placed in session state can make a session into another unit's.


@st.cache_resource(show_spinner=False)
def _sessions() -> tuple[dict, threading.Lock]:
    return {}, threading.Lock()


def login(user: users.User) -> None:
    store, lock = _sessions()
    token = secrets.token_urlsafe(32)
    with lock:
        store[token] = (user, time.time() + SESSION_TTL_S)
    st.session_state[AUTH_KEY] = token


def logout() -> None:
    token = st.session_state.pop(AUTH_KEY, None)
    store, lock = _sessions()
    with lock:
        store.pop(token, None)


def current_user() -> users.User | None:
    token = st.session_state.get(AUTH_KEY)
    if not isinstance(token, str):
        return None
    store, lock = _sessions()
    with lock:
        entry = store.get(token)
        if entry is None or entry[1] < time.time():
            store.pop(token, None)
            return None
    return entry[0]


def require(role: str) -> users.User:
    """Stop the page unless the session is logged in with this role."""
    user = current_user()
    if user is None or user.role != role:
        st.error("请先以相应身份登录。")
        st.stop()
    return user


def employer_unit() -> str:
    """The unit of the logged-in employer: the only source of the unit id on employer pages."""
    user = require("employer")
    assert user.unit_id
    return user.unit_id
