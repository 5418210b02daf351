"""Personal data and the terminal (issue 17, items 15-18 and 25): what the station shows
and writes can neither leak an ID nor be turned against the reviewer.

- 15: a birth date beside a masked ID would give the hidden digits back;
- 16: IDs in reasons, raw rows, notes, names, file names and JSON are masked by default;
- 17: text from a file or a person is plain text (no markup, no escape sequences);
- 18: every file the station writes is owner-only; no screenshots of the screen;
- 25: no spreadsheet formula, also when it starts with a full-width character.

The acceptance property over every default output is in tests/test_no_id_leaks.py.
"""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLES_AS_OF
from station.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(station, capsys, *args) -> tuple[int, str, str]:
    code = main(["--home", str(station.home.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- 25: formulas

@pytest.mark.parametrize("text", ["＝1+1", "＋1", "－1", "＠SUM(A1)", "﹦1", "=1", "+1", "-1", "@A1",
                                  "\t=1", "\r=1", "\n=1"])
def test_every_formula_start_is_neutralised_also_full_width(text):
    from station.export.files import neutralise
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["张三", "1-2", "a=b", "'=already", "（备注）", "Ａ"])
def test_ordinary_text_is_left_alone(text):
    from station.export.files import neutralise
    assert neutralise(text) == text


def test_full_width_formula_in_a_note_and_a_name_is_inert_in_every_export(tmp_path):
    from openpyxl import load_workbook
    from station.export.review_log import export_review_log
    from station.register.db import connect
    from station.review.log import decide
    from test_review_helpers import add_anomaly, make_cfg
    conn = connect(tmp_path / "station.db")
    aid = add_anomaly(conn, name="＝HYPERLINK(\"http://x\")")
    decide(conn, make_cfg(), [aid], "note", "张三", note="＝1+1")
    export_review_log(conn, tmp_path / "a.csv", fmt="csv")
    export_review_log(conn, tmp_path / "a.xlsx", fmt="xlsx")
    rows = list(csv.reader(io.StringIO((tmp_path / "a.csv").read_bytes().decode("utf-8-sig"))))
    cells = [c for r in rows for c in r]
    assert "'＝1+1" in cells and "'＝HYPERLINK(\"http://x\")" in cells
    ws = load_workbook(tmp_path / "a.xlsx").active
    values = [c.value for r in ws.iter_rows() for c in r]
    assert "'＝1+1" in values and "'＝HYPERLINK(\"http://x\")" in values


def test_anomalies_csv_neutralises_full_width_formulas(loaded_station, capsys):
    loaded_station.conn.execute("UPDATE anomalies SET name = '＝1+1' WHERE id = 1")
    code, out, _ = run(loaded_station, capsys, "anomalies", "--format", "csv")
    assert code == 0
    cells = [c for r in csv.reader(io.StringIO(out.lstrip("\ufeff"))) for c in r]
    assert "'＝1+1" in cells and "＝1+1" not in cells


# --------------------------------------------------------------------------- 18: owner-only

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_anomalies_output_file_is_owner_only(loaded_station, capsys, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    old = os.umask(0o022)
    try:
        code, _, err = run(loaded_station, capsys, "anomalies", "--format", fmt, "-o", str(out))
    finally:
        os.umask(old)
    assert code == 0, err
    assert out.exists() and _mode(out) == 0o600


def test_anomalies_output_file_replaces_an_open_one_owner_only(loaded_station, capsys, tmp_path):
    out = tmp_path / "out.json"
    out.write_text("old")
    out.chmod(0o644)
    code, _, _ = run(loaded_station, capsys, "anomalies", "--format", "json", "-o", str(out))
    assert code == 0 and _mode(out) == 0o600 and out.read_text() != "old"


def test_processed_month_folders_are_owner_only(station, tmp_path):
    from conftest import copy_samples
    old = os.umask(0o022)
    try:
        copy_samples(station.home, only="public_security")
        station.ingest(as_of=SAMPLES_AS_OF, evaluate=False)
    finally:
        os.umask(old)
    months = [p for p in station.home.processed.iterdir() if p.is_dir()]
    assert months and all(_mode(p) == 0o700 for p in months)
    files = [p for p in station.home.processed.rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files)


async def test_no_screenshot_of_the_screen_is_ever_written(loaded_station, tmp_path, monkeypatch):
    from test_tui_app import SIZE, app_for, settle
    monkeypatch.setenv("HOME", str(tmp_path))
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and "Quit" in titles
        await pilot.press("ctrl+u")                     # even with full IDs shown
        app.action_screenshot(path=str(tmp_path))
        app.deliver_screenshot(path=str(tmp_path))
        await settle(pilot)
    assert not list(tmp_path.rglob("*.svg"))
