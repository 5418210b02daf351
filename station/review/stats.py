"""Review figures for the monthly report and the TUI dashboard: pure read-only queries
returning plain dicts.

Definitions (also printed in the report):

- **found** (发现): anomalies first seen (``first_seen``) in the period; for the
  cumulative figures, first seen on or before the period's end.
- The state of each anomaly is replayed from the review log up to the period's end
  (decisions with ``at`` before the first day of the next month), so a report for a past
  month comes out the same whenever it is run.
- **confirmed** (确认违规): reached 确认违规 by the period's end, *including* those since
  rectified; **rectified** (已整改) is a subset of confirmed; **dismissed** (排除).
- **handled** (已处理) = confirmed + dismissed (states in ``HANDLED``).
- **处理率** = handled / found; **整改率** = rectified / confirmed. Both against
  ``TARGET_RATE`` (95%); None (shown as —) when the denominator is 0.
- Unhandled anomalies split into **open** (待核查/核查中 and still present in the data at
  the period's end) and **cleared_unhandled** (removed by data before anyone decided):
  found = handled + open + cleared_unhandled. Cleared ones still count in 处理率's
  denominator: a reviewer closes them with a decision (``--cleared``).
- **amount_involved**: the anomalies' amounts (涉及金额); **amount_recovered**: the
  amounts recorded with 整改完成 up to the period's end.
- **age bands**: open anomalies at the period's end (all of them, whatever month they
  were found in), by days from first seen to the period's end (today when no month):
  ≤30天, 31–90天, 91–180天, >180天.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Iterable

from ..kinds.spec import DEPARTMENTS
from .log import ReviewState, _replay
from .states import HANDLED, TARGET_RATE

AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("≤30天", 30), ("31–90天", 90), ("91–180天", 180), (">180天", None))


# --------------------------------------------------------------------------- titles

def _rules() -> dict:
    from ..rules.base import RULES
    if not RULES:
        try:   # registers the rules that exist (the rules package may still be empty)
            import station.rules.definitions  # noqa: F401
        except Exception:   # pragma: no cover - a broken rule module must not break reports
            pass
    return RULES


def rule_title(rule_id: str) -> str:
    rule = _rules().get(rule_id)
    return rule.title if rule else rule_id


def department_title(department: str | None) -> str:
    if not department:
        return "未知部门"
    return DEPARTMENTS.get(department, department)


def _rule_order(rule_id: str) -> tuple:
    ids = list(_rules())
    return (ids.index(rule_id) if rule_id in ids else len(ids), rule_id)


def _department_order(dept: str) -> tuple:
    ids = list(DEPARTMENTS)
    return (ids.index(dept) if dept in ids else len(ids), dept or "")


# --------------------------------------------------------------------------- periods

def month_bounds(month: str) -> tuple[str, str, dt.date]:
    """('YYYY-MM-01', first day of the next month, last day of the month)."""
    try:
        first = dt.date.fromisoformat(month + "-01")
    except (TypeError, ValueError):
        raise ValueError(f"月份「{month}」格式不对，应为 YYYY-MM，如 2026-10。") from None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first.isoformat(), nxt.isoformat(), nxt - dt.timedelta(days=1)


def _shift_month(month: str, delta: int) -> str:
    y, m = map(int, month.split("-"))
    idx = y * 12 + (m - 1) + delta
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


# --------------------------------------------------------------------------- loading

def _load(conn: sqlite3.Connection, cutoff: str | None) -> list[dict]:
    """Every anomaly first seen before ``cutoff`` (all when None), with its review state
    and data status at the cutoff."""
    where, args = ("WHERE first_seen < ?", [cutoff]) if cutoff else ("", [])
    anomalies = {r[0]: {"id": r[0], "rule": r[1], "department": r[2] or "", "amount": r[3],
                        "first_seen": r[4] or "", "data_status": r[5], "cleared_at": r[6]}
                 for r in conn.execute(
                     "SELECT id, rule, department, amount, first_seen, data_status, cleared_at"
                     f" FROM anomalies {where}", args)}
    dwhere, dargs = ("WHERE at < ?", [cutoff]) if cutoff else ("", [])
    decisions: dict[int, list[dict]] = {}
    for seq, aid, action, reviewer, amount in conn.execute(
            f"SELECT seq, anomaly_id, action, reviewer, amount FROM decisions {dwhere} ORDER BY seq", dargs):
        decisions.setdefault(aid, []).append(
            {"seq": seq, "action": action, "reviewer": reviewer, "amount": amount})
    events: dict[int, str] = {}
    for aid, event in conn.execute(
            "SELECT anomaly_id, event FROM anomaly_events WHERE event IN ('found', 'cleared', 'reopened')"
            + (" AND at < ?" if cutoff else "") + " ORDER BY id", dargs):
        events[aid] = event
    out = []
    for aid, a in anomalies.items():
        st: ReviewState = _replay(decisions.get(aid, []))
        a["state"] = st.state
        a["recovered"] = st.recovered or 0.0
        if aid in events:
            a["cleared"] = events[aid] == "cleared"
        elif cutoff:
            a["cleared"] = a["data_status"] == "cleared" and (a["cleared_at"] or "") < cutoff
        else:
            a["cleared"] = a["data_status"] == "cleared"
        out.append(a)
    return out


# --------------------------------------------------------------------------- aggregating

def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def _totals(items: Iterable[dict]) -> dict:
    t = {"found": 0, "handled": 0, "confirmed": 0, "dismissed": 0, "rectified": 0,
         "awaiting_rectification": 0, "open": 0, "new": 0, "in_review": 0,
         "cleared_unhandled": 0, "amount_involved": 0.0, "amount_confirmed": 0.0,
         "amount_recovered": 0.0}
    for a in items:
        s = a["state"]
        amount = a["amount"] or 0.0
        t["found"] += 1
        t["amount_involved"] += amount
        if s in HANDLED:
            t["handled"] += 1
        if s in ("confirmed", "rectified"):
            t["confirmed"] += 1
            t["amount_confirmed"] += amount
        if s == "confirmed":
            t["awaiting_rectification"] += 1
        if s == "rectified":
            t["rectified"] += 1
        if s == "dismissed":
            t["dismissed"] += 1
        if s not in HANDLED:
            if a["cleared"]:
                t["cleared_unhandled"] += 1
            else:
                t["open"] += 1
                t[s] += 1
        t["amount_recovered"] += a["recovered"]
    for k in ("amount_involved", "amount_confirmed", "amount_recovered"):
        t[k] = round(t[k], 2)
    t["handling_rate"] = _rate(t["handled"], t["found"])
    t["rectification_rate"] = _rate(t["rectified"], t["confirmed"])
    t["handling_ok"] = None if t["handling_rate"] is None else t["handling_rate"] >= TARGET_RATE
    t["rectification_ok"] = (None if t["rectification_rate"] is None
                             else t["rectification_rate"] >= TARGET_RATE)
    return t


def _grouped(items: list[dict]) -> dict:
    out = _totals(items)
    by_rule: dict[str, list[dict]] = {}
    by_dept: dict[str, list[dict]] = {}
    for a in items:
        by_rule.setdefault(a["rule"], []).append(a)
        by_dept.setdefault(a["department"], []).append(a)
    out["per_rule"] = [
        {"rule": r, "title": rule_title(r), "department": by_rule[r][0]["department"],
         "department_title": department_title(by_rule[r][0]["department"]), **_totals(by_rule[r])}
        for r in sorted(by_rule, key=_rule_order)]
    out["per_department"] = [
        {"department": d, "title": department_title(d), **_totals(by_dept[d])}
        for d in sorted(by_dept, key=_department_order)]
    return out


def _age_bands(items: list[dict], at: dt.date) -> dict[str, int]:
    bands = {label: 0 for label, _ in AGE_BANDS}
    for a in items:
        if a["state"] in HANDLED or a["cleared"]:
            continue
        try:
            seen = dt.date.fromisoformat(a["first_seen"][:10])
        except ValueError:
            continue
        age = (at - seen).days
        for label, upper in AGE_BANDS:
            if upper is None or age <= upper:
                bands[label] += 1
                break
    return bands


def summary(conn: sqlite3.Connection, *, month: str | None = None,
            today: dt.date | None = None) -> dict:
    """The review figures.

    With ``month`` ('YYYY-MM'): the totals (and ``per_rule``/``per_department``) are for
    the anomalies first seen in that month, with their state at the month's end;
    ``cumulative`` holds the same for every anomaly first seen by the month's end, and
    ``age_bands`` counts all open anomalies at the month's end.
    Without: everything so far, as of now (``cumulative`` is the same as the totals).
    """
    if month:
        start, cutoff, last_day = month_bounds(month)
        items = _load(conn, cutoff)
        cohort = [a for a in items if a["first_seen"] >= start]
        out = _grouped(cohort)
        out.update(month=month, period_start=start, period_end=last_day.isoformat(),
                   as_of=last_day.isoformat())
        out["cumulative"] = _grouped(items)
        out["age_bands"] = _age_bands(items, last_day)
    else:
        at = today or dt.date.today()
        items = _load(conn, None)
        out = _grouped(items)
        out.update(month=None, period_start=None, period_end=None, as_of=at.isoformat())
        out["cumulative"] = {k: v for k, v in out.items() if k not in ("month", "period_start",
                                                                        "period_end", "as_of")}
        out["age_bands"] = _age_bands(items, at)
    out["target"] = TARGET_RATE
    return out


def monthly_series(conn: sqlite3.Connection, months: int = 12, *, end: str | None = None) -> list[dict]:
    """Per month, oldest first, for the ``months`` months ending with ``end`` (default:
    the current month): anomalies found and their amount involved, and the decisions
    taken in that month (handled = confirm + dismiss, rectified, amount recovered)."""
    end = end or dt.date.today().strftime("%Y-%m")
    month_bounds(end)   # validates
    labels = [_shift_month(end, -i) for i in range(months - 1, -1, -1)]
    series = {m: {"month": m, "found": 0, "amount_involved": 0.0, "handled": 0, "rectified": 0,
                  "amount_recovered": 0.0} for m in labels}
    first, cutoff = month_bounds(labels[0])[0], month_bounds(end)[1]
    for m, n, amount in conn.execute(
            "SELECT substr(first_seen, 1, 7), count(*), coalesce(sum(amount), 0) FROM anomalies"
            " WHERE first_seen >= ? AND first_seen < ? GROUP BY 1", (first, cutoff)):
        if m in series:
            series[m]["found"] = n
            series[m]["amount_involved"] = round(amount, 2)
    for m, action, n, amount in conn.execute(
            "SELECT substr(at, 1, 7), action, count(*), coalesce(sum(amount), 0) FROM decisions"
            " WHERE at >= ? AND at < ? AND action IN ('confirm', 'dismiss', 'rectify') GROUP BY 1, 2",
            (first, cutoff)):
        if m not in series:
            continue
        if action == "rectify":
            series[m]["rectified"] += n
            series[m]["amount_recovered"] = round(series[m]["amount_recovered"] + amount, 2)
        else:
            series[m]["handled"] += n
    return [series[m] for m in labels]
