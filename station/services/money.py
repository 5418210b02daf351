"""The money side for the screens and the report: the unit view (单位) and the 三方对账 table."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

from ..config import Config
from ..register.bank import SUCCESS as BANK_SUCCESS
from ..register.unit import search_units
from ..register.unit import unit_view as _unit_view
from ..rules.reconcile import reconciliation_table, mark_due


def reconciliation(conn: sqlite3.Connection, cfg: Config, as_of: dt.date | None = None) -> dict[str, Any]:
    """三方对账 per month and 险种 at ``as_of`` (default today), with the rules' due months."""
    return reconciliation_table(conn, cfg, as_of)


def unit_view(conn: sqlite3.Connection, key: str, cfg: Config | None = None,
              as_of: dt.date | None = None) -> dict[str, Any]:
    """The unit view (:func:`station.register.unit.unit_view`); with ``cfg``, each month of
    ``by_month`` also says whether it is ``due`` for CONTRIBUTION_SHORT at ``as_of`` and
    whether it is ``short`` beyond the rule's tolerance."""
    view = _unit_view(conn, key)
    if cfg is not None:
        mark_due(view["by_month"], cfg, as_of)
    return view


__all__ = ["BANK_SUCCESS", "reconciliation", "search_units", "unit_view"]
