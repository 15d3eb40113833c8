"""Login state in Streamlit: a server-side session (sessions.py) referenced by a cookie.

Streamlit exposes the cookies of the page's first request (st.context.cookies) but cannot
set one from Python, so after a login a tiny script in the page stores the session token
as a first-party cookie (SameSite=Strict). A reload, a new tab or a bookmarked link then
sends it with the new connection, and the server-side session behind it decides who the
visitor is; the cookie alone carries no identity. Logout ends the session server-side and
clears the cookie. Neither the URL nor a value placed in session state can change the unit.
"""

from __future__ import annotations

import streamlit as st

from dashboards import sessions, signin, users

COOKIE = "shebao_session"
COOKIE_MAX_AGE_S = 12 * 3600  # the browser's copy; the server ends a session after 30 idle minutes
AUTH_KEY = "_shebao_auth_token"
CLEAR_KEY = "_shebao_clear_cookie"
EXPIRED_KEY = "_shebao_session_expired"
DEAD_KEY = "_shebao_dead_cookie"


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # no browser connection: no cookie
        return None
    return token if isinstance(token, str) else None  # AppTest's context is a mock


def client_address() -> str:
    try:
        address = st.context.ip_address
    except Exception:
        return "local"
    return address if isinstance(address, str) and address else "local"


def sign_in(role: str, username: str, password: str, unit_id: str | None = None) -> signin.Attempt:
    """The login form's submit: a throttled, audited check; on success a new session."""
    result = signin.attempt(role, username, password, unit_id, client_address())
    if result.user is not None:
        st.session_state[AUTH_KEY] = sessions.Sessions().create(result.user)
        st.session_state.pop(EXPIRED_KEY, None)
    return result


def logout() -> None:
    """End the session server-side (the cookie, if replayed, opens nothing) and clear the cookie."""
    store = sessions.Sessions()
    store.end(st.session_state.pop(AUTH_KEY, None))
    cookie = _cookie_token()
    store.end(cookie)
    st.session_state[DEAD_KEY] = cookie  # this connection still reports the old cookie
    st.session_state[CLEAR_KEY] = True


def current_user() -> users.User | None:
    """The account of this browser's live session: from this connection's state, else its cookie."""
    token = st.session_state.get(AUTH_KEY)
    if not isinstance(token, str):
        token = _cookie_token()
        if not token or token == st.session_state.get(DEAD_KEY):
            return None
    user = sessions.Sessions().resolve(token)
    if user is None:  # idle for 30 minutes, or the account was removed
        st.session_state.pop(AUTH_KEY, None)
        st.session_state[DEAD_KEY] = _cookie_token()
        st.session_state[EXPIRED_KEY] = True
        return None
    st.session_state[AUTH_KEY] = token
    return user


def sync_cookie() -> None:
    """Write (after a login) or clear (after a logout) the browser's cookie with a one-line script."""
    token = st.session_state.get(AUTH_KEY)
    if isinstance(token, str) and _cookie_token() != token:
        _script(f"{COOKIE}={token}; Max-Age={COOKIE_MAX_AGE_S}")
    elif st.session_state.pop(CLEAR_KEY, False):
        _script(f"{COOKIE}=; Max-Age=0")


def _script(cookie: str) -> None:
    # the token is URL-safe base64, so it needs no quoting inside the script
    js = (
        "<script>document.cookie = '" + cookie + "; Path=/; SameSite=Strict'"
        " + (location.protocol === 'https:' ? '; Secure' : '');</script>"
    )
    with st.sidebar:
        st.html(js, unsafe_allow_javascript=True)


def require(role: str) -> users.User:
    """Stop the page unless the session is logged in with this role."""
    user = current_user()
    if user is None or user.role != role:
        st.error("请先以相应身份登录。")
        st.stop()
    return user


def employer(service: str = users.VIEW) -> users.User:
    """The logged-in employer account, provided it may use `service` (else the page stops)."""
    user = require("employer")
    if not user.can(service):
        st.error(f"您的账号没有“{service}”权限，请联系本单位法定代表人或单位管理员授权。")
        st.stop()
    return user
