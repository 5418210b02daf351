"""The sample county: every sample delivery applied at the samples' as_of must raise
exactly the anomalies in expected_anomalies.json — subjects, periods, amounts to the cent,
per rule, and nothing else."""
from __future__ import annotations

import json

import pytest

from conftest import SAMPLES_AS_OF, copy_samples, expected_anomalies
from station.home import Home
from station.services.station import Station
from station.rules import engine  # noqa: F401  (registers the rules)
from station.rules.base import RULES

EXPECTED = expected_anomalies()["anomalies"]


@pytest.fixture(scope="module")
def sample_station(tmp_path_factory):
    """All sample deliveries applied at the samples' as_of, once for this module."""
    st = Station.open(Home(tmp_path_factory.mktemp("samples") / "home").ensure())
    copy_samples(st.home)
    st.ingest(as_of=SAMPLES_AS_OF)
    yield st
    st.close()


def _open(station, rule):
    return sorted(
        [(s, p or None, None if a is None else round(a, 2)) for s, p, a in station.conn.execute(
            "SELECT subject, period, amount FROM anomalies WHERE rule = ? AND data_status = 'open'",
            (rule,))], key=repr)


@pytest.mark.parametrize("rule", list(RULES))
def test_expected_anomalies_per_rule(sample_station, rule):
    expected = sorted([(s, p, None if a is None else round(a, 2))
                       for s, p, a in EXPECTED.get(rule, [])], key=repr)
    assert _open(sample_station, rule) == expected


def test_no_anomaly_of_an_unknown_rule(sample_station):
    rules = {r for (r,) in sample_station.conn.execute("SELECT DISTINCT rule FROM anomalies")}
    assert rules <= set(EXPECTED)
    assert set(EXPECTED) <= set(RULES)


def test_every_anomaly_has_reviewable_evidence(sample_station):
    files = {name for (name,) in sample_station.conn.execute("SELECT original_name FROM deliveries")}
    rows = sample_station.conn.execute(
        "SELECT rule, subject, name, department, severity, evidence FROM anomalies").fetchall()
    assert rows
    for rule, subject, name, department, severity, evidence in rows:
        ev = json.loads(evidence)
        assert ev["summary"] and isinstance(ev["summary"], str), (rule, subject)
        assert ev["records"], (rule, subject)
        for rec in ev["records"]:
            assert rec["file"] in files and rec["row_no"] >= 2 and rec["delivery_id"]
            assert rec["fields"] and rec["title"]
        assert name, (rule, subject)
        assert department == RULES[rule].department
        assert severity == RULES[rule].severity


def test_evaluating_again_changes_nothing(loaded_station):
    before = loaded_station.conn.execute(
        "SELECT id, rule, subject, period, amount, data_status FROM anomalies ORDER BY id").fetchall()
    result = loaded_station.evaluate(SAMPLES_AS_OF)
    after = loaded_station.conn.execute(
        "SELECT id, rule, subject, period, amount, data_status FROM anomalies ORDER BY id").fetchall()
    assert before == after
    assert (result.new, result.cleared, result.reopened) == (0, 0, 0)


def test_death_paid_evidence_names_the_death_and_the_payments(sample_station):
    ev = json.loads(sample_station.conn.execute(
        "SELECT evidence FROM anomalies WHERE rule = 'DEATH_PAID' AND subject = '440303193501279793'"
    ).fetchone()[0])
    kinds = [r["kind"] for r in ev["records"]]
    assert {"household_deaths", "cremations", "persons"} <= set(kinds)
    pays = [r for r in ev["records"] if r["kind"] == "payments"]
    assert len(pays) == ev["payments_count"] == 7
    assert all(r["fields"]["发放年月"] > "2026-03" for r in pays)
    assert round(sum(r["fields"]["金额"] for r in pays), 2) == 36166.2
    assert "2026-03-01" in ev["summary"] and "36,166.20" in ev["summary"]
