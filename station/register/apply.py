"""Writing mapped rows into the register: upsert by natural key, in the caller's transaction.

Rows go in through ``executemany`` in batches (NOTES.md: sqlite-utils' ``insert_all``
commits per chunk and costs about twice as much), so one delivery stays one transaction.

Every row is upserted (``ON CONFLICT(nk) DO UPDATE``): a record delivered again replaces
its values in place and keeps its rowid. The writer gets that result more cheaply in the
two cases that make up a county's bulk loads:

- **into an empty table** (a first roster, the first month of payroll): the table's
  indexes are dropped, the rows are plainly inserted, and the indexes are created again
  at :meth:`RowWriter.finish` — building an index once is several times cheaper than
  keeping it up to date row by row. Should the file hold the same natural key twice
  (the unique index then refuses to build), its rows are replayed as upserts, in file
  order, from a copy: the result is exactly what row-by-row upserts give, rowids included.
- **into a table that has rows** (the next month's payroll): each batch is plainly
  inserted inside a savepoint, which skips the upsert's separate conflict search. The
  first batch that meets an existing key is rolled back to its savepoint and upserted,
  and so is every later batch of the delivery (a file that repeats one record probably
  repeats many).

All of it happens inside the delivery's transaction: a crash or an error anywhere rolls
back the rows, the dropped indexes and their rebuilding together.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from ..kinds.spec import KindSpec
from .schema import kind_columns

BATCH = 5000
# Page cache while a delivery is written (KiB; the connection's usual one is 64 MB): the
# indexes that a large delivery updates at random places stay in memory. Set back after.
WRITE_CACHE_KIB = 256 * 1024


def upsert_sql(spec: KindSpec) -> str:
    return insert_sql(spec) + " " + _on_conflict(spec)


def insert_sql(spec: KindSpec) -> str:
    cols = list(kind_columns(spec))
    names = ", ".join(f"[{c}]" for c in cols)
    marks = ", ".join("?" for _ in cols)
    return f"INSERT INTO [{spec.table_name}] ({names}) VALUES ({marks})"


def _on_conflict(spec: KindSpec) -> str:
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in kind_columns(spec) if c != "nk")
    return f"ON CONFLICT(nk) DO UPDATE SET {updates}"


class RowWriter:
    """Buffers mapped rows and rejected rows of one delivery and writes them in batches.

    Call :meth:`finish` once all rows are added (it flushes and rebuilds what was
    dropped); the caller's transaction must still be open then."""

    def __init__(self, conn: sqlite3.Connection, spec: KindSpec, delivery_id: int):
        self.conn = conn
        self.spec = spec
        self.delivery_id = delivery_id
        self.sql = upsert_sql(spec)
        self.insert = insert_sql(spec)
        self.rows: list[list] = []
        self.rejected: list[tuple] = []
        self.applied = 0
        self.rejected_count = 0
        self.cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
        table = spec.table_name
        self.empty = conn.execute(f"SELECT 1 FROM [{table}] LIMIT 1").fetchone() is None
        self.dropped: list[tuple[str, str]] = []      # (index name, its CREATE statement)
        self.unique: set[str] = set()
        self.upserting = False
        if self.empty:
            self.unique = {row[1] for row in conn.execute(f"PRAGMA index_list([{table}])") if row[2]}
            self.dropped = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql IS NOT NULL ORDER BY rowid", (table,)).fetchall()
            for name, _ in self.dropped:
                conn.execute(f"DROP INDEX [{name}]")

    def add(self, row_no: int, values: list) -> None:
        values[-2] = self.delivery_id
        values[-1] = row_no
        self.rows.append(values)
        if len(self.rows) >= BATCH:
            self.flush()

    def add_rows(self, rows: list) -> None:
        """Rows whose ``delivery_id`` and ``row_no`` are already filled in."""
        self.rows.extend(rows)
        if len(self.rows) >= BATCH:
            self.flush()

    def reject(self, row_no: int, reason: str, cells: Iterable[Any]) -> None:
        raw = json.dumps([_jsonable(c) for c in cells], ensure_ascii=False)
        self.rejected.append((self.delivery_id, row_no, reason, raw))
        self.rejected_count += 1
        if len(self.rejected) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self._write(self.rows)
            self.applied += len(self.rows)
            self.rows.clear()
        if self.rejected:
            self.conn.executemany(
                "INSERT INTO rejected_rows (delivery_id, row_no, reason, raw) VALUES (?, ?, ?, ?)",
                self.rejected)
            self.rejected.clear()

    def _write(self, rows: list) -> None:
        conn = self.conn
        if self.empty:
            conn.executemany(self.insert, rows)       # no index to conflict with until finish()
            return
        if self.upserting:
            conn.executemany(self.sql, rows)
            return
        conn.execute("SAVEPOINT station_rows")
        try:
            conn.executemany(self.insert, rows)
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK TO station_rows")
            conn.execute("RELEASE station_rows")
            self.upserting = True
            conn.executemany(self.sql, rows)
        except BaseException:
            conn.execute("ROLLBACK TO station_rows")
            conn.execute("RELEASE station_rows")
            raise
        else:
            conn.execute("RELEASE station_rows")

    def finish(self) -> None:
        """Write what is buffered and build the indexes dropped for an empty table."""
        try:
            self.flush()
            if self.dropped:
                self._rebuild()
        finally:
            self.conn.execute(f"PRAGMA cache_size = {self.cache_size}")

    def _rebuild(self) -> None:
        unique = self.unique
        # The unique one first: the replay needs the natural-key index and no other.
        for name, sql in sorted(self.dropped, key=lambda d: d[0] not in unique):
            try:
                self.conn.execute(sql)
            except sqlite3.IntegrityError:
                if name not in unique:
                    raise
                self._replay_as_upserts(sql)
        self.dropped = []

    def _replay_as_upserts(self, unique_index_sql: str) -> None:
        """The file repeats a natural key: apply its rows again, in file order, as the
        upserts that they are (the table held nothing else before this delivery)."""
        conn, table = self.conn, self.spec.table_name
        cols = ", ".join(f"[{c}]" for c in kind_columns(self.spec))
        conn.execute("DROP TABLE IF EXISTS temp.station_replay")
        conn.execute(f"CREATE TEMP TABLE station_replay AS SELECT {cols} FROM [{table}] ORDER BY rowid")
        conn.execute(f"DELETE FROM [{table}]")
        conn.execute(unique_index_sql)
        conn.execute(f"INSERT INTO [{table}] ({cols}) SELECT {cols} FROM temp.station_replay"
                     f" WHERE true ORDER BY rowid {_on_conflict(self.spec)}")
        conn.execute("DROP TABLE temp.station_replay")


def _jsonable(cell: Any) -> Any:
    if cell is None or isinstance(cell, (str, int, float, bool)):
        return cell
    if hasattr(cell, "isoformat"):
        return cell.isoformat()
    return str(cell)[:200]
