"""station backup / station restore: consistent copies while the station runs, and a
restore that checks the copy before it replaces anything."""
from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from conftest import SAMPLES_AS_OF, copy_samples
from station.cli import main
from station.services.backup import BackupError, backup, check_copy, restore
from station.register.db import connect
from station.review.log import decide, verify_chain


@pytest.fixture
def reviewed(station):
    """A home with anomalies and a few decisions; the station object is closed."""
    copy_samples(station.home, only="public_security")
    copy_samples(station.home, only="agency")
    station.ingest(as_of=SAMPLES_AS_OF)
    ids = [r[0] for r in station.conn.execute("SELECT id FROM anomalies ORDER BY id")]
    decide(station.conn, station.cfg, ids[:3], "take", "甲")
    station.close()
    return station.home


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def entries(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    finally:
        conn.close()


def test_backup_command(reviewed, capsys):
    assert main(["--home", str(reviewed.root), "backup"]) == 0
    out = capsys.readouterr().out
    [copy] = (reviewed.root / "backups").iterdir()
    assert re.fullmatch(r"station-backup-\d{8}-\d{6}\.db", copy.name)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE((reviewed.root / "backups").stat().st_mode) == 0o700
    assert "已备份到" in out and "校验值：entries=3 head=" in out
    assert not list(copy.parent.glob(f"{copy.name}-*"))          # self-contained: no -wal / -journal
    info = check_copy(copy)
    assert info.chain_ok and info.entries == 3
    # A second backup in the same second gets its own name; a folder of one's choice works.
    other = reviewed.root.parent / "usb"
    assert main(["--home", str(reviewed.root), "backup", str(other)]) == 0
    assert main(["--home", str(reviewed.root), "backup", str(other)]) == 0
    assert len(list(other.glob("station-backup-*.db"))) == 2


def test_backups_taken_while_reviewers_write_are_consistent(reviewed):
    stop = threading.Event()
    errors = []

    def reviewer():
        conn = connect(reviewed.db_path)
        from station.config import load_config
        cfg = load_config(None)
        ids = [r[0] for r in conn.execute("SELECT id FROM anomalies")]
        i = 0
        while not stop.is_set():
            try:
                decide(conn, cfg, [ids[i % len(ids)]], "note", "乙", note=f"备注 {i}")
            except Exception as e:                    # noqa: BLE001
                errors.append(e)
            i += 1
        conn.close()

    threads = [threading.Thread(target=reviewer) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        copies = []
        for _ in range(5):
            time.sleep(0.1)
            copies.append(backup(reviewed.db_path, reviewed.root / "backups"))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    sizes = [c.entries for c in copies]
    assert all(c.chain_ok for c in copies) and sizes == sorted(sizes) and sizes[-1] > sizes[0]
    for c in copies:
        conn = sqlite3.connect(c.path)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()


def test_restore_replaces_the_database_and_keeps_the_old_one(reviewed, capsys):
    info = backup(reviewed.db_path, reviewed.root / "backups")
    conn = connect(reviewed.db_path)
    from station.config import load_config
    decide(conn, load_config(None), [conn.execute("SELECT min(id) FROM anomalies").fetchone()[0]], "note", "乙",
           note="备份之后的决定")
    conn.close()
    assert entries(reviewed.db_path) == 4
    assert main(["--home", str(reviewed.root), "restore", str(info.path), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "已从" in out and "校验值：entries=3" in out and "before-restore" in out
    assert entries(reviewed.db_path) == 3
    [kept] = reviewed.root.glob("station.db.before-restore-*")
    assert entries(kept) == 4 and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert main(["--home", str(reviewed.root), "verify"]) == 0
    assert info.path.exists()                                       # the backup itself is untouched
    assert check_copy(info.path).entries == 3


def _tampered(reviewed, tmp_path) -> Path:
    info = backup(reviewed.db_path, tmp_path / "b")
    conn = sqlite3.connect(info.path)
    conn.execute("DROP TRIGGER decisions_no_update")
    conn.execute("UPDATE decisions SET note = '无问题' WHERE seq = 2")
    conn.commit()
    conn.close()
    return info.path


def _foreign_db(reviewed, tmp_path) -> Path:
    p = tmp_path / "other.db"
    conn = sqlite3.connect(p)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return p


def _garbage(reviewed, tmp_path) -> Path:
    p = tmp_path / "garbage.db"
    p.write_bytes(os.urandom(20000))
    return p


def _truncated(reviewed, tmp_path) -> Path:
    info = backup(reviewed.db_path, tmp_path / "b")
    data = info.path.read_bytes()
    p = tmp_path / "truncated.db"
    p.write_bytes(data[: len(data) // 2])
    return p


def _missing(reviewed, tmp_path) -> Path:
    return tmp_path / "nowhere.db"


@pytest.mark.parametrize("make, words", [
    (_tampered, "复核日志校验不通过"),
    (_foreign_db, "不是本站的数据库备份"),
    (_garbage, "不是有效的数据库文件"),
    (_truncated, "已损坏"),
    (_missing, "找不到备份文件"),
])
def test_restore_refuses_a_bad_copy_and_changes_nothing(reviewed, tmp_path, capsys, make, words):
    bad = make(reviewed, tmp_path)
    before = sha(reviewed.db_path)
    assert main(["--home", str(reviewed.root), "restore", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and words in err and "Traceback" not in err, err
    assert sha(reviewed.db_path) == before
    assert not list(reviewed.root.glob("station.db.before-restore-*"))
    assert not [p for p in reviewed.root.iterdir() if p.name.endswith(".part")]


def test_restore_refuses_while_the_station_is_in_use(reviewed):
    info = backup(reviewed.db_path, reviewed.root / "backups")
    watcher_like = connect(reviewed.db_path)                 # another program has it open
    try:
        with pytest.raises(BackupError, match="正在被其他 station 程序使用"):
            restore(reviewed.db_path, info.path)
    finally:
        watcher_like.close()
    assert not list(reviewed.root.glob("station.db.before-restore-*"))
    restore(reviewed.db_path, info.path)                     # closed: fine


def test_restore_into_a_home_without_a_database(reviewed, tmp_path):
    info = backup(reviewed.db_path, tmp_path / "b")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    got = restore(fresh / "station.db", info.path)
    assert got.kept_as is None and got.entries == 3 and got.chain_ok
    assert entries(fresh / "station.db") == 3


def test_backup_of_a_home_without_a_database_is_refused(tmp_path, capsys):
    assert main(["--home", str(tmp_path), "backup"]) == 2
    assert "没有可备份的内容" in capsys.readouterr().err
