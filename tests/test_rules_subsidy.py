"""SUBSIDY_NOT_STOPPED and SUBSIDY_MISSING."""
from __future__ import annotations

import json

from test_rules_support import (delivered_empty, AS_OF, anomalies, deliver, events, make_id, set_param, subjects,
                                with_rules_yaml)

P = [make_id("19600101", i) for i in range(1, 10)]
SUB = "城乡居民养老保险费补助"


def test_not_stopped_after_cancellation_death_or_ineligible_level(station):
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2024-01,",
                                   f"{P[1]},乙,{SUB},200,2024-01,2026-06",
                                   f"{P[2]},丙,{SUB},200,2024-01,2026-04",
                                   f"{P[3]},丁,{SUB},200,2024-01,",
                                   f"{P[4]},戊,{SUB},200,2024-01,"])
    deliver(station, "disability_changes", [
        f"{P[0]},甲,肢体,二级,注销,2026-04-11",        # open subsidy: fires
        f"{P[1]},乙,肢体,二级,死亡,2026-04-11",        # ends 2026-06, later than 2026-04: fires
        f"{P[2]},丙,肢体,二级,注销,2026-04-11",        # ends in the change month: stopped
        f"{P[3]},丁,视力,三级,等级变更,2026-07-11",    # level outside 一级/二级: fires
        f"{P[4]},戊,视力,二级,等级变更,2026-07-11",    # still eligible
    ])
    assert subjects(station, "SUBSIDY_NOT_STOPPED") == {P[0], P[1], P[3]}
    ev = json.loads(anomalies(station, "SUBSIDY_NOT_STOPPED")[(P[3], None)]["evidence"])
    assert ev["records"][0]["fields"]["残疾等级"] == "三级"
    assert any(r["kind"] == "subsidies" for r in ev["records"])


def test_empty_level_counts_as_outside(station):
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2024-01,"])
    deliver(station, "disability_changes", [f"{P[0]},甲,肢体,,等级变更,2026-04-11"])
    assert subjects(station, "SUBSIDY_NOT_STOPPED") == {P[0]}
    assert anomalies(station, "SUBSIDY_MISSING") == {}


def test_only_the_latest_change_counts(station):
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2024-01,", f"{P[1]},乙,{SUB},200,2024-01,"])
    deliver(station, "disability_changes", [
        f"{P[0]},甲,肢体,二级,注销,2025-04-11",
        f"{P[0]},甲,肢体,二级,新增,2026-01-11",        # re-registered later: eligible again
        f"{P[1]},乙,肢体,二级,新增,2026-01-11",
        f"{P[1]},乙,肢体,二级,注销,2026-01-11",        # same day: the one applied last wins
    ])
    assert subjects(station, "SUBSIDY_NOT_STOPPED") == {P[1]}


def test_latest_change_inside_the_grace_period_waits(station):
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2024-01,", f"{P[1]},乙,{SUB},200,2024-01,"])
    deliver(station, "disability_changes", [f"{P[0]},甲,肢体,二级,注销,2026-10-16",
                                            f"{P[1]},乙,肢体,二级,注销,2026-10-17"])
    assert subjects(station, "SUBSIDY_NOT_STOPPED") == {P[0]}


def test_not_stopped_clears_when_the_subsidy_ends(station):
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2024-01,"])
    deliver(station, "disability_changes", [f"{P[0]},甲,肢体,二级,注销,2026-04-11"])
    aid = anomalies(station, "SUBSIDY_NOT_STOPPED")[(P[0], None)]["id"]
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2024-01,2026-04"])
    assert anomalies(station, "SUBSIDY_NOT_STOPPED") == {}
    assert events(station, aid) == ["found", "cleared"]


def test_eligible_levels_parameter_in_any_spelling(station):
    deliver(station, "subsidies", [f"{P[3]},丁,{SUB},200,2024-01,"])
    deliver(station, "disability_changes", [f"{P[3]},丁,视力,三级,等级变更,2026-07-11"])
    assert subjects(station, "SUBSIDY_NOT_STOPPED") == {P[3]}
    st = with_rules_yaml(station, set_param("SUBSIDY_NOT_STOPPED", "eligible_levels", "[1, 2级, 叁级]"))
    try:
        st.evaluate(AS_OF)
        assert anomalies(st, "SUBSIDY_NOT_STOPPED") == {}
    finally:
        st.close()


def test_missing_subsidy(station):
    deliver(station, "subsidies", [f"{P[1]},乙,{SUB},200,2024-01,2025-05",
                                   f"{P[2]},丙,{SUB},200,2024-01,2025-06",
                                   f"{P[3]},丁,{SUB},200,2025-07,"])
    deliver(station, "disability_changes", [
        f"{P[0]},甲,肢体,一级,新增,2025-06-01",        # no subsidy at all: fires
        f"{P[1]},乙,肢体,一级,等级变更,2025-06-01",    # ended the month before: fires
        f"{P[2]},丙,肢体,一级,等级变更,2025-06-01",    # ends in the change month: fine
        f"{P[3]},丁,肢体,二级,新增,2025-06-01",        # starts later, still running: fine
        f"{P[4]},戊,肢体,三级,新增,2025-06-01",        # not eligible
        f"{P[5]},己,肢体,一级,死亡,2025-06-01",        # died
        f"{P[6]},庚,肢体,一级,新增,2026-10-17",        # inside the grace period
    ])
    assert subjects(station, "SUBSIDY_MISSING") == {P[0], P[1]}
    assert anomalies(station, "SUBSIDY_NOT_STOPPED") == {}


def test_missing_clears_when_the_subsidy_is_granted(station):
    delivered_empty(station, "subsidies")
    deliver(station, "disability_changes", [f"{P[0]},甲,肢体,1级,新增,2025-06-01"])
    aid = anomalies(station, "SUBSIDY_MISSING")[(P[0], None)]["id"]
    deliver(station, "subsidies", [f"{P[0]},甲,{SUB},200,2025-07,"])
    assert anomalies(station, "SUBSIDY_MISSING") == {}
    assert events(station, aid) == ["found", "cleared"]
