"""DEATH_DATE_CONFLICT 死亡日期不一致: for one ID, some 公安 death date and some 民政 death
date differ by more than max_days days (death records without an ID take no part)."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._common import DEATH_CTES, death_records_of, joined, person_rows

# Some pair differs by more than max_days exactly when the latest date of one source is
# more than max_days after the earliest of the other.
SQL = f"""
WITH {DEATH_CTES},
ps AS (SELECT id_number, min(death_date) AS lo, max(death_date) AS hi
         FROM death_records WHERE kind = 'household_deaths' GROUP BY id_number),
ca AS (SELECT id_number, min(death_date) AS lo, max(death_date) AS hi
         FROM death_records WHERE kind = 'cremations' GROUP BY id_number)
SELECT ps.id_number,
       max(julianday(ps.hi) - julianday(ca.lo), julianday(ca.hi) - julianday(ps.lo)) AS gap
  FROM ps JOIN ca ON ca.id_number = ps.id_number
 WHERE julianday(ps.hi) - julianday(ca.lo) > :max_days
    OR julianday(ca.hi) - julianday(ps.lo) > :max_days
 ORDER BY ps.id_number
"""


def find(ctx: Context):
    conn = ctx.conn
    rows = conn.execute(SQL, {"max_days": ctx.params["max_days"]}).fetchall()
    if not rows:
        return
    deaths = death_records_of(conn, [r[0] for r in rows])
    persons = person_rows(conn, [r[0] for r in rows])
    ev = Evidence(conn)
    for kind in ("household_deaths", "cremations"):
        ev.load(kind, [x[1] for recs in deaths.values() for x in recs if x[0] == kind])
    for id_number, gap in rows:
        recs = deaths[id_number]
        ps = joined(r[2] for r in recs if r[0] == "household_deaths")
        ca = joined(r[2] for r in recs if r[0] == "cremations")
        gap = int(round(gap))
        summary = (f"公安户籍注销记录的死亡日期为 {ps}，民政火化记录的死亡日期为 {ca}，"
                   f"最多相差 {gap} 天，超过允许的 {ctx.params['max_days']} 天。")
        person = persons.get(id_number)
        name = (person[1] if person else None) or joined(r[3] for r in recs)
        records = [ev.record(k, r) for k, r, _, _ in recs]
        if person:
            records.append(ev.record("persons", person[0], "登记库参保人员"))
        yield Finding(subject=id_number, name=name,
                      evidence=build(summary, records, public_security_dates=ps.split("、"),
                                     civil_affairs_dates=ca.split("、"), days_apart=gap))


register(Rule(
    id="DEATH_DATE_CONFLICT",
    title="死亡日期不一致",
    department="public_security",       # 公安 and 民政 records compared; 公安 leads
    kinds=frozenset({"household_deaths", "cremations", "persons"}),
    explanation=("公安户籍注销记录与民政火化记录中同一人的死亡日期相差较多。"
                 "死亡日期决定待遇停发月份和多发金额，请向公安、民政核实准确的死亡日期，"
                 "必要时查看死亡证明。"),
    find=find,
    defaults={"max_days": 7},
    severity="medium",
    per_id=True,
))
