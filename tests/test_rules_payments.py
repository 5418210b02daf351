"""DUPLICATE_PAYMENT, CONFLICTING_BENEFITS and PAYMENT_UNREGISTERED."""
from __future__ import annotations

import json

from test_rules_support import (AS_OF, anomalies, deliver, events, make_id, payment, person,
                                set_param, with_rules_yaml)

A = make_id("19550101", 1)
B = make_id("19550202", 2)


def test_duplicate_amount_is_all_but_the_lowest_serial(station):
    deliver(station, "persons", [person(A, "张三"), person(B, "李四")])
    deliver(station, "payments", [
        payment("FF2", A, "张三", "2026-04", 100.10),
        payment("FF10", A, "张三", "2026-04", 200.20),     # "FF10" < "FF2": the lowest, kept
        payment("FF3", A, "张三", "2026-04", 300.30),
        payment("FF4", A, "张三", "2026-04", 50.00, "失业保险金"),
        payment("FF5", A, "张三", "2026-04", 60.00, "失业保险金"),
        payment("FF6", A, "张三", "2026-05", 100.00),      # another period: single
        payment("FF7", B, "李四", "2026-04", 100.00),
        payment("FF8", B, "李四", "2026-04", 100.00, "失业保险金"),   # other type: no duplicate
    ])
    found = anomalies(station, "DUPLICATE_PAYMENT")
    assert list(found) == [(A, "2026-04")]
    assert found[(A, "2026-04")]["amount"] == round(100.10 + 300.30 + 60.00, 2)
    ev = json.loads(found[(A, "2026-04")]["evidence"])
    kept = {d["benefit_type"]: d["kept"] for d in ev["duplicates"]}
    assert kept == {"基本养老金": "FF10", "失业保险金": "FF4"}
    assert len([r for r in ev["records"] if r["kind"] == "payments"]) == 5


def test_duplicate_clears_when_a_payment_is_corrected(station):
    deliver(station, "payments", [payment("FF1", A, "张三", "2026-04", 100),
                                  payment("FF2", A, "张三", "2026-04", 100)])
    aid = anomalies(station, "DUPLICATE_PAYMENT")[(A, "2026-04")]["id"]
    deliver(station, "payments", [payment("FF2", A, "张三", "2026-05", 100)])   # same serial, right month
    assert anomalies(station, "DUPLICATE_PAYMENT") == {}
    assert events(station, aid) == ["found", "cleared"]
    deliver(station, "payments", [payment("FF2", A, "张三", "2026-04", 100) + " "])
    assert anomalies(station, "DUPLICATE_PAYMENT")[(A, "2026-04")]["id"] == aid


def test_conflicting_benefits_per_period(station):
    deliver(station, "persons", [person(A, "张三"), person(B, "李四")])
    deliver(station, "payments", [
        payment("P1", A, "张三", "2026-04", 2000), payment("P2", A, "张三", "2026-04", 1800, "失业保险金"),
        payment("P3", A, "张三", "2026-05", 2000), payment("P4", A, "张三", "2026-06", 1800, "失业保险金"),
        payment("P5", B, "李四", "2026-04", 2000), payment("P6", B, "李四", "2026-04", 300, "丧葬补助金"),
    ])
    found = anomalies(station, "CONFLICTING_BENEFITS")
    assert list(found) == [(A, "2026-04")]
    assert found[(A, "2026-04")]["amount"] is None
    ev = json.loads(found[(A, "2026-04")]["evidence"])
    assert sorted(ev["benefit_types"]) == ["基本养老金", "失业保险金"]


def test_exclusive_parameter(station):
    deliver(station, "payments", [payment("P5", B, "李四", "2026-04", 2000),
                                  payment("P6", B, "李四", "2026-04", 300, "丧葬补助金")])
    assert anomalies(station, "CONFLICTING_BENEFITS") == {}
    st = with_rules_yaml(station, set_param("CONFLICTING_BENEFITS", "exclusive",
                                            "[[基本养老金, 失业保险金], [基本养老金, 丧葬补助金]]"))
    try:
        st.evaluate(AS_OF)
        assert set(anomalies(st, "CONFLICTING_BENEFITS")) == {(B, "2026-04")}
    finally:
        st.close()


def test_payment_to_an_unregistered_id(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "payments", [payment("P1", A, "张三", "2026-04", 2000),
                                  payment("P2", B, "李四", "2026-04", 1000.25),
                                  payment("P3", B, "李四", "2026-05", 1000.25)])
    found = anomalies(station, "PAYMENT_UNREGISTERED")
    assert list(found) == [(B, None)]
    assert found[(B, None)]["amount"] == 2000.5 and found[(B, None)]["name"] == "李四"


def test_unregistered_clears_when_the_person_is_registered(station):
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "payments", [payment("P2", B, "李四", "2026-04", 1000)])
    aid = anomalies(station, "PAYMENT_UNREGISTERED")[(B, None)]["id"]
    deliver(station, "persons", [person(B, "李四")])
    assert anomalies(station, "PAYMENT_UNREGISTERED") == {}
    assert events(station, aid) == ["found", "cleared"]


def test_payment_evidence_is_bounded(station):
    rows = [payment(f"S{i:04d}", B, "李四", f"{2000 + i // 12}-{i % 12 + 1:02d}", 10) for i in range(70)]
    deliver(station, "persons", [person(A, "张三")])
    deliver(station, "payments", rows)
    found = anomalies(station, "PAYMENT_UNREGISTERED")[(B, None)]
    ev = json.loads(found["evidence"])
    assert found["amount"] == 700.0
    assert len(ev["records"]) == 50
    assert ev["omitted"] == [{"kind": "payments", "title": "待遇发放", "count": 20, "amount": 200.0}]
