"""BANK_RETURN_MISMATCH 发放与银行回盘不符: a payment of a returned payroll month (a
发放年月 with at least one bank return linked by 发放流水号 to any of its payments), dated
(发放日期, else the 10th of its 发放年月) on or before as_of − ``grace_days``, has no bank
return (a 失败 return is still a return); or its return's 金额 differs by more than 0.01;
or its return's 户名 differs (as a name; homophones are not accepted) from the name of the
payment's ID in the register, else from the payment's own 姓名. Subject: 发放流水号.
Amount: the payment's 金额."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._money import cents_sql, money_text, yuan

# The returned months: a bank return links (by 发放流水号 = the payments' natural key) to
# a payment of that month.
MONTHS_SQL = """
SELECT DISTINCT p.period FROM bank_returns AS b JOIN payments AS p ON p.nk = b.nk
"""

# The payments of those months, due for a return, that have none or disagree with it.
# Names are stored normalised (whitespace removed, NFKC), so equal names are equal text.
SQL = f"""
SELECT p.serial_no, p.rowid, b.rowid, p.id_number, {cents_sql('p.amount')}, {cents_sql('b.amount')},
       b.account_name, coalesce(r.name, p.name), r.rowid, p.name
  FROM payments AS p
  LEFT JOIN bank_returns AS b ON b.nk = p.nk
  LEFT JOIN persons AS r ON r.id_number = p.id_number
 WHERE p.period IN (SELECT value FROM json_each(:months))
   AND coalesce(p.pay_date, p.period || '-10') <= :cutoff
   AND (b.rowid IS NULL
        OR abs({cents_sql('p.amount')} - {cents_sql('b.amount')}) > 1
        OR (coalesce(r.name, p.name) IS NOT NULL AND b.account_name IS NOT coalesce(r.name, p.name)))
 ORDER BY p.serial_no
"""


def find(ctx: Context):
    conn = ctx.conn
    months = [m for (m,) in conn.execute(MONTHS_SQL)]
    if not months:
        return
    import json
    rows = conn.execute(SQL, {"months": json.dumps(months), "cutoff": ctx.cutoff()}).fetchall()
    ev = Evidence(conn)
    ev.load("payments", [r[1] for r in rows])
    ev.load("bank_returns", [r[2] for r in rows if r[2] is not None])
    for serial, prid, brid, id_number, pay_c, ret_c, ret_name, name, person_rid, pay_name in rows:
        pay = ev.values("payments", prid)
        differences = []
        if brid is None:
            summary = (f"{pay['period']} 的待遇（流水号 {serial}，{pay['benefit_type']} "
                       f"{money_text(pay_c)} 元）银行回盘中没有这笔发放的处理结果；"
                       f"同月其他发放已有回盘。")
            differences.append({"field": "发放流水号", "payment": serial, "return": None})
        else:
            parts = []
            if abs(pay_c - ret_c) > 1:
                parts.append(f"金额不符：发放 {money_text(pay_c)} 元，回盘 {money_text(ret_c)} 元")
                differences.append({"field": "金额", "payment": yuan(pay_c), "return": yuan(ret_c)})
            if name is not None and ret_name != name:
                source = "参保登记" if person_rid is not None else "发放明细"
                parts.append(f"户名不符：回盘户名「{ret_name}」，{source}姓名「{name}」")
                differences.append({"field": "户名", "payment": name, "return": ret_name,
                                    "name_source": source})
            summary = f"{pay['period']} 的待遇（流水号 {serial}）与银行回盘不符：" + "；".join(parts) + "。"
        records = [ev.record("payments", prid, "待遇发放（发放）")]
        if brid is not None:
            records.append(ev.record("bank_returns", brid, "银行代发回盘（回盘）"))
        if person_rid is not None:
            records.append(ev.record("persons", person_rid))
        yield Finding(subject=serial, amount=yuan(pay_c), name=name or ret_name or id_number,
                      evidence=build(summary, records, differences=differences,
                                     id_number=id_number, period=pay["period"]))


register(Rule(
    id="BANK_RETURN_MISMATCH",
    title="发放与银行回盘不符",
    department="bank",
    kinds=frozenset({"payments", "bank_returns", "persons"}),
    explanation=("银行代发回盘与待遇发放明细对不上：已回盘月份的发放在回盘中找不到，"
                 "或回盘金额、户名与发放不一致（户名按姓名比较，同音字不算一致）。"
                 "可能是发放到了他人账户、金额被改动或漏发。请调取银行回单，核实实际收款人和金额。"),
    find=find,
    defaults={"grace_days": 15},
    severity="high",
    has_amount=True,
    subject_kind="other",
))
