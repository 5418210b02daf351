"""The money-side rules (DOMAIN.md § The money side): CONTRIBUTION_SHORT,
COLLECTION_UNMATCHED, TRANSFER_SHORT, BANK_RETURN_MISMATCH and SHARED_ACCOUNT, at the
edges DOMAIN.md names: tolerance in exact cents, due dates, 利息 entries, failed returns,
names equal after normalisation (homophones not), credit-code-only collections and the
unit resolution rule, allowed_accounts."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from test_rules_support import (AS_OF, anomalies, deliver, delivered_empty, make_id, payment, person, set_param,
                                with_rules_yaml)

PENSION = "企业职工基本养老保险"
INJURY = "工伤保险"
CODE_A = "91440300MA5ABCDE1H"
CODE_B = "91440300MA5FGHJK2X"


def unit(no: str, code: str, name: str) -> str:
    return f"{no},{code},{name},2020-01-01,正常"


def due(no: str, period: str, insurance: str, amount) -> str:
    return f"{no},{period},{insurance},{amount}"


def collected(receipt: str, period: str, insurance: str, amount, *, no: str = "", code: str = "",
              paid: str = "", name: str = "") -> str:
    paid = paid or f"{period}-15"
    return f"{receipt},{code},{no},{name},{period},{insurance},{amount},{paid}"


def entry(voucher: str, date: str, insurance: str, amount, kind: str = "征收划入", month: str = "") -> str:
    return f"{voucher},{date},{insurance},{kind},{amount},{month}"


def bank(serial: str, id_number: str, name: str, account: str, amount, result: str = "成功") -> str:
    return f"{serial},{id_number},{name},{account},{amount},{result},2026-09-12"


def evidence(row) -> dict:
    return json.loads(row["evidence"])


# --------------------------------------------------------------------- CONTRIBUTION_SHORT

def test_short_by_more_than_the_tolerance_in_exact_cents(station):
    deliver(station, "units", [unit("U1", CODE_A, "甲公司"), unit("U2", CODE_B, "乙公司"),
                               unit("U3", "91440300MA5KLMNP32", "丙公司")])
    deliver(station, "contributions_due", [
        due("U1", "2026-08", PENSION, "1000.10"), due("U1", "2026-08", INJURY, "50.00"),
        due("U2", "2026-08", PENSION, "0.30"),
        due("U3", "2026-08", PENSION, "300.00")])
    deliver(station, "tax_collections", [
        collected("T1", "2026-08", PENSION, "999.10", no="U1"),      # exactly 1.00 short: not more
        collected("T2", "2026-08", INJURY, "48.99", no="U1"),        # 1.01 short
        collected("T3", "2026-08", PENSION, "0.10", no="U2"),        # 0.1 + 0.2 style sums in cents
        collected("T4", "2026-08", PENSION, "0.20", no="U2"),        # 0.30 - (0.10 + 0.20) = 0.00
        collected("T5", "2026-08", PENSION, "350.00", no="U3")])     # paid more: not short
    found = anomalies(station, "CONTRIBUTION_SHORT")
    assert list(found) == [("U1", "2026-08")]
    # only the 险种 short by more than the tolerance count towards the amount
    assert found[("U1", "2026-08")]["amount"] == 1.01
    figures = {f["insurance"]: f for f in evidence(found[("U1", "2026-08")])["figures"]}
    assert figures[PENSION] == {"insurance": PENSION, "assessed": 1000.1, "collected": 999.1,
                                "difference": 1.0, "short": False}
    assert figures[INJURY]["assessed"] == 50.0 and figures[INJURY]["collected"] == 48.99
    assert found[("U1", "2026-08")]["name"] == "甲公司"


def test_no_collection_at_all_is_short_by_the_whole_assessment(station):
    delivered_empty(station, "tax_collections")
    deliver(station, "contributions_due", [due("U9", "2026-07", PENSION, "1234.56"),
                                           due("U9", "2026-07", INJURY, "10.00")])
    found = anomalies(station, "CONTRIBUTION_SHORT")
    assert found[("U9", "2026-07")]["amount"] == 1244.56


@pytest.mark.parametrize("as_of, checked", [
    (dt.date(2026, 10, 29), {"2026-08"}),            # 2026-09 is due 2026-09-30 + 30 = 2026-10-30
    (dt.date(2026, 10, 30), {"2026-08", "2026-09"}),
    (dt.date(2026, 12, 29), {"2026-08", "2026-09", "2026-10"}),   # 2026-11 is due 2026-12-30
    (dt.date(2026, 12, 30), {"2026-08", "2026-09", "2026-10", "2026-11"}),
])
def test_a_period_is_checked_from_its_due_date(station, as_of, checked):
    delivered_empty(station, "tax_collections", as_of=as_of)
    deliver(station, "contributions_due", [due("U1", p, PENSION, 100) for p in
                                           ("2026-08", "2026-09", "2026-10", "2026-11")], as_of=as_of)
    assert {p for _, p in anomalies(station, "CONTRIBUTION_SHORT")} == checked


def test_grace_days_and_tolerance_come_from_rules_yaml(station):
    st = with_rules_yaml(station, lambda t: set_param("CONTRIBUTION_SHORT", "tolerance", "5")(
        set_param("CONTRIBUTION_SHORT", "grace_days", "0")(t)))
    try:
        deliver(st, "contributions_due", [due("U1", "2026-10", PENSION, 100), due("U1", "2026-09", PENSION, 100)],
                as_of=dt.date(2026, 10, 31))
        deliver(st, "tax_collections", [collected("T1", "2026-10", PENSION, 95, no="U1"),
                                        collected("T2", "2026-09", PENSION, "94.99", no="U1")],
                as_of=dt.date(2026, 10, 31))
        assert list(anomalies(st, "CONTRIBUTION_SHORT")) == [("U1", "2026-09")]
    finally:
        st.close()


def test_a_collections_unit_is_its_unit_number_else_the_lowest_unit_with_its_credit_code(station):
    deliver(station, "units", [unit("U7", CODE_A, "甲公司"), unit("U5", CODE_A, "甲公司分部"),
                               unit("U6", CODE_B, "乙公司")])
    deliver(station, "contributions_due", [due("U5", "2026-08", PENSION, 100),
                                           due("U6", "2026-08", PENSION, 100)])
    deliver(station, "tax_collections", [
        collected("T1", "2026-08", PENSION, 100, code=CODE_A.lower()),     # → U5 (lowest), any case
        collected("T2", "2026-08", PENSION, 100, no="U6", code=CODE_A)])   # its own 单位编号 wins
    assert anomalies(station, "CONTRIBUTION_SHORT") == {}
    assert anomalies(station, "COLLECTION_UNMATCHED") == {}


# --------------------------------------------------------------------- COLLECTION_UNMATCHED

def test_collections_without_an_assessment_any_period_without_grace(station):
    deliver(station, "units", [unit("U1", CODE_A, "甲公司")])
    deliver(station, "contributions_due", [due("U1", "2026-08", PENSION, 100)])
    deliver(station, "tax_collections", [
        collected("T1", "2026-08", PENSION, 100, no="U1"),
        collected("T2", "2026-08", INJURY, "12.34", no="U1"),             # 险种 not assessed
        collected("T3", "2026-11", PENSION, "1.00", no="U1", paid="2026-11-10"),   # not yet due: still
        collected("T4", "2026-11", INJURY, "2.00", no="U1", paid="2026-11-10"),
        collected("T5", "2025-12", PENSION, 50, code="91999999ZZ1234567A", name="丁公司")])  # unknown code
    found = anomalies(station, "COLLECTION_UNMATCHED")
    assert {k: v["amount"] for k, v in found.items()} == {
        ("U1", "2026-08"): 12.34, ("U1", "2026-11"): 3.0, ("91999999ZZ1234567A", "2025-12"): 50.0}
    assert found[("91999999ZZ1234567A", "2025-12")]["name"] == "丁公司"
    assert [r["fields"]["票证号"] for r in evidence(found[("U1", "2026-11")])["records"]] == ["T3", "T4"]


def test_a_collection_naming_no_unit_is_rejected(station):
    path = station.home.inbox / "tax" / "征收.csv"
    path.write_text("票证号,统一社会信用代码,单位编号,费款所属期,险种,实缴金额,入库日期\n"
                    "T1,,,2026-08,工伤保险,10,2026-08-15\nT2,,U1,2026-08,工伤保险,10,2026-08-15\n",
                    encoding="utf-8")
    [r] = station.ingest([path], as_of=AS_OF).results
    assert (r.status, r.rows_applied, r.rows_rejected) == ("applied", 1, 1)
    [(reason,)] = station.conn.execute("SELECT reason FROM rejected_rows").fetchall()
    assert "单位编号" in reason and "统一社会信用代码" in reason


def test_credit_code_only_file_is_recognised(station):
    delivered_empty(station, "contributions_due")
    path = station.home.inbox / "征收明细.csv"         # no department folder, no 单位编号 column
    path.write_text("电子税票号码,纳税人识别号,缴费人名称,费款所属期,征收项目,实缴费额,入库日期\n"
                    f"T1,{CODE_A},甲公司,2026-08,工伤保险,10,2026-08-15\n", encoding="utf-8")
    [r] = station.ingest([path], as_of=AS_OF).results
    assert (r.status, r.kind, r.rows_applied) == ("applied", "tax_collections", 1)
    assert list(anomalies(station, "COLLECTION_UNMATCHED")) == [(CODE_A, "2026-08")]


# --------------------------------------------------------------------- TRANSFER_SHORT

def test_transfers_against_collections_per_month_and_insurance(station):
    deliver(station, "tax_collections", [
        collected("T1", "2026-07", PENSION, "1000.00", no="U1", paid="2026-08-03"),
        collected("T2", "2026-08", PENSION, "500.50", no="U1", paid="2026-08-20"),
        collected("T3", "2026-08", INJURY, "20.00", no="U1", paid="2026-08-20"),
        collected("T4", "2026-09", INJURY, "30.00", no="U1", paid="2026-09-20")])
    deliver(station, "fund_account_entries", [
        entry("V1", "2026-09-05", PENSION, "1499.50", month="2026-08"),      # 1.00 short: not more
        entry("V2", "2026-09-05", PENSION, "999.99", kind="利息", month="2026-08"),   # interest: no part
        entry("V3", "2026-08-28", INJURY, "18.98"),                          # empty 所属月份: 2026-08
        entry("V4", "2026-10-05", INJURY, "35.00", month="2026-09")])        # 5.00 more than collected
    found = anomalies(station, "TRANSFER_SHORT")
    assert {k: v["amount"] for k, v in found.items()} == {(INJURY, "2026-08"): 1.02, (INJURY, "2026-09"): 5.0}
    [fig] = evidence(found[(INJURY, "2026-08")])["figures"]
    assert (fig["collected"], fig["transferred"], fig["difference"]) == (20.0, 18.98, 1.02)


@pytest.mark.parametrize("as_of, found", [(dt.date(2026, 11, 14), set()),
                                          (dt.date(2026, 11, 15), {(PENSION, "2026-10")})])
def test_a_month_is_checked_from_its_due_date(station, as_of, found):
    delivered_empty(station, "fund_account_entries", as_of=as_of)
    deliver(station, "tax_collections", [collected("T1", "2026-10", PENSION, 100, no="U1", paid="2026-10-20")],
            as_of=as_of)
    assert set(anomalies(station, "TRANSFER_SHORT")) == found


def test_a_transfer_without_collections_is_a_difference(station):
    delivered_empty(station, "tax_collections")
    deliver(station, "fund_account_entries", [entry("V1", "2026-06-05", PENSION, "88.00", month="2026-05")])
    assert {k: v["amount"] for k, v in anomalies(station, "TRANSFER_SHORT").items()} == {(PENSION, "2026-05"): 88.0}


# --------------------------------------------------------------------- BANK_RETURN_MISMATCH

A = make_id("19400101", 1)
B = make_id("19400202", 2)
C = make_id("19400303", 3)
D = make_id("19400404", 4)


def test_payments_of_a_returned_month_against_their_returns(station):
    deliver(station, "persons", [person(A, "张玮"), person(B, "李四"), person(C, "王五")])
    deliver(station, "payments", [
        payment("P1", A, "张玮", "2026-09", 1000.00), payment("P2", B, "李四", "2026-09", 2000.00),
        payment("P3", C, "王五", "2026-09", 3000.00), payment("P4", D, "赵六", "2026-09", 4000.00),
        payment("P5", A, "张玮", "2026-09", 10.00, "丧葬补助金"),
        payment("Q1", A, "张玮", "2026-08", 1000.00)])           # 2026-08 has no returns: not checked
    deliver(station, "bank_returns", [
        bank("P1", A, "张伟", "6217000000000000001", "1000.00"),    # homophone: not the same name
        bank("P2", B, " 李 四 ", "6217000000000000002", "2000.01"),  # name equal once normalised; 0.01 off
        bank("P3", C, "王五", "6217000000000000003", "2999.98", "失败"),  # failed, and 0.02 off
        bank("P4", D, "赵六", "6217000000000000004", "4000.00")])
    found = anomalies(station, "BANK_RETURN_MISMATCH")
    assert {k: v["amount"] for k, v in found.items()} == {("P1", None): 1000.0, ("P3", None): 3000.0,
                                                         ("P5", None): 10.0}
    diffs = {k[0]: [d["field"] for d in evidence(v)["differences"]] for k, v in found.items()}
    assert diffs == {"P1": ["户名"], "P3": ["金额"], "P5": ["发放流水号"]}
    assert evidence(found[("P1", None)])["differences"][0]["payment"] == "张玮"


def test_the_register_name_is_preferred_to_the_payments_own(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "payments", [payment("P1", A, "张叁", "2026-09", 100), payment("P2", D, "赵六", "2026-09", 100)])
    deliver(station, "bank_returns", [bank("P1", A, "张叁", "6217000000000000001", 100),
                                      bank("P2", D, "赵 六", "6217000000000000004", 100)])
    assert list(anomalies(station, "BANK_RETURN_MISMATCH")) == [("P1", None)]


def test_payments_dated_within_the_grace_days_are_not_yet_checked(station):
    deliver(station, "payments_account", [
        f"P1,{A},甲,2026-10,基本养老金,100,2026-10-31,",            # 2026-10-31 + 15 = 2026-11-15: due
        f"P2,{B},乙,2026-10,基本养老金,100,2026-11-01,",            # not yet
        f"P3,{C},丙,2026-10,基本养老金,100,,",                       # no 发放日期: the 10th
        f"P4,{D},丁,2026-10,基本养老金,100,2026-10-10,"])
    deliver(station, "bank_returns", [bank("P4", D, "丁", "6217000000000000004", 100)])
    assert set(anomalies(station, "BANK_RETURN_MISMATCH")) == {("P1", None), ("P3", None)}


def test_a_later_return_replaces_the_earlier_one(station):
    deliver(station, "payments", [payment("P1", A, "甲", "2026-09", 100)])
    deliver(station, "bank_returns", [bank("P1", A, "乙", "6217000000000000001", 100)])
    assert list(anomalies(station, "BANK_RETURN_MISMATCH")) == [("P1", None)]
    deliver(station, "bank_returns", [bank("P1", A, "甲", "6217000000000000001", 100)])
    assert anomalies(station, "BANK_RETURN_MISMATCH") == {}


# --------------------------------------------------------------------- SHARED_ACCOUNT

def test_two_people_paid_into_one_account_in_one_month(station):
    deliver(station, "persons", [person(A, "甲"), person(B, "乙"), person(C, "丙")])
    deliver(station, "payments_account", [
        f"P1,{A},甲,2026-09,基本养老金,100.10,2026-09-10,",
        f"P2,{B},乙,2026-09,基本养老金,200.20,2026-09-10,6217-0000 0000 0000 009",   # own account
        f"P3,{A},甲,2026-09,丧葬补助金,5.00,2026-09-10,",
        f"P4,{C},丙,2026-09,基本养老金,300.00,2026-09-10,6217000000000000003",
        f"P5,{A},甲,2026-08,基本养老金,100.10,2026-08-10,6217000000000000009",        # another month
        f"P6,{C},丙,2026-08,基本养老金,300.00,2026-08-10,6217000000000000009"])
    deliver(station, "bank_returns", [
        bank("P1", A, "甲", "6217000000000000009", "100.10"),
        bank("P2", B, "乙", "6217000000000000002", "200.20", "失败"),   # failed: its own account counts
        bank("P3", A, "甲", "6217000000000000009", "5.00"),
        bank("P4", C, "丙", "6217000000000000099", "300.00", "失败")])  # failed: its own (…0003)
    found = anomalies(station, "SHARED_ACCOUNT")
    assert {k: v["amount"] for k, v in found.items()} == {
        ("6217000000000000009", "2026-09"): 305.30, ("6217000000000000009", "2026-08"): 400.10}
    people = evidence(found[("6217000000000000009", "2026-09")])["persons"]
    assert {(p["id_number"], p["amount"]) for p in people} == {(A, 105.1), (B, 200.2)}


def test_one_person_twice_is_not_shared(station):
    deliver(station, "payments", [payment("P1", A, "甲", "2026-09", 100),
                                  payment("P2", A, "甲", "2026-09", 100, "丧葬补助金")])
    deliver(station, "bank_returns", [bank("P1", A, "甲", "6217000000000000001", 100),
                                      bank("P2", A, "甲", "6217000000000000001", 100)])
    assert anomalies(station, "SHARED_ACCOUNT") == {}


def test_allowed_accounts_are_not_flagged(station):
    st = with_rules_yaml(station, set_param("SHARED_ACCOUNT", "allowed_accounts", '["6217 0000-0000 0000 001"]'))
    try:
        deliver(st, "payments", [payment("P1", A, "甲", "2026-09", 100), payment("P2", B, "乙", "2026-09", 100),
                                 payment("P3", C, "丙", "2026-09", 100), payment("P4", D, "丁", "2026-09", 100)])
        deliver(st, "bank_returns", [bank("P1", A, "甲", "6217000000000000001", 100),
                                     bank("P2", B, "乙", "6217000000000000001", 100),
                                     bank("P3", C, "丙", "6217000000000000002", 100),
                                     bank("P4", D, "丁", "6217-0000-0000-0000-002", 100)])
        assert list(anomalies(st, "SHARED_ACCOUNT")) == [("6217000000000000002", "2026-09")]
    finally:
        st.close()


# --------------------------------------------------------------------- masking

def test_shared_accounts_are_masked_by_default_in_the_cli_and_the_review_log(loaded_station, capsys):
    from station.cli import main
    from station.export.review_log import mask_subject
    accounts = {s for (s,) in loaded_station.conn.execute(
        "SELECT subject FROM anomalies WHERE rule = 'SHARED_ACCOUNT'")}
    assert accounts
    for fmt in ("table", "csv"):
        assert main(["--home", str(loaded_station.home.root), "anomalies", "--department", "银行",
                     "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "多人共用银行账户" in out
        for account in accounts:
            assert account not in out and account[-4:] in out
    for account in accounts:
        shown = mask_subject("SHARED_ACCOUNT", account)
        assert shown.endswith(account[-4:]) and set(shown[:-4]) == {"*"}
    # a unit, a 险种 or a serial number is no personal data: shown as written
    assert mask_subject("CONTRIBUTION_SHORT", "U0000002") == "U0000002"
    assert mask_subject("BANK_RETURN_MISMATCH", "FF000101692") == "FF000101692"


# --------------------------------------------------------------------- partner layouts

@pytest.mark.parametrize("folder, name, text, kind", [
    ("", "回盘.csv", "业务流水号,身份证号,账户名称,卡号,交易金额,交易结果,交易日期\n"
     "P1,,甲,6217 0000-0000 0000 001,100.00,交易成功,2026-09-12\n", "bank_returns"),
    ("", "专户.csv", "记账凭证号,记账日期,险种名称,收入项目,金额,所属年月\n"
     "V1,2026-09-05,工伤保险,征收划入,10.00,2026-08\n", "fund_account_entries"),
    ("", "核定.csv", "参保单位编号,缴费所属期,征收项目,核定金额\nU1,202608,工伤保险,10\n", "contributions_due"),
])
def test_partner_headers_are_recognised(station, folder, name, text, kind):
    path = station.home.inbox / name
    path.write_text(text, encoding="utf-8")
    [r] = station.ingest([path], as_of=AS_OF).results
    assert (r.status, r.kind, r.rows_applied, r.rows_rejected) == ("applied", kind, 1, 0)
    if kind == "bank_returns":
        assert station.conn.execute("SELECT account_no, result FROM bank_returns").fetchone() == (
            "6217000000000000001", "交易成功")


# --------------------------------------------------------------------- upgrade

def test_a_release_0_1_register_gains_the_money_side(tmp_path):
    """A register of the first release (schema 3: no money-side tables, payments without
    银行账号) upgrades in place and takes the money side's deliveries and rules."""
    from station.home import Home
    from station.services.station import Station
    from test_upgrade import SCHEMA3, unpack
    home = Home(tmp_path / "home").ensure()
    made = unpack(SCHEMA3, home)
    st = Station.open(home)
    try:
        cols = {r[1] for r in st.conn.execute("PRAGMA table_info(payments)")}
        assert "account_no" in cols
        deliver(st, "payments_account", [f"P1,{A},甲,2026-09,基本养老金,100,2026-09-10,6217000000000000009",
                                         f"P2,{B},乙,2026-09,基本养老金,100,2026-09-10,6217000000000000009"],
                as_of=dt.date.fromisoformat(made["as_of"]))
        assert list(anomalies(st, "SHARED_ACCOUNT")) == [("6217000000000000009", "2026-09")]
        assert st.conn.execute("SELECT value FROM meta WHERE key = 'upgraded_from_schema'").fetchone() == ("3",)
    finally:
        st.close()


