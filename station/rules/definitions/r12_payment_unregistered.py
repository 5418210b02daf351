"""PAYMENT_UNREGISTERED 发放对象不在册: payments to an ID that is no register person's.
Amount: the sum of those payments."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, money

# Distinct payment IDs come off the (id_number, period) index; each is looked up once.
SQL = """
WITH ids AS (SELECT DISTINCT id_number FROM payments),
missing AS (
    SELECT id_number FROM ids
     WHERE NOT EXISTS (SELECT 1 FROM persons AS p WHERE p.id_number = ids.id_number))
SELECT p.id_number, p.rowid, p.period, p.amount, p.name
  FROM missing JOIN payments AS p ON p.id_number = missing.id_number
 ORDER BY p.id_number, p.period, p.serial_no
"""


def find(ctx: Context):
    conn = ctx.conn
    by_id: dict[str, list[tuple]] = {}
    for id_number, rid, period, amount, name in conn.execute(SQL):
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
))
