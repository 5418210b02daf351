"""DEATH_NOT_STOPPED 死亡人员未停保: a register person not in a terminal status whose death
date is on or before as_of − grace_days."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._common import DEATH_CTES, SOURCE_TITLES, TERMINAL_SQL, death_records_of, joined

SQL = f"""
WITH {DEATH_CTES}
SELECT p.id_number, p.rowid, p.name, p.status, d.death_date
  FROM deaths AS d
  JOIN persons AS p ON p.id_number = d.id_number
 WHERE d.death_date <= :cutoff AND p.status NOT IN {TERMINAL_SQL}
 ORDER BY p.id_number
"""


def find(ctx: Context):
    conn = ctx.conn
    rows = conn.execute(SQL, {"cutoff": ctx.cutoff()}).fetchall()
    if not rows:
        return
    deaths = death_records_of(conn, [r[0] for r in rows])
    ev = Evidence(conn)
    ev.load("persons", [r[1] for r in rows])
    for kind in ("household_deaths", "cremations"):
        ev.load(kind, [x[1] for recs in deaths.values() for x in recs if x[0] == kind])
    for id_number, rid, name, status, death_date in rows:
        recs = deaths.get(id_number, [])
        sources = joined(SOURCE_TITLES[k] for k in SOURCE_TITLES
                         if any(r[0] == k and r[2] == death_date for r in recs))
        summary = (f"{sources}记录此人已于 {death_date} 死亡，已超过 {ctx.params['grace_days']} 天，"
                   f"登记库中参保状态仍为「{status}」。")
        records = [ev.record(k, r) for k, r, _, _ in recs]
        records.append(ev.record("persons", rid, "登记库参保人员"))
        yield Finding(subject=id_number, name=name,
                      evidence=build(summary, records, death_date=death_date, status=status))


register(Rule(
    id="DEATH_NOT_STOPPED",
    title="死亡人员未停保",
    department="public_security",       # 公安 and 民政 death records together; 公安 leads
    kinds=frozenset({"persons", "household_deaths", "cremations"}),
    explanation=("公安或民政记录显示此人已死亡，但登记库中的参保状态仍不是「终止」或「死亡」。"
                 "请核实死亡事实，办理参保关系终止（停保），并检查死亡后是否仍有待遇发放。"),
    find=find,
    defaults={"grace_days": 30},
    severity="high",
    per_id=True,
))
