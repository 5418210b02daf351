"""Exports offered from the command palette; files go to the home's ``exports/``.

Thin: it only chooses the range, month and file name, and calls :mod:`station.export`.
The review log covers every decision so far (from the first decision to today); the
monthly report covers the current month. IDs stay masked unless the reviewer has
unmasked them for the session.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path


def run(station, what: str, *, unmasked: bool = False, today: dt.date | None = None) -> list[Path]:
    conn = station.conn
    today = today or dt.date.today()
    exports = station.home.exports
    if what in ("review_log_csv", "review_log_xlsx"):
        from ..services.export import export_review_log
        from ..services.export import review_log_path as default_path, review_log_range as default_range
        fmt = what.rsplit("_", 1)[1]
        date_from, date_to = default_range(conn, None, today.isoformat())
        out = default_path(exports, date_from, date_to, fmt)
        result = export_review_log(conn, out, fmt=fmt, date_from=date_from, date_to=date_to,
                                   unmask=unmasked, office=station.cfg.office)
        return [result.path]
    if what == "monthly_report":
        from ..services.export import export_report, report_path as default_path
        month = today.strftime("%Y-%m")
        result = export_report(conn, month, default_path(exports, month, "xlsx"), fmt="xlsx",
                               office=station.cfg.office, cfg=station.cfg)
        return [result.path]
    raise ValueError(f"unknown export {what!r}")
