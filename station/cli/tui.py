"""Opening the review station (TUI): ``station [--home DIR] [--reviewer NAME]``."""
from __future__ import annotations

import argparse


def run_tui(args: argparse.Namespace) -> int:
    from ..tui.app import StationApp, reviewer_from_env
    from .common import open_station
    station = open_station(args, create=True)
    reviewer = reviewer_from_env(getattr(args, "reviewer", None))
    app = StationApp(station, reviewer, poll=getattr(args, "poll", False))
    try:
        app.run()
    finally:
        app.stop_watcher()
        station.close()
    return app.return_code or 0
