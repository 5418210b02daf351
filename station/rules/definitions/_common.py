"""SQL and helpers shared by several rule modules (not a rule itself).

Terms follow DOMAIN.md § Anomaly rules:

- a **death record** is a ``cremations`` row or a ``household_deaths`` row with reason
  死亡 (its 注销日期 standing in for an empty 死亡日期);
- a person's **death date** is the earliest death date among the death records with
  their ID (records without an ID link to nobody here; DEATH_FUZZY_MATCH alone looks at
  them, and what it matches counts for no other rule);
- **terminal status** is 终止 or 死亡.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable

TERMINAL = ("终止", "死亡")
TERMINAL_SQL = "('终止', '死亡')"
PS_DEATH_REASON = "死亡"

# CTEs: death_records(kind, rid, id_number, death_date, name) and deaths(id_number, death_date).
DEATH_CTES = f"""
death_records(kind, rid, id_number, death_date, name) AS (
    SELECT 'household_deaths', rowid, id_number, coalesce(death_date, cancel_date), name
      FROM household_deaths
     WHERE cancel_reason = '{PS_DEATH_REASON}' AND id_number IS NOT NULL
    UNION ALL
    SELECT 'cremations', rowid, id_number, death_date, name
      FROM cremations
     WHERE id_number IS NOT NULL AND death_date IS NOT NULL),
deaths(id_number, death_date) AS (
    SELECT id_number, min(death_date) FROM death_records GROUP BY id_number)
"""

SOURCE_TITLES = {"household_deaths": "公安", "cremations": "民政"}


def as_json(values: Iterable) -> str:
    """A list for ``json_each(?)`` (IN lists of any length without building SQL)."""
    return json.dumps(list(values), ensure_ascii=False)


def death_records_of(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, list[tuple]]:
    """The ID-linked death records of ``ids``: id → [(kind, rowid, death_date, name)], earliest first."""
    out: dict[str, list[tuple]] = {}
    ids = list(ids)
    if not ids:
        return out
    rows = conn.execute(
        f"WITH {DEATH_CTES} SELECT id_number, kind, rid, death_date, name FROM death_records"
        " WHERE id_number IN (SELECT value FROM json_each(?))"
        " ORDER BY id_number, death_date, kind, rid", (as_json(ids),))
    for id_number, kind, rid, death_date, name in rows:
        out.setdefault(id_number, []).append((kind, rid, death_date, name))
    return out


def person_rows(conn: sqlite3.Connection, ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """Register persons by ID: id → (rowid, name)."""
    ids = list(ids)
    if not ids:
        return {}
    return {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT id_number, rowid, name FROM persons"
        " WHERE id_number IN (SELECT value FROM json_each(?))", (as_json(ids),))}


def month(date_iso: str | None) -> str:
    return (date_iso or "")[:7]


def joined(values: Iterable, sep: str = "、") -> str:
    seen = []
    for v in values:
        if v is not None and v != "" and v not in seen:
            seen.append(v)
    return sep.join(str(v) for v in seen)


# The latest disability change per ID: the greatest 变动日期; on a tie, the row applied
# last (the later delivery, then the later row within it).
LATEST_CHANGE_CTE = """
latest AS (
    SELECT rid, id_number, name, level, change_type, change_date FROM (
        SELECT rowid AS rid, id_number, name, level, change_type, change_date,
               row_number() OVER (PARTITION BY id_number
                                  ORDER BY change_date DESC, delivery_id DESC, row_no DESC) AS rn
          FROM disability_changes)
     WHERE rn = 1)
"""


def eligible_levels(values) -> list[str]:
    """``eligible_levels`` as stored levels (一级 … 四级); 1, 1级 and 壹级 all mean 一级.
    A value that is no level is kept as written (it then matches nothing)."""
    from ...normalise import FieldError, parse_level
    out = []
    for v in values or []:
        try:
            level = parse_level(v if isinstance(v, (int, float)) else str(v))
        except FieldError:
            level = str(v)
        if level and level not in out:
            out.append(level)
    return out


def subsidy_rows(conn: sqlite3.Connection, ids) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for id_number, rid in conn.execute(
            "SELECT id_number, rowid FROM subsidies WHERE id_number IN (SELECT value FROM json_each(?))"
            " ORDER BY id_number, start_month", (as_json(ids),)):
        out.setdefault(id_number, []).append(rid)
    return out


def change_rows(conn: sqlite3.Connection, ids) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for id_number, rid in conn.execute(
            "SELECT id_number, rowid FROM disability_changes"
            " WHERE id_number IN (SELECT value FROM json_each(?))"
            " ORDER BY id_number, change_date, delivery_id, row_no", (as_json(ids),)):
        out.setdefault(id_number, []).append(rid)
    return out


def multi_payment_pairs(ctx) -> str:
    """The (ID, period) pairs with more than one payment, as JSON ``[[id, period], …]``.

    One pass over the (id_number, period) index — the costliest step of the payment
    rules — shared by DUPLICATE_PAYMENT and CONFLICTING_BENEFITS within one evaluation.
    """
    key = "multi_payment_pairs"
    if key not in ctx.shared:
        rows = ctx.conn.execute(
            "SELECT id_number, period FROM payments GROUP BY id_number, period HAVING count(*) > 1"
        ).fetchall()
        ctx.shared[key] = json.dumps(rows, ensure_ascii=False)
    return ctx.shared[key]


# Use as ``WITH pairs AS (...)`` with the JSON of multi_payment_pairs() as :pairs.
PAIRS_CTE = """
pairs(id_number, period) AS MATERIALIZED (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs))
"""


def change_history(ev, change_rowids: list[int], latest_rowid: int) -> list[dict]:
    """A person's disability changes as evidence: the latest one first (so titled), then
    up to 20 earlier ones."""
    latest = ev.record("disability_changes", latest_rowid, "残疾人变动信息（最新一条）")
    history = [ev.record("disability_changes", i) for i in change_rowids[-20:]]
    return [latest] + [h for h in history
                       if (h["delivery_id"], h["row_no"]) != (latest["delivery_id"], latest["row_no"])]
