"""Issue 17, deliveries: every file applied whole and exactly once, never blocked, never
misreported (docs/RELIABILITY.md § Deliveries lists each guarantee with its test here)."""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from conftest import SAMPLE_INBOX, copy_samples
from station.inbox.pipeline import Pipeline
from station.register import db

DEATHS = (SAMPLE_INBOX / "public_security" / "户籍注销人员_1.csv").read_bytes()


def ledger(station) -> list[tuple]:
    return station.conn.execute(
        "SELECT status, original_name, sha256 FROM deliveries ORDER BY id").fetchall()


# ---------------------------------------------------------------- item 7: a fresh home

def test_opening_a_register_while_another_process_creates_it_waits_instead_of_failing(tmp_path):
    """The state a second process meets when the first is half-way through creating the
    register: a rollback-journal database with a write lock held. Switching it to WAL
    failed at once ("database is locked") and the message said to restore a backup."""
    path = tmp_path / "station.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("CREATE TABLE x (y)")
    first.execute("BEGIN IMMEDIATE")
    first.execute("INSERT INTO x VALUES (1)")
    threading.Timer(0.5, lambda: first.execute("COMMIT")).start()
    conn = db.connect(path)          # waits for the lock, then creates the schema
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    conn.close()
    first.close()


def test_a_register_locked_for_too_long_never_suggests_restoring_a_backup(tmp_path, monkeypatch):
    path = tmp_path / "station.db"
    first = sqlite3.connect(path, isolation_level=None)
    first.execute("CREATE TABLE x (y)")
    first.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    with pytest.raises(db.StorageError) as e:
        db.connect(path)
    first.execute("ROLLBACK")
    assert e.value.kind == "locked"
    assert "restore" not in str(e.value) and "备份" not in str(e.value)
    assert "占用" in str(e.value)


# ---------------------------------------------------------------- item 3: exactly once

def test_the_same_bytes_from_two_processes_at_once_are_applied_once(station, monkeypatch):
    """`station ingest A.csv & station ingest B.csv` with the same content: the second
    process applies B between the first one's duplicate check and its write."""
    a = station.home.inbox / "public_security" / "A.csv"
    b = station.home.inbox / "public_security" / "B.csv"
    a.write_bytes(DEATHS)
    b.write_bytes(DEATHS)
    other = Pipeline(station.home, station.cfg, db.connect(station.home.db_path))
    first = Pipeline(station.home, station.cfg, station.conn)
    real_apply = Pipeline._apply
    done = []

    def apply_after_the_other(self, *args, **kwargs):
        if self is first and not done:
            done.append(other.process(b))
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "_apply", apply_after_the_other)
    result = first.process(a)
    assert done[0].status == "applied"
    assert result.status == "duplicate" and result.duplicate_of == done[0].delivery_id
    statuses = [r[0] for r in ledger(station)]
    assert statuses.count("applied") == 1
    other.conn.close()


# ---------------------------------------------------------------- item 6: long names

LONG = "甲" * 83 + ".csv"          # 253 bytes of UTF-8, the most a name may have is 255


def test_a_rejected_file_with_a_long_name_never_blocks_the_inbox(station):
    assert len(LONG.encode()) == 253
    bad = station.home.inbox / "public_security" / LONG
    bad.write_text("这不是数据\n", encoding="utf-8")
    good = station.home.inbox / "public_security" / "zz_deaths.csv"
    good.write_bytes(DEATHS)
    report = station.ingest(evaluate=False)
    statuses = {r.name: r.status for r in report.results}
    assert statuses == {LONG: "rejected", "zz_deaths.csv": "applied"}
    assert not bad.exists() and not good.exists()
    stored = [p for p in station.home.rejected.iterdir()]
    assert len(stored) == 2                  # the original and its reason, both kept
    original = next(p for p in stored if not p.name.endswith(".reason.txt"))
    assert original.suffix == ".csv" and original.name.startswith("甲")
    assert original.read_text(encoding="utf-8") == "这不是数据\n"


def test_applied_files_with_long_names_get_distinct_names_that_fit(station):
    first = station.home.inbox / "public_security" / LONG
    first.write_bytes(DEATHS)
    station.ingest(evaluate=False)
    again = station.home.inbox / "public_security" / LONG
    again.write_bytes(DEATHS + "110101194001011234,某人,男,2026-01-01,2026-01-02,死亡\n".encode())
    report = station.ingest(evaluate=False)
    assert [r.status for r in report.results] == ["applied"]
    stored = sorted(p for p in station.home.processed.rglob("*.csv"))
    assert len(stored) == 2 and len({p.name for p in stored}) == 2
    assert all(len(p.name.encode()) <= 255 and p.suffix == ".csv" for p in stored)
    assert sorted(p.read_bytes() for p in stored) == sorted([DEATHS, again_bytes(report, station)])


def again_bytes(report, station) -> bytes:
    return (station.home.root / report.results[0].stored_path).read_bytes()


# ---------------------------------------------------------------- item 19: network filesystems

@pytest.mark.parametrize("fstype", ["vboxsf", "fuse.vmhgfs-fuse", "9p", "drvfs", "fuse.s3fs",
                                    "fuse.gcsfuse", "fuse.smbnetfs", "fuse.juicefs"])
def test_more_network_filesystems_are_refused(tmp_path, fstype):
    from station.home import HomeError, check_local
    fake = tmp_path / "mountinfo"
    fake.write_text(f"22 1 253:1 / / rw - ext4 /dev/vda1 rw\n"
                    f"41 22 0:40 / {tmp_path}/share rw - {fstype} share rw\n", encoding="utf-8")
    with pytest.raises(HomeError, match="网络文件系统"):
        check_local(tmp_path / "share" / "home", fake)


def test_a_database_linked_onto_a_share_is_refused(tmp_path, monkeypatch):
    from station import platform
    from station.home import Home, HomeError
    (tmp_path / "share").mkdir()
    root = tmp_path / "home"
    root.mkdir()
    (root / "station.db").symlink_to(tmp_path / "share" / "station.db")
    fake = tmp_path / "mountinfo"
    fake.write_text(f"22 1 253:1 / / rw - ext4 /dev/vda1 rw\n"
                    f"41 22 0:40 / {tmp_path}/share rw - cifs //server/share rw\n", encoding="utf-8")
    monkeypatch.setattr(platform, "MOUNTINFO", fake)
    with pytest.raises(HomeError, match="数据库文件.*网络文件系统（cifs"):
        Home(root).ensure()
    assert not (tmp_path / "share" / "station.db").exists()
