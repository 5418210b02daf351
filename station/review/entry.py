"""The review log's entry format, versioned: what an entry's hash covers.

**Format 1** (schema 1–6; released: 0.1.0, schema 3). ``body`` is NULL; the hash is the SHA-256
of a canonical JSON of the columns (seq, anomaly_id, action, reviewer, note, amount, at,
prev_hash), amounts fixed to two decimals. What was decided on (subject, name, amount at
that moment) was not recorded. Such entries keep their hashes for ever: they are checked
exactly as the old release wrote them, names and notes as typed then.

**Format 2** (schema 7 on). ``body`` is the canonical JSON text (sorted keys, no spaces,
UTF-8) and ``hash`` is the SHA-256 of its bytes, so the body is exactly what is hashed.
It holds every column's value plus what the entry decided on as it was at that moment::

    {"v": 2, "seq": 17, "prev_hash": "…", "at": "2026-12-08T09:30:00",
     "action": "confirm", "reviewer": "张三", "note": "…", "amount": null,
     "anomaly": {"id": 1, "rule": "DEATH_PAID", "subject": "4403…", "period": "",
                 "name": "陈伯", "department": "public_security", "amount": "36166.20"}}

Amounts are strings with two decimals (``null`` when there is none); ``anomaly`` is null
for an entry about no anomaly (the ``upgrade`` seal). The columns are kept for queries;
:func:`disagreement` checks that they say what the body says.

**Extending** (new actions, new fields): add keys to the body — a key's meaning never
changes once written, and readers ignore keys they do not know. Change ``v`` only when
an existing key must mean something else; :data:`FORMAT` is what this release writes,
:data:`KNOWN_FORMATS` what it can check. Formats never go back along the chain: every
format-1 entry comes before the first format-2 entry, which is the seal when there are
format-1 entries (see :mod:`station.review.log`).
"""
from __future__ import annotations

import hashlib
import json

LEGACY = 1
FORMAT = 2
KNOWN_FORMATS = (LEGACY, FORMAT)
SYSTEM_REVIEWER = "（系统）"          # the reviewer of entries the station writes itself
NOT_RECORDED = "（旧版记录，未保存）"   # shown where a format-1 entry has no such field

# Body keys that mirror a column: (column, how to compare).
_MIRRORED = ("seq", "prev_hash", "at", "action", "reviewer", "note", "amount")
_FIELD_TITLES = {"seq": "序号", "prev_hash": "前一条校验值", "at": "时间", "action": "决定",
                 "reviewer": "复核人", "note": "说明", "amount": "追回金额", "anomaly_id": "疑点编号"}


def money(x: float | str | None) -> str | None:
    """An amount as hashed: two decimals, or None."""
    return None if x is None else f"{float(x):.2f}"


def dumps(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_v1(entry: dict) -> bytes:
    """The bytes that a format-1 entry's hash covers."""
    payload = {
        "seq": int(entry["seq"]),
        "anomaly_id": int(entry["anomaly_id"]),
        "action": entry["action"],
        "reviewer": entry["reviewer"],
        "note": entry.get("note"),
        "amount": money(entry.get("amount")),
        "at": entry["at"],
        "prev_hash": entry["prev_hash"],
    }
    return dumps(payload).encode("utf-8")


def snapshot(row: dict | None) -> dict | None:
    """What an entry records about its anomaly, from the anomaly's row as it is now
    (``id, rule, subject, period, name, department, amount``)."""
    if row is None:
        return None
    return {"id": int(row["id"]), "rule": row["rule"], "subject": row["subject"],
            "period": row["period"] or "", "name": row["name"], "department": row["department"],
            "amount": money(row["amount"])}


def make_body(*, seq: int, prev_hash: str, at: str, action: str, reviewer: str,
              note: str | None, amount: float | None, anomaly: dict | None, **extra) -> str:
    """The body of a new entry in the current format. ``extra`` adds action-specific keys
    (they must not be one of the common ones)."""
    payload = {"v": FORMAT, "seq": int(seq), "prev_hash": prev_hash, "at": at, "action": action,
               "reviewer": reviewer, "note": note, "amount": money(amount), "anomaly": anomaly}
    clash = set(extra) & set(payload)
    if clash:
        raise ValueError(f"extra keys clash with common ones: {sorted(clash)}")
    payload.update(extra)
    return dumps(payload)


def format_of(row: dict) -> int:
    """1 for an entry without body; otherwise the body's ``v`` (0 when unreadable)."""
    if row.get("body") is None:
        return LEGACY
    try:
        v = json.loads(row["body"]).get("v")
    except (ValueError, AttributeError):
        return 0
    return v if isinstance(v, int) else 0


def compute_hash(row: dict) -> str:
    """The hash that ``row`` (a decisions row as a dict) should carry."""
    if row.get("body") is None:
        return hashlib.sha256(canonical_v1(row)).hexdigest()
    return hashlib.sha256(row["body"].encode("utf-8")).hexdigest()


def content(row: dict) -> dict:
    """What the entry recorded, as a dict in the current shape: for format 1 built from
    the columns with ``anomaly`` None (not recorded); for format 2 the parsed body.
    Raises ValueError when a body is not a JSON object."""
    if row.get("body") is None:
        return {"v": LEGACY, "seq": row["seq"], "prev_hash": row["prev_hash"], "at": row["at"],
                "action": row["action"], "reviewer": row["reviewer"], "note": row.get("note"),
                "amount": money(row.get("amount")), "anomaly_id": row["anomaly_id"], "anomaly": None}
    body = json.loads(row["body"])
    if not isinstance(body, dict):
        raise ValueError("body is not an object")
    anomaly = body.get("anomaly")
    body["anomaly_id"] = anomaly.get("id") if isinstance(anomaly, dict) else None
    return body


def disagreement(row: dict, body: dict) -> str | None:
    """For a format-2 entry: the first column whose value is not what the hashed body
    says (Chinese field name and both values), or None."""
    for key in _MIRRORED + ("anomaly_id",):
        col = row.get(key)
        val = body.get(key)
        if key == "amount":
            col = money(col)
        if col != val:
            return f"{_FIELD_TITLES[key]}（表中为「{col}」，校验内容为「{val}」）"
    return None
