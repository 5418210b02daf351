"""Helpers for the review, export and report tests (no tests here).

Anomalies are inserted directly with SQL, so that these tests do not depend on the
reading, normalisation or rule layers.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from station.config import load_config
from station.home import Home
from station.register.db import connect

REPORT_FIXTURES = Path(__file__).parent / "fixtures" / "report"
ID_A = "420105198001011234"


def make_home(tmp_path: Path, *, four_eyes: bool = False, threshold: float = 10000) -> Home:
    """A home whose rules.yaml has only a review section, so that the CLI tests do not
    depend on which rules are registered."""
    home = Home(tmp_path / "home").ensure()
    home.rules_path.write_text(
        "review:\n  ageing_days: 30\n"
        f"  four_eyes: {{enabled: {'true' if four_eyes else 'false'}, threshold: {threshold}}}\n",
        encoding="utf-8")
    return home


def make_conn(tmp_path: Path):
    return connect(tmp_path / "station.db")


def make_cfg(four_eyes: bool = False, threshold: float = 10000.0):
    cfg = load_config(None)
    cfg.review = dataclasses.replace(cfg.review, four_eyes=four_eyes, four_eyes_threshold=threshold)
    return cfg


def add_anomaly(conn, *, id: int | None = None, rule: str = "DEATH_PAID", subject: str = ID_A,
                period: str = "", department: str = "public_security", name: str = "张三",
                amount: float | None = None, first_seen: str = "2026-10-05T09:00:00",
                data_status: str = "open", cleared_at: str | None = None) -> int:
    cur = conn.execute(
        "INSERT INTO anomalies (id, rule, subject, period, department, severity, name, amount, evidence,"
        " data_status, review_status, first_seen, last_seen, cleared_at, as_of)"
        " VALUES (?, ?, ?, ?, ?, 'high', ?, ?, '{}', ?, 'new', ?, ?, ?, ?)",
        (id, rule, subject, period or "", department, name, amount, data_status, first_seen,
         first_seen, cleared_at, first_seen[:10]))
    return cur.lastrowid


def set_clock(monkeypatch, at: str) -> None:
    """Make the review log stamp decisions with ``at``."""
    monkeypatch.setattr("station.review.log.now_iso", lambda: at)


def load_report_fixture(conn, name: str = "october.json") -> dict:
    from station.review.log import decide
    data = json.loads((REPORT_FIXTURES / name).read_text(encoding="utf-8"))
    for a in data["anomalies"]:
        add_anomaly(conn, **a)
    conn.executemany("INSERT INTO anomaly_events (anomaly_id, at, as_of, event) VALUES (?, ?, ?, ?)",
                     [(aid, at, at[:10], event) for aid, at, event in data["events"]])
    cfg = make_cfg()
    with pytest.MonkeyPatch.context() as mp:
        for at, aid, action, reviewer, note, amount in data["decisions"]:
            set_clock(mp, at)
            decide(conn, cfg, [aid], action, reviewer, note=note, amount=amount)
    return data


def drop_triggers(conn) -> None:
    conn.execute("DROP TRIGGER decisions_no_update")
    conn.execute("DROP TRIGGER decisions_no_delete")
