"""DUPLICATE_PAYMENT 重复发放: one ID, one period, one benefit type, paid under two or more
serial numbers. Subject: ID + period. Amount: over each benefit type so paid in that
period, the amounts of all but the lowest serial number (serials compare as trimmed
strings)."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, money
from ._common import PAIRS_CTE, multi_payment_pairs, person_rows

# Only the rows of (ID, period) pairs with more than one payment are read.
SQL = f"""
WITH {PAIRS_CTE},
rows AS (
    SELECT p.rowid AS rid, p.id_number, p.period, p.benefit_type, trim(p.serial_no) AS serial,
           p.amount, p.name,
           count(*) OVER (PARTITION BY p.id_number, p.period, p.benefit_type) AS n,
           row_number() OVER (PARTITION BY p.id_number, p.period, p.benefit_type
                              ORDER BY trim(p.serial_no)) AS k
      FROM pairs CROSS JOIN payments AS p
        ON p.id_number = pairs.id_number AND p.period = pairs.period)
SELECT id_number, period, benefit_type, rid, serial, amount, k, name
  FROM rows WHERE n >= 2
 ORDER BY id_number, period, benefit_type, k
"""


def find(ctx: Context):
    conn = ctx.conn
    groups: dict[tuple[str, str], list[tuple]] = {}
    for row in conn.execute(SQL, {"pairs": multi_payment_pairs(ctx)}):
        groups.setdefault((row[0], row[1]), []).append(row[2:])
    if not groups:
        return
    persons = person_rows(conn, {k[0] for k in groups})
    ev = Evidence(conn)
    ev.load("payments", [r[1] for rows in groups.values() for r in rows[:50]])
    for (id_number, period), rows in groups.items():
        excess = round(sum(r[3] or 0 for r in rows if r[4] > 1), 2)
        details, parts = [], []
        for btype in dict.fromkeys(r[0] for r in rows):
            same = [r for r in rows if r[0] == btype]
            extra = round(sum(r[3] or 0 for r in same[1:]), 2)
            details.append({"benefit_type": btype, "serials": [r[2] for r in same],
                            "kept": same[0][2], "excess": extra})
            parts.append(f"{btype}以流水号 {'、'.join(r[2] for r in same)} 发放 {len(same)} 次"
                         f"（保留流水号最小的 {same[0][2]}，其余 {money(extra)} 元为重复）")
        summary = f"{period} " + "；".join(parts) + f"。重复金额合计 {money(excess)} 元。"
        person = persons.get(id_number)
        name = (person[1] if person else None) or rows[0][5]
        recs, rest = ev.bounded("payments", [r[1] for r in rows], [r[3] for r in rows])
        yield Finding(subject=id_number, period=period, amount=excess, name=name,
                      evidence=build(summary, recs, [rest] if rest else None, duplicates=details))


register(Rule(
    id="DUPLICATE_PAYMENT",
    title="重复发放",
    department="agency",
    kinds=frozenset({"payments", "persons"}),
    explanation=("同一人同一所属期的同一种待遇以两个以上发放流水号发放。"
                 "请核对发放明细和银行回单，确认是否重复支付；如属重复，追回多发金额。"),
    find=find,
    severity="high",
    has_period=True,
    has_amount=True,
    per_id=True,
))
