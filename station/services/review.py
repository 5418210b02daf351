"""Decisions, the review log and the review figures, for the CLI and TUI."""
from __future__ import annotations

from ..review.log import ReviewError, chain_head, decide, history, verify_chain
from ..review.stats import monthly_series, summary

__all__ = ["ReviewError", "chain_head", "decide", "history", "monthly_series", "summary", "verify_chain"]
