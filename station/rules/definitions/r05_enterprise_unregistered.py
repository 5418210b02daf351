"""ENTERPRISE_UNREGISTERED 新设企业未参保登记: an enterprise 设立 row approved on or before
as_of − grace_days has no register unit (any units row with that credit code, whatever
its status; later 变更/注销 rows do not matter). Subject: the credit code."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids

# Credit codes are stored upper-case (a ``code`` field), so equality is the comparison.
SQL = """
SELECT e.credit_code, group_concat(e.rowid), min(e.approval_date)
  FROM enterprises AS e
 WHERE e.reg_type = '设立' AND e.approval_date <= :cutoff
   AND NOT EXISTS (SELECT 1 FROM units AS u WHERE u.credit_code = e.credit_code)
 GROUP BY e.credit_code
 ORDER BY e.credit_code
"""


def find(ctx: Context):
    rows = ctx.conn.execute(SQL, {"cutoff": ctx.cutoff()}).fetchall()
    ev = Evidence(ctx.conn)
    ev.load("enterprises", [i for r in rows for i in rowids(r[1])])
    for code, rids, approved in rows:
        recs = [ev.record("enterprises", i) for i in rowids(rids)]
        name = recs[-1]["fields"]["企业名称"]
        summary = (f"{name}于 {approved} 设立登记，已超过 {ctx.params['grace_days']} 天，"
                   f"参保单位登记库中没有统一社会信用代码为 {code} 的单位。")
        yield Finding(subject=code, name=name, evidence=build(
            summary, recs, register_units=[], approval_date=approved))


register(Rule(
    id="ENTERPRISE_UNREGISTERED",
    title="新设企业未参保登记",
    department="industry_commerce",
    kinds=frozenset({"enterprises", "units"}),
    explanation=("市场监管部门登记了这家新设立的企业，但社保参保单位中查不到它的统一社会信用代码。"
                 "可能存在应保未保。请联系企业核实用工情况，督促其办理单位参保登记；"
                 "如企业已用其他代码登记，请核对信用代码。"),
    find=find,
    defaults={"grace_days": 30},
    severity="medium",
    subject_kind="unit",
))
