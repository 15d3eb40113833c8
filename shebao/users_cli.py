"""`shebao users ...`: the agency's account desk (units' accounts and analysts) on the command line."""

from __future__ import annotations

import argparse
import getpass
import os

from dashboards import users
from shebao.options import add_warehouse_option


def _password(args: argparse.Namespace, username: str, unit_id: str | None) -> tuple[str, bool]:
    """The given password, one typed at a terminal, or a generated one (then printed)."""
    if args.password:
        return args.password, False
    if os.isatty(0):
        return getpass.getpass("密码："), False
    return users.new_password(username, unit_id), True


def cmd_users_add(args: argparse.Namespace) -> int:
    if bool(args.unit) == bool(args.analyst):
        print("请指定 --unit 单位编号 或 --analyst 用户名（二选一）")
        return 2
    try:
        if args.analyst:
            if args.user or args.level or args.grant:
                raise users.AccountError("--user、--level、--grant 只用于单位账号")
            password, generated = _password(args, args.analyst, None)
            user = users.add_analyst(args.analyst, password)
            who = f"分析员 {user.username}"
        else:
            username = args.user or users.LEGAL_REP_USERNAME
            level = args.level or (users.LEGAL_REP if not args.user else users.CLERK)
            grants = [g for g in (args.grant or "").replace("，", ",").split(",") if g.strip()]
            password, generated = _password(args, username, args.unit)
            warehouse = getattr(args, "warehouse", None)
            user = users.add_unit_account(
                args.unit,
                username,
                password,
                level,
                grants,
                unit_exists=lambda unit: users.registered_unit(unit, warehouse),
            )
            granted = (
                "全部"
                if user.level != users.CLERK
                else ("、".join(s for s in users.SERVICES if s in user.services) or "无")
            )
            who = f"单位 {user.unit_id} 的{user.level}，授权事项：{granted}"
    except users.AccountError as exc:
        print(exc)
        return 2
    print(f"已创建账号：{user.username}（{who}）" + (f"，密码：{password}" if generated else ""))
    return 0


def cmd_users_remove(args: argparse.Namespace) -> int:
    if bool(args.unit) == bool(args.analyst):
        print("请指定 --unit 单位编号 --user 用户名 或 --analyst 用户名（二选一）")
        return 2
    try:
        if args.analyst:
            users.remove_analyst(args.analyst)
            print(f"已删除分析员账号：{args.analyst}")
        else:
            username = args.user or users.LEGAL_REP_USERNAME
            users.remove_unit_account(args.unit, username)
            print(f"已删除单位 {args.unit} 的账号：{username}")
    except users.AccountError as exc:
        print(exc)
        return 2
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    for user in users.list_users():
        if args.unit and user.unit_id != args.unit:
            continue
        if user.role == "analyst":
            print(f"分析员\t{user.username}")
        else:
            granted = (
                "全部"
                if user.level != users.CLERK
                else ("、".join(s for s in users.SERVICES if s in user.services) or "无")
            )
            print(f"单位 {user.unit_id}\t{user.username}\t{user.level}\t{granted}")
    return 0


def add_parser(subparsers) -> None:
    """Register `users add`, `users remove` and `users list`."""
    p = subparsers.add_parser("users", help="看板账号：参保单位的账号（法定代表人、单位管理员、经办人）和分析员")
    sub = p.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="创建账号（单位须已登记；已有账号时重置其密码）")
    add.add_argument("--unit", help="单位编号")
    add.add_argument("--user", help=f"单位账号的用户名（默认 {users.LEGAL_REP_USERNAME}，即法定代表人）")
    add.add_argument(
        "--level", help="账号级别：" + "、".join(users.LEVELS) + "（默认法定代表人；指定 --user 时默认经办人）"
    )
    add.add_argument("--grant", help="经办人的授权事项，逗号分隔：" + "、".join(users.SERVICES))
    add.add_argument("--analyst", help="分析员用户名")
    add.add_argument(
        "--password", help="密码（至少 8 位，不能全为数字，不能与单位编号或用户名相同；省略时自动生成并显示）"
    )
    add_warehouse_option(add)
    add.set_defaults(func=cmd_users_add)
    rm = sub.add_parser("remove", help="删除账号（其登录会话随即结束）")
    rm.add_argument("--unit", help="单位编号")
    rm.add_argument("--user", help=f"单位账号的用户名（默认 {users.LEGAL_REP_USERNAME}）")
    rm.add_argument("--analyst", help="分析员用户名")
    rm.set_defaults(func=cmd_users_remove)
    lst = sub.add_parser("list", help="列出账号")
    lst.add_argument("--unit", help="只列出该单位的账号")
    lst.set_defaults(func=cmd_users_list)
