"""SUBSIDY_NOT_STOPPED 残疾人参保补助未停止: the person's latest disability change, dated on
or before as_of − grace_days, is 注销 or 死亡 or has a level outside eligible_levels (an
empty level is outside), and a subsidy of theirs has 终止年月 empty or later than the
month of that change."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids
from ._common import LATEST_CHANGE_CTE, as_json, change_rows, eligible_levels, change_history

SQL = f"""
WITH {LATEST_CHANGE_CTE}
SELECT l.id_number, l.rid, l.name, l.change_type, l.level, l.change_date, group_concat(s.rowid)
  FROM latest AS l
  JOIN subsidies AS s
    ON s.id_number = l.id_number
   AND (s.end_month IS NULL OR s.end_month > substr(l.change_date, 1, 7))
 WHERE l.change_date <= :cutoff
   AND (l.change_type IN ('注销', '死亡') OR l.level IS NULL
        OR l.level NOT IN (SELECT value FROM json_each(:levels)))
 GROUP BY l.id_number
 ORDER BY l.id_number
"""


def find(ctx: Context):
    conn = ctx.conn
    levels = eligible_levels(ctx.params["eligible_levels"])
    rows = conn.execute(SQL, {"cutoff": ctx.cutoff(), "levels": as_json(levels)}).fetchall()
    if not rows:
        return
    changes = change_rows(conn, [r[0] for r in rows])
    ev = Evidence(conn)
    ev.load("disability_changes", [i for ids in changes.values() for i in ids[-20:]])
    ev.load("subsidies", [i for r in rows for i in rowids(r[6])])
    for id_number, rid, name, change_type, level, change_date, s_ids in rows:
        if change_type in ("注销", "死亡"):
            why = f"残联记录于 {change_date} {change_type}"
        elif level:
            why = f"残联记录于 {change_date} {change_type}，残疾等级为{level}，不在补助范围（{'、'.join(levels)}）内"
        else:
            why = f"残联记录于 {change_date} {change_type}，未填残疾等级，不能认定在补助范围内"
        subs = [ev.record("subsidies", i) for i in rowids(s_ids)]
        ends = "、".join(f"{s['fields']['补助类型'] or '补助'}"
                        + (f"终止年月为 {s['fields']['终止年月']}" if s["fields"]["终止年月"] else "未终止")
                        for s in subs)
        summary = f"{why}，但参保补助仍在发放（{ends}）。"
        history = change_history(ev, changes.get(id_number, []), rid)
        yield Finding(subject=id_number, name=name, evidence=build(
            summary, history + subs, change_type=change_type, level=level,
            change_date=change_date, eligible_levels=levels))


register(Rule(
    id="SUBSIDY_NOT_STOPPED",
    title="残疾人参保补助未停止",
    department="disability",
    kinds=frozenset({"disability_changes", "subsidies"}),
    explanation=("残联最新的变动信息显示此人已注销、死亡或残疾等级已不在补助范围内，"
                 "但残疾人参保补助没有在变动当月终止。请核实残疾人证状态和等级，"
                 "停止补助并追回变动次月起多发的补助。"),
    find=find,
    defaults={"grace_days": 30, "eligible_levels": ["一级", "二级"]},
    severity="high",
    per_id=True,
))
