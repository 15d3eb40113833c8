"""AppTest tests of the employer pages, tenant isolation, the certificate statistics and the verify page."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from tests.support.dashboard import app_test, frame, login, metrics, open_page, prepare_home, stamp_shown
from tests.support.warehouse import AS_OF

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def home(tmp_path_factory, built_warehouse):
    """Accounts in a module home; the pages read the built serving copy (they only read)."""
    path = tmp_path_factory.mktemp("shebao_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(path))
        mp.setenv("SHEBAO_WAREHOUSE", str(built_warehouse))
        yield prepare_home(path)


def test_employer_pages_show_only_their_unit(home):
    at = login("U001")
    assert at.title[0].value == "花名册 · 苏州甲科技有限公司"
    assert stamp_shown(at)
    roster = frame(at)
    assert list(roster["姓名"]) == ["李娜", "吴婷"]  # P001's U001 spell ended in 202406
    assert list(roster["参保险种"]) == ["养老保险、失业保险、医疗保险、工伤保险"] * 2

    open_page(at, "unit_contributions")
    lines = frame(at)
    assert set(lines["个人编号"]) == {"P001", "P002", "P008"}  # P001 only for 202401-202406
    assert len(lines) == (6 + 15 + 15) * 4
    assert metrics(at)["应缴合计"][0] == "¥95,215.20"  # 6 x 2672.00 + 15 x 2004.00 + 15 x 3274.88
    # arrived: all but P002's 202409 medical 480.00
    assert metrics(at)["已到账合计"][0] == "¥94,735.20"
    at.multiselect(key="uc_ins").set_value(["310"]).run()
    assert metrics(at)["应缴合计"][0] == "¥22,806.00"  # 6 x 640.00 + 15 x 480.00 + 15 x 784.40

    open_page(at, "unit_arrears")
    m = metrics(at)
    # 480.00 unpaid with 47.28 (480 x 0.05 % x 197 days); 217.78 on the 补收 of 202401 paid 133 days late
    assert (m["欠缴本金"][0], m["欠费滞纳金"][0], m["逾期缴费滞纳金"][0]) == ("¥480.00", "¥47.28", "¥217.78")
    assert m["合计应补缴"][0] == "¥745.06"

    open_page(at, "unit_retirement")
    people = frame(at)
    assert list(people["姓名"]) == ["李娜"]  # 2025-09; P008 reaches 58 in 2050
    assert metrics(at)["其中缴费年限不足"][0] == "1"


def test_employer_arrears_with_late_fee(home):
    at = open_page(login("U003"), "unit_arrears")
    m = metrics(at)
    assert m["欠缴本金"][0] == "¥4,284.00"  # 202502 not arrived; 202503 due 2025-04-15, not yet overdue
    assert m["欠费滞纳金"][0] == "¥66.40"  # 2880 x 0.05 % x 31 = 44.64, + 1.86 + 18.60 + 1.30
    assert (m["逾期缴费滞纳金"][0], m["合计应补缴"][0]) == ("¥0.00", "¥4,350.40")
    fees = frame(at, index=1)
    assert list(zip(fees["费款所属期"], fees["滞纳金类型"], fees["逾期天数"])) == [("202502", "欠费滞纳金", 31)] * 4
    assert fees["到账日期"].isna().all()  # still owed: charged to the as-of date
    at = open_page(login("U002"), "unit_arrears")
    m = metrics(at)
    # owes nothing; 202412 arrived 2025-01-10, 10 days after 2024-12-31
    assert (m["欠缴本金"][0], m["欠费滞纳金"][0], m["逾期缴费滞纳金"][0]) == ("¥0.00", "¥0.00", "¥61.42")


def _day(value) -> dt.date:
    return pd.Timestamp(value).date()


def test_employer_late_fee_reproducible_by_hand(home):
    """Each late fee on the 欠费 page follows from the columns beside it, with Decimal arithmetic."""
    at = open_page(login("U001"), "unit_arrears")
    fees = frame(at, index=1)
    assert list(zip(fees["费款所属期"], fees["缴费类型"], fees["滞纳金类型"])) == [
        ("202401", "补收", "逾期缴费滞纳金")
    ] * 4 + [("202409", "正常应缴", "欠费滞纳金")]
    total = Decimal("0.00")
    for _, row in fees.iterrows():
        days = (_day(row["计费截止日"]) - _day(row["计费起始日"])).days + 1
        end = _day(row["到账日期"]) if not pd.isna(row["到账日期"]) else AS_OF
        assert days == row["逾期天数"] == (end - _day(row["缴费截止日期"])).days  # one rate: due date to arrival/as-of
        fee = (Decimal(row["计费金额"]) * Decimal(row["日费率"]) * days).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert fee == Decimal(row["滞纳金"])
        total += fee
    pension = fees.iloc[0]  # P008's 补收 pension: 9805 x 24 % = 2353.20, due 2024-01-31, arrived 2024-06-12
    assert (Decimal(pension["计费金额"]), _day(pension["缴费截止日期"]), _day(pension["到账日期"])) == (
        Decimal("2353.20"),
        dt.date(2024, 1, 31),
        dt.date(2024, 6, 12),
    )
    assert (pension["逾期天数"], Decimal(pension["日费率"]), Decimal(pension["滞纳金"])) == (
        133,
        Decimal("0.0005"),
        Decimal("156.49"),  # 2353.20 x 0.0005 x 133 = 156.4878
    )
    assert total == Decimal("265.06")  # 47.28 + 217.78, the page's two late fees together
    m = metrics(at)
    assert Decimal(m["欠费滞纳金"][0][1:]) + Decimal(m["逾期缴费滞纳金"][0][1:]) == total


def test_employer_cannot_reach_other_units_by_url_or_session_state(home):
    at = login("U001")
    # query parameters that analyst pages understand change nothing on employer pages
    at.query_params["unit"] = "U002"
    at.session_state["unit_id"] = "U002"
    at.session_state["unit"] = "U002"
    open_page(at, "unit_contributions")
    assert set(frame(at)["个人编号"]) == {"P001", "P002", "P008"}  # not U002's P005, P007
    df = frame(at)
    assert max(df[df["个人编号"] == "P001"]["费款所属期"]) == "202406"  # nothing P001 paid at U002
    # a forged login token is not a login
    at.session_state["_shebao_auth_token"] = "forged-token"
    at.run()
    assert at.title[0].value == "登录"


def test_employer_cannot_open_analyst_pages(home):
    at = login("U001")
    with pytest.raises(ValueError):
        at.switch_page("views/arrears.py")  # not registered for an employer session
    at.query_params["page"] = "overview"
    at.run()
    assert "花名册" in at.title[0].value


def test_pages_refuse_without_login(home):
    at = app_test()
    at.run()
    assert at.title[0].value == "登录"
    with pytest.raises(ValueError):
        at.switch_page("views/unit_roster.py")
    open_page(at, "verify")
    assert at.title[0].value == "证书验证"


def test_logout(home):
    at = login("U001")
    open_page(at, "logout")
    at.run()
    assert at.title[0].value == "登录"


# ---------------------------------------------------------------- certificates (registry and verification)


def _seed_registry(home: Path) -> dict:
    """Three certificates through the certificates package's own registry and token code."""
    import datetime as dt

    from certificates import code as codes
    from certificates import registry as reg_mod
    from certificates import token as tokens
    from certificates.keys import KeyStore, iso

    registry = reg_mod.Registry(home / "certificates.sqlite")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    later = now + dt.timedelta(days=180)
    made = {}
    for cert_id, doc_type, subject in [
        ("202504150000000001", "UP", "U001"),
        ("202504150000000002", "UP", "U002"),
        ("202504150000000003", "SP", "U001"),
    ]:
        code = codes.new_code()
        registry.add(
            id=cert_id,
            code=code,
            doc_type=doc_type,
            subject=subject,
            period="202501-202503",
            issued_at=iso(now),
            expires_at=iso(later),
            digest=(b"\1" * 32).hex(),
            kid="00",
            facts={"单位编号": subject},
        )
        made[cert_id] = code
    registry.revoke("202504150000000002", "测试撤销")
    registry.count_verification("202504150000000001")
    registry.count_verification("202504150000000001")
    # a signed token for the first certificate, with the kid the registry must agree on
    kid, key = KeyStore(home / "keys").signing_key()
    with registry.connect() as con:
        con.execute("update certificates set kid = ? where id = ?", (kid.hex(), "202504150000000001"))
    claims = tokens.Claims(
        cert_id="202504150000000001",
        doc_type="UP",
        subject="U001",
        period="202501-202503",
        figures={"n": 3},
        digest=b"\1" * 32,
        issued_at=now,
        not_before=now,
        expires_at=later,
    )
    made["token"] = tokens.b32encode(tokens.sign(claims, kid, key))
    return made


