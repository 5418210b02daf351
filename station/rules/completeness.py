"""Is the data a rule reads complete? (数据不全)

A rule compares kinds of data; its findings say something only when each of them has
arrived. For every kind a rule reads (``Rule.kinds``) the ledger tells whether it has
been applied at all and whether its newest delivery was applied, or waits for the clerk
(待确认, :mod:`station.inbox.held`), or was refused. The dashboard and the review queue
show a rule's gaps as ``数据不全：参保人员 未导入``.

Some rules fire on what a kind does *not* contain: "paid, but not in the roster", "set up,
but not a register unit". Without that kind every record of the other would become an
anomaly — thousands of false ones (the issue that asked for this: a rejected roster made
1,978 false 发放对象不在册). Those rules are not run while the kind has never been applied
(:data:`NEEDED`); they show one warning instead. Once an older delivery of the kind was
applied, they run (the register is then merely not the newest) and only warn.

:data:`NEEDED`, from DOMAIN.md § Anomaly rules — the kind whose absence makes every
record of another kind a finding:

- PAYMENT_UNREGISTERED 发放对象不在册 — 参保人员 (persons): payments to an ID that is no
  register person's.
- ENTERPRISE_UNREGISTERED 新设企业未参保登记 — 参保单位 (units): a 设立 enterprise with no
  register unit.
- STUDENT_UNENROLLED 新生未参加居民医保 — 城乡居民医保参保 (resident_medical).
- SUBSIDY_MISSING 残疾人应享未享参保补助 — 残疾人参保补助 (subsidies).
- RETIREE_NO_APPROVAL 新增退休人员无审批材料 — 档案扫描索引 (scan_index).
- CONTRIBUTION_SHORT 征收金额少于核定 — 社保费征收明细 (tax_collections): no collections
  means every assessed unit is short by all it owes.
- COLLECTION_UNMATCHED 征收记录无对应核定 — 社保费核定 (contributions_due).
- TRANSFER_SHORT 征收款未足额划入专户 — both 社保费征收明细 and 财政专户入账: either side
  missing makes every month differ by all of the other.

Rules that only look *inside* what arrived (DEATH_PAID needs a death record and a
payment; without either it finds nothing) are never held back: missing data makes them
find less, not more, and their gaps are shown as warnings.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Iterable

from ..kinds.spec import KINDS
from .base import RULES

NEEDED: dict[str, frozenset[str]] = {
    "PAYMENT_UNREGISTERED": frozenset({"persons"}),
    "ENTERPRISE_UNREGISTERED": frozenset({"units"}),
    "STUDENT_UNENROLLED": frozenset({"resident_medical"}),
    "SUBSIDY_MISSING": frozenset({"subsidies"}),
    "RETIREE_NO_APPROVAL": frozenset({"scan_index"}),
    "CONTRIBUTION_SHORT": frozenset({"tax_collections"}),
    "COLLECTION_UNMATCHED": frozenset({"contributions_due"}),
    "TRANSFER_SHORT": frozenset({"tax_collections", "fund_account_entries"}),
}

_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
STATE_TITLES = {"missing": "未导入", "held": "待确认", "rejected": "已拒收"}


@dataclass(frozen=True)
class KindGap:
    kind: str
    state: str                 # missing | held | rejected (its newest delivery)
    ever_applied: bool         # an older delivery of the kind was applied

    @property
    def text(self) -> str:
        title = KINDS[self.kind].title if self.kind in KINDS else self.kind
        return f"{title} {STATE_TITLES.get(self.state, self.state)}"


@dataclass(frozen=True)
class RuleGap:
    rule: str
    title: str
    gaps: tuple[KindGap, ...]
    held_back: bool            # not run: its findings would be meaningless (NEEDED)

    @property
    def text(self) -> str:
        """``数据不全：参保人员 未导入、…`` (Chinese, one line)."""
        line = "数据不全：" + "、".join(g.text for g in self.gaps)
        if self.held_back:
            line += "（本规则暂停比对，以免产生大量误报；导入后自动比对）"
        return line


def kind_states(conn: sqlite3.Connection) -> dict[str, KindGap]:
    """The kinds whose data is not complete: never applied, or whose newest delivery
    waits (待确认) or was refused."""
    newest: dict[str, str] = {}
    applied: set[str] = set()
    for kind, status in conn.execute(
            "SELECT kind, status FROM deliveries WHERE kind IS NOT NULL"
            " AND status IN ('applied', 'held', 'rejected') ORDER BY id"):
        newest[kind] = status
        if status == "applied":
            applied.add(kind)
    out = {}
    for kind in KINDS:
        state = newest.get(kind)
        if state is None:
            out[kind] = KindGap(kind, "missing", False)
        elif state != "applied":
            out[kind] = KindGap(kind, state, kind in applied)
    return out


def rule_gaps(conn: sqlite3.Connection, rule_ids: Iterable[str] | None = None) -> dict[str, RuleGap]:
    """For each rule (all registered ones by default) whose data is incomplete: its gaps,
    and whether it is held back."""
    states = kind_states(conn)
    out = {}
    for rule_id in (RULES if rule_ids is None else rule_ids):
        rule = RULES.get(rule_id)
        if rule is None:
            continue
        gaps = tuple(states[k] for k in sorted(rule.kinds, key=_KIND_ORDER.get) if k in states)
        if not gaps:
            continue
        held_back = any(g.kind in NEEDED.get(rule_id, ()) and not g.ever_applied for g in gaps)
        out[rule_id] = RuleGap(rule_id, rule.title, gaps, held_back)
    return out


def held_back(conn: sqlite3.Connection, rule_ids: Iterable[str]) -> dict[str, RuleGap]:
    """The rules among ``rule_ids`` not to run now (see :data:`NEEDED`)."""
    return {r: g for r, g in rule_gaps(conn, rule_ids).items() if g.held_back}
