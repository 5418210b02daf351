"""Write transactions on the register (below db.py and schema.py, which both use them)."""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from typing import Iterator


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
