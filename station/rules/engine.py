"""Evaluating the rules and persisting anomalies with a stable identity.

An anomaly is identified by (rule, subject, period). Each evaluation computes every
enabled rule's findings (reads only), then, in one write transaction:

- a new finding inserts an anomaly (待核查) and a ``found`` event;
- a known open one refreshes amount, evidence, last_seen (``amount`` event on change);
- a known one that was cleared by data is reopened (``reopened`` event);
- an open one no longer found is marked cleared by data (``cleared`` event), keeping its
  history and any decision.

Before the rules run, the tables they read get fresh planner statistics when they have
grown a lot since the last ANALYZE (:func:`refresh_statistics`).

``kinds`` restricts an evaluation to the rules that read those kinds (a delivery can only
change those rules' results). ``ids`` further restricts the rules declared ``per_id`` to
those ID numbers, when they are all that the deliveries changed (:mod:`station.rules.scope`).
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..config import Config
from ..kinds.spec import KINDS
from ..register.apply import build_deferred_indexes
from ..register.db import now_iso, write_transaction
from .base import RULES, SEVERITIES, Context, Finding, Rule
from .completeness import held_back
from .scope import Scope, id_scope, row_scope
from . import definitions  # noqa: F401  (registers every rule)

COMMON_PARAMS = {"enabled": True, "severity": None}


@dataclass
class RuleSettings:
    rule: Rule
    enabled: bool
    severity: str
    params: dict[str, Any]


@dataclass
class EvaluationResult:
    as_of: dt.date
    rules: list[str]
    open_count: int = 0
    new: int = 0
    cleared: int = 0
    reopened: int = 0
    seconds: float = 0.0
    per_rule: dict[str, int] = field(default_factory=dict)
    rule_seconds: dict[str, float] = field(default_factory=dict)
    analyzed: list[str] = field(default_factory=list)   # tables whose statistics were refreshed
    analyze_seconds: float = 0.0
    held_back: list[str] = field(default_factory=list)  # rules not run: data they need never came


def rule_settings(cfg: Config) -> dict[str, RuleSettings]:
    """Merge each rule's defaults with ``rules.yaml``; a wrong parameter names its line."""
    for rule_id in cfg.rules:
        if rule_id not in RULES:
            raise cfg.error_at(("rules", rule_id),
                               f"未知的规则「{rule_id}」。可用的规则有：{'、'.join(RULES)}。")
    out = {}
    for rule in RULES.values():
        given = cfg.rule_params(rule.id)
        params = dict(rule.defaults)
        for key, value in given.items():
            if key in COMMON_PARAMS:
                continue
            if key not in rule.defaults:
                raise cfg.error_at(("rules", rule.id, key),
                                   f"规则「{rule.id}」没有参数「{key}」。可用的参数有："
                                   f"{'、'.join(['enabled', 'severity', *rule.defaults]) }。")
            params[key] = _check_type(cfg, rule, key, value, rule.defaults[key])
        enabled = given.get("enabled", True)
        if not isinstance(enabled, bool):
            raise cfg.error_at(("rules", rule.id, "enabled"), "enabled 只能是 true 或 false。")
        severity = given.get("severity", rule.severity)
        if severity not in SEVERITIES:
            raise cfg.error_at(("rules", rule.id, "severity"),
                               f"severity 只能是 {' / '.join(SEVERITIES)} 之一。")
        out[rule.id] = RuleSettings(rule, enabled, severity, params)
    return out


def _check_type(cfg: Config, rule: Rule, key: str, value: Any, default: Any) -> Any:
    path = ("rules", rule.id, key)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
        hint = "true 或 false"
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        hint = "非负整数"
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        hint = "数字"
    elif isinstance(default, dt.date):
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                pass
        ok = isinstance(value, dt.date)
        hint = "日期，如 2025-01-01"
    elif isinstance(default, list):
        ok = isinstance(value, list)
        hint = "列表，如 [甲, 乙]"
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
        hint = "映射，如 {键: 值}"
    else:
        ok = isinstance(value, str)
        hint = "文字"
    if not ok:
        raise cfg.error_at(path, f"规则「{rule.id}」的参数「{key}」应为{hint}，现在是「{value}」。")
    return value


