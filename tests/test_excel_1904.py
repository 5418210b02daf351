"""Workbooks in the 1904 date system (old Mac Excel): a date serial in a number cell counts
days from 1904-01-01, so read as a 1900-system serial it would be 4 years early."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
import xlwt
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from station.formats import open_rows
from station.normalise import parse_date, parse_month

SERIAL_1904 = (dt.date(2026, 10, 5) - dt.date(1904, 1, 1)).days       # 44838
SERIAL_1900 = (dt.date(2026, 10, 5) - dt.date(1899, 12, 30)).days     # 46300


def _xlsx(path, date1904: bool):
    wb = openpyxl.Workbook()
    if date1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["死亡日期", "发放年月", "金额", "日期单元格"])
    serial = SERIAL_1904 if date1904 else SERIAL_1900
    ws.append([serial, serial + 0.5, 1234.5, dt.date(2026, 10, 5)])
    wb.save(path)
    return path


def _xls(path, date1904: bool):
    wb = xlwt.Workbook()
    if date1904:
        wb.dates_1904 = True
    ws = wb.add_sheet("Sheet1")
    for c, h in enumerate(["死亡日期", "发放年月", "金额"]):
        ws.write(0, c, h)
    serial = SERIAL_1904 if date1904 else SERIAL_1900
    ws.write(1, 0, float(serial))
    ws.write(1, 1, serial + 0.5)
    ws.write(1, 2, 1234.5)
    wb.save(str(path))
    return path


@pytest.mark.parametrize("make, name", [(_xlsx, "a.xlsx"), (_xls, "a.xls")])
@pytest.mark.parametrize("date1904", [True, False])
def test_serial_numbers_read_as_the_workbook_dates_them(tmp_path, make, name, date1904):
    path = make(tmp_path / name, date1904)
    with open_rows(path) as src:
        rows = list(src)
    cells = rows[1][1]
    assert parse_date(cells[0]) == "2026-10-05"
    assert parse_month(cells[1]) == "2026-10"
    assert cells[2] == 1234.5                      # other numbers are untouched
    if len(cells) > 3:
        assert parse_date(cells[3]) == "2026-10-05"   # calamine reads date cells right
