"""Two reviewers and the watcher at once; a lock held too long is a Chinese message.

bench/concurrency.py runs the long version (60 s, a 20,000-person county, three more
counties fed to ``station watch``); docs/RELIABILITY.md has its last figures.
"""
from __future__ import annotations

import sqlite3
import sys
import threading
import time
from pathlib import Path

from conftest import SAMPLES_AS_OF, copy_samples
from station.cli import main
from station.register import db

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench import concurrency  # noqa: E402


def test_two_reviewers_and_the_watcher_small_profile(tmp_path):
    out = concurrency.run(persons=1500, seconds=8, feed_counties=1, cli_decisions=3, work=tmp_path,
                          log=lambda *_: None)
    assert out["errors"] == [] and not out["locked_seen"], out
    assert out["log_entries_added"] == out["decisions_recorded"] > 50
    assert out["decisions_cli"] == 3
    assert out["verify_ok"] and out["integrity"] == "ok"
    assert out["deliveries_fed"] > 0 and out["deliveries_left_in_inbox"] == 0
    assert out["latency_api"]["p99"] < 5.0, out["latency_api"]
    assert out["ok"]


def _hold_write_lock(path: Path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def _loaded_home(station):
    copy_samples(station.home, only="public_security")
    copy_samples(station.home, only="agency")
    station.ingest(as_of=SAMPLES_AS_OF)
    aid = station.conn.execute("SELECT min(id) FROM anomalies").fetchone()[0]
    station.close()
    return aid


def test_a_decision_waits_for_a_writer_instead_of_failing(station, capsys):
    aid = _loaded_home(station)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(station.home.db_path, 1.5, ready))
    holder.start()
    ready.wait(5)
    t = time.perf_counter()
    rc = main(["--home", str(station.home.root), "decide", str(aid), "--action", "take", "--reviewer", "甲"])
    waited = time.perf_counter() - t
    holder.join()
    assert rc == 0 and waited >= 1.0
    assert "已记录 1 条决定" in capsys.readouterr().out


def test_a_lock_held_past_every_retry_is_a_chinese_message_not_a_traceback(station, capsys, monkeypatch):
    aid = _loaded_home(station)
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(station.home.db_path, 4, ready))
    holder.start()
    ready.wait(5)
    rc = main(["--home", str(station.home.root), "decide", str(aid), "--action", "take", "--reviewer", "甲"])
    holder.join()
    err = capsys.readouterr().err
    assert rc == 3
    assert err.startswith("错误：") and "数据库正被其他程序长时间占用" in err and "Traceback" not in err
    conn = sqlite3.connect(station.home.db_path)
    assert conn.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    conn.close()
