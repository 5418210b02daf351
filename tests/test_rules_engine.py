"""Engine additions made for the rules: shared intermediate results and planner statistics."""
from __future__ import annotations

from station.rules.base import Context
from station.rules.engine import refresh_statistics

from test_rules_support import AS_OF, anomalies, deliver, make_id, payment


def _bulk_payments(station, n: int) -> None:
    conn = station.conn
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO payments (nk, serial_no, id_number, id_number_valid, period, benefit_type, amount,"
        " delivery_id, row_no) VALUES (?, ?, ?, 1, '2026-01', '基本养老金', 1.0, 1, ?)",
        ((f"B{i}", f"B{i}", f"ID{i:016d}", i) for i in range(n)))
    conn.execute("COMMIT")


def test_statistics_are_refreshed_when_a_table_grows_a_lot(station):
    assert refresh_statistics(station.conn, ["payments"]) == []        # too small to matter
    _bulk_payments(station, 12_000)
    assert refresh_statistics(station.conn, ["payments", "persons"]) == ["payments"]
    assert refresh_statistics(station.conn, ["payments"]) == []        # fresh now
    result = station.evaluate(AS_OF, kinds=["payments"])
    assert result.analyzed == []


def test_payment_rules_share_one_pass_over_the_payments(station):
    a = make_id("19550101", 1)
    deliver(station, "payments", [payment("P1", a, "甲", "2026-04", 100),
                                  payment("P2", a, "甲", "2026-04", 100),
                                  payment("P3", a, "甲", "2026-04", 90, "失业保险金")])
    assert set(anomalies(station, "DUPLICATE_PAYMENT")) == {(a, "2026-04")}
    assert set(anomalies(station, "CONFLICTING_BENEFITS")) == {(a, "2026-04")}
    shared: dict = {}
    from station.rules.base import RULES
    for rule in ("DUPLICATE_PAYMENT", "CONFLICTING_BENEFITS"):
        params = dict(RULES[rule].defaults)
        list(RULES[rule].find(Context(station.conn, AS_OF, params, shared)))
    assert list(shared) == ["multi_payment_pairs"]
