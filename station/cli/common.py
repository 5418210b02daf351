"""Helpers shared by the command modules: opening the station, dates, output.

Output: every line and table cell that may hold text from a file or a person (file
names, headers, names, notes, reasons) goes through :func:`plain` (a ``rich.text.Text``:
never parsed as markup, control characters made visible, ID numbers masked unless the
command was asked to ``--unmask``), or is printed with :func:`say`. An ESC, an OSC-8
link or ``[bold]`` in a file name reaches the terminal as the characters ``␛]8;;…`` and
``[bold]``, never as an effect; a file named ``张三_440303196712219567.csv`` is shown as
``张三_440303********9567.csv``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from ..home import resolve_home
from ..services.formatting import mask_personal, visible
from ..services.station import Station

console = Console(highlight=False, soft_wrap=True)


def table_console() -> Console:
    """Where to print a table: the terminal, or 200 columns when output is piped or
    captured (it gets no terminal width; do not squeeze the table to 80)."""
    return console if console.is_terminal else Console(highlight=False, width=200)


def shown(value: Any, *, unmask: bool = False) -> str:
    """Text as the CLI shows it: IDs masked (unless ``unmask``), controls visible."""
    if value is None:
        return ""
    return visible(value if unmask else mask_personal(value), newlines=True)


def plain(value: Any, style: str = "", *, unmask: bool = False) -> Text:
    """Text from a file or a person as a table cell or a line: plain, controls visible,
    IDs masked unless ``unmask``."""
    if isinstance(value, Text):
        return value
    return Text(shown(value, unmask=unmask), style=style)


def say(message: Any, *, err: bool = False, unmask: bool = False) -> None:
    """Print one message (it may quote file names, names, notes, reasons) as plain text,
    IDs masked unless ``unmask``."""
    if err:
        print(shown(message, unmask=unmask), file=sys.stderr, flush=True)
    else:
        console.print(plain(message, unmask=unmask))


class UserError(Exception):
    """Something the user can fix; the message (Chinese) says what and how."""


_opened: list[Station] = []


def open_station(args: argparse.Namespace, *, create: bool = False) -> Station:
    """The station of ``--home``. Only the commands that take deliveries in (ingest,
    watch, the review station, init) may ``create`` a home; any other on a folder that is
    no home fails with a Chinese message and creates nothing."""
    station = Station.open(resolve_home(args.home), create=create)
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
