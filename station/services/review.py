"""Decisions, the review log and the review figures, for the CLI and TUI."""
from __future__ import annotations

from ..review.log import (MAX_ID, ReviewError, chain_head, decide, history, normalise_reviewer,
                          verify_chain)
from ..review.stats import monthly_series, summary


def head_check(station):
    """The database's review log against the head kept outside it (a rollback shows)."""
    from ..review.head import compare
    return compare(station.conn, station.home.db_path, chain_head(station.conn)[0])

__all__ = ["MAX_ID", "ReviewError", "chain_head", "decide", "history", "monthly_series", "normalise_reviewer",
           "summary", "verify_chain", "head_check"]
