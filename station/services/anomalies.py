"""Reading anomalies: filter, sort and page them, one in full, and a per-rule summary.

Used by ``station anomalies`` and by the review queue of the TUI. All user input reaches
SQL as parameters; sort keys come from a whitelist. A page is fetched in two steps —
the ids of the page from the narrow ``anomalies_queue`` index (filter, sort, LIMIT and
OFFSET without touching the wide evidence column), then those rows — so that a page of
a 100,000-anomaly queue takes milliseconds.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..kinds.spec import DEPARTMENTS
from ..review.states import DATA_STATUS_TITLES, STATE_TITLES, STATES
from ..rules.base import RULES, SEVERITY_TITLES

# Importing the engine registers every rule (titles and explanations for the output).
from ..rules import engine as _engine  # noqa: F401


class FilterError(ValueError):
    """A filter value that means nothing; ``str(e)`` is a Chinese message."""


@dataclass
class AnomalyFilter:
    rules: list[str] | None = None
    statuses: list[str] | None = None        # review status: new … rectified, or 待核查 …
    data_status: str | None = "open"         # open | cleared; None = all
    departments: list[str] | None = None     # public_security … or 公安 …
    severities: list[str] | None = None      # high | medium | low, or 高 / 中 / 低
    min_amount: float | None = None
    older_than_days: int | None = None       # first_seen older than this many days
    search: str | None = None                # substring of name or subject (ID)
    ids: list[int] | None = None


COLUMNS = ("id", "rule", "subject", "period", "department", "severity", "name", "amount",
           "review_status", "data_status", "recovered", "first_seen", "last_seen",
           "cleared_at", "as_of")

_SEVERITY_RANK = "CASE severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END"
_STATUS_RANK = "CASE review_status " + " ".join(
    f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATES)) + f" ELSE {len(STATES)} END"

SORT_KEYS: dict[str, str] = {
    "id": "id",
    "rule": "rule",
    "severity": _SEVERITY_RANK,        # descending: high first
    "amount": "amount",
    "first_seen": "first_seen",
    "last_seen": "last_seen",
    "subject": "subject",
    "name": "name",
    "review_status": _STATUS_RANK,     # in workflow order: new … rectified
    "department": "department",
}

def _codes(values: list[str] | None, titles: dict[str, str], what: str) -> list[str] | None:
    """Codes for ``values`` given as codes or as their Chinese titles (``titles``: code →
    title); FilterError names the ones available."""
    if values is None:
        return None
    by_title = {t: c for c, t in titles.items()}
    out = []
    for v in values:
        v = str(v).strip()
        code = v if v in titles else by_title.get(v)
        if code is None:
            shown = "、".join(f"{c}（{t}）" for c, t in titles.items())
            raise FilterError(f"未知的{what}「{v}」。可用的有：{shown}。")
        out.append(code)
    return out


def normalise_filter(f: AnomalyFilter) -> AnomalyFilter:
    """The filter with codes for Chinese titles (待核查 → new, 公安 → public_security, …);
    raises FilterError for a value that is neither."""
    rules = None
    if f.rules is not None:
        rules = []
        for r in f.rules:
            r = str(r).strip()
            code = r.upper() if r.upper() in RULES else next(
                (rid for rid, rule in RULES.items() if rule.title == r), None)
            if code is None:
                raise FilterError(f"未知的规则「{r}」。可用的规则有：{'、'.join(RULES)}。")
            rules.append(code)
    data_status = f.data_status
    if data_status is not None:
        data_status = _codes([data_status], DATA_STATUS_TITLES, "数据状态")[0]
    return AnomalyFilter(
        rules=rules,
        statuses=_codes(f.statuses, STATE_TITLES, "核查状态"),
        data_status=data_status,
        departments=_codes(f.departments, DEPARTMENTS, "部门"),
        severities=_codes(f.severities, SEVERITY_TITLES, "严重程度"),
        min_amount=f.min_amount, older_than_days=f.older_than_days,
        search=(f.search or "").strip() or None, ids=f.ids)


def _where(f: AnomalyFilter, now: dt.datetime | None = None) -> tuple[str, list[Any]]:
    f = normalise_filter(f)
    clauses: list[str] = []
    args: list[Any] = []

    def one_of(column: str, values: list) -> None:
        clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
        args.append(json.dumps(values, ensure_ascii=False))

    if f.data_status is not None:
        clauses.append("data_status = ?")
        args.append(f.data_status)
    if f.rules is not None:
        one_of("rule", f.rules)
    if f.statuses is not None:
        one_of("review_status", f.statuses)
    if f.departments is not None:
        one_of("department", f.departments)
    if f.severities is not None:
        one_of("severity", f.severities)
    if f.min_amount is not None:
        clauses.append("amount >= ?")
        args.append(float(f.min_amount))
    if f.older_than_days is not None:
        limit = (now or dt.datetime.now()) - dt.timedelta(days=int(f.older_than_days))
        clauses.append("first_seen < ?")
        args.append(limit.strftime("%Y-%m-%dT%H:%M:%S"))
    if f.search:
        clauses.append("(instr(name, ?) > 0 OR instr(subject, ?) > 0)")
        args += [f.search, f.search.upper()]
    if f.ids is not None:
        one_of("id", [int(i) for i in f.ids])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _queue_index(conn: sqlite3.Connection) -> str:
    """``INDEXED BY anomalies_queue`` when the index exists (it does in every register the
    current schema created). Without the hint the planner walks the sort column's index
    and reads each wide row to test the filter."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'anomalies_queue'"
                         ).fetchone()
    return " INDEXED BY anomalies_queue" if found else ""


