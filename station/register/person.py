"""The person view: everything the station knows about one ID number, across all kinds.

DOMAIN.md: "no single place shows all of one person's social insurance records" — this
module answers that with one read-only query per source: the register record (and the
person's unit), payments by month, every partner department's records, the scanned
archive documents, and the anomalies raised about the person with their decisions.

Read-only; every query uses an index on ``id_number`` (or ``subject``), so one person
costs a few milliseconds even in a county-sized register.
"""
from __future__ import annotations

import re
import sqlite3
import unicodedata
from typing import Any

from ..kinds.spec import DEPARTMENTS, KINDS, KindSpec

# Kinds shown as "partner records": everything with an ID column except the register
# record itself and payments, which have sections of their own.
PARTNER_KINDS = ("household_deaths", "cremations", "disability_changes", "new_students",
                 "subsidies", "resident_medical")

_ID_LIKE = re.compile(r"^[0-9]{5,17}[0-9X]?$")


def _fold(text: str | None) -> str:
    """Names and IDs compare after NFKC folding with all whitespace removed (DOMAIN.md)."""
    if not text:
        return ""
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


def looks_like_id(text: str) -> bool:
    """Digits (optionally ending in X): searched as an ID number or its prefix."""
    return bool(_ID_LIKE.match(_fold(text).upper()))


def _columns(spec: KindSpec) -> list[tuple[str, str]]:
    return [(f.column, f.header) for f in spec.fields]


def _rows(conn: sqlite3.Connection, spec: KindSpec, where: str, args: list,
          order: str = "", limit: int | None = None) -> list[dict[str, Any]]:
    cols = [f"t.[{c}]" for c in spec.columns]
    sql = (f"SELECT {', '.join(cols)}, t.delivery_id, t.row_no, d.original_name"
           f" FROM [{spec.table_name}] t LEFT JOIN deliveries d ON d.id = t.delivery_id"
           f" WHERE {where} {order}")
    if limit:
        sql += f" LIMIT {int(limit)}"
    keys = [*spec.columns, "delivery_id", "row_no", "file"]
    return [dict(zip(keys, r)) for r in conn.execute(sql, args)]


def _section(conn: sqlite3.Connection, kind: str, where: str, args: list, order: str = "",
             limit: int | None = None) -> dict[str, Any]:
    spec = KINDS[kind]
    return {
        "kind": kind,
        "title": spec.title,
        "department": DEPARTMENTS.get(spec.department, spec.department),
        "columns": _columns(spec),
        "rows": _rows(conn, spec, where, args, order, limit),
    }


def person_view(conn: sqlite3.Connection, id_number: str, *, payment_limit: int = 2000) -> dict[str, Any]:
    """Everything known about ``id_number`` (normalised form). Sections may be empty.

    Keys: ``id``, ``name`` (best known), ``register`` (persons row or None), ``unit``
    (the register unit row or None), ``payments`` (section, newest period first),
    ``payments_by_month`` (period, total, count, benefit types), ``partner`` (list of
    sections, one per partner kind with rows), ``documents`` (scan-index section),
    ``anomalies`` and ``decisions`` (lists of dicts).
    """
    pid = _fold(id_number).upper()
    persons = _rows(conn, KINDS["persons"], "t.id_number = ?", [pid])
    register = persons[0] if persons else None
    unit = None
    if register and register.get("unit_no"):
        units = _rows(conn, KINDS["units"], "t.unit_no = ?", [register["unit_no"]])
        unit = units[0] if units else None

    payments = _section(conn, "payments", "t.id_number = ?", [pid],
                        "ORDER BY t.period DESC, t.serial_no", payment_limit)
    by_month = [
        {"period": p, "total": round(total or 0.0, 2), "count": n, "types": types or ""}
        for p, total, n, types in conn.execute(
            "SELECT period, sum(amount), count(*), group_concat(DISTINCT benefit_type)"
            " FROM payments WHERE id_number = ? GROUP BY period ORDER BY period DESC", (pid,))]

    partner = []
    for kind in PARTNER_KINDS:
        section = _section(conn, kind, "t.id_number = ?", [pid], "ORDER BY t.rowid")
        if section["rows"]:
            partner.append(section)

    documents = _section(conn, "scan_index", "t.subject = ?", [pid],
                         "ORDER BY t.file_no, t.item_no")
    doc_subjects = [f"{d['file_no']}#{d['item_no']}" for d in documents["rows"]]

    from .bank import bank_view
    bank = bank_view(conn, pid)
    anomalies = _person_anomalies(conn, pid, doc_subjects)
    decisions = _person_decisions(conn, [a["id"] for a in anomalies])

    name = (register or {}).get("name")
    if not name:
        for section in (*partner, payments):
            for row in section["rows"]:
                if row.get("name"):
                    name = row["name"]
                    break
            if name:
                break
    if not name:
        name = next((a["name"] for a in anomalies if a.get("name")), None)

    return {
        "id": pid,
        "name": name,
        "register": register,
        "register_columns": _columns(KINDS["persons"]),
        "unit": unit,
        "unit_columns": _columns(KINDS["units"]),
        "payments": payments,
        "payments_by_month": by_month,
        "partner": partner,
        "documents": documents,
        "anomalies": anomalies,
        "decisions": decisions,
        "bank": bank,
        "found": bool(register or payments["rows"] or partner or documents["rows"] or anomalies
                      or bank["returns"]),
    }


