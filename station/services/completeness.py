"""Which rules lack data (数据不全), for the dashboard, the review queue and the CLI; the
logic is :mod:`station.rules.completeness`."""
from __future__ import annotations

import sqlite3
from typing import Iterable

from ..config import Config
from ..rules.completeness import NEEDED, KindGap, RuleGap, rule_gaps

__all__ = ["NEEDED", "KindGap", "RuleGap", "data_gaps", "gaps_line"]


def data_gaps(conn: sqlite3.Connection, cfg: Config, rules: Iterable[str] | None = None) -> list[RuleGap]:
    """The enabled rules (all, or those in ``rules``) whose data is incomplete, rules held
    back first."""
    from ..rules.engine import rule_settings
    wanted = None if rules is None else set(rules)
    enabled = [r for r, s in rule_settings(cfg).items() if s.enabled and (wanted is None or r in wanted)]
    gaps = rule_gaps(conn, enabled).values()
    return sorted(gaps, key=lambda g: (not g.held_back, enabled.index(g.rule)))


def gaps_line(gaps: list[RuleGap], limit: int = 4) -> str:
    """One line for a banner: ``数据不全：发放对象不在册（参保人员 未导入，暂停比对）；…``."""
    if not gaps:
        return ""
    parts = [f"{g.title}（{'、'.join(k.text for k in g.gaps)}{'，暂停比对' if g.held_back else ''}）"
             for g in gaps[:limit]]
    more = f"；另有 {len(gaps) - limit} 条规则" if len(gaps) > limit else ""
    return "数据不全：" + "；".join(parts) + more
