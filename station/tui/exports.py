"""Exports offered from the command palette; files go to the home's ``exports/``.

Thin: it only chooses file names and calls :mod:`station.export`.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path


def run(station, what: str, *, unmasked: bool = False, today: dt.date | None = None) -> list[Path]:
    raise RuntimeError("导出功能尚未安装（等待 station.export）。")