ANOMALY_KEYS = ("id", "rule", "period", "severity", "amount", "recovered", "review_status",
                "data_status", "first_seen", "name", "subject")


def _person_anomalies(conn: sqlite3.Connection, pid: str, doc_subjects: list[str]) -> list[dict]:
    subjects = [pid, *doc_subjects]
    marks = ", ".join("?" for _ in subjects)
    rows = conn.execute(
        f"SELECT {', '.join(ANOMALY_KEYS)} FROM anomalies WHERE subject IN ({marks})"
        " ORDER BY first_seen DESC, id DESC", subjects).fetchall()
    return [dict(zip(ANOMALY_KEYS, r)) for r in rows]


DECISION_KEYS = ("seq", "anomaly_id", "action", "reviewer", "note", "amount", "at")


def _person_decisions(conn: sqlite3.Connection, anomaly_ids: list[int]) -> list[dict]:
    if not anomaly_ids:
        return []
    marks = ", ".join("?" for _ in anomaly_ids)
    rows = conn.execute(
        f"SELECT {', '.join(DECISION_KEYS)} FROM decisions WHERE anomaly_id IN ({marks})"
        " ORDER BY seq", anomaly_ids).fetchall()
    return [dict(zip(DECISION_KEYS, r)) for r in rows]


# --------------------------------------------------------------------------- search

SEARCH_KINDS = ("persons", "household_deaths", "cremations", "disability_changes", "new_students",
                "subsidies", "resident_medical")


def _prefix_range(prefix: str) -> tuple[str, str]:
    """[prefix, upper) so that ``col >= ? AND col < ?`` is a prefix search on an index."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def search_persons(conn: sqlite3.Connection, text: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """People whose ID starts with ``text`` or whose name equals (or, in the register,
    starts with) ``text``. One entry per ID: ``id_number``, ``name``, ``status`` (register
    status or None), ``in_register``, ``sources`` (kind titles where the ID appears).
    """
    q = _fold(text)
    if not q:
        return []
    found: dict[str, dict[str, Any]] = {}

    def add(kind: str, id_number: str | None, name: str | None, status: str | None = None) -> None:
        if not id_number:
            return
        entry = found.setdefault(id_number, {"id_number": id_number, "name": name, "status": None,
                                             "in_register": False, "sources": []})
        if kind == "persons":
            entry["in_register"] = True
            entry["status"] = status
            entry["name"] = name or entry["name"]
        elif not entry["name"]:
            entry["name"] = name
        title = KINDS[kind].title
        if title not in entry["sources"]:
            entry["sources"].append(title)

    if looks_like_id(q):
        lo, hi = _prefix_range(q.upper())
        for kind in (*SEARCH_KINDS, "payments"):
            table = KINDS[kind].table_name
            status = ", status" if kind == "persons" else ", NULL"
            for id_number, name, st in conn.execute(
                    f"SELECT DISTINCT id_number, name{status} FROM [{table}]"
                    f" WHERE id_number >= ? AND id_number < ? LIMIT ?", (lo, hi, limit)):
                add(kind, id_number, name, st)
    else:
        lo, hi = _prefix_range(q)
        for id_number, name, st in conn.execute(
                "SELECT id_number, name, status FROM persons WHERE name >= ? AND name < ?"
                " ORDER BY name = ? DESC, name LIMIT ?", (lo, hi, q, limit)):
            add("persons", id_number, name, st)
        for kind in SEARCH_KINDS[1:]:
            table = KINDS[kind].table_name
            for id_number, name in conn.execute(
                    f"SELECT DISTINCT id_number, name FROM [{table}] WHERE name = ? LIMIT ?", (q, limit)):
                add(kind, id_number, name)
    out = sorted(found.values(), key=lambda e: (not e["in_register"], e["name"] != q, e["id_number"]))
    return out[:limit]
