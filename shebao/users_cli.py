"""`shebao users ...`: dashboard accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import os
import secrets

from dashboards.users import add_user, list_users


def cmd_users_add(args: argparse.Namespace) -> int:
    if bool(args.unit) == bool(args.analyst):
        print("请指定 --unit 单位编号 或 --analyst 用户名（二选一）")
        return 2
    password = args.password
    generated = False
    if not password:
        if os.isatty(0):
            password = getpass.getpass("密码：")
        else:
            password = secrets.token_urlsafe(9)
            generated = True
    try:
        user = add_user(args.unit or args.analyst, password, "employer" if args.unit else "analyst")
    except ValueError as exc:
        print(exc)
        return 2
    who = f"单位 {user.unit_id}" if user.role == "employer" else f"分析员 {user.username}"
    print(f"已创建账号：{user.username}（{who}）" + (f"，密码：{password}" if generated else ""))
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    for user in list_users():
        print(f"{user.username}\t{user.role}\t{user.unit_id or ''}")
    return 0


def add_parser(subparsers) -> None:
    """Register `users add --unit U [--password P]`, `users add --analyst NAME`, `users list`."""
    p = subparsers.add_parser("users", help="看板账号（参保单位和分析员）")
    sub = p.add_subparsers(dest="users_command", required=True, metavar="{add,list}")
    add = sub.add_parser("add", help="创建账号或重置密码")
    add.add_argument("--unit", metavar="单位编号", help="单位编号（参保单位的登录名）")
    add.add_argument("--analyst", metavar="登录名", help="分析员登录名")
    add.add_argument("--password", metavar="密码", help="密码（至少 8 位；不填则生成并显示）")
    add.set_defaults(func=cmd_users_add)
    lst = sub.add_parser("list", help="列出账号")
    lst.set_defaults(func=cmd_users_list)
