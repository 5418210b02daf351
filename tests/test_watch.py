"""The watcher takes a file only once it is complete, and never re-reads processed files."""
from __future__ import annotations

import threading
import time

from conftest import SAMPLE_INBOX
from station.inbox.watcher import InboxWatcher


def run_watcher(station, **kw):
    results = []
    watcher = InboxWatcher(station.home, lambda files: results.extend(
        station.ingest(files, evaluate=False).results), settle_seconds=0.4, rescan_seconds=0.5,
        tick=0.05, **{"quiet_seconds": 1.5, **kw})
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    return watcher, thread, results


def wait_for(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_file_still_being_written_is_taken_only_when_complete(station):
    data = (SAMPLE_INBOX / "agency/参保人员信息_202610.csv").read_bytes()
    watcher, thread, results = run_watcher(station)
    try:
        target = station.home.inbox / "agency" / "persons.csv"
        chunks = [data[i: i + len(data) // 10] for i in range(0, len(data), len(data) // 10)]
        with open(target, "wb") as f:          # a slow copy: a chunk every 0.15 s
            for chunk in chunks:
                f.write(chunk)
                f.flush()
                time.sleep(0.15)
                assert results == [], "taken while still being written"
        assert wait_for(lambda: len(results) == 1)
        assert results[0].status == "applied" and results[0].rows_applied == 601
        assert results[0].rows_rejected == 0
        time.sleep(1.2)                         # several rescans later: not taken again
        assert len(results) == 1
    finally:
        watcher.stop()
        thread.join(5)


def test_polling_mode_and_temp_files(station):
    watcher, thread, results = run_watcher(station, poll=True)
    try:
        (station.home.inbox / "~$lock.xlsx").write_bytes(b"x")
        (station.home.inbox / "a.csv.part").write_bytes(b"x")
        (station.home.inbox / "units.csv").write_bytes((SAMPLE_INBOX / "agency/参保单位.csv").read_bytes())
        assert wait_for(lambda: len(results) == 1)
        time.sleep(1.0)
        assert [r.name for r in results] == ["units.csv"]
        assert watcher.state.mode == "polling"
    finally:
        watcher.stop()
        thread.join(5)
    assert watcher.state.mode == "stopped"


def test_inbox_that_disappears_and_comes_back(station):
    import shutil
    watcher, thread, results = run_watcher(station)
    try:
        assert wait_for(lambda: watcher.state.mode == "watching")
        shutil.rmtree(station.home.inbox)
        assert wait_for(lambda: watcher.state.mode == "waiting-for-folder")
        station.home.ensure()
        (station.home.inbox / "units.csv").write_bytes((SAMPLE_INBOX / "agency/参保单位.csv").read_bytes())
        assert wait_for(lambda: len(results) == 1)
        assert watcher.state.mode == "watching"
    finally:
        watcher.stop()
        thread.join(5)


# ------------------------------------------------------------------ the watcher survives

import sqlite3  # noqa: E402

import pytest  # noqa: E402

from station.inbox import watcher as watcher_module  # noqa: E402
from station.normalise.ids import check_char  # noqa: E402


def deaths_csv(i: int) -> str:
    body = f"4403031950{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return ("公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
            f"{body}{check_char(body)},某{i},男,2026-01-02,2026-01-05,死亡\n")


class DeafObserver(threading.Thread):
    """An observer that is alive and never delivers an event (the kernel queue overflowed)."""

    def __init__(self, *a, **k):
        super().__init__(daemon=True)
        self._halt = threading.Event()

    def schedule(self, *a, **k):
        pass

    def run(self):
        self._halt.wait()

    def stop(self):
        self._halt.set()


def test_periodic_rescan_finds_a_file_whose_event_was_lost(station, monkeypatch):
    monkeypatch.setattr(watcher_module, "Observer", DeafObserver)
    watcher, thread, results = run_watcher(station)
    try:
        assert wait_for(lambda: watcher.state.mode == "watching")
        (station.home.inbox / "public_security" / "d.csv").write_text(deaths_csv(1), encoding="utf-8")
        assert wait_for(lambda: len(results) == 1)
        assert results[0].status == "applied"
    finally:
        watcher.stop()
        thread.join(5)


def test_a_dead_observer_is_restarted_and_delivers_events_again(station):
    watcher = InboxWatcher(station.home, lambda files: results.extend(
        station.ingest(files, evaluate=False).results), settle_seconds=0.3, rescan_seconds=3600, tick=0.05)
    results = []
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: watcher.state.mode == "watching")
        first = watcher._observer
        first.stop()                                   # the observer thread dies
        first.join(5)
        def restarted():
            current = watcher._observer           # read once: None while it is being replaced
            return watcher.state.restarts == 1 and current not in (None, first) and current.is_alive()
        assert wait_for(restarted)
        time.sleep(0.3)                                # the rescan at restart is over
        (station.home.inbox / "public_security" / "d.csv").write_text(deaths_csv(2), encoding="utf-8")
        assert wait_for(lambda: len(results) == 1)     # found by an event: no rescan for an hour
        assert watcher.state.mode == "watching"
    finally:
        watcher.stop()
        thread.join(5)


@pytest.mark.parametrize("poll", [False, True])
def test_a_share_that_disappears_with_files_and_comes_back(station, poll):
    import shutil
    watcher, thread, results = run_watcher(station, poll=poll)
    try:
        assert wait_for(lambda: watcher.state.mode == ("polling" if poll else "watching"))
        shutil.rmtree(station.home.inbox)
        assert wait_for(lambda: watcher.state.mode == "waiting-for-folder")
        time.sleep(0.5)
        (station.home.inbox / "public_security").mkdir(parents=True)
        (station.home.inbox / "public_security" / "d.csv").write_text(deaths_csv(3), encoding="utf-8")
        assert wait_for(lambda: len(results) == 1)
        assert results[0].status == "applied"
        assert watcher.state.mode == ("polling" if poll else "watching")
    finally:
        watcher.stop()
        thread.join(5)


def test_five_hundred_files_dropped_at_once_are_each_applied_once(station):
    """bench/watch.py drops 5,000 (docs/RELIABILITY.md)."""
    n = 500
    watcher, thread, results = run_watcher(station)
    try:
        folder = station.home.inbox / "public_security"
        for i in range(n):
            (folder / f"d{i:04d}.csv").write_text(deaths_csv(i), encoding="utf-8")
        assert wait_for(lambda: len(results) >= n, timeout=120)
        time.sleep(1.5)                                 # more rescans: nothing taken twice
    finally:
        watcher.stop()
        thread.join(5)
    assert len(results) == n and {r.status for r in results} == {"applied"}
    assert len({r.name for r in results}) == n
    ledger = station.conn.execute("SELECT count(*), count(DISTINCT sha256) FROM deliveries").fetchone()
    assert ledger == (n, n)
    assert not [p for p in folder.iterdir()]
    assert len(list(station.home.processed.rglob("*.csv"))) == n


def test_a_file_failing_for_the_environment_is_retried_with_backoff_not_in_a_loop(station, monkeypatch):
    from station.inbox.pipeline import Pipeline
    from station.register.db import StorageError
    calls, errors = [], []
    real = Pipeline.process
    locked = threading.Event()
    locked.set()

    def process(self, path):
        calls.append(time.monotonic())
        if locked.is_set():
            raise sqlite3.OperationalError("database is locked")
        return real(self, path)

    monkeypatch.setattr(Pipeline, "process", process)
    results = []
    watcher = InboxWatcher(station.home, lambda files: results.extend(
        station.ingest(files, evaluate=False).results), settle_seconds=0.1, rescan_seconds=0.2,
        tick=0.02, retry_seconds=0.4, retry_max_seconds=1.6, on_error=errors.append)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    target = station.home.inbox / "public_security" / "d.csv"
    try:
        # dropped while watched (its close is seen): a file found by a scan waits the quiet period
        assert wait_for(lambda: watcher.state.mode == "watching")
        target.write_text(deaths_csv(4), encoding="utf-8")
        time.sleep(4.0)
        # 0.4 + 0.8 + 1.6 + 1.6 … : at most 5 attempts in 4 s, where a hot loop would make hundreds
        assert 2 <= len(calls) <= 5, len(calls)
        gaps = [b - a for a, b in zip(calls, calls[1:])]
        assert all(g >= 0.35 for g in gaps), gaps
        assert target.exists() and results == []
        assert watcher.state.backing_off == 1 and thread.is_alive()
        assert isinstance(errors[0], StorageError) and "数据库正被其他程序" in str(errors[0])
        # A new copy of the file is tried at once, and once the database is free it applies.
        locked.clear()
        target.write_text(deaths_csv(5), encoding="utf-8")
        assert wait_for(lambda: len(results) == 1, timeout=3)
        assert results[0].status == "applied" and watcher.state.backing_off == 0
    finally:
        watcher.stop()
        thread.join(5)


def test_an_observer_that_cannot_start_falls_back_to_polling(station, monkeypatch):
    class OutOfWatches(DeafObserver):
        def start(self):
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(watcher_module, "Observer", OutOfWatches)
    watcher, thread, results = run_watcher(station)
    try:
        assert wait_for(lambda: watcher.state.mode == "polling")
        (station.home.inbox / "public_security" / "d.csv").write_text(deaths_csv(6), encoding="utf-8")
        assert wait_for(lambda: len(results) == 1)
    finally:
        watcher.stop()
        thread.join(5)
