"""A crash mid-file leaves the register exactly as before; the next run applies the file
once, and the result equals an uninterrupted run's."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from station.normalise.ids import check_char

ROWS = 150_000


def make_persons(path: Path, rows: int = ROWS) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("公民身份号码,姓名,性别,出生日期,参保状态,参保日期,月养老金\n")
        for i in range(rows):
            # region code and sequence number make every ID unique (no upserts in place)
            body = f"{100000 + i // 1000}{1940 + i % 60}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
            f.write(f"{body}{check_char(body)},人员{i},男,{1940 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d},"
                    f"退休,1990-01-01,{1000 + i % 5000}.50\n")


def ingest(home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "station", "--home", str(home), "ingest",
                             "--no-evaluate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def write_locked(db: Path) -> bool:
    """Whether another connection holds the write lock (without waiting for it)."""
    if not db.exists():
        return False
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def dump(home: Path) -> tuple:
    conn = sqlite3.connect(home / "station.db")
    persons = conn.execute("SELECT * FROM persons ORDER BY nk").fetchall()
    ledger = conn.execute("SELECT id, sha256, original_name, kind, status, rows_applied, rows_rejected,"
                          " stored_path FROM deliveries ORDER BY id").fetchall()
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    return persons, ledger


def test_sigkill_mid_file_then_rerun_equals_uninterrupted_run(tmp_path):
    source = tmp_path / "persons.csv"
    make_persons(source)

    clean = tmp_path / "clean"
    (clean / "inbox" / "agency").mkdir(parents=True)
    os.link(source, clean / "inbox" / "agency" / "persons.csv")
    assert ingest(clean).wait(120) == 0

    crashed = tmp_path / "crashed"
    (crashed / "inbox" / "agency").mkdir(parents=True)
    os.link(source, crashed / "inbox" / "agency" / "persons.csv")
    proc = ingest(crashed)
    deadline = time.monotonic() + 60
    # Kill once rows are being written inside the file's transaction: the write lock has
    # been held for a while (the schema's own transaction is over in milliseconds). The
    # WAL is no sign: with a 64 MB page cache it grows only when the transaction commits.
    held_since = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, "ingest finished before it could be killed: make the file bigger"
        if write_locked(crashed / "station.db"):
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since > 0.4:
                break
        else:
            held_since = None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    conn = sqlite3.connect(crashed / "station.db")
    assert conn.execute("SELECT count(*) FROM persons").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    conn.close()
    assert (crashed / "inbox" / "agency" / "persons.csv").exists()

    assert ingest(crashed).wait(120) == 0
    assert dump(crashed) == dump(clean)
    assert not (crashed / "inbox" / "agency" / "persons.csv").exists()


def test_crash_between_commit_and_move_is_finished_not_reapplied(tmp_path, monkeypatch):
    from station.home import Home
    from station.inbox import pipeline as pl
    from station.services.station import Station

    home = Home(tmp_path / "h").ensure()
    make_persons(home.inbox / "agency" / "p.csv", rows=50)
    st = Station.open(home)

    def boom(self, src, dest):
        raise KeyboardInterrupt("killed after commit")
    monkeypatch.setattr(pl.Pipeline, "_store", boom)
    try:
        st.ingest(evaluate=False)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert (home.inbox / "agency" / "p.csv").exists()
    [r] = st.ingest(evaluate=False).results
    assert r.status == "applied" and r.recovered
    ledger = st.conn.execute("SELECT status, rows_applied FROM deliveries").fetchall()
    assert ledger == [("applied", 50)]
    assert st.conn.execute("SELECT count(*) FROM persons").fetchone() == (50,)
    assert not (home.inbox / "agency" / "p.csv").exists()
    st.close()


# ------------------------------------------------------------------ the harness, small profile
# bench/crash.py runs the long version (50 kills over a 60,000-person county, 20 kills of
# decisions, 20 of exports); docs/RELIABILITY.md has its last results.

import random  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench import crash as harness  # noqa: E402


def test_repeated_kills_across_a_multi_file_ingest_equal_an_uninterrupted_run(tmp_path):
    results = harness.run(persons=1500, kills=4, decision_kill_count=0, export_kill_count=0, seed=7,
                          work=tmp_path, kills_per_round=4, log=lambda *_: None)
    assert results["kills"] == 4          # each round compared equal inside run()


def test_kills_during_decisions_and_exports(tmp_path):
    corpus = harness.make_corpus(tmp_path / "corpus", 1500)
    home = harness.fresh_home(tmp_path, corpus)
    harness.run_ingest(home)
    rnd = random.Random(3)
    decisions = harness.decision_kills(home, 2, rnd, batch=10, log=lambda *_: None)
    assert decisions["final_entries"] > 0 and decisions["final_entries"] % 10 == 0
    exports = harness.export_kills(home, 2, rnd, log=lambda *_: None)
    assert all(r["final_name"] in ("absent", "complete") for r in exports["records"])
    assert exports["killed_while_writing"] >= 1
    verify = subprocess.run([sys.executable, "-m", "station", "--home", str(home), "verify"],
                            env=harness.child_env(), cwd=ROOT, capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr


def test_the_commit_is_on_disk_before_the_original_moves(station, monkeypatch):
    """A power cut must not keep the move and lose the ledger entry."""
    from conftest import copy_samples
    from station.inbox import pipeline as pl
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("station.db-wal"):
            events.append("wal synced")
        return real_fsync(fd)

    def replace(src, dest):
        events.append("moved")
        return real_replace(src, dest)

    monkeypatch.setattr(pl.os, "replace", replace)
    monkeypatch.setattr("station.register.db.os.fsync", fsync)
    copy_samples(station.home, only="参保单位")
    [r] = station.ingest(evaluate=False).results
    assert r.status == "applied" and events == ["wal synced", "moved"]
