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


def login(username: str, password: str | None = None) -> Any:
    """An AppTest session logged in through the real login form."""
    at = app_test()
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password or PASSWORDS[username])
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


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
