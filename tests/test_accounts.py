"""Accounts as seed 003, the password policy, server-side sessions and login throttling.

The clock is injected, so throttle delays and idle expiry are tested without sleeping.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from dashboards import sessions, signin, users
from dashboards.users import ADMIN, CLERK, DOWNLOAD, EXPORT, LEGAL_REP, VIEW, AccountError

pytestmark = pytest.mark.unit

REGISTERED = {"U001", "U002"}


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "accounts.sqlite"


def legal(db: Path, unit: str = "U001", password: str = "legal-pass-1") -> users.User:
    return users.add_unit_account(unit, "法人", password, LEGAL_REP, path=db, unit_exists=REGISTERED.__contains__)


def audit_entries(db: Path) -> list[dict]:
    path = db.parent / "audit" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


# ---------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short7!", "密码至少 8 位"),
        ("12345678", "密码不能全为数字"),
        ("20260101123", "密码不能全为数字"),
        ("U001", "密码至少 8 位"),
        ("U0012345", None),
        ("unit0001", "密码不能与单位编号相同"),
        ("UNIT0001", "密码不能与单位编号相同"),
        ("zhangsan01", "密码不能与用户名相同"),
        ("Zhangsan01", "密码不能与用户名相同"),
        ("good-pass-1", None),
    ],
)
def test_password_policy(password, message):
    if message is None:
        users.check_password(password, username="zhangsan01", unit_id="UNIT0001")
    else:
        with pytest.raises(AccountError, match=message):
            users.check_password(password, username="zhangsan01", unit_id="UNIT0001")


def test_passwords_are_stored_as_scrypt_hashes(db):
    legal(db, password="s3cret-pass")
    assert b"s3cret-pass" not in db.read_bytes()
    assert users.authenticate("employer", "法人", "s3cret-pass", "U001", db) == users.User(
        "法人", "employer", "U001", LEGAL_REP, frozenset(users.SERVICES)
    )
    assert users.authenticate("employer", "法人", "s3cret-pasS", "U001", db) is None
    assert users.authenticate("employer", "法人", "s3cret-pass", "U002", db) is None  # another unit


# ---------------------------------------------------------------- registered units, analysts apart


def test_accounts_only_for_registered_units(db):
    with pytest.raises(AccountError, match="单位编号 NOPE999 未登记，不能为其创建账号"):
        users.add_unit_account("NOPE999", "法人", "good-pass-1", path=db, unit_exists=REGISTERED.__contains__)
    assert users.list_users(db) == []


def test_an_analyst_named_like_a_unit_never_replaces_its_login(db):
    legal(db, password="unit-pass-1")
    users.add_analyst("U001", "analyst-pass-1", path=db)
    assert users.authenticate("employer", "法人", "unit-pass-1", "U001", db).unit_id == "U001"
    assert users.authenticate("analyst", "U001", "analyst-pass-1", None, db).role == "analyst"
    # neither password opens the other identity
    assert users.authenticate("employer", "法人", "analyst-pass-1", "U001", db) is None
    assert users.authenticate("analyst", "U001", "unit-pass-1", None, db) is None
    assert [(u.role, u.username, u.unit_id) for u in users.list_users(db)] == [
        ("analyst", "U001", None),
        ("employer", "法人", "U001"),
    ]


def test_one_legal_representative_per_unit(db):
    legal(db)
    with pytest.raises(AccountError, match="单位 U001 已有法定代表人账号 法人"):
        users.add_unit_account("U001", "wang", "good-pass-1", LEGAL_REP, path=db, unit_exists=REGISTERED.__contains__)
    # the agency may reset the 法人's password
    legal(db, password="new-pass-22")
    assert users.authenticate("employer", "法人", "new-pass-22", "U001", db) is not None


# ---------------------------------------------------------------- hierarchy


def test_hierarchy_inside_one_unit(db):
    boss = legal(db)
    admin = users.add_unit_account("U001", "li", "admin-pass-1", ADMIN, by=boss, path=db)
    clerk = users.add_unit_account("U001", "zhao", "clerk-pass-1", CLERK, [VIEW], by=admin, path=db)
    assert admin.can(DOWNLOAD) and admin.can(EXPORT) and admin.manages
    assert clerk.can(VIEW) and not clerk.can(DOWNLOAD) and not clerk.can(EXPORT) and not clerk.manages

    # an administrator cannot create or remove its peers or the 法定代表人
    with pytest.raises(AccountError, match="单位管理员不能管理单位管理员账号"):
        users.add_unit_account("U001", "qian", "admin-pass-2", ADMIN, by=admin, path=db)
    with pytest.raises(AccountError, match="单位管理员不能管理法定代表人账号"):
        users.remove_unit_account("U001", "法人", by=admin, path=db)
    # an 经办人 manages nobody
    with pytest.raises(AccountError, match="只有法定代表人或单位管理员可以管理账号"):
        users.add_unit_account("U001", "sun", "clerk-pass-2", CLERK, by=clerk, path=db)
    # nobody acts in another unit
    other = legal(db, "U002")
    with pytest.raises(AccountError, match="只能管理本单位的账号"):
        users.add_unit_account("U001", "zhou", "clerk-pass-3", CLERK, by=other, path=db)
    with pytest.raises(AccountError, match="只能管理本单位的账号"):
        users.grant("U001", "zhao", [DOWNLOAD], by=other, path=db)
    with pytest.raises(AccountError, match="只能管理本单位的账号"):
        users.remove_unit_account("U001", "zhao", by=other, path=db)

    # grants: an administrator gives the 经办人 the download service
    assert users.grant("U001", "zhao", [VIEW, DOWNLOAD], by=admin, path=db).can(DOWNLOAD)
    assert users.get_unit_account("U001", "zhao", db).services == {VIEW, DOWNLOAD}
    with pytest.raises(AccountError, match="未知的授权事项：删库"):
        users.grant("U001", "zhao", ["删库"], by=admin, path=db)
    with pytest.raises(AccountError, match="只有经办人需要授权"):
        users.grant("U001", "li", [VIEW], by=boss, path=db)
    with pytest.raises(AccountError, match="已有用户名为 zhao 的经办人账号"):
        users.add_unit_account("U001", "zhao", "clerk-pass-9", CLERK, by=boss, path=db)

    # the 法定代表人 removes the administrator; the administrator's sessions end with it
    store = sessions.Sessions(db)
    token = store.create(admin)
    users.remove_unit_account("U001", "li", by=boss, path=db)
    assert store.resolve(token) is None
    assert [a["username"] for a in users.list_unit_accounts("U001", db)] == ["法人", "zhao"]


# ---------------------------------------------------------------- sessions


def test_sessions_expire_after_30_idle_minutes_and_end_on_logout(db):
    boss = legal(db)
    clock = Clock()
    store = sessions.Sessions(db, clock)
    token = store.create(boss)
    assert b"" + token.encode() not in db.read_bytes()  # only its hash is stored
    clock.t += 29 * 60
    assert store.resolve(token) == boss  # activity restarts the idle clock
    clock.t += 29 * 60
    assert store.resolve(token) == boss
    clock.t += 30 * 60 + 1
    assert store.resolve(token) is None
    assert store.resolve(token) is None  # gone server-side
    token = store.create(boss)
    store.end(token)
    assert store.resolve(token) is None
    assert store.resolve("forged-" + token) is None


def test_a_session_follows_grant_changes_at_once(db):
    boss = legal(db)
    clerk = users.add_unit_account("U001", "zhao", "clerk-pass-1", CLERK, [VIEW, DOWNLOAD], by=boss, path=db)
    store = sessions.Sessions(db)
    token = store.create(clerk)
    assert store.resolve(token).can(DOWNLOAD)
    users.grant("U001", "zhao", [VIEW], by=boss, path=db)
    assert not store.resolve(token).can(DOWNLOAD)


# ---------------------------------------------------------------- throttling


def test_delays():
    assert [signin.account_delay(n) for n in range(1, 12)] == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900]
    assert [signin.address_delay(n) for n in (19, 20, 24, 25, 30, 35, 39, 40, 60)] == [
        0,
        30,
        30,
        60,
        120,
        240,
        240,
        900,
        900,
    ]


def test_account_throttle_then_lockout(db):
    legal(db, password="right-pass-1")
    clock = Clock()

    def attempt(password: str, address: str = "10.0.0.1") -> signin.Attempt:
        return signin.attempt("employer", "法人", password, "U001", address, path=db, clock=clock)

    for n in range(1, 5):
        assert attempt(f"wrong-{n}").message.startswith("单位编号、用户名或密码不正确。")
    fifth = attempt("wrong-5")
    assert fifth.message == "单位编号、用户名或密码不正确。已连续失败 5 次，请 30 秒后再试。"
    sixth = attempt("wrong-6")  # the 6th try is throttled before the password is looked at
    assert sixth.user is None and sixth.message == "登录失败次数过多，请 30 秒后再试。"
    assert attempt("right-pass-1").user is None  # even the right password while closed
    clock.t += 29
    assert attempt("right-pass-1").message == "登录失败次数过多，请 1 秒后再试。"
    clock.t += 1
    assert attempt("wrong-6").message.endswith("已连续失败 6 次，请 1 分钟后再试。")  # 60 s
    for n, delay in [(7, 120), (8, 240), (9, 480), (10, 900)]:
        clock.t += signin.account_delay(n - 1)
        assert attempt(f"wrong-{n}").user is None
        assert signin.Throttle(db, clock).remaining("account", signin.account_key("employer", "U001", "法人")) == delay
    clock.t += 899
    assert attempt("right-pass-1").message == "登录失败次数过多，请 1 秒后再试。"  # 15 minutes locked
    clock.t += 1
    assert attempt("right-pass-1").user is not None  # the lock is over; success clears the count
    assert attempt("wrong-x").message == "单位编号、用户名或密码不正确。"

    events = audit_entries(db)
    assert len(events) == 5 + 3 + 1 + 4 + 1 + 1 + 1  # every attempt, refused ones included
    assert [e["event"] for e in events].count("login_ok") == 1
    assert sum(e["details"]["reason"] == "throttled" for e in events) == 4
    assert {e["details"]["address"] for e in events} == {"10.0.0.1"}


def test_address_throttle_across_accounts(db):
    for unit in ("U001", "U002"):
        legal(db, unit, password="right-pass-1")
    clock = Clock()
    for n in range(20):  # 20 failures spread over unknown accounts, 4 each: no account is closed
        r = signin.attempt("employer", f"guess{n // 4}", "x-pass-123", "U001", "10.9.9.9", path=db, clock=clock)
        assert r.wait_s == 0
    refused = signin.attempt("employer", "法人", "right-pass-1", "U002", "10.9.9.9", path=db, clock=clock)
    assert refused.user is None and refused.message == "登录失败次数过多，请 30 秒后再试。"
    # another address is not affected
    assert signin.attempt("employer", "法人", "right-pass-1", "U002", "10.1.1.1", path=db, clock=clock).user
    throttle = signin.Throttle(db, clock)
    for _ in range(20):
        clock.t += 900
        throttle.fail("address", "10.9.9.9")
    assert throttle.failures("address", "10.9.9.9") == 40
    assert throttle.remaining("address", "10.9.9.9") == 900


def test_unknown_accounts_are_throttled_like_real_ones(db):
    clock = Clock()
    for _ in range(5):
        signin.attempt("analyst", "nobody", "x-pass-123", None, "a", path=db, clock=clock)
    assert signin.attempt("analyst", "nobody", "x-pass-123", None, "a", path=db, clock=clock).wait_s == 30


# ---------------------------------------------------------------- the CLI


def cli(argv: list[str]) -> argparse.Namespace:
    from shebao import users_cli

    parser = argparse.ArgumentParser(prog="shebao")
    users_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_refuses_bad_accounts_in_one_chinese_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHEBAO_HOME", str(tmp_path))
    monkeypatch.setattr(users, "registered_unit", lambda unit, warehouse=None: unit in REGISTERED)
    cases = [
        (["--unit", "NOPE999", "--password", "good-pass-1"], "单位编号 NOPE999 未登记，不能为其创建账号"),
        (["--unit", "U001", "--password", "12345678"], "密码不能全为数字"),
        (["--unit", "U001", "--password", "U001"], "密码至少 8 位"),
        (["--unit", "U001", "--password", "u001-ok"], "密码至少 8 位"),
        (["--unit", "U001", "--user", "zhangsan1", "--password", "ZHANGSAN1"], "密码不能与用户名相同"),
        (
            ["--unit", "U001", "--user", "z", "--grant", "删库", "--password", "good-pass-1"],
            "未知的授权事项：删库（可选：查看数据、下载证明、导出数据）",
        ),
        (["--unit", "U001", "--analyst", "x"], "请指定 --unit 单位编号 或 --analyst 用户名（二选一）"),
    ]
    for argv, message in cases:
        args = cli(["users", "add", *argv])
        assert args.func(args) == 2, argv
        assert capsys.readouterr().out == message + "\n"
    assert users.list_users() == []

    args = cli(["users", "add", "--unit", "U001", "--password", "good-pass-1"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "已创建账号：法人（单位 U001 的法定代表人，授权事项：全部）\n"
    args = cli(["users", "add", "--unit", "U001", "--user", "zhao", "--grant", "查看数据，下载证明"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("已创建账号：zhao（单位 U001 的经办人，授权事项：查看数据、下载证明），密码：")
    password = out.rsplit("：", 1)[1].strip()
    assert users.authenticate("employer", "zhao", password, "U001") is not None
    args = cli(["users", "list"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "单位 U001\t法人\t法定代表人\t全部\n单位 U001\tzhao\t经办人\t查看数据、下载证明\n"
    args = cli(["users", "remove", "--unit", "U001", "--user", "nobody"])
    assert args.func(args) == 2
    assert capsys.readouterr().out == "单位 U001 没有用户名为 nobody 的账号\n"


def test_an_older_accounts_file_is_migrated(db):
    import sqlite3

    salt = b"s" * 16
    digest = users._hash("old-unit-pass", salt, 2**14, 8, 1)
    con = sqlite3.connect(db)
    con.execute(
        "create table users (username text primary key, role text not null, unit_id text, salt blob not null, "
        "pw_hash blob not null, n integer not null, r integer not null, p integer not null, created_at text not null)"
    )
    con.execute(
        "insert into users values ('U001', 'employer', 'U001', ?, ?, 16384, 8, 1, '2026-01-01')", (salt, digest)
    )
    con.execute("insert into users values ('ana', 'analyst', null, ?, ?, 16384, 8, 1, '2026-01-01')", (salt, digest))
    con.commit()
    con.close()
    assert users.authenticate("employer", "法人", "old-unit-pass", "U001", db).level == LEGAL_REP
    assert users.authenticate("analyst", "ana", "old-unit-pass", None, db).role == "analyst"
    assert users.authenticate("analyst", "U001", "old-unit-pass", None, db) is None
