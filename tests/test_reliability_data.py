"""Data at rest: owner-only files, no database on a network filesystem, a log without
personal data, and a full or read-only disk that marks nothing applied."""
from __future__ import annotations

import csv
import errno
import gc
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLE_INBOX, SAMPLES_AS_OF, copy_samples
from station import log as station_log
from station.cli import main
from station import platform
from station.home import Home, HomeError, check_local, filesystem_of
from station.register.apply import RowWriter
from station.services.station import Station


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


# ------------------------------------------------------------------ permissions

def test_everything_the_station_writes_is_owner_only(tmp_path, capsys):
    old = os.umask(0o022)                      # a typical desktop umask
    try:
        home = tmp_path / "home"
        root = Home(home).ensure()
        copy_samples(root, only="public_security")
        copy_samples(root, only="agency")
        (root.inbox / "public_security" / "junk.csv").write_bytes(b"\x00\x01\x02" * 100)
        assert main(["--home", str(home), "ingest", "--as-of", SAMPLES_AS_OF.isoformat()]) == 0
        aid = sqlite3.connect(home / "station.db").execute("SELECT min(id) FROM anomalies").fetchone()[0]
        assert main(["--home", str(home), "decide", str(aid), "--action", "take", "--reviewer", "甲"]) == 0
        assert main(["--home", str(home), "export", "review-log", "--format", "csv"]) == 0
        assert main(["--home", str(home), "backup"]) == 0
        [backup] = (home / "backups").glob("station-backup-*.db")
        gc.collect()        # the connections of the commands above (in this process) are closed
        assert main(["--home", str(home), "restore", str(backup), "--yes"]) == 0, capsys.readouterr().err
        # An open connection keeps -wal and -shm on disk for the check.
        conn = sqlite3.connect(home / "station.db")
        conn.execute("SELECT count(*) FROM deliveries").fetchone()
        owner_only_files = [home / "station.db", home / "station.db-wal", home / "station.db-shm",
                            home / "station.log", backup, *(home / "exports").iterdir(),
                            *root.rejected.iterdir(), *[p for p in root.processed.rglob("*") if p.is_file()],
                            *home.glob("station.db.before-restore-*")]
        owner_only_dirs = [root.processed, root.rejected, home / "exports", home / "backups"]
        problems = [f"{p.name} {oct(mode(p))}" for p in owner_only_files if mode(p) != 0o600]
        problems += [f"{p.name}/ {oct(mode(p))}" for p in owner_only_dirs if mode(p) != 0o700]
        conn.close()
        assert problems == []
        assert len(list(root.rejected.iterdir())) == 2          # junk.csv and its reason
        assert list(home.glob("station.db.before-restore-*"))
    finally:
        os.umask(old)


# ------------------------------------------------------------------ network filesystems

MOUNTINFO = """\
22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:26 / /mnt rw,relatime shared:2 - tmpfs tmpfs rw
41 30 0:40 / /mnt/share rw,relatime shared:3 - cifs //server/share rw,vers=3.0
42 30 0:41 / /mnt/share2 rw,relatime shared:4 - ext4 /dev/vdb1 rw
43 30 0:42 / /mnt/my\\040nfs rw,relatime shared:5 - nfs4 server:/export rw
44 30 0:43 / /mnt/ssh rw,nosuid shared:6 - fuse.sshfs user@host:/ rw
45 30 0:44 / /mnt/c rw,noatime - 9p drvfs rw,aname=drvfs
46 41 0:45 / /mnt/share/local rw,relatime shared:7 - ext4 /dev/vdc1 rw
"""


@pytest.fixture
def fake_mountinfo(tmp_path):
    p = tmp_path / "mountinfo"
    p.write_text(MOUNTINFO, encoding="utf-8")
    return p


