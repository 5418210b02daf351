"""Death rules: DEATH_PAID, DEATH_NOT_STOPPED, DEATH_DATE_CONFLICT, DEATH_FUZZY_MATCH."""
from __future__ import annotations

import datetime as dt
import json

from test_rules_support import (AS_OF, anomalies, deliver, events, make_id, payment, person,
                                set_param, subjects, with_rules_yaml)

A = make_id("19400101", 11)
B = make_id("19450202", 22)


def _pay_months(station, id_number, name, months, amount=2000.0, prefix="P"):
    deliver(station, "payments", [payment(f"{prefix}{id_number[-6:]}{m.replace('-', '')}", id_number,
                                          name, m, amount) for m in months])


# ----------------------------------------------------------------------- DEATH_PAID

def test_death_paid_sums_payments_after_the_death_month(station):
    deliver(station, "persons", [person(A, "张三")])
    _pay_months(station, A, "张三", ["2026-02", "2026-03", "2026-04", "2026-05"], 2000.5)
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-10,2026-03-15,死亡"])
    found = anomalies(station, "DEATH_PAID")
    assert list(found) == [(A, None)]
    # the payment for the death month itself (2026-03) is not counted
    assert found[(A, None)]["amount"] == 4001.0
    ev = json.loads(found[(A, None)]["evidence"])
    assert [r["fields"]["发放年月"] for r in ev["records"] if r["kind"] == "payments"] == ["2026-04", "2026-05"]
    assert found[(A, None)]["name"] == "张三"


def test_payment_in_the_death_month_only_is_no_anomaly(station):
    _pay_months(station, A, "张三", ["2026-02", "2026-03"])
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-03-31,2026-04-02,县殡仪馆"])
    assert anomalies(station, "DEATH_PAID") == {}


def test_death_paid_also_for_an_id_not_in_the_register(station):
    _pay_months(station, A, "张三", ["2026-06", "2026-07"], 1000)
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-05-20,2026-05-22,县殡仪馆"])
    assert anomalies(station, "DEATH_PAID")[(A, None)]["amount"] == 2000.0


def test_moved_away_is_no_death(station):
    deliver(station, "persons", [person(A, "张三")])
    _pay_months(station, A, "张三", ["2026-04", "2026-05"])
    deliver(station, "household_deaths", [f"{A},张三,男,,2026-03-15,迁出",
                                          f"{B},李四,男,,2026-03-15,其他"])
    assert anomalies(station, "DEATH_PAID") == {}
    assert anomalies(station, "DEATH_NOT_STOPPED") == {}


def test_cancel_date_stands_in_for_an_empty_death_date(station):
    _pay_months(station, A, "张三", ["2026-03", "2026-04"])
    deliver(station, "household_deaths", [f"{A},张三,男,,2026-03-15,死亡"])
    assert anomalies(station, "DEATH_PAID")[(A, None)]["amount"] == 2000.0


def test_death_date_is_the_earliest_among_the_records(station):
    _pay_months(station, A, "张三", ["2026-02", "2026-03", "2026-04"])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-20,2026-03-25,死亡"])
    assert anomalies(station, "DEATH_PAID")[(A, None)]["amount"] == 2000.0     # 2026-04
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-01-28,2026-01-30,县殡仪馆"])
    assert anomalies(station, "DEATH_PAID")[(A, None)]["amount"] == 6000.0     # 02, 03, 04


def test_death_paid_is_cleared_by_data_and_reopens_with_the_same_id(station):
    _pay_months(station, A, "张三", ["2026-04", "2026-05"])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-10,2026-03-15,死亡"])
    aid = anomalies(station, "DEATH_PAID")[(A, None)]["id"]
    # 公安 corrects the death date (same natural key: ID + 注销日期): no payment after it
    deliver(station, "household_deaths", [f"{A},张三,男,2026-05-10,2026-03-15,死亡"])
    assert anomalies(station, "DEATH_PAID") == {}
    cleared = anomalies(station, "DEATH_PAID", data_status="cleared")
    assert cleared[(A, None)]["id"] == aid
    assert events(station, aid) == ["found", "cleared"]
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-11,2026-03-15,死亡"])
    again = anomalies(station, "DEATH_PAID")[(A, None)]
    assert again["id"] == aid and again["amount"] == 4000.0
    assert events(station, aid) == ["found", "cleared", "reopened"]


def test_death_paid_amount_change_is_an_event(station):
    _pay_months(station, A, "张三", ["2026-04"])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-10,2026-03-15,死亡"])
    aid = anomalies(station, "DEATH_PAID")[(A, None)]["id"]
    _pay_months(station, A, "张三", ["2026-05"], prefix="Q")
    assert anomalies(station, "DEATH_PAID")[(A, None)]["amount"] == 4000.0
    assert events(station, aid) == ["found", "amount"]


# ----------------------------------------------------------------- DEATH_NOT_STOPPED

def test_death_not_stopped_after_the_grace_period(station):
    deliver(station, "persons", [person(A, "张三"), person(B, "李四", "参保缴费")])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-10-16,2026-10-20,死亡",   # as_of − 30
                                          f"{B},李四,男,2026-10-17,2026-10-20,死亡"])  # inside grace
    assert subjects(station, "DEATH_NOT_STOPPED") == {A}


