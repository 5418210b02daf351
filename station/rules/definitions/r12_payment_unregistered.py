"""PAYMENT_UNREGISTERED 发放对象不在册: payments to an ID that is no register person's.
Amount: the sum of those payments."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, money
from ._common import as_json

# Two steps, so that the planner cannot turn the second into a scan of all payments:
# the distinct payment IDs come off the (id_number, period) index and each is looked up
# once in persons; then only the payments of the missing IDs are read.
MISSING_SQL = """
SELECT id_number FROM (SELECT DISTINCT id_number FROM payments) AS ids
 WHERE NOT EXISTS (SELECT 1 FROM persons AS p WHERE p.id_number = ids.id_number)
"""

SQL = """
SELECT p.id_number, p.rowid, p.period, p.amount, p.name
  FROM json_each(:ids) AS j
 CROSS JOIN payments AS p ON p.id_number = j.value
 ORDER BY p.id_number, p.period, p.serial_no
"""


def find(ctx: Context):
    conn = ctx.conn
    missing = [r[0] for r in conn.execute(MISSING_SQL)]
    if not missing:
        return
    by_id: dict[str, list[tuple]] = {}
    for id_number, rid, period, amount, name in conn.execute(SQL, {"ids": as_json(missing)}):
        by_id.setdefault(id_number, []).append((rid, period, amount, name))
    ev = Evidence(conn)
    ev.load("payments", [p[0] for pays in by_id.values() for p in pays[:50]])
    for id_number, pays in by_id.items():
        total = round(sum(p[2] or 0 for p in pays), 2)
        periods = sorted({p[1] for p in pays})
        span = periods[0] if len(periods) == 1 else f"{periods[0]} 至 {periods[-1]}"
        name = next((p[3] for p in pays if p[3]), None)
        summary = (f"向证件号 {id_number}（{name or '姓名不详'}）发放待遇 {len(pays)} 笔（{span}），"
                   f"合计 {money(total)} 元，但参保人员登记库中没有此人。")
        recs, rest = ev.bounded("payments", [p[0] for p in pays], [p[2] for p in pays])
        yield Finding(subject=id_number, amount=total, name=name, evidence=build(
            summary, recs, [rest] if rest else None, payments_count=len(pays),
            payments_total=total, periods=periods))


register(Rule(
    id="PAYMENT_UNREGISTERED",
    title="发放对象不在册",
    department="agency",
    kinds=frozenset({"payments", "persons"}),
    explanation=("待遇发放明细中的领取人不在参保人员登记库中。可能是虚构人员冒领，"
                 "也可能是证件号录错或登记库漏报。请核对发放依据和领取人身份，"
                 "无依据的发放应停发并追回。"),
    find=find,
    severity="high",
    has_amount=True,
    per_id=True,
))
