"""SHARED_ACCOUNT 多人共用银行账户: one account, not in ``allowed_accounts``, is the account
of payments of one 发放年月 to two or more different IDs, whatever the bank's result. A
payment's account is the 银行账号 of its 成功 return, else its own 银行账号 (also when its
return is 失败); a payment with neither takes no part. Subject: account + period. Amount:
the sum of all payments of that 发放年月 with that account. Accounts are stored without
spaces and dashes, so equal accounts are equal text."""
from __future__ import annotations

import json

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._common import as_json
from ._money import SUCCESS_SQL, allowed_accounts, cents_sql, money_text, yuan

# Every payment's account (its success return's, else its own), grouped by account and
# 发放年月: the groups with two or more different IDs. One pass: the success returns
# joined to their payments by 发放流水号, and the few payments carrying an account of their
# own (partial index) without a success return.
SHARED_SQL = f"""
WITH eff(account_no, period, id_number) AS (
    SELECT b.account_no, p.period, p.id_number FROM bank_returns AS b JOIN payments AS p ON p.nk = b.nk
     WHERE b.result IN {SUCCESS_SQL}
    UNION ALL
    SELECT p.account_no, p.period, p.id_number FROM payments AS p LEFT JOIN bank_returns AS b ON b.nk = p.nk
     WHERE p.account_no IS NOT NULL AND (b.rowid IS NULL OR b.result NOT IN {SUCCESS_SQL}))
SELECT account_no, period FROM eff GROUP BY account_no, period HAVING min(id_number) <> max(id_number)
"""

# The payments of those (account, period) groups, for amounts and evidence.
SQL = f"""
WITH shared(account_no, period) AS MATERIALIZED (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:groups)),
cand(account_no) AS MATERIALIZED (SELECT DISTINCT account_no FROM shared),
paid(account_no, period, id_number, prid, brid, cents) AS (
    SELECT b.account_no, p.period, p.id_number, p.rowid, b.rowid, {cents_sql('p.amount')}
      FROM cand CROSS JOIN bank_returns AS b ON b.account_no = cand.account_no
      JOIN payments AS p ON p.nk = b.nk
     WHERE b.result IN {SUCCESS_SQL}
    UNION ALL
    SELECT p.account_no, p.period, p.id_number, p.rowid, b.rowid, {cents_sql('p.amount')}
      FROM cand CROSS JOIN payments AS p ON p.account_no = cand.account_no
      LEFT JOIN bank_returns AS b ON b.nk = p.nk
     WHERE b.rowid IS NULL OR b.result NOT IN {SUCCESS_SQL})
SELECT paid.account_no, paid.period, paid.id_number, paid.prid, paid.brid, paid.cents
  FROM paid JOIN shared ON shared.account_no = paid.account_no AND shared.period = paid.period
 ORDER BY paid.account_no, paid.period, paid.id_number, paid.prid
"""


def find(ctx: Context):
    conn = ctx.conn
    allowed = set(allowed_accounts(ctx.params["allowed_accounts"]))
    shared = [[a, p] for a, p in conn.execute(SHARED_SQL) if a not in allowed]
    if not shared:
        return
    groups: dict[tuple[str, str], list[tuple]] = {}
    for account, period, id_number, prid, brid, c in conn.execute(SQL, {"groups": json.dumps(shared)}):
        groups.setdefault((account, period), []).append((id_number, prid, brid, c))
    persons = dict(conn.execute(
        "SELECT id_number, name FROM persons WHERE id_number IN (SELECT value FROM json_each(?))",
        (as_json({r[0] for rows in groups.values() for r in rows}),)))
    ev = Evidence(conn)
    ev.load("payments", [r[1] for rows in groups.values() for r in rows])
    ev.load("bank_returns", [r[2] for rows in groups.values() for r in rows if r[2] is not None])
    for (account, period), rows in groups.items():
        total = sum(r[3] for r in rows)
        people: dict[str, dict] = {}
        records = []
        for id_number, prid, brid, c in rows:
            pay = ev.values("payments", prid)
            ret = ev.values("bank_returns", brid) if brid is not None else None
            name = persons.get(id_number) or pay.get("name") or (ret or {}).get("account_name")
            entry = people.setdefault(id_number, {"id_number": id_number, "name": name,
                                                  "cents": 0, "serials": [], "results": []})
            entry["cents"] += c
            entry["serials"].append(pay["serial_no"])
            entry["results"].append(ret["result"] if ret else "无回盘（发放明细所列账号）")
            records.append(ev.record("payments", prid))
            if brid is not None:
                records.append(ev.record("bank_returns", brid))
        for p in people.values():
            p["amount"] = yuan(p.pop("cents"))
        who = "、".join(p["name"] or "姓名不详" for p in people.values())
        summary = (f"{period} 有 {len(people)} 人的待遇发放到同一个银行账户（尾号 {account[-4:]}）："
                   f"{who}，共 {len(rows)} 笔，合计 {money_text(total)} 元。")
        yield Finding(subject=account, period=period, amount=yuan(total),
                      name=next(iter(people.values()))["name"],
                      evidence=build(summary, records[:100], persons=list(people.values()),
                                     account_no=account))


register(Rule(
    id="SHARED_ACCOUNT",
    title="多人共用银行账户",
    department="bank",
    kinds=frozenset({"payments", "bank_returns", "persons"}),
    explanation=("同一个月，两个以上不同的人的待遇发放到同一个银行账户。可能是他人代领、冒领，"
                 "或账户信息录错。请核实账户实际所有人和各领取人的关系；养老院等集体代管账户"
                 "核实无误后可加入 rules.yaml 的 allowed_accounts。"),
    find=find,
    defaults={"allowed_accounts": []},
    severity="high",
    has_period=True,
    has_amount=True,
    subject_kind="account",
))