@pytest.fixture(scope="module")
def seeded(home):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHEBAO_HOME", str(home))
        yield _seed_registry(home)


def test_certificates_page_counts_the_registry(home, seeded):
    at = open_page(login("ana"), "certificates")
    assert stamp_shown(at)
    m = metrics(at)
    assert (m["已签发"][0], m["验证次数"][0], m["已撤销"][0], m["有效"][0]) == ("3", "2", "1", "2")
    by_type = frame(at, index=0)
    rows = {
        (t, s): (n, v) for t, s, n, v in zip(by_type["证书类型"], by_type["状态"], by_type["张数"], by_type["验证次数"])
    }
    assert rows == {
        ("单位参保证明", "有效"): (1, 2),
        ("单位参保证明", "已撤销"): (1, 0),
        ("缴费人员汇总参保证明", "有效"): (1, 0),
    }


def test_verify_page_by_number_and_code(home, seeded):
    at = app_test()
    at.run()
    open_page(at, "verify")
    at.text_input(key="v_number").input("202504150000000003")
    at.text_input(key="v_code").input(seeded["202504150000000003"].lower())
    at.button[1].click().run()
    assert [s.value for s in at.success] == ["验证结果：有效"]
    facts = at.table[0].value
    assert dict(zip(facts["项目"], facts["内容"]))["证明编号"] == "202504150000000003"
    at.text_input(key="v_number").input("202504150000000002")
    at.text_input(key="v_code").input(seeded["202504150000000002"])
    at.button[1].click().run()
    assert at.error[0].value.startswith("验证结果：已撤销")


