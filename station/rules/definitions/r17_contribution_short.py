"""CONTRIBUTION_SHORT 征收金额少于核定: for a unit and period whose due date is on or
before as_of, at least one 险种 assessed in ``contributions_due`` has collections (the
unit's ``tax_collections`` for that period and 险种, 0 if none) more than ``tolerance``
below its 应缴金额. Subject: 单位编号 + period. Amount: the sum, over the 险种 short by
more than the tolerance, of 应缴 − 实缴. Compared in integer cents."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids
from ._common import as_json
from ._money import UNIT_OF_COLLECTION, cents, cents_sql, collections_of, insurance_order, last_due_period, money_text, yuan

# Assessed against collected per (unit, period, 险种) for the due periods; only the
# (unit, period) pairs with a shortfall beyond the tolerance come back. Collections that
# name their 单位编号 are summed through the (unit_no, period, insurance) index for each
# assessed row; the few that name only a credit code are resolved and summed first.
SHORT_SQL = f"""
WITH code_paid(unit, period, insurance, cents) AS MATERIALIZED (
    SELECT {UNIT_OF_COLLECTION}, c.period, c.insurance, sum({cents_sql('c.amount_paid')})
      FROM tax_collections AS c WHERE c.unit_no IS NULL AND c.period <= :last GROUP BY 1, 2, 3)
SELECT DISTINCT d.unit_no, d.period FROM contributions_due AS d
 WHERE d.period <= :last
   AND {cents_sql('d.amount_due')}
       - coalesce((SELECT sum({cents_sql('c.amount_paid')}) FROM tax_collections AS c
                    WHERE c.unit_no = d.unit_no AND c.period = d.period AND c.insurance = d.insurance), 0)
       - coalesce((SELECT p.cents FROM code_paid AS p
                    WHERE p.unit = d.unit_no AND p.period = d.period AND p.insurance = d.insurance), 0)
       > :tolerance
"""

# Every 险种 of the short pairs, assessed and collected side by side, with their rows.
DETAIL_SQL = f"""
WITH pairs(unit, period) AS MATERIALIZED (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs)),
wanted(unit, period, insurance) AS MATERIALIZED (
    SELECT d.unit_no, d.period, d.insurance FROM pairs AS p
      JOIN contributions_due AS d ON d.unit_no = p.unit AND d.period = p.period),
got AS MATERIALIZED (
    SELECT c.unit, c.period, c.insurance, sum(c.cents) AS cents, group_concat(c.rid) AS rids
      FROM ({collections_of('wanted')}) AS c
     GROUP BY c.unit, c.period, c.insurance)
SELECT p.unit, p.period, d.insurance, d.rowid, {cents_sql('d.amount_due')}, got.cents, got.rids
  FROM pairs AS p
  JOIN contributions_due AS d ON d.unit_no = p.unit AND d.period = p.period
  LEFT JOIN got ON got.unit = p.unit AND got.period = p.period AND got.insurance = d.insurance
 ORDER BY p.unit, p.period
"""


def find(ctx: Context):
    conn = ctx.conn
    tolerance = cents(ctx.params["tolerance"])
    last = last_due_period(ctx.as_of, ctx.params["grace_days"])
    pairs = conn.execute(SHORT_SQL, {"last": last, "tolerance": tolerance}).fetchall()
    if not pairs:
        return
    groups: dict[tuple[str, str], list[tuple]] = {}
    for unit, period, insurance, drid, due, paid, crids in conn.execute(
            DETAIL_SQL, {"pairs": as_json([list(p) for p in pairs])}):
        groups.setdefault((unit, period), []).append((insurance, drid, due, paid or 0, rowids(crids)))
    names = unit_names(conn, {u for u, _ in groups})
    ev = Evidence(conn)
    ev.load("contributions_due", [r[1] for rows in groups.values() for r in rows])
    ev.load("tax_collections", [i for rows in groups.values() for r in rows for i in r[4]])
    for (unit, period), rows in sorted(groups.items()):
        rows.sort(key=lambda r: insurance_order(r[0]))
        figures, records, short_total, parts = [], [], 0, []
        for insurance, drid, due, paid, crids in rows:
            diff = due - paid
            short = diff > tolerance
            if short:
                short_total += diff
                parts.append(f"{insurance}核定 {money_text(due)} 元、实缴 {money_text(paid)} 元，"
                             f"少 {money_text(diff)} 元")
            figures.append({"insurance": insurance, "assessed": yuan(due), "collected": yuan(paid),
                            "difference": yuan(diff), "short": short})
            records.append(ev.record("contributions_due", drid))
            records.extend(ev.records("tax_collections", crids))
        name = names.get(unit)
        summary = (f"{name or unit} {period} 费款已过缴费期限（所属期末加 {ctx.params['grace_days']} 天）："
                   + "；".join(parts) + f"。少缴合计 {money_text(short_total)} 元。")
        yield Finding(subject=unit, period=period, amount=yuan(short_total), name=name or unit,
                      evidence=build(summary, records, figures=figures, unit=unit))


def unit_names(conn, units) -> dict[str, str]:
    """A unit's name: the register's, else a tax collection's 单位名称."""
    units = list(units)
    out = {u: n for u, n in conn.execute(
        "SELECT unit_no, unit_name FROM units WHERE unit_no IN (SELECT value FROM json_each(?))"
        " AND unit_name IS NOT NULL", (as_json(units),))}
    missing = [u for u in units if u not in out]
    if missing:
        for u, n in conn.execute(
                "SELECT coalesce(unit_no, credit_code), max(unit_name) FROM tax_collections"
                " WHERE (unit_no IN (SELECT value FROM json_each(:u))"
                "        OR credit_code IN (SELECT value FROM json_each(:u)))"
                " AND unit_name IS NOT NULL GROUP BY 1", {"u": as_json(missing)}):
            out.setdefault(u, n)
    return out


register(Rule(
    id="CONTRIBUTION_SHORT",
    title="征收金额少于核定",
    department="tax",
    kinds=frozenset({"contributions_due", "tax_collections", "units"}),
    explanation=("经办机构核定的社保费，过了缴费期限后税务部门实际征收的金额少于核定金额（超过允许误差）。"
                 "可能是单位少缴、欠缴，或核定、征收数据有误。请对照核定单和税务征收明细，"
                 "核实是否欠费；如属欠缴，督促单位补缴并核对缴费基数。"),
    find=find,
    defaults={"grace_days": 30, "tolerance": 1.0},
    severity="medium",
    has_period=True,
    has_amount=True,
    subject_kind="unit",
))
