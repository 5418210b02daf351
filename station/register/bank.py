"""A person's bank side, for the person view: the accounts their benefits went to, the
bank's results (代发回盘) for their payments, and the other ID numbers paid into the same
accounts. A payment's account is the 银行账号 of its 成功 return, else its own 银行账号
(as SHARED_ACCOUNT reads it). Read-only; every query uses an index."""
from __future__ import annotations

import sqlite3
from typing import Any

# 处理结果 spellings meaning the money reached the account (anything else is a failure).
SUCCESS = ("成功", "交易成功", "处理成功", "代发成功", "入账成功")
SUCCESS_SQL = "(" + ", ".join(f"'{s}'" for s in SUCCESS) + ")"
_OK = SUCCESS_SQL

RETURN_KEYS = ("serial_no", "period", "benefit_type", "pay_amount", "account_name", "account_no",
               "amount", "result", "process_date", "file", "row_no")


def bank_view(conn: sqlite3.Connection, pid: str, *, limit: int = 2000) -> dict[str, Any]:
    """``returns`` (the bank's results for the person's payments, newest first),
    ``accounts`` (account, periods, how it is known) and ``shared`` (other IDs paid
    into one of those accounts: id_number, name, account, periods)."""
    returns = [dict(zip(RETURN_KEYS, r)) for r in conn.execute(
        "SELECT p.serial_no, p.period, p.benefit_type, p.amount, b.account_name, b.account_no, b.amount,"
        "       b.result, b.process_date, d.original_name, b.row_no"
        "  FROM payments AS p JOIN bank_returns AS b ON b.nk = p.nk"
        "  LEFT JOIN deliveries AS d ON d.id = b.delivery_id"
        " WHERE p.id_number = ? ORDER BY p.period DESC, p.serial_no LIMIT ?", (pid, limit))]
    accounts: dict[str, dict[str, Any]] = {}
    for account, period, how in conn.execute(
            f"SELECT CASE WHEN b.result IN {_OK} THEN b.account_no ELSE p.account_no END, p.period,"
            f"       CASE WHEN b.result IN {_OK} THEN '银行回盘（成功）' ELSE '发放明细' END"
            "  FROM payments AS p LEFT JOIN bank_returns AS b ON b.nk = p.nk"
            " WHERE p.id_number = ? ORDER BY p.period", (pid,)):
        if not account:
            continue
        a = accounts.setdefault(account, {"account_no": account, "periods": [], "sources": []})
        if period not in a["periods"]:
            a["periods"].append(period)
        if how not in a["sources"]:
            a["sources"].append(how)
    shared: dict[tuple[str, str], dict[str, Any]] = {}
    for account in accounts:
        for id_number, name, period in conn.execute(
                f"SELECT p.id_number, coalesce(r.name, p.name), p.period"
                f"  FROM bank_returns AS b JOIN payments AS p ON p.nk = b.nk"
                f"  LEFT JOIN persons AS r ON r.id_number = p.id_number"
                f" WHERE b.account_no = :a AND b.result IN {_OK} AND p.id_number <> :pid"
                f" UNION ALL "
                f"SELECT p.id_number, coalesce(r.name, p.name), p.period"
                f"  FROM payments AS p LEFT JOIN bank_returns AS b ON b.nk = p.nk"
                f"  LEFT JOIN persons AS r ON r.id_number = p.id_number"
                f" WHERE p.account_no = :a AND p.id_number <> :pid"
                f"   AND (b.rowid IS NULL OR b.result NOT IN {_OK})", {"a": account, "pid": pid}):
            s = shared.setdefault((id_number, account), {"id_number": id_number, "name": name,
                                                         "account_no": account, "periods": []})
            if period not in s["periods"]:
                s["periods"].append(period)
    for s in shared.values():
        s["periods"].sort()
    return {"returns": returns, "accounts": list(accounts.values()),
            "shared": sorted(shared.values(), key=lambda s: (s["account_no"], s["id_number"]))}