def evaluate(conn: sqlite3.Connection, cfg: Config, as_of: dt.date | None = None,
             kinds: Iterable[str] | None = None,
             through_delivery: int | None = None,
             ids: Iterable[str] | None = None) -> EvaluationResult:
    """Run the rules and persist their anomalies in one write transaction.

    ``through_delivery``: the highest ledger id whose data this evaluation covers; it is
    recorded (meta ``evaluated_through_delivery``) in the same transaction, so that a run
    killed before or during the evaluation is evaluated again by the next one.

    ``ids``: with ``kinds``, the ID numbers the deliveries wrote, when that is all they
    changed; rules declared ``per_id`` then re-evaluate those IDs only."""
    as_of = as_of or dt.date.today()
    settings = rule_settings(cfg)
    changed = set(kinds) if kinds is not None else None
    chosen = [s for s in settings.values()
              if s.enabled and (changed is None or s.rule.kinds & changed)]
    # Rules that would flood the queue for want of a kind never delivered: one warning
    # instead (station.rules.completeness).
    held = held_back(conn, [s.rule.id for s in chosen])
    chosen = [s for s in chosen if s.rule.id not in held]
    result = EvaluationResult(as_of, [s.rule.id for s in chosen], held_back=sorted(held))
    started = time.perf_counter()
    started_at = now_iso()
    tables = {KINDS[k].table_name for s in chosen for k in s.rule.kinds if k in KINDS}
    build_deferred_indexes(conn)        # left by a bulk load that did not finish its run
    result.analyzed = refresh_statistics(conn, tables | {"anomalies"})
    result.analyze_seconds = time.perf_counter() - started

    scope = sorted(set(ids)) if ids is not None and changed is not None else None
    # A rule may be limited to some IDs only when its other findings are current: it was
    # last evaluated whole on this same day (findings also depend on the day: grace periods).
    whole_on = _whole_as_of(conn)
    current = {s.rule.id for s in chosen if whole_on.get(s.rule.id) == as_of.isoformat()}
    scoped = {s.rule.id for s in chosen if scope is not None and s.rule.per_id and s.rule.id in current}
    own: dict[str, Scope] = {}                 # rules that scope themselves
    for s in chosen:
        if scope is not None and s.rule.scope is not None and s.rule.id not in scoped \
                and s.rule.id in current:
            plan = s.rule.scope(conn, changed, scope)
            if plan is not None:
                own[s.rule.id] = plan
    findings: dict[str, list[Finding]] = {}

    def run(settings: list[RuleSettings]) -> None:
        shared: dict[str, Any] = {}
        for s in settings:
            t0 = time.perf_counter()
            ctx = Context(conn, as_of, s.params, shared)
            findings[s.rule.id] = list(s.rule.find(ctx))
            result.rule_seconds[s.rule.id] = time.perf_counter() - t0
            result.per_rule[s.rule.id] = len(findings[s.rule.id])

    run([s for s in chosen if s.rule.id not in scoped and s.rule.id not in own])
    if scoped:
        with id_scope(conn, scope, {k for s in chosen if s.rule.id in scoped for k in s.rule.kinds}):
            run([s for s in chosen if s.rule.id in scoped])
    for s in chosen:
        if s.rule.id in own:
            with row_scope(conn, own[s.rule.id].rows):
                run([s])

    with write_transaction(conn):
        stamp = now_iso()
        for s in chosen:
            subjects = scope if s.rule.id in scoped else own[s.rule.id].subjects if s.rule.id in own else None
            _persist(conn, s, findings[s.rule.id], as_of, stamp, result, subjects=subjects)
        result.open_count = conn.execute(
            "SELECT count(*) FROM anomalies WHERE data_status = 'open'").fetchone()[0]
        result.seconds = time.perf_counter() - started
        conn.execute(
            "INSERT INTO evaluations (as_of, started_at, finished_at, rules, open_count, new_count,"
            " cleared_count, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (as_of.isoformat(), started_at, now_iso(), ",".join(result.rules), result.open_count,
             result.new, result.cleared, round(result.seconds, 3)))
        if through_delivery is not None:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('evaluated_through_delivery', ?)",
                         (str(through_delivery),))
        whole_on.update({s.rule.id: as_of.isoformat() for s in chosen
                         if s.rule.id not in scoped and s.rule.id not in own})
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     (META_WHOLE_AS_OF, json.dumps(whole_on, sort_keys=True)))
    return result


META_WHOLE_AS_OF = "rules_evaluated_whole_as_of"     # meta: {rule id: as_of of its last whole run}


