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
        tick=0.05, **kw)
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
