"""Read-only views of the register for the screens: deliveries, rejected rows, persons."""
from __future__ import annotations

from ..register.person import person_view, search_persons
from ..register.queries import deliveries, ledger_counts, rejected_rows

__all__ = ["deliveries", "ledger_counts", "person_view", "rejected_rows", "search_persons"]
