"""Terms and SQL shared by the money-side rules (DOMAIN.md § The money side).

- Money compares in exact integer **cents** (``CENTS(x)`` in SQL; amounts are stored
  rounded to cents, so ``round(x * 100)`` is exact), never in floating point: a
  difference of exactly the tolerance is not "more than" it.
- The **due date** of a period P (YYYY-MM) is P's last day + ``grace_days``; a rule looks
  at P once as_of is on or after it (:func:`last_due_period`).
- The **unit** of a tax collection is its 单位编号 when given, else the lowest 单位编号 of
  the register units with its credit code, else the credit code itself (``COLLECTIONS``).
- A bank return is a **success** when its 处理结果 says so (:data:`SUCCESS`).
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from ...register.bank import SUCCESS, SUCCESS_SQL  # noqa: F401  (one list of success spellings)
from ...register.money import TRANSFER_IN  # noqa: F401  (the 收入类型 of transferred collections)

INSURANCES = ("企业职工基本养老保险", "失业保险", "工伤保险")     # display order


def cents_sql(expr: str) -> str:
    """SQL for ``expr`` (an amount column) as integer cents."""
    return f"CAST(round(({expr}) * 100) AS INTEGER)"


# A collection's unit (see the module docstring); credit codes are stored upper-case.
UNIT_OF_COLLECTION = """coalesce(c.unit_no,
         (SELECT min(u.unit_no) FROM units AS u WHERE u.credit_code = c.credit_code),
         c.credit_code)"""


def collections_of(groups_cte: str) -> str:
    """SQL for the collections of the (unit, period, 险种) groups in the CTE named
    ``groups_cte`` (columns unit, period, insurance), in the shape of ``coll``: those naming
    their 单位编号 through the (unit_no, period, insurance) index, and those naming only a
    credit code (few) resolved to their unit."""
    return f"""
    SELECT c.rowid AS rid, c.unit_no AS unit, c.period, c.insurance, {cents_sql('c.amount_paid')} AS cents
      FROM {groups_cte} AS g JOIN tax_collections AS c
        ON c.unit_no = g.unit AND c.period = g.period AND c.insurance = g.insurance
    UNION ALL
    SELECT * FROM (
        SELECT c.rowid AS rid, {UNIT_OF_COLLECTION} AS unit, c.period, c.insurance,
               {cents_sql('c.amount_paid')} AS cents
          FROM tax_collections AS c WHERE c.unit_no IS NULL) AS x
     WHERE EXISTS (SELECT 1 FROM {groups_cte} AS g
                    WHERE g.unit = x.unit AND g.period = x.period AND g.insurance = x.insurance)"""


def cents(value: Any) -> int:
    """A parameter or amount as integer cents (1.00 → 100), rounding half up."""
    return int((Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(c: int | None) -> float | None:
    """Integer cents back to an amount for storage and display (exact to the cent)."""
    return None if c is None else float(Decimal(c) / 100)


def money_text(c: int | None) -> str:
    """Cents as reviewers write amounts: 123456 → '1,234.56'."""
    if c is None:
        return "—"
    sign = "-" if c < 0 else ""
    c = abs(c)
    return f"{sign}{c // 100:,}.{c % 100:02d}"


def last_day(period: str) -> dt.date:
    y, m = int(period[:4]), int(period[5:7])
    first_next = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def due_date(period: str, grace_days: int) -> dt.date:
    return last_day(period) + dt.timedelta(days=int(grace_days))


def last_due_period(as_of: dt.date, grace_days: int) -> str:
    """The latest period P (YYYY-MM) whose due date is on or before ``as_of``: every
    period ≤ it is due (periods compare as text)."""
    c = as_of - dt.timedelta(days=int(grace_days))
    if (c + dt.timedelta(days=1)).month != c.month:        # c is the last day of its month
        return c.strftime("%Y-%m")
    first = c.replace(day=1) - dt.timedelta(days=1)
    return first.strftime("%Y-%m")


def insurance_order(name: str) -> tuple[int, str]:
    return (INSURANCES.index(name) if name in INSURANCES else len(INSURANCES), name)


def allowed_accounts(values: Iterable[Any]) -> list[str]:
    """``allowed_accounts`` as stored account numbers (spaces and dashes removed)."""
    from ...normalise import FieldError, normalise_account
    out = []
    for v in values or []:
        try:
            a = normalise_account(str(v))
        except FieldError:
            a = str(v)
        if a and a not in out:
            out.append(a)
    return out