def _row_dict(row: sqlite3.Row | tuple, evidence: str | None, with_evidence: bool) -> dict:
    d = dict(zip(COLUMNS, row))
    rule = RULES.get(d["rule"])
    out = {
        "id": d["id"],
        "rule": d["rule"],
        "title": rule.title if rule else d["rule"],
        "severity": d["severity"],
        "severity_title": SEVERITY_TITLES.get(d["severity"], d["severity"]),
        "department": d["department"],
        "department_title": DEPARTMENTS.get(d["department"], d["department"]),
        "subject": d["subject"],
        "name": d["name"],
        "period": d["period"] or None,
        "amount": d["amount"],
        "status": d["review_status"],
        "status_title": STATE_TITLES.get(d["review_status"], d["review_status"]),
        "data_status": d["data_status"],
        "data_status_title": DATA_STATUS_TITLES.get(d["data_status"], d["data_status"]),
        "recovered": d["recovered"],
        "first_seen": d["first_seen"],
        "last_seen": d["last_seen"],
        "cleared_at": d["cleared_at"],
        "as_of": d["as_of"],
    }
    if with_evidence:
        out["evidence"] = json.loads(evidence) if evidence else {}
    return out


def list_anomalies(conn: sqlite3.Connection, f: AnomalyFilter | None = None, *,
                   sort: str = "first_seen", descending: bool = False, limit: int | None = None,
                   offset: int = 0, evidence: bool = True) -> list[dict]:
    """One page of anomalies matching ``f``, sorted by ``sort`` (a key of SORT_KEYS);
    ties are broken by id so that pages never overlap. ``evidence=False`` leaves out the
    parsed evidence (a queue's list view does not need it)."""
    if sort not in SORT_KEYS:
        raise FilterError(f"不能按「{sort}」排序。可用的有：{'、'.join(SORT_KEYS)}。")
    where, args = _where(f or AnomalyFilter())
    direction = "DESC" if descending else "ASC"
    order = f"{SORT_KEYS[sort]} {direction}" + ("" if sort == "id" else f", id {direction}")
    page = ""
    if limit is not None or offset:
        page = " LIMIT ? OFFSET ?"
        args = [*args, -1 if limit is None else int(limit), int(offset)]
    ids = [r[0] for r in conn.execute(
        f"SELECT id FROM anomalies{_queue_index(conn)}{where} ORDER BY {order}{page}", args)]
    if not ids:
        return []
    cols = ", ".join(COLUMNS) + (", evidence" if evidence else ", NULL")
    rows = {}
    for start in range(0, len(ids), 50_000):
        chunk = ids[start:start + 50_000]
        for r in conn.execute(f"SELECT {cols} FROM anomalies WHERE id IN (SELECT value FROM json_each(?))",
                              (json.dumps(chunk),)):
            rows[r[0]] = r
    return [_row_dict(rows[i][:-1], rows[i][-1], evidence) for i in ids if i in rows]


