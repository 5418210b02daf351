"""The review log's head, kept also outside the database.

The head (entries, hash of the last one) lives in ``meta`` beside the log, which proves
the log has not been cut short — unless the whole database is replaced by an older copy
(a restored backup, a file copied over it). So every committed decision also writes a
small file beside the database, ``review-log.head``, and only a deliberate restore
rewrites it backwards (recording that it did, and what was lost). ``station verify``
compares the two (:func:`compare`): a database whose log is behind the file, or differs
from it, is a rollback.

The file is JSON, owner-only, replaced atomically::

    {"entries": 12, "head": "…", "at": "2026-12-08T09:30:00",
     "restored": {"at": …, "from": "station-backup-….db", "entries_before": 15,
                  "head_before": "…", "lost_entries": 3}}      # only after a restore

Interface (used by station.review.log and station.services.backup): :func:`path_for`,
:func:`read`, :func:`write`, :func:`record` and :func:`compare`.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "review-log.head"


def path_for(db_path: Path | str) -> Path:
    return Path(db_path).parent / FILE_NAME


def _db_file(conn: sqlite3.Connection) -> Path | None:
    for _, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return Path(file) if file else None
    return None


def read(path: Path) -> dict | None:
    """The head file's content, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), int) or not isinstance(data.get("head"), str):
        return None
    return data


def write(path: Path, entries: int, head: str, restored: dict | None = None) -> None:
    """Replace the head file (atomically, owner-only, synced)."""
    path = Path(path)
    data = {"entries": entries, "head": head, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if restored is None:
        old = read(path)
        restored = old.get("restored") if old else None
    if restored:
        data["restored"] = restored
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(data, ensure_ascii=False).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def record(conn: sqlite3.Connection, entries: int, head: str) -> None:
    """After a commit that appended entries (the log's head now: ``entries``, ``head``):
    the file follows. Never
    moves it backwards (two processes writing at once: the later head wins). Failures are
    not the decision's: it is committed; verify notices a file left behind."""
    try:
        db = _db_file(conn)
        if db is None:
            return
        path = path_for(db)
        old = read(path)
        if old is not None and old["entries"] > entries:
            return
        write(path, entries, head)
    except (OSError, sqlite3.Error):
        pass


@dataclass
class HeadCheck:
    ok: bool
    reason: str | None = None            # Chinese, when not ok
    restored: dict | None = None         # the last deliberate restore, if any
    missing: bool = False                # no head file (a home from before it existed)


def compare(conn: sqlite3.Connection, db_path: Path | str, have: int) -> HeadCheck:
    """Whether the database's log (``have`` entries) reaches the head recorded outside
    it: the entry at the file's position must carry the file's hash (the log may be
    ahead: a crash between a commit and the file's update)."""
    data = read(path_for(db_path))
    if data is None:
        return HeadCheck(True, missing=True)
    restored = data.get("restored")
    entries, at = data["entries"], str(data.get("at", "")).replace("T", " ")
    if entries == 0:
        return HeadCheck(True, restored=restored)
    row = conn.execute("SELECT hash FROM decisions WHERE seq = ?", (entries,)).fetchone()
    if have < entries or row is None:
        return HeadCheck(False, (
            f"数据库被回退：本站在 {at} 记录复核日志已有 {entries} 条，而数据库中只有 {have} 条。"
            f"数据库可能被替换为较早的副本（未经 station restore），之后的 {entries - have} 条复核记录不在其中。"),
            restored)
    if row[0] != data["head"]:
        return HeadCheck(False, (
            f"数据库与本站记录的复核日志不一致：第 {entries} 条记录的哈希与 {at} 记录的不同。"
            "数据库可能被替换为另一份副本。"), restored)
    return HeadCheck(True, restored=restored)
