"""ENTERPRISE_UNREGISTERED and ENTERPRISE_CLOSED_ACTIVE."""
from __future__ import annotations

import json

from test_rules_support import delivered_empty, anomalies, deliver, events, set_param, subjects, with_rules_yaml, AS_OF

C1 = "91110000AAAAAAAA18"
C2 = "91110000BBBBBBBB27"
C3 = "91110000CCCCCCCC36"


def test_unregistered_enterprise_after_the_grace_period(station):
    delivered_empty(station, "units")
    deliver(station, "enterprises", [f"{C1},甲公司,张三,设立,2026-10-16,某地",      # as_of − 30
                                     f"{C2},乙公司,李四,设立,2026-10-17,某地"])     # inside grace
    found = anomalies(station, "ENTERPRISE_UNREGISTERED")
    assert list(found) == [(C1, None)]
    assert found[(C1, None)]["name"] == "甲公司"
    ev = json.loads(found[(C1, None)]["evidence"])
    assert ev["records"][0]["fields"]["登记类型"] == "设立" and ev["register_units"] == []


def test_any_register_unit_counts_whatever_its_status_and_case(station):
    deliver(station, "units", [f"U1,{C1.lower()},甲公司,2026-01-01,注销",
                               f"U2,{C2},乙公司,2026-01-01,"])
    deliver(station, "enterprises", [f"{C1},甲公司,张三,设立,2026-01-01,某地",
                                     f"{C2},乙公司,李四,设立,2026-01-01,某地"])
    assert anomalies(station, "ENTERPRISE_UNREGISTERED") == {}


def test_later_change_or_closure_rows_do_not_matter(station):
    delivered_empty(station, "units")
    deliver(station, "enterprises", [f"{C1},甲公司,张三,设立,2026-01-01,某地",
                                     f"{C1},甲公司,张三,变更,2026-05-01,他地",
                                     f"{C1},甲公司,张三,注销,2026-09-01,他地",
                                     f"{C2},乙公司,李四,变更,2026-01-01,某地"])
    assert subjects(station, "ENTERPRISE_UNREGISTERED") == {C1}


def test_unregistered_clears_when_the_unit_registers_and_reopens(station):
    delivered_empty(station, "units")
    deliver(station, "enterprises", [f"{C1},甲公司,张三,设立,2026-01-01,某地"])
    aid = anomalies(station, "ENTERPRISE_UNREGISTERED")[(C1, None)]["id"]
    deliver(station, "units", [f"U1,{C1},甲公司,2026-02-01,正常"])
    assert anomalies(station, "ENTERPRISE_UNREGISTERED") == {}
    assert events(station, aid) == ["found", "cleared"]
    # the agency corrects unit U1's credit code: C1 has no unit again
    deliver(station, "units", [f"U1,{C3},甲公司,2026-02-01,正常"])
    assert anomalies(station, "ENTERPRISE_UNREGISTERED")[(C1, None)]["id"] == aid
    assert events(station, aid) == ["found", "cleared", "reopened"]


def test_unregistered_grace_days_parameter(station):
    delivered_empty(station, "units")
    deliver(station, "enterprises", [f"{C1},甲公司,张三,设立,2026-11-10,某地"])
    assert anomalies(station, "ENTERPRISE_UNREGISTERED") == {}
    st = with_rules_yaml(station, set_param("ENTERPRISE_UNREGISTERED", "grace_days", "3"))
    try:
        st.evaluate(AS_OF)
        assert subjects(st, "ENTERPRISE_UNREGISTERED") == {C1}
    finally:
        st.close()


def test_closed_enterprise_with_a_normal_or_empty_unit(station):
    deliver(station, "units", [f"U1,{C1},甲公司,2010-01-01,正常",
                               f"U2,{C2},乙公司,2010-01-01,",
                               f"U3,{C3},丙公司,2010-01-01,注销"])
    deliver(station, "enterprises", [f"{C1},甲公司,张三,注销,2026-06-06,某地",
                                     f"{C2},乙公司,李四,注销,2026-06-06,某地",
                                     f"{C3},丙公司,王五,注销,2026-06-06,某地"])
    found = anomalies(station, "ENTERPRISE_CLOSED_ACTIVE")
    assert set(found) == {(C1, None), (C2, None)}
    ev = json.loads(found[(C1, None)]["evidence"])
    assert {r["kind"] for r in ev["records"]} == {"enterprises", "units"}


def test_suspended_unit_is_not_normal(station):
    deliver(station, "units", [f"U1,{C1},甲公司,2010-01-01,暂停"])
    deliver(station, "enterprises", [f"{C1},甲公司,张三,注销,2026-06-06,某地"])
    assert anomalies(station, "ENTERPRISE_CLOSED_ACTIVE") == {}


def test_closed_active_clears_when_the_unit_is_closed(station):
    deliver(station, "units", [f"U1,{C1},甲公司,2010-01-01,正常"])
    deliver(station, "enterprises", [f"{C1},甲公司,张三,注销,2026-06-06,某地"])
    aid = anomalies(station, "ENTERPRISE_CLOSED_ACTIVE")[(C1, None)]["id"]
    deliver(station, "units", [f"U1,{C1},甲公司,2010-01-01,注销"])
    assert anomalies(station, "ENTERPRISE_CLOSED_ACTIVE") == {}
    assert anomalies(station, "ENTERPRISE_CLOSED_ACTIVE", data_status="cleared")[(C1, None)]["id"] == aid
