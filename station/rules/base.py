"""What a rule is: an id, a Chinese title and explanation, default parameters, the kinds
of data it reads, and a set-based ``find`` (SQL over indexed tables) that yields findings.

Adding a rule means adding one module under :mod:`station.rules.definitions` that calls
:func:`register`; nothing else needs to change.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

SEVERITIES = ("high", "medium", "low")
SEVERITY_TITLES = {"high": "高", "medium": "中", "low": "低"}


@dataclass
class Finding:
    """One anomaly as a rule sees it; identity is (rule, subject, period)."""
    subject: str
    period: str | None = None
    amount: float | None = None
    name: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    # evidence: {"summary": "一句话说明", "records": [{"kind", "title", "delivery_id", "file",
    #            "row_no", "fields": {中文字段名: 值}}], ...rule-specific lists}


@dataclass
class Context:
    conn: sqlite3.Connection
    as_of: dt.date
    params: dict[str, Any]
    # Intermediate results that several rules need, computed once per evaluation (e.g. the
    # (ID, period) pairs paid more than once, for DUPLICATE_PAYMENT and CONFLICTING_BENEFITS).
    shared: dict[str, Any] = field(default_factory=dict)

    def cutoff(self, days_param: str = "grace_days") -> str:
        """as_of − params[days_param] as ISO date: records dated on or before it qualify."""
        return (self.as_of - dt.timedelta(days=int(self.params[days_param]))).isoformat()


@dataclass(frozen=True)
class Rule:
    id: str
    title: str                      # Chinese title, e.g. 死亡后继续领取待遇
    department: str                 # the partner department whose data raises it
    kinds: frozenset[str]           # kinds of data it reads (re-evaluate when they change)
    explanation: str                # plain Chinese for reviewers: what fired and what to check
    find: Callable[[Context], Iterable[Finding]]
    defaults: dict[str, Any] = field(default_factory=dict)   # parameters and their defaults
    severity: str = "medium"
    has_period: bool = False
    has_amount: bool = False
    # Every finding is about one ID (its subject) and reads only that ID's rows of the
    # kind tables (see station.rules.scope): a small delivery re-evaluates only its IDs.
    per_id: bool = False
    # Or its own: (conn, changed kinds, changed IDs) -> station.rules.scope.Scope or None.
    scope: Callable[..., Any] | None = None
    # What the subject is: "id" (an ID number), "account" (a bank account number, personal
    # data masked to its last four digits), "unit" (a 单位编号 or credit code: the unit
    # view shows it), or "other" (险种, serial number, 档号#件号…).
    subject_kind: str = "id"


RULES: dict[str, Rule] = {}

# Evidence fields and keys holding a bank account number (masked like an ID when shown).
ACCOUNT_FIELDS = frozenset({"银行账号", "account_no"})


def is_account_subject(rule_id: str | None) -> bool:
    rule = RULES.get(rule_id or "")
    return rule is not None and rule.subject_kind == "account"


def is_unit_subject(rule_id: str | None) -> bool:
    rule = RULES.get(rule_id or "")
    return rule is not None and rule.subject_kind == "unit"


def is_person_subject(rule_id: str | None) -> bool:
    """Whether the rule's subject is an ID number (unknown rules count as persons)."""
    rule = RULES.get(rule_id or "")
    return rule is None or rule.subject_kind == "id"


def register(rule: Rule) -> Rule:
    if rule.id in RULES:
        raise ValueError(f"rule {rule.id} registered twice")
    RULES[rule.id] = rule
    return rule
