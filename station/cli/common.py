"""Helpers shared by the command modules: opening the station, dates, output."""
from __future__ import annotations

import argparse
import datetime as dt

from rich.console import Console

from ..home import resolve_home
from ..services.station import Station

console = Console(highlight=False, soft_wrap=True)


class UserError(Exception):
    """Something the user can fix; the message (Chinese) says what and how."""


_opened: list[Station] = []


def open_station(args: argparse.Namespace) -> Station:
    station = Station.open(resolve_home(args.home))
    _opened.append(station)
    return station


def close_stations() -> None:
    """Close what the command opened, so that nothing holds the database afterwards
    (``station restore`` needs it to itself; tests run several commands in one process)."""
    while _opened:
        _opened.pop().close()


def as_of_arg(value: str) -> dt.date:
    from ..services.formatting import FieldError, parse_date
    try:
        iso = parse_date(value)
    except FieldError as e:
        raise argparse.ArgumentTypeError(e.reason) from None
    if iso is None:
        raise argparse.ArgumentTypeError("请给出日期，如 2026-11-15")
    return dt.date.fromisoformat(iso)