def test_terminal_statuses_are_stopped(station):
    deliver(station, "persons", [person(A, "张三", "死亡"), person(B, "李四", "终止")])
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-01-01,,县殡仪馆",
                                    f"{B},李四,男,1945-02-02,2026-01-01,,县殡仪馆"])
    assert anomalies(station, "DEATH_NOT_STOPPED") == {}


def test_death_not_stopped_clears_when_the_register_stops_the_person(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-01-10,2026-01-15,死亡"])
    aid = anomalies(station, "DEATH_NOT_STOPPED")[(A, None)]["id"]
    deliver(station, "persons", [person(A, "张三", "死亡")])
    assert anomalies(station, "DEATH_NOT_STOPPED") == {}
    assert events(station, aid) == ["found", "cleared"]
    deliver(station, "persons", [person(A, "张三", "退休") + " "])   # clerk reverted it
    assert anomalies(station, "DEATH_NOT_STOPPED")[(A, None)]["id"] == aid


def test_grace_days_parameter_takes_effect(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-11-14,2026-11-14,死亡"])
    assert anomalies(station, "DEATH_NOT_STOPPED") == {}
    st = with_rules_yaml(station, set_param("DEATH_NOT_STOPPED", "grace_days", "0"))
    try:
        st.evaluate(AS_OF)
        assert subjects(st, "DEATH_NOT_STOPPED") == {A}
    finally:
        st.close()


def test_a_disabled_rule_finds_nothing(station):
    st = with_rules_yaml(station, set_param("DEATH_NOT_STOPPED", "enabled", "false"))
    try:
        deliver(st, "persons", [person(A, "张三")])
        deliver(st, "household_deaths", [f"{A},张三,男,2026-01-10,2026-01-15,死亡"])
        assert anomalies(st, "DEATH_NOT_STOPPED") == {}
        assert "DEATH_NOT_STOPPED" not in st.evaluate(AS_OF).rules
    finally:
        st.close()


def test_as_of_moves_the_grace_cutoff(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-11-01,2026-11-02,死亡"])
    assert anomalies(station, "DEATH_NOT_STOPPED") == {}
    station.evaluate(dt.date(2026, 12, 1))
    assert subjects(station, "DEATH_NOT_STOPPED") == {A}


# --------------------------------------------------------------- DEATH_DATE_CONFLICT

def test_date_conflict_beyond_max_days(station):
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-01,2026-03-05,死亡",
                                          f"{B},李四,男,2026-03-01,2026-03-05,死亡"])
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-03-09,,县殡仪馆",   # 8 days
                                    f"{B},李四,男,1945-02-02,2026-03-08,,县殡仪馆"])  # 7 days
    found = anomalies(station, "DEATH_DATE_CONFLICT")
    assert list(found) == [(A, None)]
    ev = json.loads(found[(A, None)]["evidence"])
    assert ev["days_apart"] == 8 and {r["kind"] for r in ev["records"]} == {"household_deaths", "cremations"}


def test_date_conflict_uses_the_cancel_date_and_any_pair(station):
    deliver(station, "household_deaths", [f"{A},张三,男,,2026-03-20,死亡",
                                          f"{A},张三,男,2026-03-01,2026-03-02,死亡"])
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-03-03,,县殡仪馆"])
    assert subjects(station, "DEATH_DATE_CONFLICT") == {A}     # 2026-03-20 vs 2026-03-03


def test_records_without_id_and_moves_take_no_part_in_conflicts(station):
    deliver(station, "household_deaths", [f"{A},张三,男,,2026-01-01,迁出"])
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-06-01,,县殡仪馆",
                                    ",张三,男,1940-01-01,2026-09-01,,县殡仪馆"])
    assert anomalies(station, "DEATH_DATE_CONFLICT") == {}


def test_max_days_parameter(station):
    deliver(station, "household_deaths", [f"{A},张三,男,2026-03-01,2026-03-05,死亡"])
    deliver(station, "cremations", [f"{A},张三,男,1940-01-01,2026-03-04,,县殡仪馆"])
    assert anomalies(station, "DEATH_DATE_CONFLICT") == {}
    st = with_rules_yaml(station, set_param("DEATH_DATE_CONFLICT", "max_days", "2"))
    try:
        st.evaluate(AS_OF)
        assert subjects(st, "DEATH_DATE_CONFLICT") == {A}
    finally:
        st.close()


# ----------------------------------------------------------------- DEATH_FUZZY_MATCH

def _one_off(id18: str, pos: int) -> str:
    c = "7" if id18[pos] != "7" else "8"
    return id18[:pos] + c + id18[pos + 1:]


def test_fuzzy_match_one_substitution(station):
    deliver(station, "persons", [person(A, "张三")])
    typo = _one_off(A, 3)
    deliver(station, "household_deaths", [f"{typo},张三,男,2026-02-01,2026-02-05,死亡"])
    found = anomalies(station, "DEATH_FUZZY_MATCH")
    assert list(found) == [(A, None)]
    assert found[(A, None)]["name"] == "张三"
    ev = json.loads(found[(A, None)]["evidence"])
    assert "第 4 位" in ev["summary"]
    # a fuzzy-only match counts for no other rule
    assert anomalies(station, "DEATH_NOT_STOPPED") == {}


