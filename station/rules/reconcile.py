"""三方对账 with the money-side rules' own terms: a month is due for the comparison of
assessed against collected after CONTRIBUTION_SHORT's grace days, for the comparison of
collected against transferred after TRANSFER_SHORT's; differences are flagged beyond the
rules' tolerances. The queries are :func:`station.register.money.reconciliation`."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from ..config import Config
from ..register.money import reconciliation
from .definitions._money import cents, insurance_order, last_due_period


def reconciliation_table(conn: sqlite3.Connection, cfg: Config, as_of: dt.date | None = None) -> dict[str, Any]:
    """``rows`` (see :func:`reconciliation`), ``as_of`` and the parameters used."""
    from .engine import rule_settings
    as_of = as_of or dt.date.today()
    settings = rule_settings(cfg)
    short = settings["CONTRIBUTION_SHORT"].params
    transfer = settings["TRANSFER_SHORT"].params
    rows = reconciliation(conn, last_due_contribution=last_due_period(as_of, short["grace_days"]),
                          last_due_transfer=last_due_period(as_of, transfer["grace_days"]),
                          tolerance_cents=cents(min(short["tolerance"], transfer["tolerance"])),
                          order=insurance_order)
    return {"as_of": as_of.isoformat(), "rows": rows,
            "contribution_grace_days": short["grace_days"], "transfer_grace_days": transfer["grace_days"],
            "tolerance": float(min(short["tolerance"], transfer["tolerance"]))}


def mark_due(by_month: list[dict], cfg: Config, as_of: dt.date | None = None) -> None:
    """Mark a unit's months (``period``, ``insurance``, ``difference``) as CONTRIBUTION_SHORT
    sees them: ``due`` at ``as_of`` and ``short`` beyond its tolerance; 险种 in order."""
    from .engine import rule_settings
    params = rule_settings(cfg)["CONTRIBUTION_SHORT"].params
    last = last_due_period(as_of or dt.date.today(), params["grace_days"])
    tolerance = cents(params["tolerance"])
    for r in by_month:
        r["due"] = r["period"] <= last
        r["short"] = r["due"] and r["assessed"] is not None and round(r["difference"] * 100) > tolerance
    by_month.sort(key=lambda r: insurance_order(r["insurance"]))
    by_month.sort(key=lambda r: r["period"], reverse=True)
