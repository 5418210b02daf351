"""The completeness guard (数据不全): rules whose data is incomplete say so, and rules that
would flood the queue without a kind never delivered are held back with one warning."""
from __future__ import annotations

from test_rules_support import AS_OF, anomalies, deliver, make_id, payment, person
from test_tui_app import app_for, screen_text, settle
from station.services.completeness import data_gaps

A = make_id("19550101", 1)
MANY = [make_id("19600101", i) for i in range(2, 60)]


def gaps(station) -> dict:
    return {g.rule: g for g in data_gaps(station.conn, station.cfg)}


def pay_everyone(station):
    return deliver(station, "payments", [payment(f"P{i}", who, "某某", "2026-04", 100)
                                         for i, who in enumerate([A, *MANY])])


def test_without_a_roster_payments_are_not_all_unregistered(station):
    report = pay_everyone(station)
    assert anomalies(station, "PAYMENT_UNREGISTERED") == {}           # not 59 false ones
    assert "PAYMENT_UNREGISTERED" in report.evaluation.held_back
    g = gaps(station)["PAYMENT_UNREGISTERED"]
    assert g.held_back and g.text.startswith("数据不全：参保人员 未导入")
    # A rule that only looks inside what arrived runs, and says what it lacks.
    dup = gaps(station)["DUPLICATE_PAYMENT"]
    assert not dup.held_back and dup.text == "数据不全：参保人员 未导入"
    assert "DUPLICATE_PAYMENT" not in report.evaluation.held_back

    deliver(station, "persons", [person(A, "张三")])                 # the roster arrives
    assert set(anomalies(station, "PAYMENT_UNREGISTERED")) == {(i, None) for i in MANY}
    assert "PAYMENT_UNREGISTERED" not in gaps(station)


def test_a_roster_waiting_for_confirmation_is_said(station):
    path = station.home.inbox / "agency" / "参保人员名单.csv"
    path.write_text(f"公民身份号码,姓名,个人编号,单位编号,月养老金\n{A},张三,P1,U1,3000\n", encoding="utf-8")
    [r] = station.ingest([path], as_of=AS_OF).results
    assert (r.status, r.kind) == ("held", "persons")
    pay_everyone(station)
    g = gaps(station)["PAYMENT_UNREGISTERED"]
    assert g.held_back and g.text.startswith("数据不全：参保人员 待确认")
    assert anomalies(station, "PAYMENT_UNREGISTERED") == {}


def test_an_older_roster_keeps_the_rule_running_with_a_warning(station):
    deliver(station, "persons", [person(A, "张三")])
    path = station.home.inbox / "agency" / "参保人员名单.csv"
    path.write_text(f"公民身份号码,姓名,个人编号,单位编号,月养老金\n{MANY[0]},李四,P2,U1,3000\n", encoding="utf-8")
    station.ingest([path], as_of=AS_OF)
    pay_everyone(station)
    g = gaps(station)["PAYMENT_UNREGISTERED"]
    assert not g.held_back and g.text == "数据不全：参保人员 待确认"
    assert len(anomalies(station, "PAYMENT_UNREGISTERED")) == len(MANY)


def test_a_disabled_rule_is_not_listed(station):
    from test_rules_support import set_param, with_rules_yaml
    st = with_rules_yaml(station, set_param("PAYMENT_UNREGISTERED", "enabled", "false"))
    try:
        assert "PAYMENT_UNREGISTERED" not in {g.rule for g in data_gaps(st.conn, st.cfg)}
    finally:
        st.close()


async def test_dashboard_and_queue_say_the_data_is_incomplete(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "payments", [payment("P1", A, "张三", "2026-04", 100),
                                  payment("P2", A, "张三", "2026-04", 100)])      # one duplicate
    app = app_for(station)
    async with app.run_test(size=(130, 50)) as pilot:
        await settle(pilot)
        shot = screen_text(app)
        assert "数据不全" in shot and "新设企业未参保登记：参保单位 未导入、企业登记信息 未导入（暂停比对）" in shot
        assert "发放对象不在册：" not in shot              # the roster came
        await pilot.press("3")
        await settle(pilot)
        shot = screen_text(app)
        assert "数据不全：" in shot and "重复发放" in shot


def test_a_refused_roster_is_said(station):
    from test_rules_support import with_rules_yaml
    st = with_rules_yaml(station, lambda t: t.replace("max_columns: 500", "max_columns: 10"))
    try:
        deliver(st, "persons", [person(A, "张三")])
        path = st.home.inbox / "agency" / "参保人员_11月.csv"
        rows = "".join(f"{make_id('19700101', i)},某{i},退休\n" for i in range(2, 120))
        path.write_text("公民身份号码,姓名,参保状态\n" + rows + ",".join("x" * 15) + "\n", encoding="utf-8")
        [r] = st.ingest([path], as_of=AS_OF).results
        assert r.status == "rejected"
        assert st.conn.execute("SELECT kind FROM deliveries WHERE id = ?", (r.delivery_id,)).fetchone() == ("persons",)
        pay_everyone(st)
        g = {x.rule: x for x in data_gaps(st.conn, st.cfg)}["PAYMENT_UNREGISTERED"]
        assert not g.held_back and g.text == "数据不全：参保人员 已拒收"     # an older roster still counts
    finally:
        st.close()
