"""ENTERPRISE_CLOSED_ACTIVE 注销企业仍在参保: an enterprise 注销 row whose register unit's
单位状态 is 正常 (an empty status counts as 正常). Subject: the credit code."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids

SQL = """
SELECT e.credit_code, group_concat(DISTINCT e.rowid), group_concat(DISTINCT u.rowid),
       max(e.approval_date)
  FROM enterprises AS e
  JOIN units AS u ON u.credit_code = e.credit_code
 WHERE e.reg_type = '注销' AND coalesce(u.unit_status, '正常') = '正常'
 GROUP BY e.credit_code
 ORDER BY e.credit_code
"""


def find(ctx: Context):
    rows = ctx.conn.execute(SQL).fetchall()
    ev = Evidence(ctx.conn)
    ev.load("enterprises", [i for r in rows for i in rowids(r[1])])
    ev.load("units", [i for r in rows for i in rowids(r[2])])
    for code, e_ids, u_ids, closed in rows:
        recs = [ev.record("enterprises", i) for i in rowids(e_ids)]
        units = [ev.record("units", i, "登记库参保单位") for i in rowids(u_ids)]
        name = recs[-1]["fields"]["企业名称"]
        unit_nos = "、".join(u["fields"]["单位编号"] for u in units)
        summary = (f"{name}已于 {closed} 办理注销登记，但参保单位 {unit_nos} 的单位状态仍为正常。")
        yield Finding(subject=code, name=name, evidence=build(
            summary, recs + units, closed_date=closed))


register(Rule(
    id="ENTERPRISE_CLOSED_ACTIVE",
    title="注销企业仍在参保",
    department="industry_commerce",
    kinds=frozenset({"enterprises", "units"}),
    explanation=("市场监管部门已注销这家企业，但社保登记库中对应的参保单位状态仍为正常。"
                 "请核实企业是否确已注销，办理单位参保注销，并检查注销后是否仍有人员以该单位名义参保缴费或领取待遇。"),
    find=find,
    severity="low",
    subject_kind="unit",
))
