"""Writing mapped rows into the register: upsert by natural key, in the caller's transaction.

Rows go in through ``executemany`` in batches (NOTES.md: sqlite-utils' ``insert_all``
commits per chunk and costs about twice as much), so one delivery stays one transaction.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterable

from ..kinds.spec import KindSpec
from .schema import kind_columns

BATCH = 5000


def upsert_sql(spec: KindSpec) -> str:
    cols = list(kind_columns(spec))
    names = ", ".join(f"[{c}]" for c in cols)
    marks = ", ".join("?" for _ in cols)
    updates = ", ".join(f"[{c}] = excluded.[{c}]" for c in cols if c != "nk")
    return (f"INSERT INTO [{spec.table_name}] ({names}) VALUES ({marks}) "
            f"ON CONFLICT(nk) DO UPDATE SET {updates}")


class RowWriter:
    """Buffers mapped rows and rejected rows of one delivery and writes them in batches."""

    def __init__(self, conn: sqlite3.Connection, spec: KindSpec, delivery_id: int):
        self.conn = conn
        self.delivery_id = delivery_id
        self.sql = upsert_sql(spec)
        self.rows: list[list] = []
        self.rejected: list[tuple] = []
        self.applied = 0
        self.rejected_count = 0

    def add(self, row_no: int, values: list) -> None:
        values[-2] = self.delivery_id
        values[-1] = row_no
        self.rows.append(values)
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
            self.conn.executemany(self.sql, self.rows)
            self.applied += len(self.rows)
            self.rows.clear()
        if self.rejected:
            self.conn.executemany(
                "INSERT INTO rejected_rows (delivery_id, row_no, reason, raw) VALUES (?, ?, ?, ?)",
                self.rejected)
            self.rejected.clear()


def _jsonable(cell: Any) -> Any:
    if cell is None or isinstance(cell, (str, int, float, bool)):
        return cell
    if hasattr(cell, "isoformat"):
        return cell.isoformat()
    return str(cell)[:200]
