"""Decisions, the review log and the review figures, for the CLI and TUI."""
from __future__ import annotations

from ..review.log import (MAX_ID, ReviewError, chain_head, decide, history, normalise_reviewer,
                          verify_chain)
from ..review.stats import monthly_series, summary

__all__ = ["MAX_ID", "ReviewError", "chain_head", "decide", "history", "monthly_series", "normalise_reviewer",
           "summary", "verify_chain"]