@pytest.mark.parametrize("written, shown", [
    ("已核实账户6217990399892449556为其子女所有", "已核实账户***************9556为其子女所有"),
    ("卡号 6217 9903 9989 2449 556 已冻结", "卡号 ***************9556 已冻结"),
    ("6217-9903-9989-2449", "************2449"),
    ("票证号34403260112002598979", "票证号34403260112002598979"),     # a 20-digit tax receipt: not an account
    ("2026-10 2026-11 2026-12 2026-09", "2026-10 2026-11 2026-12 2026-09"),
    ("2026-10-05 2026-10-06", "2026-10-05 2026-10-06"),
])
def test_an_account_written_into_free_text_is_masked(written, shown):
    from station.normalise.privacy import mask_personal
    assert mask_personal(written) == shown


def test_a_note_naming_an_account_is_masked_in_history(loaded_station, capsys):
    from station.cli import main
    [aid] = [i for (i,) in loaded_station.conn.execute(
        "SELECT id FROM anomalies WHERE rule = 'SHARED_ACCOUNT' ORDER BY id LIMIT 1")]
    root = str(loaded_station.home.root)
    assert main(["--home", root, "decide", str(aid), "--action", "note", "--reviewer", "张三",
                 "--note", "账户 6217990399892449556 为养老院代管"]) == 0
    capsys.readouterr()
    assert main(["--home", root, "history", str(aid)]) == 0
    out = capsys.readouterr().out
    assert "6217990399892449556" not in out and "***************9556" in out


def test_a_credit_code_no_unit_has_is_the_subject_upper_case(station):
    delivered_empty(station, "contributions_due")
    deliver(station, "tax_collections", [collected("T1", "2026-08", INJURY, "10.00", code=CODE_B.lower())])
    assert {k: v["amount"] for k, v in anomalies(station, "COLLECTION_UNMATCHED").items()} == {
        (CODE_B, "2026-08"): 10.0}
    # once the unit registers, the collection is its own: assessed nothing → still unmatched, now by 单位编号
    deliver(station, "units", [unit("U8", CODE_B, "乙公司")])
    assert list(anomalies(station, "COLLECTION_UNMATCHED")) == [("U8", "2026-08")]
