"""How the county's files are opened, and an ID number as a clerk types it."""
from __future__ import annotations

from station.kinds.spec import KINDS

from .output import CsvOut
from .world import County


def open_csv(county: County, rel: str, kind: str, headers, **kw) -> CsvOut:
    """A CSV delivery at ``rel`` under the inbox (the fast writer for a clean county)."""
    return CsvOut(county.dest, rel, kind, headers, fast=not county.messy, **kw)


def kind_headers(kind: str) -> list[str]:
    """The canonical headers of a kind (what a clean file has)."""
    return [f.header for f in KINDS[kind].fields]


def mess_id(county: County, pid: str, lower: float = 0.3, space: float = 0.01) -> str:
    """``pid`` as a clerk typed it: sometimes a lower-case x, sometimes stray spaces."""
    r = county.mrng.random
    if pid.endswith("X") and r() < lower:
        pid = pid[:-1] + "x"
    if r() < space:
        pid = " " + pid + " " if r() < 0.5 else pid + "  "
    return pid
