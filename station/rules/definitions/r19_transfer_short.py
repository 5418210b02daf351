"""TRANSFER_SHORT 征收款未足额划入专户: for each (险种, M) where M is the month of some
collection's 入库日期 or the (effective) 所属月份 of some 征收划入 entry, and M's due date
is on or before as_of: the collections with 入库日期 in M and the ``fund_account_entries``
with 收入类型 征收划入 and 所属月份 M (an empty 所属月份 counts as the month of 入账日期)
differ by more than ``tolerance``. 利息 and 其他 entries take no part. Subject: 险种 + M.
Amount: the absolute difference. Compared in integer cents."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids
from ._money import TRANSFER_IN, cents, cents_sql, last_due_period, money_text, yuan

# Collections per (险种, month of 入库日期) and transfers per (险种, effective month), both
# up to the last due month; the months where they differ beyond the tolerance.
SQL = f"""
WITH days AS (           -- off the covering (insurance, paid_date, amount_paid) index, no sort
    SELECT insurance, paid_date, sum({cents_sql('amount_paid')}) AS cents, count(*) AS n
      FROM tax_collections WHERE paid_date < :before
     GROUP BY insurance, paid_date),
collected AS (
    SELECT insurance, substr(paid_date, 1, 7) AS month, sum(cents) AS cents, sum(n) AS n
      FROM days GROUP BY insurance, substr(paid_date, 1, 7)),
moved AS (
    SELECT insurance, coalesce(month, substr(entry_date, 1, 7)) AS month,
           sum({cents_sql('amount')}) AS cents, group_concat(rowid) AS rids
      FROM fund_account_entries
     WHERE income_type = :transfer_in AND coalesce(month, substr(entry_date, 1, 7)) <= :last
     GROUP BY insurance, coalesce(month, substr(entry_date, 1, 7))),
keys AS (SELECT insurance, month FROM collected UNION SELECT insurance, month FROM moved)
SELECT k.insurance, k.month, coalesce(c.cents, 0), coalesce(c.n, 0), coalesce(m.cents, 0), m.rids
  FROM keys AS k
  LEFT JOIN collected AS c ON c.insurance = k.insurance AND c.month = k.month
  LEFT JOIN moved AS m ON m.insurance = k.insurance AND m.month = k.month
 WHERE abs(coalesce(c.cents, 0) - coalesce(m.cents, 0)) > :tolerance
 ORDER BY k.insurance, k.month
"""

# The collections of one (险种, month), for evidence: the largest first.
COLLECTIONS_SQL = """
SELECT rowid FROM tax_collections
 WHERE insurance = ? AND paid_date >= ? AND paid_date < ?
 ORDER BY amount_paid DESC, receipt_no
"""


def find(ctx: Context):
    conn = ctx.conn
    tolerance = cents(ctx.params["tolerance"])
    last = last_due_period(ctx.as_of, ctx.params["grace_days"])
    rows = conn.execute(SQL, {"last": last, "before": f"{last}-99", "tolerance": tolerance,
                              "transfer_in": TRANSFER_IN}).fetchall()
    ev = Evidence(conn)
    for insurance, month, collected, n, moved, mrids in rows:
        diff = collected - moved
        crids = [r for (r,) in conn.execute(COLLECTIONS_SQL, (insurance, month + "-01", month + "-99"))]
        records, rest = ev.bounded("fund_account_entries", rowids(mrids))
        crecs, crest = ev.bounded("tax_collections", crids, limit=20)
        if diff > 0:
            what = f"少划入 {money_text(diff)} 元"
        else:
            what = f"划入比征收多 {money_text(-diff)} 元"
        summary = (f"{insurance} {month}：税务征收入库 {money_text(collected)} 元（{n} 笔），"
                   f"划入财政专户（征收划入，所属月份 {month}）{money_text(moved)} 元，{what}。")
        figures = [{"insurance": insurance, "month": month, "collected": yuan(collected),
                    "transferred": yuan(moved), "difference": yuan(diff)}]
        yield Finding(subject=insurance, period=month, amount=yuan(abs(diff)), name=insurance,
                      evidence=build(summary, records + crecs, [rest, crest], figures=figures,
                                     collections_count=n))


register(Rule(
    id="TRANSFER_SHORT",
    title="征收款未足额划入专户",
    department="finance",
    kinds=frozenset({"tax_collections", "fund_account_entries"}),
    explanation=("某险种某月税务部门征收入库的社保费，与财政专户记录的该月“征收划入”金额不一致（超过允许误差）。"
                 "征收款应及时足额划入财政专户。请对照税务入库凭证和财政专户入账凭证，"
                 "查明未划入或多划入的原因；利息等其他收入不计入比对。"),
    find=find,
    defaults={"grace_days": 15, "tolerance": 1.0},
    severity="high",
    has_period=True,
    has_amount=True,
    subject_kind="other",
))
