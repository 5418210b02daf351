"""The demo county's money side (station/demo/money.py): read by the station, the county
raises exactly the anomalies the generator planted — all 21 rules, the five money-side
ones included — and adding the money side leaves every other file byte for byte."""
from __future__ import annotations

import hashlib

import pytest

from station.demo.generate import generate_county
from station.demo.money import MONEY_RULES
from station.home import Home
from station.services.station import Station


def _open(st: Station, rule: str) -> list:
    return sorted([[s, p or None, None if a is None else round(a, 2)] for s, p, a in st.conn.execute(
        "SELECT subject, period, amount FROM anomalies WHERE rule = ? AND data_status = 'open'", (rule,))],
        key=repr)


@pytest.mark.parametrize("messy", [False, True], ids=["clean", "messy"])
def test_the_station_finds_exactly_the_planted_money_side(tmp_path, messy):
    home = Home(tmp_path / "home").ensure()
    summary = generate_county(home.inbox, persons=2000, seed=5, messy=messy, money=True)
    assert {"contributions_due", "tax_collections", "fund_account_entries", "bank_returns"} <= set(summary.counts)
    assert all(summary.expected[r] for r in MONEY_RULES)           # every money rule has plants
    assert all(summary.near_misses[r] for r in MONEY_RULES if r != "SHARED_ACCOUNT")
    st = Station.open(home)
    try:
        report = st.ingest(as_of=summary.as_of)
        money_files = [r for r in report.results if r.kind in
                       ("contributions_due", "tax_collections", "fund_account_entries", "bank_returns")]
        assert len(money_files) == 6 and all(r.status == "applied" and not r.rows_rejected for r in money_files)
        for rule, expected in summary.expected.items():
            assert _open(st, rule) == sorted(expected, key=repr), rule
    finally:
        st.close()


def test_the_money_side_leaves_the_other_files_alone(tmp_path):
    def hashes(dest):
        return {p.relative_to(dest).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in dest.rglob("*") if p.is_file()}
    without = generate_county(tmp_path / "a", persons=800, seed=3, messy=True)
    with_money = generate_county(tmp_path / "b", persons=800, seed=3, messy=True, money=True)
    a, b = hashes(tmp_path / "a"), hashes(tmp_path / "b")
    assert set(a) < set(b) and {k: b[k] for k in a} == a
    assert {k.split("/")[0] for k in set(b) - set(a)} == {"agency", "tax", "finance", "bank"}
    assert {r: v for r, v in with_money.expected.items() if r not in MONEY_RULES} == without.expected