def _whole_as_of(conn: sqlite3.Connection) -> dict[str, str]:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_WHOLE_AS_OF,)).fetchone()
    try:
        value = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


ANALYZE_MIN_ROWS = 10_000


def refresh_statistics(conn: sqlite3.Connection, tables: Iterable[str]) -> list[str]:
    """ANALYZE the tables that have grown (or shrunk) more than twofold since their last
    statistics, or that have none yet, once they hold ANALYZE_MIN_ROWS rows.

    After a county's first large load the planner otherwise knows nothing about the sizes
    of the tables it joins (NOTES.md: index, then ANALYZE). A full ANALYZE of 1M persons
    and 3.5M payments takes about 2 s, and is needed again only when a table doubles.
    Row counts are estimated by ``max(rowid)`` (kind tables are only ever upserted).
    """
    known: dict[str, int] = {}
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        for tbl, stat in conn.execute("SELECT tbl, stat FROM sqlite_stat1"):
            try:
                known[tbl] = max(known.get(tbl, 0), int(str(stat).split()[0]))
            except (ValueError, IndexError):
                pass
    stale = []
    for table in sorted(tables):
        rows = conn.execute(f"SELECT max(rowid) FROM [{table}]").fetchone()[0] or 0
        if rows < ANALYZE_MIN_ROWS:
            continue
        before = known.get(table)
        if before is None or rows > 2 * before or rows * 2 < before:
            stale.append(table)
    if stale:
        with write_transaction(conn):
            for table in stale:
                conn.execute(f"ANALYZE [{table}]")
    return stale


def _persist(conn: sqlite3.Connection, s: RuleSettings, found: list[Finding], as_of: dt.date,
             stamp: str, result: EvaluationResult, subjects: list[str] | None = None) -> None:
    """``subjects``: the rule was evaluated for these subjects only; others are untouched."""
    rule = s.rule
    if subjects is None:
        rows = conn.execute("SELECT id, subject, period, data_status, amount FROM anomalies WHERE rule = ?",
                            (rule.id,))
    else:
        rows = conn.execute("SELECT id, subject, period, data_status, amount FROM anomalies WHERE rule = ?"
                            " AND subject IN (SELECT value FROM json_each(?))",
                            (rule.id, json.dumps(subjects, ensure_ascii=False)))
        inside = set(subjects)
        found = [f for f in found if f.subject in inside]
    existing = {(subject, period): (aid, status, amount) for aid, subject, period, status, amount in rows}
    inserts, updates, events = [], [], []
    seen = set()
    day = as_of.isoformat()
    for f in found:
        key = (f.subject, f.period or "")
        if key in seen:
            continue
        seen.add(key)
        amount = None if f.amount is None else round(float(f.amount), 2)
        evidence = json.dumps(f.evidence, ensure_ascii=False, default=str)
        old = existing.get(key)
        if old is None:
            inserts.append((rule.id, f.subject, f.period or "", rule.department, s.severity, f.name,
                            amount, evidence, stamp, stamp, day))
            continue
        aid, status, old_amount = old
        updates.append((amount, evidence, f.name, s.severity, stamp, day, aid))
        if status == "cleared":
            events.append((aid, stamp, day, "reopened", None))
            result.reopened += 1
        elif old_amount != amount:
            events.append((aid, stamp, day, "amount", f"{old_amount} → {amount}"))
    conn.executemany(
        "UPDATE anomalies SET amount = ?, evidence = ?, name = coalesce(?, name), severity = ?,"
        " last_seen = ?, as_of = ?, data_status = 'open', cleared_at = NULL WHERE id = ?", updates)
    for row in inserts:
        cur = conn.execute(
            "INSERT INTO anomalies (rule, subject, period, department, severity, name, amount, evidence,"
            " data_status, review_status, first_seen, last_seen, as_of)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 'new', ?, ?, ?)", row)
        events.append((cur.lastrowid, stamp, day, "found", None))
    result.new += len(inserts)
    gone = [(stamp, aid) for key, (aid, status, _) in existing.items()
            if status == "open" and key not in seen]
    conn.executemany(
        "UPDATE anomalies SET data_status = 'cleared', cleared_at = ? WHERE id = ?", gone)
    events.extend((aid, stamp, day, "cleared", None) for _, aid in gone)
    result.cleared += len(gone)
    conn.executemany(
        "INSERT INTO anomaly_events (anomaly_id, at, as_of, event, detail) VALUES (?, ?, ?, ?, ?)",
        events)
