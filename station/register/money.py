"""三方对账: per month and 险种, what the agency assessed (核定), what the tax bureau
collected (征收, by 费款所属期; and 入库, by the month of 入库日期) and what reached the fund's
special account (划入专户: 征收划入 entries by their 所属月份, else the month of 入账日期).

The two comparisons follow the money-side rules: assessed against collected per
费款所属期 (CONTRIBUTION_SHORT), collected into the treasury against transferred per month
(TRANSFER_SHORT). Sums are exact integer cents; the caller says which months are due.
"""
from __future__ import annotations

import sqlite3
from typing import Any

TRANSFER_IN = "征收划入"


def _c(expr: str) -> str:
    return f"sum(CAST(round(({expr}) * 100) AS INTEGER))"


SQL = f"""
WITH cells(month, insurance, assessed, collected, paid_in, transferred, other) AS (
    SELECT period, insurance, {_c('amount_due')}, NULL, NULL, NULL, NULL
      FROM contributions_due GROUP BY period, insurance
    UNION ALL
    SELECT period, insurance, NULL, {_c('amount_paid')}, NULL, NULL, NULL
      FROM tax_collections GROUP BY period, insurance
    UNION ALL
    SELECT substr(paid_date, 1, 7), insurance, NULL, NULL, {_c('amount_paid')}, NULL, NULL
      FROM tax_collections GROUP BY substr(paid_date, 1, 7), insurance
    UNION ALL
    SELECT coalesce(month, substr(entry_date, 1, 7)), insurance, NULL, NULL, NULL,
           {_c("CASE WHEN income_type = :transfer_in THEN amount END")},
           {_c("CASE WHEN income_type <> :transfer_in THEN amount END")}
      FROM fund_account_entries GROUP BY coalesce(month, substr(entry_date, 1, 7)), insurance)
SELECT month, insurance, sum(assessed), sum(collected), sum(paid_in), sum(transferred), sum(other)
  FROM cells WHERE month IS NOT NULL
 GROUP BY month, insurance
 ORDER BY month DESC, insurance
"""


def reconciliation(conn: sqlite3.Connection, *, last_due_contribution: str, last_due_transfer: str,
                   tolerance_cents: int = 100, order=None) -> list[dict[str, Any]]:
    """One row per (month, 险种), newest month first: ``assessed``, ``collected``,
    ``paid_in``, ``transferred``, ``other`` (利息 and other income of the account),
    ``short`` (assessed − collected), ``untransferred`` (paid_in − transferred), as floats
    exact to the cent (None where nothing was delivered); ``contribution_due`` and
    ``transfer_due`` (the month is past its due date for that comparison) and
    ``contribution_flag`` / ``transfer_flag`` (due and differing beyond the tolerance)."""
    out = []
    for month, insurance, assessed, collected, paid_in, transferred, other in conn.execute(
            SQL, {"transfer_in": TRANSFER_IN}):
        short = (assessed or 0) - (collected or 0)
        untransferred = (paid_in or 0) - (transferred or 0)
        c_due = month <= last_due_contribution
        t_due = month <= last_due_transfer
        out.append({
            "month": month, "insurance": insurance,
            "assessed": _yuan(assessed), "collected": _yuan(collected), "paid_in": _yuan(paid_in),
            "transferred": _yuan(transferred), "other": _yuan(other),
            "short": short / 100, "untransferred": untransferred / 100,
            "contribution_due": c_due, "transfer_due": t_due,
            "contribution_flag": c_due and assessed is not None and short > tolerance_cents,
            "transfer_flag": t_due and abs(untransferred) > tolerance_cents,
        })
    if order:
        out.sort(key=lambda r: (_neg(r["month"]), order(r["insurance"])))
    return out


def _yuan(c: int | None) -> float | None:
    return None if c is None else c / 100


def _neg(month: str) -> tuple:
    return tuple(-ord(ch) for ch in month)
