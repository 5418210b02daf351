"""Exports for auditors and superiors: the review log (核查台账, :mod:`.review_log`) and the
monthly report (月报, :mod:`.report`). :mod:`.files` writes them atomically, owner-only
and inert in spreadsheets."""
