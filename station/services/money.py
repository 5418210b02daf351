"""The money side for the screens and the report: the unit view (单位) and the 三方对账 table."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from ..config import Config
from ..register.bank import SUCCESS as BANK_SUCCESS
from ..register.unit import search_units, unit_view
from ..rules.reconcile import reconciliation_table


def reconciliation(conn: sqlite3.Connection, cfg: Config, as_of: dt.date | None = None) -> dict[str, Any]:
    """三方对账 per month and 险种 at ``as_of`` (default today), with the rules' due months."""
    return reconciliation_table(conn, cfg, as_of)


__all__ = ["BANK_SUCCESS", "reconciliation", "search_units", "unit_view"]
