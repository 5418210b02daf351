"""SQLite connections and write transactions for the fund register.

One connection per thread (Textual workers are threads). Connections run in autocommit
mode and every write goes through :func:`write_transaction`, which starts with
``BEGIN IMMEDIATE`` so that a writer waits for the lock (``busy_timeout``) instead of
failing half-way with SQLITE_BUSY (NOTES.md § Loading CSV into SQLite).
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .errors import RegisterError, StorageError  # noqa: F401 (part of the register's API)
from .transaction import write_transaction  # noqa: F401 (part of the register's API)

BUSY_TIMEOUT_MS = 30_000


def storage_kind(e: BaseException) -> str:
    """Classify an ``sqlite3.Error`` or ``OSError`` by its cause."""
    import errno
    if isinstance(e, OSError):
        return {errno.ENOSPC: "full", errno.EDQUOT: "full", errno.EROFS: "readonly",
                errno.EACCES: "readonly", errno.EPERM: "readonly", errno.EIO: "io"}.get(e.errno, "other")
    text = str(e).lower()
    for words, kind in ((("locked", "busy"), "locked"), (("full",), "full"),
                        (("readonly", "read-only", "unable to open"), "readonly"),
                        (("malformed", "not a database", "corrupt"), "corrupt"),
                        (("i/o",), "io")):
        if any(w in text for w in words):
            return kind
    return "other"


STORAGE_ADVICE = {
    "locked": "数据库正被其他程序长时间占用（已等待并重试）。请稍后重试；如反复出现，请检查是否有程序卡住或用其他软件打开了 station.db。",
    "full": "磁盘空间已满。请清理磁盘（或把工作目录移到空间充足的本地磁盘）后重试。",
    "readonly": "工作目录或数据库文件不可写（只读磁盘或没有写权限）。请检查磁盘和文件权限后重试。",
    "io": "磁盘读写出错。请检查磁盘是否损坏或被拔出；必要时用 station restore 从备份恢复。",
    "corrupt": "数据库文件已损坏。请勿继续写入，用 station restore 从最近的备份恢复。",
    "other": "请检查磁盘空间、文件权限后重试；如仍失败，请把本说明交给系统维护人员。",
}


def storage_error(e: BaseException, doing: str) -> StorageError:
    """A :class:`StorageError` for ``e`` raised while ``doing`` (Chinese, e.g. "导入文件 x")."""
    kind = storage_kind(e)
    detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    return StorageError(f"{doing}时失败（{detail}），本次操作未保存任何内容。{STORAGE_ADVICE[kind]}", kind)


def connect(path: Path | str, *, create: bool = True) -> sqlite3.Connection:
    """Open the register with the station's pragmas and make sure its schema exists."""
    path = Path(path)
    if not create and not path.exists():
        raise RegisterError(f"数据库 {path} 不存在。请先运行 station ingest 导入数据，或用 --home 指定正确的工作目录。")
    old_umask = os.umask(0o077)  # database, -wal and -shm are owner-only
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # A new register frees the pages of replaced rows on request (reclaim_space);
        # only possible before its first table (an older one is converted by a VACUUM).
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _set_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Temporary b-trees in files (the OS caches them): sorting for an index over millions
        # of rows is then bounded in memory, and faster than SQLite's in-memory temp files.
        conn.execute("PRAGMA temp_store = FILE")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MB page cache
        from .schema import ensure_schema
        ensure_schema(conn)          # creates, upgrades (backup first) or refuses a newer register
    except sqlite3.DatabaseError as e:
        _close_quietly(locals().get("conn"))
        kind = storage_kind(e)
        if kind == "corrupt":
            raise RegisterError(
                f"无法打开数据库 {path}：{e}。如果文件已损坏，请用 station restore 从备份恢复。") from None
        # A lock, a full disk, a read-only folder: nothing is damaged, a backup is no answer.
        raise StorageError(f"无法打开数据库 {path}（{e}）。{STORAGE_ADVICE[kind]}", kind) from None
    except BaseException:            # a refused or failed upgrade (RegisterError), an interrupt
        _close_quietly(locals().get("conn"))
        raise
    finally:
        os.umask(old_umask)
    return conn


def _close_quietly(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except sqlite3.Error:
            pass


# Free pages are given back to the disk when they are at least this much, and at least
# RECLAIM_SHARE of the file: a large delivery that replaced most of what it wrote (one row
# repeated a million times) must not leave the register at ten times its size.
RECLAIM_MIN_BYTES = 64 * 1024 * 1024
RECLAIM_SHARE = 0.25


def reclaim_space(conn: sqlite3.Connection) -> int:
    """Give free pages back to the disk (after a large delivery; outside any transaction).
    A register from before incremental vacuum is converted once, by a VACUUM (a copy of
    the database: it needs as much free disk and takes a while, once). Returns the bytes
    freed; 0 when there was too little to bother, or the register was busy (next time)."""
    size, pages, free = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                         for p in ("page_size", "page_count", "freelist_count"))
    if free * size < RECLAIM_MIN_BYTES or free < pages * RECLAIM_SHARE:
        return 0
    try:
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("VACUUM")
        else:
            # executescript steps the pragma to its end: execute() frees one page a call.
            conn.executescript("PRAGMA incremental_vacuum;")
    except sqlite3.OperationalError as e:
        if storage_kind(e) in ("locked", "full"):
            return 0                  # another program reads or writes; or no room to copy
        raise
    after = conn.execute("PRAGMA page_count").fetchone()[0]
    return max(0, pages - after) * size


def _set_wal(conn: sqlite3.Connection) -> None:
    """``journal_mode = WAL``, waiting like any other statement for the busy timeout.

    Switching a database to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once (without calling the busy handler) while another connection holds a
    write lock on a database still in rollback mode: the state a second process meets
    while the first creates a fresh register."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if storage_kind(e) != "locked" or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(0.2, delay * 2)


def sync_wal(db_path: Path | str) -> None:
    """fsync the database's write-ahead log: the transactions committed so far survive a
    power cut (``synchronous = NORMAL`` syncs the WAL only at checkpoints)."""
    try:
        fd = os.open(f"{db_path}-wal", os.O_RDONLY)
    except OSError:
        return                    # no WAL (checkpointed and removed): nothing pending
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def now_iso() -> str:
    """Local wall-clock time, to the second, as stored in the ledger and the log."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")
