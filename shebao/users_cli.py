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
    p = subparsers.add_parser("users", help="dashboard accounts (employer units and analysts)")
    sub = p.add_subparsers(dest="users_command", required=True)
    add = sub.add_parser("add", help="create or reset an account")
    add.add_argument("--unit", help="unit number (the employer's login name)")
    add.add_argument("--analyst", help="analyst login name")
    add.add_argument("--password", help="password (at least 8 characters; generated and printed if omitted)")
    add.set_defaults(func=cmd_users_add)
    lst = sub.add_parser("list", help="list accounts")
    lst.set_defaults(func=cmd_users_list)
