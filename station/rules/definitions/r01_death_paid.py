"""DEATH_PAID 死亡后继续领取待遇: payments to an ID with a death record, for periods after
the death month (whether or not the ID is in the register). Amount: their sum."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, money
from ._common import DEATH_CTES, SOURCE_TITLES, death_records_of, joined, month, person_rows

SQL = f"""
WITH {DEATH_CTES}
SELECT d.id_number, d.death_date, p.rowid, p.period, p.amount, p.name
  FROM deaths AS d
  JOIN payments AS p ON p.id_number = d.id_number AND p.period > substr(d.death_date, 1, 7)
 ORDER BY d.id_number, p.period, p.serial_no
"""


def find(ctx: Context):
    conn = ctx.conn
    by_id: dict[str, list[tuple]] = {}
    for id_number, death_date, rid, period, amount, name in conn.execute(SQL):
        by_id.setdefault(id_number, []).append((death_date, rid, period, amount, name))
    if not by_id:
        return
    deaths = death_records_of(conn, by_id)
    persons = person_rows(conn, by_id)
    ev = Evidence(conn)
    for kind in ("household_deaths", "cremations"):
        ev.load(kind, [r[1] for recs in deaths.values() for r in recs if r[0] == kind])
    ev.load("payments", [p[1] for pays in by_id.values() for p in pays[:50]])
    ev.load("persons", [p[0] for p in persons.values()])
    for id_number, pays in by_id.items():
        death_date = pays[0][0]
        total = round(sum(p[3] or 0 for p in pays), 2)
        recs = deaths.get(id_number, [])
        person = persons.get(id_number)
        name = (person[1] if person else None) or joined(r[3] for r in recs) or pays[0][4]
        sources = joined(SOURCE_TITLES[k] for k in SOURCE_TITLES
                         if any(r[0] == k and r[2] == death_date for r in recs))
        periods = sorted({p[2] for p in pays})
        span = periods[0] if len(periods) == 1 else f"{periods[0]} 至 {periods[-1]}"
        pay_records, rest = ev.bounded("payments", [p[1] for p in pays], [p[3] for p in pays])
        records = [ev.record(k, rid) for k, rid, _, _ in recs]
        if person:
            records.append(ev.record("persons", person[0], "登记库参保人员"))
        summary = (f"{sources}记录死亡日期 {death_date}，死亡当月（{month(death_date)}）之后仍发放"
                   f"待遇 {len(pays)} 笔（{span}），合计 {money(total)} 元。"
                   + ("" if person else "该证件号不在参保人员登记库中。"))
        yield Finding(
            subject=id_number, amount=total, name=name,
            evidence=build(summary, records + pay_records, [rest] if rest else None,
                           death_date=death_date, payments_count=len(pays),
                           payments_total=total, periods=periods))


register(Rule(
    id="DEATH_PAID",
    title="死亡后继续领取待遇",
    department="public_security",       # 公安 and 民政 death records together; 公安 leads
    kinds=frozenset({"payments", "household_deaths", "cremations", "persons"}),
    explanation=("公安或民政记录显示此人已死亡，但死亡当月之后仍有待遇发放。"
                 "请核实死亡事实和死亡日期，停发待遇，并追回死亡次月起多发的金额。"),
    find=find,
    severity="high",
    has_amount=True,
    per_id=True,
))
