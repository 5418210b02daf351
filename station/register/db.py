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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

BUSY_TIMEOUT_MS = 30_000


class RegisterError(Exception):
    """The database cannot be used. ``str(e)`` is a Chinese message for the user."""


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
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Temporary b-trees in files (the OS caches them): sorting for an index over millions
        # of rows is then bounded in memory, and faster than SQLite's in-memory temp files.
        conn.execute("PRAGMA temp_store = FILE")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MB page cache
        from .schema import ensure_schema
        ensure_schema(conn)
    except sqlite3.DatabaseError as e:
        raise RegisterError(
            f"无法打开数据库 {path}：{e}。如果文件已损坏，请用 station restore 从备份恢复。") from None
    finally:
        os.umask(old_umask)
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection, *, retries: int = 5) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception.

    ``BEGIN IMMEDIATE`` itself waits up to the busy timeout; if the lock is still held
    after that it is retried a few times before the error reaches the caller.
    """
    for attempt in range(retries):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e) or attempt == retries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def now_iso() -> str:
    """Local wall-clock time, to the second, as stored in the ledger and the log."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")
