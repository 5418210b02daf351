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


def test_two_station_processes_never_take_the_same_delivery(tmp_path):
    """Two reviewers' stations (or a window and `station watch`) on one home: every file
    is applied exactly once, nothing is reported as a duplicate of itself, nothing fails."""
    import shutil
    import sqlite3
    import subprocess
    import sys

    from conftest import SAMPLE_INBOX
    home = tmp_path / "shared-home"
    n = 3 * len(list(SAMPLE_INBOX.rglob("*.csv")))
    for i in range(3):                      # n deliveries: three renamed copies of the samples
        for src in SAMPLE_INBOX.rglob("*.csv"):
            dest = home / "inbox" / src.parent.name / f"{i}_{src.name}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            text = src.read_text(encoding="utf-8")
            # distinct bytes per copy, so that none is a duplicate of another
            shutil.copyfile(src, dest) if i == 0 else dest.write_text(text + "\n" * i, encoding="utf-8")
    cmd = [sys.executable, "-m", "station", "--home", str(home), "ingest", "--no-evaluate"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-2000:] for o in outs]
    conn = sqlite3.connect(home / "station.db")
    statuses = conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    names = [r[0] for r in conn.execute("SELECT original_path FROM deliveries")]
    conn.close()
    assert statuses == [("applied", n)]
    assert len(set(names)) == n
    leftovers = [p for p in (home / "inbox").rglob("*.csv")
                 if "processed" not in p.parts and "rejected" not in p.parts]
    assert leftovers == []