def anomaly_ids(conn: sqlite3.Connection, f: AnomalyFilter | None = None) -> list[int]:
    """The ids of every anomaly matching ``f``, in id order (for bulk decisions)."""
    where, args = _where(f or AnomalyFilter())
    return [r[0] for r in conn.execute(f"SELECT id FROM anomalies{where} ORDER BY id", args)]


def count_anomalies(conn: sqlite3.Connection, f: AnomalyFilter | None = None) -> int:
    where, args = _where(f or AnomalyFilter())
    return conn.execute(f"SELECT count(*) FROM anomalies{_queue_index(conn)}{where}",
                        args).fetchone()[0]


def get_anomaly(conn: sqlite3.Connection, anomaly_id: int) -> dict | None:
    """One anomaly in full: the row, its evidence, the rule's title and explanation, its
    data events (found, amount, cleared, reopened) and its review decisions, oldest first."""
    row = conn.execute(f"SELECT {', '.join(COLUMNS)}, evidence FROM anomalies WHERE id = ?",
                       (int(anomaly_id),)).fetchone()
    if row is None:
        return None
    out = _row_dict(row[:-1], row[-1], True)
    rule = RULES.get(out["rule"])
    out["explanation"] = rule.explanation if rule else ""
    out["has_period"] = rule.has_period if rule else False
    out["has_amount"] = rule.has_amount if rule else out["amount"] is not None
    out["events"] = [dict(zip(("id", "at", "as_of", "event", "detail"), r)) for r in conn.execute(
        "SELECT id, at, as_of, event, detail FROM anomaly_events WHERE anomaly_id = ? ORDER BY id",
        (out["id"],))]
    out["decisions"] = [dict(zip(("seq", "action", "reviewer", "note", "amount", "at"), r))
                        for r in conn.execute(
        "SELECT seq, action, reviewer, note, amount, at FROM decisions WHERE anomaly_id = ? ORDER BY seq",
        (out["id"],))]
    return out


def anomaly_summary(conn: sqlite3.Connection) -> list[dict]:
    """Per rule (in DOMAIN order, every rule even without anomalies): open anomalies, their
    amount, open ones by review status, and how many were cleared by data."""
    out = {rid: {"rule": rid, "title": r.title, "department": r.department,
                 "department_title": DEPARTMENTS.get(r.department, r.department),
                 "severity": r.severity, "open": 0, "amount": 0.0, "cleared": 0,
                 "by_status": {s: 0 for s in STATES}} for rid, r in RULES.items()}
    for rule, data_status, review_status, n, amount in conn.execute(
            "SELECT rule, data_status, review_status, count(*), total(amount)"
            f" FROM anomalies{_queue_index(conn)} GROUP BY rule, data_status, review_status"):
        entry = out.setdefault(rule, {"rule": rule, "title": rule, "department": None,
                                      "department_title": None, "severity": None, "open": 0,
                                      "amount": 0.0, "cleared": 0, "by_status": {s: 0 for s in STATES}})
        if data_status == "open":
            entry["open"] += n
            entry["amount"] = round(entry["amount"] + amount, 2)
            entry["by_status"][review_status] = entry["by_status"].get(review_status, 0) + n
        else:
            entry["cleared"] += n
    return list(out.values())


def masked_anomaly(a: dict) -> dict:
    """An anomaly (from :func:`list_anomalies` or :func:`get_anomaly`) as every default
    output shows it (station.normalise.privacy): the subject masked when it is a person,
    ID numbers in the name, evidence, notes and events masked, birth dates to the year
    (of the subject and of every ID any of them names), accounts to their last four
    digits. The input is left alone."""
    from ..export.review_log import mask_subject
    from ..normalise.privacy import ids_in, mask_personal, mask_value
    ids = ids_in(a) | {a.get("subject") or ""}    # every ID it names: its parts are read together
    out = dict(a)
    out["subject"] = mask_subject(a.get("rule") or "", a.get("subject"))
    out["name"] = mask_personal(a["name"], ids) if a.get("name") else a.get("name")
    if "evidence" in a:
        out["evidence"] = mask_value(a["evidence"], ids)
    for key, text_key in (("decisions", "note"), ("events", "detail")):
        if key in a:
            out[key] = [{**d, text_key: mask_personal(d[text_key], ids) if d.get(text_key) else d.get(text_key)}
                        for d in a[key]]
    return out
