"""AppTest tests of 账号管理 (seed 003) and of the pages an account's level and grants open."""

from __future__ import annotations

import pytest

from tests.support.dashboard import app_test, fill_login, login, open_page, prepare_home

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def home(tmp_path_factory, built_warehouse):
    path = tmp_path_factory.mktemp("shebao_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(path))
        mp.setenv("SHEBAO_WAREHOUSE", str(built_warehouse))
        yield prepare_home(path)


def press(at, label: str):
    return next(b for b in at.button if b.label == label).click().run()


def add_account(at, name: str, level: str, services: list[str], password: str, confirm: str | None = None):
    at.text_input(key="acc_new_name").input(name)
    at.selectbox(key="acc_new_level").set_value(level)
    at.multiselect(key="acc_new_services").set_value(services)
    at.text_input(key="acc_new_pw").input(password)
    at.text_input(key="acc_new_pw2").input(confirm or password)
    return press(at, "新增")


def test_legal_representative_builds_the_hierarchy_and_grants(home):
    at = open_page(login("U002"), "unit_accounts")
    assert at.title[0].value == "账号管理"
    assert at.selectbox(key="acc_new_level").options == ["单位管理员", "经办人"]
    add_account(at, "clerk1", "经办人", ["查看数据"], "12345678")
    assert [e.value for e in at.error] == ["密码不能全为数字"]
    add_account(at, "clerk1", "经办人", ["查看数据"], "clerk1")
    assert [e.value for e in at.error] == ["密码至少 8 位"]
    add_account(at, "clerk1", "经办人", ["查看数据"], "clerk1-pass", "clerk1-typo")
    assert [e.value for e in at.error] == ["两次输入的密码不一致。"]
    add_account(at, "clerk1", "经办人", ["查看数据"], "clerk1-pass")
    assert [s.value for s in at.success] == ["已新增经办人账号 clerk1。"]
    add_account(at, "admin1", "单位管理员", [], "admin1-pass")
    accounts = at.dataframe[0].value
    assert list(accounts["用户名"]) == ["法人", "admin1", "clerk1"]
    assert list(accounts["授权事项"]) == ["全部", "全部", "查看数据"]

    # the 经办人 sees the data pages and its own account page, not 证明下载, and no export buttons
    clerk = login("U002", "clerk1-pass", user="clerk1")
    assert "花名册" in clerk.title[0].value
    assert not [b for b in clerk.get("download_button") if b.proto.label.startswith("导出")]
    with pytest.raises(ValueError):
        clerk.switch_page("views/unit_documents.py")
    open_page(clerk, "unit_accounts")
    assert clerk.title[0].value == "我的账号"
    assert not any(t.key == "acc_new_name" for t in clerk.text_input)

    # the 单位管理员 grants 下载证明; the clerk's next run has the page
    admin = open_page(login("U002", "admin1-pass", user="admin1"), "unit_accounts")
    assert admin.selectbox(key="acc_new_level").options == ["经办人"]
    assert admin.selectbox(key="acc_remove_who").options == ["clerk1"]  # never the 法人 or itself
    admin.multiselect(key="acc_grant_clerk1").set_value(["查看数据", "下载证明"])
    press(admin, "保存授权")
    assert [s.value for s in admin.success] == ["已更新经办人 clerk1 的授权：查看数据、下载证明。"]
    clerk.run()  # the next run re-reads the account and registers the page
    open_page(clerk, "unit_documents")
    assert clerk.title[0].value.startswith("证明下载")

    # the 单位管理员 removes the clerk; its open session ends with it
    admin.selectbox(key="acc_remove_who").set_value("clerk1")
    admin.checkbox(key="acc_remove_sure").check()
    press(admin, "删除")
    assert [s.value for s in admin.success] == ["已删除账号 clerk1。"]
    clerk.run()
    assert clerk.title[0].value == "登录"


def test_a_unit_password_never_opens_another_unit_or_an_analyst(home):
    at = app_test()
    at.run()
    fill_login(at, "U002", "unit-one-pass")  # U001's password
    assert [e.value for e in at.error] == ["单位编号、用户名或密码不正确。"]
    fill_login(at, "ana", "unit-two-pass")
    assert [e.value for e in at.error] == ["用户名或密码不正确。"]


def test_an_idle_session_expires_after_30_minutes(home):
    from dashboards import users

    at = login("U003")
    assert "花名册" in at.title[0].value
    with users.connect(users.users_db_path(home)) as con:
        con.execute("update sessions set last_seen = last_seen - 29 * 60 where unit_id = 'U003'")
    at.run()
    assert "花名册" in at.title[0].value  # 29 idle minutes: still in, and the clock restarts
    with users.connect(users.users_db_path(home)) as con:
        con.execute("update sessions set last_seen = last_seen - 30 * 60 - 1 where unit_id = 'U003'")
    at.run()
    assert at.title[0].value == "登录"
    assert [i.value for i in at.info] == ["登录已失效（30 分钟无操作即超时），请重新登录。"]
    with users.connect(users.users_db_path(home)) as con:
        assert con.execute("select count(*) from sessions where unit_id = 'U003'").fetchone()[0] == 0
