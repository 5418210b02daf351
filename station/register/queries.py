"""Read-only queries over the register and the delivery ledger, for status screens."""
from __future__ import annotations

import sqlite3

from ..kinds.spec import KINDS

LEDGER_COLUMNS = ("id", "original_name", "kind", "department", "status", "rows_applied",
                  "rows_rejected", "rows_skipped", "received_at", "reason", "stored_path",
                  "member")         # a zip member: its path in the zip (stored_path is the zip)


def kind_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f"SELECT count(*) FROM [{spec.table_name}]").fetchone()[0]
            for name, spec in KINDS.items()}


def deliveries(conn: sqlite3.Connection, *, limit: int = 50, offset: int = 0,
               status: str | None = None) -> list[dict]:
    where, args = ("WHERE status = ?", [status]) if status else ("", [])
    rows = conn.execute(
        f"SELECT {', '.join(LEDGER_COLUMNS)} FROM deliveries {where} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, limit, offset]).fetchall()
    return [dict(zip(LEDGER_COLUMNS, r)) for r in rows]


def delivery(conn: sqlite3.Connection, delivery_id: int) -> dict | None:
    row = conn.execute(f"SELECT {', '.join(LEDGER_COLUMNS)} FROM deliveries WHERE id = ?",
                       (delivery_id,)).fetchone()
    return dict(zip(LEDGER_COLUMNS, row)) if row else None


def rejected_rows(conn: sqlite3.Connection, delivery_id: int, limit: int = 1000) -> list[dict]:
    rows = conn.execute(
        "SELECT row_no, reason, raw FROM rejected_rows WHERE delivery_id = ? ORDER BY row_no LIMIT ?",
        (delivery_id, limit)).fetchall()
    return [{"row_no": r[0], "reason": r[1], "raw": r[2]} for r in rows]


def ledger_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())


def register_status(conn: sqlite3.Connection, recent: int = 10) -> dict:
    return {
        "kinds": kind_counts(conn),
        "ledger": ledger_counts(conn),
        "recent": deliveries(conn, limit=recent),
        "last_evaluation": _last_evaluation(conn),
    }


def _last_evaluation(conn: sqlite3.Connection) -> dict | None:
    row = conn.execute("SELECT as_of, finished_at, open_count, new_count, cleared_count, seconds"
                       " FROM evaluations ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return dict(zip(("as_of", "finished_at", "open_count", "new_count", "cleared_count", "seconds"), row))
