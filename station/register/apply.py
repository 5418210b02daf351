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

When the caller applies several deliveries in a row (``defer=True``: a county's first
load is a roster and twelve months of payroll), an empty table's indexes that are not
unique are not rebuilt at the end of its first delivery but once, after the last one
(:func:`build_deferred_indexes`): the months after the first are then appended without
updating an index over the whole payroll each. The indexes still to be built are written
down in ``meta`` in the same transaction that dropped them; any later call of
:func:`build_deferred_indexes` (every rule evaluation makes one) builds what a crash left.
Only the unique natural-key index is needed to apply deliveries correctly, and it is
always rebuilt at once.
"""
from __future__ import annotations

import json
import sqlite3
from operator import itemgetter
from typing import Any, Iterable

from ..kinds.spec import KindSpec
from .schema import kind_columns

BATCH = 5000
# Page cache while a delivery is written (KiB; the connection's usual one is 64 MB): more
# of the indexes that a large delivery updates at random places stay in memory. Set back after.
WRITE_CACHE_KIB = 128 * 1024
DEFERRED_KEY = "deferred_indexes"        # meta: {index name: CREATE statement}
# A delivery of a kind keyed by ID number reports the IDs it wrote (RowWriter.ids), up to
# this many, so that the rules re-evaluate only those (station.rules.scope).
SCOPE_MAX_IDS = 20_000


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

    def __init__(self, conn: sqlite3.Connection, spec: KindSpec, delivery_id: int, *,
                 defer: bool = False):
        self.conn = conn
        self.defer = defer
        self.spec = spec
        self.delivery_id = delivery_id
        self.sql = upsert_sql(spec)
        self.insert = insert_sql(spec)
        self.rows: list[list] = []
        self.rejected: list[tuple] = []
        self.applied = 0
        self.rejected_count = 0
        cols = list(kind_columns(spec))
        # The IDs written, when the ID is part of the natural key (an upsert never moves a
        # record to another ID); None when there are too many or the kind has none.
        self.ids: set[str] | None = set() if "id_number" in spec.key else None
        self._id_of = itemgetter(cols.index("id_number")) if self.ids is not None else None
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
        self.add_rows([values])

    def add_rows(self, rows: list) -> None:
        """Rows whose ``delivery_id`` and ``row_no`` are already filled in."""
        self.rows.extend(rows)
        if self.ids is not None:
            self.ids.update(map(self._id_of, rows))
            if len(self.ids) > SCOPE_MAX_IDS:
                self.ids = None
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
        later = {name: sql for name, sql in self.dropped if name not in unique} if self.defer else {}
        # The unique one first: the replay needs the natural-key index and no other.
        for name, sql in sorted(self.dropped, key=lambda d: d[0] not in unique):
            if name in later:
                continue
            try:
                self.conn.execute(sql)
            except sqlite3.IntegrityError:
                if name not in unique:
                    raise
                self._replay_as_upserts(sql)
        if later:
            _set_deferred(self.conn, {**deferred_indexes(self.conn), **later})
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


def deferred_indexes(conn: sqlite3.Connection) -> dict[str, str]:
    """Indexes dropped for a bulk load and not built yet: {name: CREATE statement}."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (DEFERRED_KEY,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def _set_deferred(conn: sqlite3.Connection, indexes: dict[str, str]) -> None:
    if indexes:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     (DEFERRED_KEY, json.dumps(indexes, ensure_ascii=False)))
    else:
        conn.execute("DELETE FROM meta WHERE key = ?", (DEFERRED_KEY,))


def build_deferred_indexes(conn: sqlite3.Connection) -> list[str]:
    """Build the indexes that bulk loads deferred (see the module docstring), in one write
    transaction; the names built. Cheap when there are none."""
    from .db import write_transaction
    if not deferred_indexes(conn):
        return []
    with write_transaction(conn):
        pending = deferred_indexes(conn)           # again, now that the lock is held
        existing = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
        try:
            for name, sql in pending.items():
                if name not in existing:
                    conn.execute(sql)
        finally:
            conn.execute(f"PRAGMA cache_size = {cache_size}")
        _set_deferred(conn, {})
    return list(pending)


def _jsonable(cell: Any) -> Any:
    if cell is None or isinstance(cell, (str, int, float, bool)):
        return cell
    if hasattr(cell, "isoformat"):
        return cell.isoformat()
    return str(cell)[:200]
