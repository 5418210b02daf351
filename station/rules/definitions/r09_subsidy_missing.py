"""SUBSIDY_MISSING 残疾人应享未享参保补助: the person's latest disability change, dated on or
before as_of − grace_days, is 新增 or 等级变更 with a level in eligible_levels, and no
subsidy of theirs has 终止年月 empty or in/after the month of that change."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._common import LATEST_CHANGE_CTE, as_json, change_rows, eligible_levels, subsidy_rows, change_history

SQL = f"""
WITH {LATEST_CHANGE_CTE}
SELECT l.id_number, l.rid, l.name, l.change_type, l.level, l.change_date
  FROM latest AS l
 WHERE l.change_date <= :cutoff
   AND l.change_type IN ('新增', '等级变更')
   AND l.level IN (SELECT value FROM json_each(:levels))
   AND NOT EXISTS (SELECT 1 FROM subsidies AS s
                    WHERE s.id_number = l.id_number
                      AND (s.end_month IS NULL OR s.end_month >= substr(l.change_date, 1, 7)))
 ORDER BY l.id_number
"""


def find(ctx: Context):
    conn = ctx.conn
    levels = eligible_levels(ctx.params["eligible_levels"])
    rows = conn.execute(SQL, {"cutoff": ctx.cutoff(), "levels": as_json(levels)}).fetchall()
    if not rows:
        return
    ids = [r[0] for r in rows]
    changes = change_rows(conn, ids)
    subsidies = subsidy_rows(conn, ids)
    ev = Evidence(conn)
    ev.load("disability_changes", [i for c in changes.values() for i in c[-20:]])
    ev.load("subsidies", [i for s in subsidies.values() for i in s[:20]])
    for id_number, rid, name, change_type, level, change_date in rows:
        subs = ev.records("subsidies", subsidies.get(id_number, []), limit=20)
        if subs:
            ended = "、".join(f"{s['fields']['补助类型'] or '补助'}已于 {s['fields']['终止年月']} 终止"
                              for s in subs)
            tail = f"其参保补助均在 {change_date[:7]} 之前终止（{ended}）。"
        else:
            tail = "没有任何残疾人参保补助记录。"
        summary = f"残联记录于 {change_date} {change_type}，残疾等级为{level}，属于补助范围，但{tail}"
        history = change_history(ev, changes.get(id_number, []), rid)
        yield Finding(subject=id_number, name=name, evidence=build(
            summary, history + subs, change_type=change_type, level=level,
            change_date=change_date, eligible_levels=levels))


register(Rule(
    id="SUBSIDY_MISSING",
    title="残疾人应享未享参保补助",
    department="disability",
    kinds=frozenset({"disability_changes", "subsidies"}),
    explanation=("残联最新的变动信息显示此人为补助范围内的残疾人（新增或等级变更后为一级、二级等），"
                 "但没有在变动当月及以后有效的参保补助。请核实是否漏办，及时为其办理参保补助。"),
    find=find,
    defaults={"grace_days": 30, "eligible_levels": ["一级", "二级"]},
    severity="medium",
    per_id=True,
))