def test_verify_page_by_qr_url(home, seeded):
    from certificates import qr

    at = app_test()
    at.run()
    open_page(at, "verify")
    at.text_area(key="v_text").input(qr.verification_url(seeded["token"]))
    at.button[0].click().run()
    assert [s.value for s in at.success] == ["验证结果：有效"], [e.value for e in at.error]
    # one character changed: rejected
    bad = seeded["token"][:-3] + ("A" if seeded["token"][-3] != "A" else "B") + seeded["token"][-2:]
    at.text_area(key="v_text").input(qr.verification_url(bad))
    at.button[0].click().run()
    assert at.error and at.error[0].value.startswith("验证结果：无效")


def test_employer_documents_are_issued_for_the_session_unit_only(home, monkeypatch):
    """Whatever the URL or session state says, the issuing code is asked for the logged-in unit."""
    from dashboards import certs

    calls = []

    def record(doc_type, unit_id, period_from=None, period_to=None, warehouse=None, *, params, **kw):
        calls.append((doc_type, unit_id, certs.employer_params(doc_type, unit_id, params)))
        return certs.Issued(pdf=b"%PDF-1.7 test", cert_id="C-" + unit_id, code="TEST", filename=f"{unit_id}.pdf")

    monkeypatch.setattr(certs, "issue", record)
    at = login("U001")
    at.query_params["unit"] = "U002"
    at.session_state["unit_id"] = "U002"
    open_page(at, "unit_documents")
    # U001's fee periods only (all 15 of the window); the default range is the last 12 months
    assert at.selectbox(key="doc_from").options == [f"2024{m:02d}" for m in range(1, 13)] + [
        "202501",
        "202502",
        "202503",
    ]
    assert (at.selectbox(key="doc_from").value, at.selectbox(key="doc_to").value) == ("202404", "202503")
    # the person picker offers U001's people only (P001 left for U002 in 202407)
    assert at.multiselect(key="doc_persons").options == ["P001 张伟", "P002 李娜", "P008 吴婷"]
    at.session_state["_issued_doc"] = ("U002", certs.Issued(b"%PDF-other", "C-U002", "X", "U002.pdf"))
    at.run()
    assert not at.get("download_button")  # a document held for another unit is never offered
    at.multiselect(key="doc_persons").set_value(["P002", "P008"]).run()
    at.button(key="doc_issue").click().run()
    assert calls == [
        ("unit-proof", "U001", {"from": "202404", "to": "202503", "persons": ["P002", "P008"], "unit": "U001"})
    ]
    assert [s.value for s in at.success] == ["证明编号 C-U001，验证码 TEST"]
    downloads = at.get("download_button")
    assert len(downloads) == 1 and downloads[0].proto.label == "下载 PDF"


