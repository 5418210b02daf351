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


# ---------------------------------------------------------------- item 2: what is applied is what is hashed

def death_list(n: int, start: int = 0) -> bytes:
    """A 公安 death list of ``n`` distinct valid IDs (ending with a line break)."""
    import datetime as dt

    from station.demo.ids import make_id
    lines = ["公民身份号码,姓名,性别,死亡日期,注销日期,注销原因"]
    for i in range(start, start + n):
        pid = make_id("440303", dt.date(1930, 1, 1) + dt.timedelta(days=i // 50), i % 50 * 2 + 1)
        lines.append(f"{pid},某{i},男,2026-01-0{i % 9 + 1},2026-02-01,死亡")
    return ("\n".join(lines) + "\n").encode()


def sha(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def applied_deaths(station) -> int:
    return station.conn.execute("SELECT count(*) FROM household_deaths").fetchone()[0]


def test_a_link_swapped_in_while_hashing_is_never_what_is_applied(station, monkeypatch, tmp_path):
    """A symlink to a file outside the inbox renamed over the delivery while it is being
    hashed: the outside file was applied under the inbox file's hash."""
    import hashlib
    inside, outside = death_list(40), death_list(7, start=5000)
    target = station.home.inbox / "public_security" / "deaths.csv"
    target.write_bytes(inside)
    (tmp_path / "outside.csv").write_bytes(outside)
    link = station.home.inbox / "public_security" / ".swap"
    link.symlink_to(tmp_path / "outside.csv")

    real_sha256 = hashlib.sha256

    class SwapWhileHashing:
        def __init__(self, data=b""):
            self.h = real_sha256(data)

        def update(self, data):
            if link.is_symlink():
                os.replace(link, target)          # the swap, in the middle of hashing
            self.h.update(data)

        def hexdigest(self):
            return self.h.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", SwapWhileHashing)
    report = station.ingest(evaluate=False)
    [result] = [r for r in report.results if r.status == "applied"]
    assert applied_deaths(station) == 40
    stored = (station.home.root / result.stored_path).read_bytes()
    digest = station.conn.execute("SELECT sha256 FROM deliveries WHERE id = ?", (result.delivery_id,)).fetchone()[0]
    assert stored == inside and digest == sha(inside)
    assert (tmp_path / "outside.csv").read_bytes() == outside       # never moved or touched


def test_rows_appended_while_a_file_is_applied_are_not_applied_under_its_hash(station, monkeypatch):
    """Five rows appended during the ingest were applied though the ledger's hash did not
    cover them. Now: exactly the hashed bytes are applied and kept, and the grown file is
    put back into the inbox to be applied as the new delivery it is."""
    from station.inbox import pipeline
    first, more = death_list(3000), death_list(5, start=3000).split(b"\n", 1)[1]
    target = station.home.inbox / "public_security" / "deaths.csv"
    target.write_bytes(first)
    real = pipeline.recognise

    def recognise_then_append(*args, **kwargs):
        with open(target, "ab") as f:
            f.write(more)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "recognise", recognise_then_append)
    [result] = station.ingest(evaluate=False).results
    assert result.status == "applied" and result.rows_applied == 3000
    assert applied_deaths(station) == 3000
    stored = (station.home.root / result.stored_path).read_bytes()
    digest = station.conn.execute("SELECT sha256 FROM deliveries").fetchone()[0]
    assert stored == first and digest == sha(first)
    assert target.read_bytes() == first + more                       # put back, not lost
    assert result.put_back
    monkeypatch.setattr(pipeline, "recognise", real)
    [again] = station.ingest(evaluate=False).results                 # the whole file, next time
    assert again.status == "applied" and applied_deaths(station) == 3005


# ---------------------------------------------------------------- item 1: half-copied files

@pytest.mark.slow
def test_a_list_copied_slowly_under_station_watch_is_applied_once_and_whole(tmp_path):
    """A slow USB stick or share: 1,200 deaths written in 6 chunks 2.5 s apart. The watcher
    took such a file once its size stood still for 1 s and applied the first rows only.
    Now it is taken when its writer closes it; its chunks end mid-line, so even a watcher
    that looked too early would find it cut off and wait."""
    import subprocess
    import sys

    from station.home import Home
    home = Home(tmp_path / "home").ensure()
    data = death_list(1200)
    step = len(data) // 6 + 7                 # 6 chunks, none ending at a line break
    chunks = [data[i:i + step] for i in range(0, len(data), step)]
    assert len(chunks) == 6 and all(not c.endswith(b"\n") for c in chunks[:-1])
    proc = subprocess.Popen([sys.executable, "-m", "station", "--home", str(home.root), "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (home.root / "station.log").exists() and not home.db_path.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        time.sleep(1.0)                       # the watch is set up
        target = home.inbox / "public_security" / "deaths.csv"
        with open(target, "wb") as f:
            for i, chunk in enumerate(chunks):
                f.write(chunk)
                f.flush()
                if i < len(chunks) - 1:
                    time.sleep(2.5)
        while target.exists():
            assert time.monotonic() < deadline + 30, "never taken"
            time.sleep(0.1)
        time.sleep(1.0)                       # nothing more happens after it
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode(errors="replace")
    conn = sqlite3.connect(home.db_path)
    rows = conn.execute("SELECT status, rows_applied, rows_rejected, sha256, stored_path FROM deliveries").fetchall()
    deaths = conn.execute("SELECT count(*) FROM household_deaths").fetchone()[0]
    conn.close()
    assert [r[:3] for r in rows] == [("applied", 1200, 0)], out
    assert deaths == 1200
    assert rows[0][3] == sha(data) and (home.root / rows[0][4]).read_bytes() == data


def test_the_watcher_waits_for_a_file_that_is_cut_off_and_fresh(station):
    """What the watcher hands over is checked once more: a CSV cut mid-line or a workbook
    without its central directory, written just now, is left in the inbox for later."""
    from station.inbox import taking
    csv_file = station.home.inbox / "public_security" / "cut.csv"
    csv_file.write_bytes(death_list(50)[:-20])
    xlsx = station.home.inbox / "agency" / "cut.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 300)
    report = station.ingest(evaluate=False, wait_for_complete=True)
    assert report.results == [] and sorted(r.name for r in report.waiting) == ["cut.csv", "cut.xlsx"]
    assert csv_file.exists() and xlsx.exists()
    assert station.conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    assert not list(station.home.work.iterdir())            # no snapshot left behind
    assert taking.looks_complete(SAMPLE_INBOX / "public_security" / "户籍注销人员_1.csv")
    csv_file.write_bytes(death_list(50))                     # the copy finished
    [r] = station.ingest(evaluate=False, wait_for_complete=True).results
    assert r.status == "applied" and r.rows_applied == 50


# ---------------------------------------------------------------- item 5: a read-only department folder

@pytest.fixture
def read_only_folder(monkeypatch):
    """Make a folder behave as read-only for this process (the tests run as root, who may
    write anywhere): nothing in it can be removed, renamed or created."""
    import errno
    folders: list[Path] = []
    real_access, real_unlink, real_replace, real_rename = os.access, os.unlink, os.replace, os.rename

    def inside(p) -> bool:
        return any(Path(p).parent == f or Path(p) == f for f in folders)

    def access(p, mode, *a, **k):
        if Path(p) in folders and mode & os.W_OK:
            return False
        return real_access(p, mode, *a, **k)

    def refuse(real):
        def call(src, *rest, **k):
            if inside(src):
                raise PermissionError(errno.EACCES, "Permission denied", str(src))
            return real(src, *rest, **k)
        return call

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(os, "unlink", refuse(real_unlink))
    monkeypatch.setattr(os, "replace", refuse(real_replace))
    monkeypatch.setattr(os, "rename", refuse(real_rename))
    return folders.append


def test_a_file_in_a_read_only_folder_is_applied_once_copied_once_and_said_once(station, read_only_folder, capsys):
    from station.cli import main
    folder = station.home.inbox / "public_security"
    (folder / "deaths.csv").write_bytes(DEATHS)
    (folder / "junk.csv").write_text("这不是数据\n", encoding="utf-8")
    read_only_folder(folder)
    home = ["--home", str(station.home.root)]
    assert main(home + ["ingest", "--no-evaluate"]) == 0
    first = capsys.readouterr().out
    assert first.count("只读") == 2 and "可写" in first
    for _ in range(3):                       # every later run, as `station watch` retries
        assert main(home + ["ingest", "--no-evaluate"]) == 0
        assert "只读" not in capsys.readouterr().out
    assert sorted(s for s, _, _ in ledger(station)) == ["applied", "rejected"]
    kept = [p for p in station.home.processed.rglob("*.csv")] + [
        p for p in station.home.rejected.iterdir() if p.suffix == ".csv"]
    assert len(kept) == 2
    assert (folder / "deaths.csv").read_bytes() == DEATHS         # the original, where it was


# ---------------------------------------------------------------- item 22: a column twice

@pytest.mark.parametrize("second", ["公民身份号码", "死亡日期", "身份证号"])
def test_a_field_given_by_two_columns_is_never_applied_with_one_dropped(station, second):
    """A second 公民身份号码 or 死亡日期 column was dropped silently (whichever the
    mapping kept). Now the file is not applied, and the reason names both columns."""
    header = "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因," + second
    extra = {"公民身份号码": "110101194001011237", "身份证号": "110101194001011237",
             "死亡日期": "2025-03-01"}[second]
    body = "".join(line + "," + extra + "\n" for line in DEATHS.decode().splitlines()[1:])
    (station.home.inbox / "public_security" / "twice.csv").write_text(header + "\n" + body, encoding="utf-8")
    [r] = station.ingest(evaluate=False).results
    assert r.status != "applied" and applied_deaths(station) == 0
    first_name = "死亡日期" if second == "死亡日期" else "公民身份号码"
    assert f"第 {header.split(',').index(first_name) + 1} 列「{first_name}」" in r.reason
    assert f"第 7 列「{second}」" in r.reason


# ---------------------------------------------------------------- item 8: a mistyped --home

@pytest.mark.parametrize("command", [["anomalies"], ["status"], ["verify"], ["history", "1"],
                                     ["evaluate"], ["pending"], ["export", "review-log"], ["check-config"]])
def test_a_mistyped_home_is_an_error_and_creates_nothing(tmp_path, capsys, command):
    """`station --home /typo anomalies` printed 没有符合条件的疑点, exited 0 and made a
    fresh, empty station there: an all-clear for a station that does not exist."""
    from station.cli import main
    typo = tmp_path / "stattion"
    assert main(["--home", str(typo), *command]) != 0
    err = capsys.readouterr().err
    assert "不是监督站的工作目录" in err and "station init" in err
    assert not typo.exists()
    existing = tmp_path / "empty"            # an existing folder that is no home: left as it was
    existing.mkdir()
    assert main(["--home", str(existing), *command]) != 0
    assert list(existing.iterdir()) == []


def test_station_init_creates_a_home_that_every_command_then_opens(tmp_path, capsys):
    from station.cli import main
    root = tmp_path / "new-home"
    assert main(["init", str(root)]) == 0
    assert "已创建" in capsys.readouterr().out
    assert (root / "station.db").exists() and (root / "inbox" / "public_security").is_dir()
    assert main(["--home", str(root), "anomalies"]) == 0
    assert main(["init", str(root)]) == 0                    # again: says it is there already
    assert "已是" in capsys.readouterr().out


def test_ingest_still_creates_a_home(tmp_path):
    from station.cli import main
    assert main(["--home", str(tmp_path / "fresh"), "ingest"]) == 0
    assert (tmp_path / "fresh" / "station.db").exists()


# ---------------------------------------------------------------- item 20: a linked department folder

def link_department(station, tmp_path) -> Path:
    """public_security/ replaced by a link to a folder elsewhere, with a death list in it."""
    import shutil
    elsewhere = tmp_path / "share" / "公安"
    elsewhere.mkdir(parents=True)
    (elsewhere / "deaths.csv").write_bytes(DEATHS)
    folder = station.home.inbox / "public_security"
    shutil.rmtree(folder)
    folder.symlink_to(elsewhere, target_is_directory=True)
    return folder


def test_a_linked_department_folder_is_named_by_status_not_ignored_silently(station, tmp_path, capsys):
    from station.cli import main
    link_department(station, tmp_path)
    assert station.ingest(evaluate=False).results == []          # never followed
    assert main(["--home", str(station.home.root), "status"]) == 0
    out = capsys.readouterr().out
    assert "public_security" in out and "链接" in out and "不会被导入" in out


# ---------------------------------------------------------------- item 9: restore is no silent rollback

@pytest.fixture
def restored_scene(station):
    """A backup with 3 decisions and the samples' 公安 and 经办 deliveries; after it, one
    more decision and one more delivery."""
    from conftest import SAMPLES_AS_OF
    from station.review.log import decide
    from station.services.backup import backup
    copy_samples(station.home, only="public_security")
    copy_samples(station.home, only="agency")
    station.ingest(as_of=SAMPLES_AS_OF)
    ids = [r[0] for r in station.conn.execute("SELECT id FROM anomalies ORDER BY id")]
    decide(station.conn, station.cfg, ids[:3], "take", "甲")
    info = backup(station.home.db_path, station.home.root / "backups")
    decide(station.conn, station.cfg, ids[:1], "note", "乙", note="备份之后的决定")
    late = station.home.inbox / "civil_affairs" / "火化信息.csv"
    late.write_bytes((SAMPLE_INBOX / "civil_affairs" / "火化信息.csv").read_bytes())
    [r] = station.ingest(as_of=SAMPLES_AS_OF).results
    assert r.status == "applied" and not late.exists()
    station.close()
    return station.home, info.path, r


def test_restore_says_what_will_be_lost_and_asks_first(restored_scene, capsys, monkeypatch):
    from station.cli import main
    home, backup_file, late = restored_scene
    def state():                               # (SQLite's -wal and -shm come and go with readers)
        return home.db_path.read_bytes(), sorted(p.name for p in home.root.iterdir() if p.suffix not in (
            ".db-wal", ".db-shm")), sorted(str(p) for p in home.inbox.rglob("*"))
    before = state()
    assert main(["--home", str(home.root), "restore", str(backup_file)]) != 0     # no terminal, no --yes
    out = capsys.readouterr()
    text = out.out + out.err
    assert "1 条复核记录" in text and "1 份报送" in text and "火化信息.csv" in text
    assert "--yes" in text
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": "否")
    assert main(["--home", str(home.root), "restore", str(backup_file)]) != 0     # the user says no
    assert "未恢复" in capsys.readouterr().out
    assert state() == before


def test_restore_puts_later_deliveries_back_and_verify_tells_of_it(restored_scene, capsys):
    from station.cli import main
    home, backup_file, late = restored_scene
    original = (SAMPLE_INBOX / "civil_affairs" / "火化信息.csv").read_bytes()
    assert main(["--home", str(home.root), "restore", str(backup_file), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "放回收件箱" in out
    back = home.inbox / "civil_affairs" / "火化信息.csv"
    assert back.read_bytes() == original
    assert not (home.root / late.stored_path).exists()
    assert main(["--home", str(home.root), "verify"]) == 0
    out = capsys.readouterr().out
    assert "从备份" in out and "恢复" in out and "1 条" in out
    assert main(["--home", str(home.root), "ingest"]) == 0                        # applied again
    conn = sqlite3.connect(home.db_path)
    assert conn.execute("SELECT count(*) FROM deliveries WHERE original_name = '火化信息.csv'"
                        " AND status = 'applied'").fetchone() == (1,)
    conn.close()


def test_an_older_database_copied_over_the_current_one_fails_verify(restored_scene, capsys):
    import shutil

    from station.cli import main
    home, backup_file, _ = restored_scene
    for suffix in ("-wal", "-shm"):
        Path(f"{home.db_path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup_file, home.db_path)              # a rollback without station restore
    assert main(["--home", str(home.root), "verify"]) != 0
    err = capsys.readouterr().err
    assert "回退" in err and "4 条" in err and "3 条" in err


# ---------------------------------------------------------------- item 24: space after large replacements

def one_row_many_times(home, rows: int) -> None:
    (home.inbox / "agency" / "p.csv").write_text(
        "公民身份号码,姓名,参保状态\n" + "440303196106231371,张三,退休\n" * rows, encoding="utf-8")


def file_pages(db_path) -> tuple[int, int]:
    conn = sqlite3.connect(db_path)
    try:
        return tuple(conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count"))
    finally:
        conn.close()


def test_a_large_delivery_of_one_repeated_row_leaves_no_register_of_free_pages(station, monkeypatch):
    """200 MB of one repeated row left station.db at 264 MB, nearly all free pages."""
    monkeypatch.setattr(db, "RECLAIM_MIN_BYTES", 1 << 20)
    one_row_many_times(station.home, 120_000)
    [r] = station.ingest(evaluate=False).results
    assert r.status == "applied" and station.conn.execute("SELECT count(*) FROM persons").fetchone() == (1,)
    pages, free = file_pages(station.home.db_path)
    assert free < pages * 0.25, (pages, free)
    assert station.conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)          # incremental


def test_a_register_made_before_incremental_vacuum_is_converted_once(tmp_path, monkeypatch):
    from station.home import Home
    from station.services.station import Station
    monkeypatch.setattr(db, "RECLAIM_MIN_BYTES", 1 << 20)
    home = Home(tmp_path / "old").ensure()
    old = sqlite3.connect(home.db_path)          # as an older release made it: no auto_vacuum
    old.execute("CREATE TABLE placeholder (x)")
    old.close()
    st = Station.open(home)
    assert st.conn.execute("PRAGMA auto_vacuum").fetchone() == (0,)
    one_row_many_times(home, 120_000)
    st.ingest(evaluate=False)
    assert st.conn.execute("PRAGMA auto_vacuum").fetchone() == (2,)
    pages, free = file_pages(home.db_path)
    assert free < pages * 0.25, (pages, free)
    st.close()


def test_a_file_renamed_into_the_inbox_is_taken_at_once_not_after_the_quiet_period(station):
    """Copy tools write x.part and rename it; editors save through a temporary file. The
    close happened under the other name: the rename says the file is complete."""
    import threading

    from station.inbox.watcher import InboxWatcher
    results = []
    watcher = InboxWatcher(station.home, lambda files: results.extend(
        station.ingest(files, evaluate=False).results), quiet_seconds=60, tick=0.05)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while watcher.state.mode != "watching":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        part = station.home.inbox / "public_security" / "deaths.csv.part"
        part.write_bytes(DEATHS)
        os.replace(part, part.with_name("deaths.csv"))
        while not results:
            assert time.monotonic() < deadline, "waited for the quiet period"
            time.sleep(0.05)
        assert [r.status for r in results] == ["applied"]
    finally:
        watcher.stop()
        thread.join(5)