def test_fuzzy_match_adjacent_swap_and_homophone(station):
    deliver(station, "persons", [person(A, "张伟")])
    i = next(i for i in range(10, 16) if A[i] != A[i + 1])
    swapped = A[:i] + A[i + 1] + A[i] + A[i + 2:]
    deliver(station, "cremations", [f"{swapped},张玮,男,1940-01-01,2026-02-01,,县殡仪馆"])
    assert subjects(station, "DEATH_FUZZY_MATCH") == {A}


def test_fuzzy_match_needs_a_similar_name(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "household_deaths", [f"{_one_off(A, 8)},王五,男,2026-02-01,2026-02-05,死亡"])
    assert anomalies(station, "DEATH_FUZZY_MATCH") == {}


def test_two_differences_are_no_match(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "household_deaths",
            [f"{_one_off(_one_off(A, 8), 12)},张三,男,2026-02-01,2026-02-05,死亡"])
    assert anomalies(station, "DEATH_FUZZY_MATCH") == {}


def test_two_candidates_are_never_a_match(station):
    typo = _one_off(A, 16)
    other = typo[:10] + ("5" if typo[10] != "5" else "6") + typo[11:]
    deliver(station, "persons", [person(A, "张三"), person(other, "张三")])
    deliver(station, "household_deaths", [f"{typo},张三,男,2026-02-01,2026-02-05,死亡"])
    assert anomalies(station, "DEATH_FUZZY_MATCH") == {}


def test_a_terminal_candidate_does_not_qualify(station):
    typo = _one_off(A, 16)
    other = typo[:10] + ("5" if typo[10] != "5" else "6") + typo[11:]
    deliver(station, "persons", [person(A, "张三"), person(other, "张三", "终止")])
    deliver(station, "household_deaths", [f"{typo},张三,男,2026-02-01,2026-02-05,死亡"])
    assert subjects(station, "DEATH_FUZZY_MATCH") == {A}


def test_an_exact_id_is_no_fuzzy_match(station):
    deliver(station, "persons", [person(A, "张三"), person(_one_off(A, 9), "张三")])
    deliver(station, "household_deaths", [f"{A},张三,男,2026-02-01,2026-02-05,死亡"])
    assert anomalies(station, "DEATH_FUZZY_MATCH") == {}
    assert subjects(station, "DEATH_NOT_STOPPED") == {A}


def test_death_record_without_id_matches_name_and_birth_date(station):
    deliver(station, "persons", [person(A, "汪 瑜", birth="1940-01-01"),
                                 person(B, "李四", birth="1945-02-02"),
                                 person(make_id("19450202", 23), "李四", birth="1945-02-02")])
    deliver(station, "cremations", [",汪瑜,男,1940-01-01,2026-08-24,,县殡仪馆",
                                    ",李四,男,1945-02-02,2026-08-24,,县殡仪馆",     # two candidates
                                    ",张三,男,1940-01-01,2026-08-24,,县殡仪馆"])    # other name
    assert subjects(station, "DEATH_FUZZY_MATCH") == {A}


def test_birth_date_from_the_id_when_the_register_has_none(station):
    deliver(station, "persons", [person(A, "汪瑜")])
    deliver(station, "cremations", [",汪瑜,男,1940-01-01,2026-08-24,,县殡仪馆"])
    assert subjects(station, "DEATH_FUZZY_MATCH") == {A}


def test_fuzzy_match_clears_when_the_person_is_stopped(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "household_deaths", [f"{_one_off(A, 5)},张三,男,2026-02-01,2026-02-05,死亡"])
    aid = anomalies(station, "DEATH_FUZZY_MATCH")[(A, None)]["id"]
    deliver(station, "persons", [person(A, "张三", "死亡")])
    assert anomalies(station, "DEATH_FUZZY_MATCH") == {}
    assert anomalies(station, "DEATH_FUZZY_MATCH", data_status="cleared")[(A, None)]["id"] == aid


def test_sql_neighbourhood_is_every_substitution_and_adjacent_swap(station):
    from station.rules.definitions import r04_death_fuzzy_match as fuzzy
    head, _, _ = fuzzy.PROBE_SQL.partition("SELECT variant.n")
    ids = [A, "44030319550101001X", "111111111111111111"]
    got = station.conn.execute(head + "SELECT n, v FROM variant",
                               {"ids": json.dumps(ids), "alphabet": json.dumps(list(fuzzy.ALPHABET))}).fetchall()
    for n, id18 in enumerate(ids):
        mine = sorted(v for k, v in got if k == n)
        assert mine == sorted(fuzzy.variants(id18))
        assert len(mine) == len(set(mine)) and id18 not in mine
        assert all(fuzzy.difference(id18, v) for v in mine)
    assert len([v for k, v in got if k == 2]) == 18 * 10          # no swap of equal characters
