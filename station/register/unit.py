"""The unit view (单位): everything the station knows about one 单位编号 or credit code —
the register entry, the enterprise registrations, the contributions assessed and collected
by month and 险种, its archive documents, and the anomalies raised about it with their
decisions. The companion of the person view (the seed keeps archives "一个参保单位、一个
人头为保管单位").

A tax collection belongs to a unit by the rule of DOMAIN.md § The money side: its 单位编号
when given, else the lowest 单位编号 of the register units with its credit code, else the
credit code itself. Read-only; every query uses an index (units are few).
"""
from __future__ import annotations

import sqlite3
import unicodedata
from typing import Any

from .person import DECISION_KEYS, _columns, _rows

UNIT_ANOMALY_KEYS = ("id", "rule", "subject", "period", "severity", "amount", "recovered",
                     "review_status", "data_status", "first_seen", "name")


def fold_key(text: str | None) -> str:
    """A 单位编号 or credit code as stored: NFKC, no whitespace, upper-case."""
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split()).upper()


def _cents(x: float | None) -> int:
    return 0 if x is None else int(round(x * 100))


def unit_view(conn: sqlite3.Connection, key: str) -> dict[str, Any]:
    """Everything about the unit ``key`` (a 单位编号 or a credit code).

    Keys: ``key``, ``name``, ``unit_nos`` and ``credit_codes`` (what ``key`` resolved to),
    ``register`` (units rows), ``enterprises`` (rows), ``assessments`` and ``collections``
    (rows), ``by_month`` (period, 险种, assessed, collected, difference — amounts as
    floats exact to the cent), ``documents`` (scan-index rows), ``anomalies``,
    ``decisions``, ``found``."""
    from ..kinds.spec import KINDS
    k = fold_key(key)
    register = _rows(conn, KINDS["units"], "t.unit_no = ? OR t.credit_code = ?", [k, k], "ORDER BY t.unit_no")
    unit_nos = sorted({r["unit_no"] for r in register if r.get("unit_no")})
    codes = sorted({r["credit_code"] for r in register if r.get("credit_code")})
    if not register:
        unit_nos = [k]          # a unit known only from assessments or collections
        codes = [k]
    marks = lambda xs: ", ".join("?" for _ in xs)   # noqa: E731
    enterprises = _rows(conn, KINDS["enterprises"], f"t.credit_code IN ({marks(codes)})", codes,
                        "ORDER BY t.approval_date, t.rowid")
    assessments = _rows(conn, KINDS["contributions_due"], f"t.unit_no IN ({marks(unit_nos)})", unit_nos,
                        "ORDER BY t.period, t.insurance")
    # Collections naming the unit, and those naming only a credit code that resolves to it.
    collections = _rows(
        conn, KINDS["tax_collections"],
        f"t.unit_no IN ({marks(unit_nos)}) OR (t.unit_no IS NULL AND t.credit_code IN ({marks(codes)})"
        f" AND coalesce((SELECT min(u.unit_no) FROM units AS u WHERE u.credit_code = t.credit_code),"
        f" t.credit_code) IN ({marks(unit_nos)}))",
        [*unit_nos, *codes, *unit_nos], "ORDER BY t.period, t.insurance, t.paid_date")
    by_month = _by_month(assessments, collections)
    documents = _rows(conn, KINDS["scan_index"], f"t.subject IN ({marks(unit_nos)})", unit_nos,
                      "ORDER BY t.file_no, t.item_no")
    subjects = sorted({*unit_nos, *codes})
    rows = conn.execute(
        f"SELECT {', '.join(UNIT_ANOMALY_KEYS)} FROM anomalies WHERE subject IN ({marks(subjects)})"
        " ORDER BY first_seen DESC, id DESC", subjects).fetchall()
    anomalies = [dict(zip(UNIT_ANOMALY_KEYS, r)) for r in rows]
    decisions = []
    if anomalies:
        ids = [a["id"] for a in anomalies]
        decisions = [dict(zip(DECISION_KEYS, r)) for r in conn.execute(
            f"SELECT {', '.join(DECISION_KEYS)} FROM decisions WHERE anomaly_id IN ({marks(ids)})"
            " ORDER BY seq", ids)]
    name = next((r["unit_name"] for r in register if r.get("unit_name")), None) \
        or next((r["enterprise_name"] for r in reversed(enterprises) if r.get("enterprise_name")), None) \
        or next((r["unit_name"] for r in collections if r.get("unit_name")), None) \
        or next((a["name"] for a in anomalies if a.get("name") and a["name"] != a["subject"]), None)
    return {
        "key": k, "name": name, "unit_nos": unit_nos, "credit_codes": codes,
        "register": register, "register_columns": _columns(KINDS["units"]),
        "enterprises": enterprises, "enterprise_columns": _columns(KINDS["enterprises"]),
        "assessments": assessments, "collections": collections,
        "collection_columns": _columns(KINDS["tax_collections"]),
        "by_month": by_month, "documents": documents, "anomalies": anomalies, "decisions": decisions,
        "found": bool(register or enterprises or assessments or collections or documents or anomalies),
    }


def _by_month(assessments: list[dict], collections: list[dict]) -> list[dict]:
    """Assessed against collected per (费款所属期, 险种), newest period first."""
    cells: dict[tuple[str, str], list[int]] = {}
    for a in assessments:
        cells.setdefault((a["period"], a["insurance"]), [0, 0, 0, 0])
        cells[(a["period"], a["insurance"])][0] += _cents(a["amount_due"])
        cells[(a["period"], a["insurance"])][2] += 1
    for c in collections:
        cells.setdefault((c["period"], c["insurance"]), [0, 0, 0, 0])
        cells[(c["period"], c["insurance"])][1] += _cents(c["amount_paid"])
        cells[(c["period"], c["insurance"])][3] += 1
    out = []
    for (period, insurance), (due, paid, n_due, n_paid) in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1]),
                                                                 reverse=True):
        out.append({"period": period, "insurance": insurance,
                    "assessed": due / 100 if n_due else None, "collected": paid / 100 if n_paid else None,
                    "difference": (due - paid) / 100})
    return out


def search_units(conn: sqlite3.Connection, text: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Units whose 单位编号 or credit code starts with ``text``, or whose name contains it."""
    q = fold_key(text)
    if not q:
        return []
    name_q = "".join(unicodedata.normalize("NFKC", str(text)).split())
    rows = conn.execute(
        "SELECT unit_no, credit_code, unit_name, unit_status FROM units"
        " WHERE unit_no >= ? AND unit_no < ? OR credit_code >= ? AND credit_code < ? OR instr(unit_name, ?) > 0"
        " ORDER BY unit_no LIMIT ?", (q, q + "\uffff", q, q + "\uffff", name_q, limit)).fetchall()
    out = [{"unit_no": u, "credit_code": c, "name": n, "status": s or "正常", "in_register": True}
           for u, c, n, s in rows]
    if not out:      # a unit known only to the tax bureau (a credit code no unit has)
        for unit_no, code, name in conn.execute(
                "SELECT unit_no, credit_code, max(unit_name) FROM tax_collections"
                " WHERE unit_no = ? OR credit_code = ? GROUP BY unit_no, credit_code LIMIT ?", (q, q, limit)):
            out.append({"unit_no": unit_no, "credit_code": code, "name": name, "status": "未登记",
                        "in_register": False})
    return out
