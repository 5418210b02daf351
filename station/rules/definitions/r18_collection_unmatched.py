"""COLLECTION_UNMATCHED 征收记录无对应核定: ``tax_collections`` of one unit, period and
险种 for which ``contributions_due`` has no row (same 单位编号, period, 险种) — any
period, without grace days, including periods with no assessments at all. Subject: the
collection's unit (see ``_money``) + period. Amount: the sum of their 实缴金额, over all
such 险种 of that unit and period."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids
from ._common import as_json
from ._money import UNIT_OF_COLLECTION, collections_of, insurance_order, money_text, yuan
from .r17_contribution_short import unit_names

# The (unit, period, 险种) groups of collections without an assessment: those naming
# their 单位编号 from the covering (unit_no, period, insurance) index, each looked up once
# in the assessments' index; those naming only a credit code resolved first (they are few).
GROUPS_SQL = f"""
WITH named AS (SELECT DISTINCT unit_no AS unit, period, insurance FROM tax_collections WHERE unit_no IS NOT NULL),
coded AS (SELECT DISTINCT {UNIT_OF_COLLECTION} AS unit, c.period, c.insurance
            FROM tax_collections AS c WHERE c.unit_no IS NULL),
groups AS (SELECT * FROM named UNION ALL SELECT * FROM coded)
SELECT g.unit, g.period, g.insurance FROM groups AS g
 WHERE NOT EXISTS (SELECT 1 FROM contributions_due AS d
                    WHERE d.unit_no = g.unit AND d.period = g.period AND d.insurance = g.insurance)
"""

# Their collections, for amounts and evidence.
SQL = f"""
WITH wanted(unit, period, insurance) AS MATERIALIZED (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
      FROM json_each(:groups)),
coll AS ({collections_of('wanted')})
SELECT unit, period, insurance, sum(cents), group_concat(rid)
  FROM coll GROUP BY unit, period, insurance
 ORDER BY unit, period
"""


def find(ctx: Context):
    conn = ctx.conn
    unmatched = conn.execute(GROUPS_SQL).fetchall()
    if not unmatched:
        return
    groups: dict[tuple[str, str], list[tuple]] = {}
    for unit, period, insurance, c, rids in conn.execute(SQL, {"groups": as_json([list(g) for g in unmatched])}):
        groups.setdefault((unit, period), []).append((insurance, c, rowids(rids)))
    if not groups:
        return
    units = {u for u, _ in groups}
    names = unit_names(conn, units)
    registered = {u for (u,) in conn.execute(
        "SELECT unit_no FROM units WHERE unit_no IN (SELECT value FROM json_each(?))",
        (as_json(sorted(units)),))}
    assessed = {(u, p) for u, p in conn.execute(
        "SELECT DISTINCT unit_no, period FROM contributions_due WHERE unit_no IN (SELECT value FROM json_each(?))",
        (as_json(sorted(units)),))}
    ev = Evidence(conn)
    ev.load("tax_collections", [i for rows in groups.values() for r in rows for i in r[2][:50]])
    for (unit, period), rows in groups.items():
        rows.sort(key=lambda r: insurance_order(r[0]))
        total = sum(r[1] for r in rows)
        records = [rec for r in rows for rec in ev.records("tax_collections", r[2])]
        figures = [{"insurance": ins, "assessed": None, "collected": yuan(c), "difference": yuan(-c),
                    "short": False} for ins, c, _ in rows]
        who = names.get(unit) or unit
        if unit not in registered:
            why = f"参保单位登记库中没有这个单位（单位编号或统一社会信用代码 {unit}）"
        elif (unit, period) not in assessed:
            why = f"经办机构没有该单位 {period} 的任何核定"
        else:
            why = "经办机构对该单位该期没有核定这些险种"
        summary = (f"税务部门征收了{who} {period} 的"
                   + "、".join(f"{ins} {money_text(c)} 元" for ins, c, _ in rows)
                   + f"，合计 {money_text(total)} 元，但{why}。")
        yield Finding(subject=unit, period=period, amount=yuan(total), name=who,
                      evidence=build(summary, records, figures=figures, unit=unit,
                                     registered=unit in registered))


register(Rule(
    id="COLLECTION_UNMATCHED",
    title="征收记录无对应核定",
    department="tax",
    kinds=frozenset({"contributions_due", "tax_collections", "units"}),
    explanation=("税务部门征收了社保费，但经办机构没有对应单位、所属期和险种的核定。"
                 "可能是单位未参保登记、核定漏报，或征收数据的单位编号、信用代码录错。"
                 "请核对征收明细与单位登记，补办登记或核定，或更正征收数据。"),
    find=find,
    severity="medium",
    has_period=True,
    has_amount=True,
    subject_kind="unit",
))
