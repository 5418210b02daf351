"""CONFLICTING_BENEFITS 待遇重复享受: one ID, one period, benefit types that ``exclusive``
lists together (基本养老金 with 失业保险金). Subject: ID + period."""
from __future__ import annotations

import json

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, money, rowids
from ._common import PAIRS_CTE, multi_payment_pairs, person_rows

SQL = f"""
WITH grp(g, benefit_type) AS MATERIALIZED (
    SELECT CAST(j.key AS INTEGER), k.value FROM json_each(:groups) AS j, json_each(j.value) AS k),
{PAIRS_CTE},
hits AS (
    SELECT p.id_number, p.period, grp.g, group_concat(p.rowid) AS rids
      FROM pairs
     CROSS JOIN payments AS p ON p.id_number = pairs.id_number AND p.period = pairs.period
     CROSS JOIN grp ON grp.benefit_type = p.benefit_type
     GROUP BY p.id_number, p.period, grp.g
    HAVING count(DISTINCT p.benefit_type) >= 2)
SELECT id_number, period, group_concat(rids) FROM hits
 GROUP BY id_number, period ORDER BY id_number, period
"""


def find(ctx: Context):
    conn = ctx.conn
    groups = [[str(t) for t in g] for g in ctx.params["exclusive"] if isinstance(g, list)]
    if not groups:
        return
    rows = conn.execute(SQL, {"groups": json.dumps(groups, ensure_ascii=False),
                              "pairs": multi_payment_pairs(ctx)}).fetchall()
    if not rows:
        return
    persons = person_rows(conn, {r[0] for r in rows})
    ev = Evidence(conn)
    ev.load("payments", [i for r in rows for i in rowids(r[2])])
    for id_number, period, rids in rows:
        recs = [ev.record("payments", i) for i in sorted(set(rowids(rids)))]
        recs.sort(key=lambda r: (r["fields"]["待遇类型"], r["fields"]["发放流水号"]))
        types = list(dict.fromkeys(r["fields"]["待遇类型"] for r in recs))
        paid = "；".join(f"{r['fields']['待遇类型']} {money(r['fields']['金额'] or None)} 元（流水号 {r['fields']['发放流水号']}）"
                        for r in recs)
        summary = f"{period} 同时领取了不能同时享受的待遇：{paid}。"
        person = persons.get(id_number)
        name = (person[1] if person else None) or recs[0]["fields"]["姓名"] or None
        yield Finding(subject=id_number, period=period, name=name,
                      evidence=build(summary, recs[:50], benefit_types=types))


register(Rule(
    id="CONFLICTING_BENEFITS",
    title="待遇重复享受",
    department="agency",
    kinds=frozenset({"payments", "persons"}),
    explanation=("同一人在同一所属期领取了按规定不能同时享受的待遇（如基本养老金和失业保险金）。"
                 "请核实领取资格，停发不应享受的待遇并追回。"),
    find=find,
    defaults={"exclusive": [["基本养老金", "失业保险金"]]},
    severity="high",
    has_period=True,
    per_id=True,
))