@pytest.mark.parametrize("path, fstype", [
    ("/mnt/share/station", "cifs"), ("/mnt/share", "cifs"), ("/mnt/share2/station", "ext4"),
    ("/mnt/my nfs/home", "nfs4"), ("/mnt/ssh/x", "fuse.sshfs"), ("/mnt/c/Users/x", "9p"),
    ("/mnt/share/local/station", "ext4"), ("/home/office/station", "ext4"), ("/mnt/other", "tmpfs"),
])
def test_filesystem_of_takes_the_longest_mount_point(fake_mountinfo, path, fstype, monkeypatch):
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: self)
    assert filesystem_of(Path(path), fake_mountinfo)[0] == fstype


@pytest.mark.parametrize("path", ["/mnt/share/station", "/mnt/my nfs/home", "/mnt/ssh/x", "/mnt/c/Users/x"])
def test_a_home_on_a_network_filesystem_is_refused(fake_mountinfo, path, monkeypatch):
    monkeypatch.setattr(Path, "resolve", lambda self, strict=False: self)
    with pytest.raises(HomeError) as exc:
        check_local(Path(path), fake_mountinfo)
    assert "网络文件系统" in str(exc.value) and "本机磁盘" in str(exc.value)


def test_local_homes_pass_and_the_station_refuses_to_open_on_a_share(tmp_path, monkeypatch, capsys):
    check_local(tmp_path)                                   # the real mountinfo
    fake = tmp_path / "mountinfo"
    fake.write_text(f"22 1 253:1 / / rw - ext4 /dev/vda1 rw\n"
                    f"41 22 0:40 / {tmp_path} rw - smb3 //server/share rw\n", encoding="utf-8")
    monkeypatch.setattr(platform, "MOUNTINFO", fake)
    assert main(["--home", str(tmp_path / "home"), "status"]) == 2
    err = capsys.readouterr().err
    assert "网络文件系统（smb3" in err and "Traceback" not in err
    assert not (tmp_path / "home" / "station.db").exists()


# ------------------------------------------------------------------ the station log