def test_document_page_offers_every_type_without_cli_words(home):
    at = open_page(login("U001"), "unit_documents")
    assert at.selectbox(key="doc_type").options == [
        "单位参保证明",
        "缴费人员汇总参保证明",
        "个人缴费记录明细",
        "个人权益记录单",
        "征集缴费通知单",
    ]
    at.selectbox(key="doc_type").set_value("summary-proof").run()
    at.checkbox(key="doc_all").check().run()
    assert not at.get("selectbox") or "doc_from" not in [s.key for s in at.selectbox]
    at.selectbox(key="doc_type").set_value("rights-statement").run()
    assert at.selectbox(key="doc_person").options == ["P001 张伟", "P002 李娜", "P008 吴婷"]
    assert at.selectbox(key="doc_term").options == ["2024年06月期", "2025年06月期"]
    # 202401 has two notices (正常应缴 and 补收): both listed, each with its own print button
    at.selectbox(key="doc_type").set_value("payment-notice").run()
    at.selectbox(key="doc_period").set_value("202401").run()
    listed = at.dataframe[0].value
    assert list(listed["通知单号"]) == ["B-U001-202401", "N-U001-202401"]
    assert list(listed["缴费类型"]) == ["补收", "正常应缴"]
    assert list(listed["合计"]) == ["¥3,274.88", "¥4,676.00"]
    labels = [b.proto.label for b in at.button]
    assert "打印通知单 B-U001-202401" in labels and "打印通知单 N-U001-202401" in labels
    texts = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.error])
    assert "--" not in texts and "notice" not in texts.lower()


def test_foreign_people_are_refused_by_the_adapter(home, built_warehouse):
    from dashboards import certs

    with pytest.raises(certs.NotThisUnit, match="以下人员不是本单位的参保人员：P005"):
        certs.issue(
            "unit-proof",
            "U001",
            warehouse=built_warehouse,
            params={"from": "202401", "to": "202503", "persons": ["P002", "P005"]},
        )
    with pytest.raises(certs.NotThisUnit, match="P005"):
        certs.issue(
            "rights-statement", "U001", warehouse=built_warehouse, params={"person": "P005", "period": "202406"}
        )


def test_users_cli_against_the_registered_units(home, capsys):
    import argparse

    from dashboards import users
    from shebao import users_cli

    parser = argparse.ArgumentParser(prog="shebao")
    users_cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["users", "add", "--unit", "NOPE999", "--password", "another-pass"])
    assert args.func(args) == 2
    assert capsys.readouterr().out == "单位编号 NOPE999 未登记，不能为其创建账号\n"
    args = parser.parse_args(["users", "add", "--unit", "U004", "--password", "another-pass"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "已创建账号：法人（单位 U004 的法定代表人，授权事项：全部）\n"
    assert users.authenticate("employer", "法人", "another-pass", "U004") is not None
