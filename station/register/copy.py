"""Copying the register's database file consistently (backups, the copy beside it taken
before an upgrade)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def write_copy(src: sqlite3.Connection, tmp: Path) -> None:
    """Copy ``src``'s database into ``tmp`` in one step (one consistent snapshot), as a
    self-contained rollback-journal file, owner-only and fsynced."""
    dst = sqlite3.connect(tmp, isolation_level=None)
    try:
        src.backup(dst)                       # pages=-1: one step, one snapshot
        dst.execute("PRAGMA journal_mode = DELETE")
    finally:
        dst.close()
    os.chmod(tmp, 0o600)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