def sample_names() -> set[str]:
    names = set()
    for p in SAMPLE_INBOX.rglob("*.csv"):
        with open(p, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                for key in ("姓名", "法定代表人"):
                    if row.get(key):
                        names.add(row[key].strip())
    return names


def test_the_log_records_events_without_id_numbers_or_names(tmp_path):
    home = Home(tmp_path / "home").ensure()
    copy_samples(home)
    # A delivery whose file name carries a name, and a held (header-less) file quoting an ID.
    (home.inbox / "public_security" / "孔英死亡证明.csv").write_text(
        "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n440303196305245442,孔英,女,2026-02-10,2026-02-28,死亡\n"
        "440303196305245442,孔英,女,2026-02-10,2026-02-28,死亡\n", encoding="utf-8")
    (home.inbox / "agency" / "440303196305245442.csv").write_text("440303196305245442,孔英,爱好\n", encoding="utf-8")
    root = str(home.root)
    assert main(["--home", root, "ingest", "--as-of", SAMPLES_AS_OF.isoformat()]) == 0
    conn = sqlite3.connect(home.db_path)
    ids = [r[0] for r in conn.execute("SELECT id FROM anomalies ORDER BY id LIMIT 3")]
    conn.close()
    assert main(["--home", root, "decide", *map(str, ids), "--action", "take", "--reviewer", "张三丰"]) == 0
    assert main(["--home", root, "decide", str(ids[0]), "--action", "dismiss", "--reviewer", "张三丰",
                 "--note", "孔英 440303196305245442 已核实为迁出"]) == 0
    station_log.close()
    text = (home.root / "station.log").read_text(encoding="utf-8")
    assert "applied kind=persons" in text and "evaluation as_of=" in text
    assert f"action=take anomalies={','.join(map(str, ids))}" in text and "action=dismiss" in text
    assert "rejected sha=" in text      # the header-less file: no row looks like a header, rejected
    assert not re.search(r"\d{17}[\dXx]|\d{15}", text), "an ID number in the log"
    names = sample_names() | {"张三丰", "孔英", "死亡证明", "已核实"}
    found = sorted(n for n in names if n in text)
    assert found == [], f"names in the log: {found[:10]}"


# ------------------------------------------------------------------ full or read-only disk

@pytest.mark.parametrize("error, words", [
    (sqlite3.OperationalError("database or disk is full"), "磁盘空间已满"),
    (OSError(errno.ENOSPC, "No space left on device"), "磁盘空间已满"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "不可写"),
])
def test_disk_full_mid_apply_rolls_back_and_says_so(tmp_path, monkeypatch, capsys, error, words):
    home = Home(tmp_path / "home").ensure()
    copy_samples(home, only="参保人员")
    [target] = list(home.inbox.rglob("*.csv"))
    real_flush = RowWriter.flush

    def flush_then_fail(self):
        real_flush(self)                         # rows written inside the transaction …
        raise error                              # … then the disk fills up

    monkeypatch.setattr(RowWriter, "flush", flush_then_fail)
    rc = main(["--home", str(home.root), "ingest", "--as-of", SAMPLES_AS_OF.isoformat()])
    err = capsys.readouterr().err
    assert rc == 3
    assert err.startswith("错误：导入文件「参保人员信息_202610.csv」时失败") and words in err
    assert "未保存任何内容" in err and "Traceback" not in err
    assert target.exists()                       # still in the inbox
    conn = sqlite3.connect(home.db_path)
    assert conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM persons").fetchone() == (0,)
    conn.close()
    monkeypatch.undo()
    assert main(["--home", str(home.root), "ingest", "--as-of", SAMPLES_AS_OF.isoformat()]) == 0
    assert not target.exists()


def test_a_failed_move_after_the_commit_says_the_file_was_applied(tmp_path, monkeypatch, capsys):
    from station.inbox import pipeline
    home = Home(tmp_path / "home").ensure()
    copy_samples(home, only="参保单位")

    def no_space(self, src, dest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline.Pipeline, "_store", no_space)
    assert main(["--home", str(home.root), "ingest", "--no-evaluate"]) == 3
    err = capsys.readouterr().err
    assert "已导入登记库" in err and "不会重复导入" in err and "磁盘空间已满" in err
    monkeypatch.undo()
    assert main(["--home", str(home.root), "ingest", "--no-evaluate"]) == 0
    assert "上次中断，已补完归档" in capsys.readouterr().out
    conn = sqlite3.connect(home.db_path)
    assert conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall() == [("applied", 1)]
    conn.close()


def test_a_read_only_home_is_a_clear_error(tmp_path, monkeypatch, capsys):
    home = Home(tmp_path / "home").ensure()
    real = Path.write_bytes

    def read_only(self, data):
        if self.name.startswith(".station-write-test"):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", read_only)
    assert main(["--home", str(home.root), "ingest"]) == 2
    err = capsys.readouterr().err
    assert "无法使用工作目录" in err and "Read-only file system" in err and "Traceback" not in err


def test_an_evaluation_killed_before_it_committed_runs_on_the_next_ingest(station):
    copy_samples(station.home, only="public_security")
    copy_samples(station.home, only="agency")
    report = station.ingest(as_of=SAMPLES_AS_OF, evaluate=False)       # as if killed before evaluating
    assert report.applied and report.evaluation is None
    through, kinds = station.pending_evaluation()
    assert kinds == {r.kind for r in report.applied}
    again = station.ingest(as_of=SAMPLES_AS_OF)                          # nothing new in the inbox …
    assert again.results == [] and again.evaluation is not None          # … but the rules run
    assert station.pending_evaluation() == (through, set())
    assert station.ingest(as_of=SAMPLES_AS_OF).evaluation is None        # and only once


def test_an_export_removes_the_temporary_files_of_killed_exports(tmp_path):
    from station.export.files import atomic_write
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = tmp_path / f".核查台账.xlsx.{dead.pid}.abcd_123.part"       # its writer is gone
    killed.write_bytes(b"PK half a zip")
    alive = tmp_path / f".月报.xlsx.{os.getppid()}.abcdefgh.part"          # still being written
    alive.write_bytes(b"PK")
    foreign = tmp_path / ".someone-else.part"                              # not ours
    foreign.write_bytes(b"x")
    atomic_write(tmp_path / "核查台账.csv", lambda f: f.write(b"ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, foreign.name, "核查台账.csv"])
