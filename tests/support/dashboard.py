"""Streamlit AppTest helpers shared by the dashboard tests (accounts, login, pages, figures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.support.warehouse import AS_OF

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
PASSWORDS = {"ana": "analyst-pass-1", "U001": "unit-one-pass", "U002": "unit-two-pass", "U003": "unit-three-pass"}


def prepare_home(home: Path) -> Path:
    """Accounts in `home`: one analyst and the employers U001, U002, U003."""
    from dashboards import users

    db = users.users_db_path(home)
    users.add_user("ana", PASSWORDS["ana"], role="analyst", path=db)
    for unit_id in ("U001", "U002", "U003"):
        users.add_user(unit_id, PASSWORDS[unit_id], path=db)
    return home


def app_test() -> Any:
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=30)


def login(username: str, password: str | None = None, user: str | None = None) -> Any:
    """An AppTest session logged in through the real login form: `username` is an analyst's name
    or a unit number (then `user` is that unit's account, by default its 法人)."""
    at = app_test()
    at.run()
    fill_login(at, username, password or PASSWORDS[username], user)
    assert not at.exception, [e.value for e in at.exception]
    return at


def fill_login(at: Any, username: str, password: str, user: str | None = None) -> Any:
    """Submit the login form: analysts by name ("ana"), unit accounts by unit number and user name."""
    if username in PASSWORDS and not username.startswith("U"):
        at.radio(key="login_role").set_value("分析人员").run()
        at.text_input(key="login_username").input(username)
    else:
        at.radio(key="login_role").set_value("参保单位").run()
        at.text_input(key="login_unit").input(username)
        at.text_input(key="login_username").input(user or "法人")
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def open_page(at: Any, name: str) -> Any:
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def metrics(at: Any) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def frame(at: Any, index: int = 0) -> Any:
    return at.dataframe[index].value


def stamp_shown(at: Any, as_of: dt.date = AS_OF) -> bool:
    return any(f"数据截至 {as_of.isoformat()}" in c.value for c in at.caption)
