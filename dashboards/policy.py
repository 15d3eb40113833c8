"""The account rules every entry point shares (CLI, dashboard, tests): levels, services, the
password policy, name checks and whether a unit is registered. Messages are Chinese."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path

MIN_PASSWORD_LENGTH = 8
MAX_NAME_LENGTH = 32
LEGAL_REP, ADMIN, CLERK = "法定代表人", "单位管理员", "经办人"
LEVELS = (LEGAL_REP, ADMIN, CLERK)
RANK = {LEGAL_REP: 3, ADMIN: 2, CLERK: 1}
LEVEL_ALIASES = {"legal": LEGAL_REP, "法人": LEGAL_REP, "admin": ADMIN, "管理员": ADMIN, "clerk": CLERK}
VIEW, DOWNLOAD, EXPORT = "查看数据", "下载证明", "导出数据"
SERVICES = (VIEW, DOWNLOAD, EXPORT)
LEGAL_REP_USERNAME = "法人"  # the login name of the account the agency creates for a unit


class AccountError(ValueError):
    """A refused account change or a bad password (message in Chinese)."""


def check_name(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise AccountError(f"{label}不能为空")
    if len(value) > MAX_NAME_LENGTH or any(c.isspace() or not c.isprintable() for c in value):
        raise AccountError(f"{label}“{value[:MAX_NAME_LENGTH]}”无效：最多 {MAX_NAME_LENGTH} 个字符，不含空格")
    return value


def check_password(password: str, *, username: str, unit_id: str | None = None) -> None:
    """The password policy: at least 8 characters, not all digits, not the unit number or user name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少 {MIN_PASSWORD_LENGTH} 位")
    if password.isdigit():
        raise AccountError("密码不能全为数字")
    folded = password.strip().casefold()
    if unit_id and folded == unit_id.strip().casefold():
        raise AccountError("密码不能与单位编号相同")
    if username and folded == username.strip().casefold():
        raise AccountError("密码不能与用户名相同")


def level_of(value: str) -> str:
    level = LEVEL_ALIASES.get(value.strip().lower(), value.strip())
    if level not in LEVELS:
        raise AccountError(f"未知的账号级别：{value}（可选：{'、'.join(LEVELS)}）")
    return level


def services_of(values: Iterable[str]) -> frozenset[str]:
    chosen = {v.strip() for v in values if v and v.strip()}
    unknown = sorted(chosen - set(SERVICES))
    if unknown:
        raise AccountError(f"未知的授权事项：{'、'.join(unknown)}（可选：{'、'.join(SERVICES)}）")
    return frozenset(chosen)


def registered_unit(unit_id: str, warehouse: Path | str | None = None) -> bool:
    """Whether the unit is registered (in dim_units of the serving copy)."""
    from foundation.serving import ServingUnavailable
    from foundation.serving import connect as serving

    try:
        with serving(warehouse) as con:
            return con.execute("select 1 from marts.dim_units where unit_id = ?", [unit_id]).fetchone() is not None
    except ServingUnavailable as exc:
        raise AccountError(f"无法确认单位是否已登记：{exc}") from exc


def new_password(username: str, unit_id: str | None = None) -> str:
    """A random password that passes the policy (for the demo and the CLI without a terminal)."""
    while True:
        password = secrets.token_urlsafe(9)
        try:
            check_password(password, username=username, unit_id=unit_id)
            return password
        except AccountError:
            continue
