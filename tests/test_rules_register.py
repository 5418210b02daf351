"""Register and archive rules: INVALID_ID, RETIREE_NO_APPROVAL, ARCHIVE_RETENTION,
CENTENARIAN_CHECK."""
from __future__ import annotations

import datetime as dt
import json

from test_rules_support import (delivered_empty, AS_OF, anomalies, bad_check, deliver, events, make_id, person,
                                set_param, subjects, with_rules_yaml)


def test_invalid_ids(station):
    good = make_id("19500101", 1)
    wrong_check = bad_check(make_id("19500102", 2))
    bad_date = "440303195013010011"
    short = "44030319500101"
    legacy = "440303500101001"            # 15 digits: converted, valid
    deliver(station, "persons", [person(good, "甲"), person(wrong_check, "乙"), person(bad_date, "丙"),
                                 person(short, "丁"), person(legacy, "戊")])
    found = anomalies(station, "INVALID_ID")
    assert set(k[0] for k in found) == {wrong_check, bad_date, short}
    ev = json.loads(found[(wrong_check, None)]["evidence"])
    assert "校验位" in ev["summary"] and ev["records"][0]["kind"] == "persons"


def test_an_id_of_no_province_is_invalid_and_says_so(station):
    from station.normalise import check_char
    body = "99" + make_id("19500101", 3)[2:17]
    no_province = body + check_char(body)          # right check character, no such region
    deliver(station, "persons", [person(no_province, "己")])
    found = anomalies(station, "INVALID_ID")
    ev = json.loads(found[(no_province, None)]["evidence"])
    assert "行政区划" in ev["summary"] and "出生日期" not in ev["summary"]


def test_retiree_without_approval_document(station):
    a, b, c, d = (make_id("19650101", i) for i in range(1, 5))
    deliver(station, "persons", [person(a, "甲", retire="2025-01-01"),
                                 person(b, "乙", retire="2025-03-01"),
                                 person(c, "丙", retire="2024-12-31"),           # before since
                                 person(d, "丁", "参保缴费", retire="2025-03-01")])
    deliver(station, "scan_index", [f"SB-1,1,{b},退休审批表,2025-03-01,3,长期,",
                                    f"SB-2,1,{a},待遇核定表,2025-03-01,1,长期,"])
    found = anomalies(station, "RETIREE_NO_APPROVAL")
    assert list(found) == [(a, None)]
    ev = json.loads(found[(a, None)]["evidence"])
    assert "待遇核定表" in ev["summary"]
    deliver(station, "scan_index", [f"SB-2,2,{a},退休审批表,2025-03-01,3,长期,"])
    assert anomalies(station, "RETIREE_NO_APPROVAL") == {}
    assert events(station, found[(a, None)]["id"]) == ["found", "cleared"]


def test_retiree_since_parameter(station):
    delivered_empty(station, "scan_index")
    c = make_id("19650101", 3)
    deliver(station, "persons", [person(c, "丙", retire="2024-12-31")])
    assert anomalies(station, "RETIREE_NO_APPROVAL") == {}
    st = with_rules_yaml(station, set_param("RETIREE_NO_APPROVAL", "since", "2024-01-01"))
    try:
        st.evaluate(AS_OF)
        assert subjects(st, "RETIREE_NO_APPROVAL") == {c}
    finally:
        st.close()


def test_archive_retention(station):
    p = make_id("19650101", 1)
    deliver(station, "persons", [person(p, "甲")])
    deliver(station, "scan_index", [f"SB-1,1,{p},参保登记表,2000-01-01,2,永久,",
                                    f"SB-1,2,{p},退休审批表,2020-01-01,2,永久,",     # 长期 expected
                                    f"SB-1,3,{p},死亡证明,2026-01-01,1,,",           # empty differs
                                    f"SB-1,4,{p},临时说明,2026-01-01,1,短期,",       # not in the map
                                    "DW-1,1,U0000001,单位参保登记表,2000-01-01,2,长期,"])
    found = anomalies(station, "ARCHIVE_RETENTION")
    assert set(found) == {("SB-1#2", None), ("SB-1#3", None), ("DW-1#1", None)}
    assert found[("SB-1#2", None)]["name"] == "甲"
    deliver(station, "scan_index", [f"SB-1,2,{p},退休审批表,2020-01-01,2,长期,"])
    assert ("SB-1#2", None) not in anomalies(station, "ARCHIVE_RETENTION")
    assert anomalies(station, "ARCHIVE_RETENTION", data_status="cleared")[("SB-1#2", None)]["id"] \
        == found[("SB-1#2", None)]["id"]


def test_centenarians(station):
    exactly = make_id("19261115", 1)        # 100 on as_of
    short = make_id("19261116", 2)          # 100 tomorrow
    by_id = make_id("19200101", 3)          # no birth date: from the ID
    working = make_id("19200101", 4)
    deliver(station, "persons", [person(exactly, "甲", birth="1926-11-15"),
                                 person(short, "乙", birth="1926-11-16"),
                                 person(by_id, "丙"),
                                 person(working, "丁", "参保缴费", birth="1920-01-01")])
    assert subjects(station, "CENTENARIAN_CHECK") == {exactly, by_id}
    ev = json.loads(anomalies(station, "CENTENARIAN_CHECK")[(by_id, None)]["evidence"])
    assert ev["age"] == 106 and ev["age_from"] == "身份证号码"
    station.evaluate(dt.date(2026, 11, 16))
    assert subjects(station, "CENTENARIAN_CHECK") == {exactly, short, by_id}


def test_min_age_parameter(station):
    p = make_id("19300101", 1)
    deliver(station, "persons", [person(p, "甲", birth="1930-01-01")])
    assert anomalies(station, "CENTENARIAN_CHECK") == {}
    st = with_rules_yaml(station, set_param("CENTENARIAN_CHECK", "min_age", "95"))
    try:
        st.evaluate(AS_OF)
        assert subjects(st, "CENTENARIAN_CHECK") == {p}
    finally:
        st.close()


def test_unknown_rule_parameter_is_a_config_error(station):
    import pytest
    from station.config import ConfigError
    with pytest.raises(ConfigError, match="min_ag"):
        with_rules_yaml(station, set_param("CENTENARIAN_CHECK", "min_ag", "95"))
