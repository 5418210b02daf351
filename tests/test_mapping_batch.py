"""Mapping a batch column by column gives exactly the row-by-row result, whatever the
batch holds: messy partner files, bad rows, totals lines, repeated headers, short rows,
cells too long, Excel cells."""
from __future__ import annotations

from itertools import chain, islice
from pathlib import Path

import pytest

from station.config import load_config
from station.demo.generate import generate_county
from station.formats import CellTooLong, open_rows
from station.kinds.mapping import map_rows, row_mapper
from station.kinds.recognise import HEADER_SEARCH_ROWS, recognise
from station.kinds.spec import DEPARTMENTS

from conftest import SAMPLE_INBOX

CFG = load_config(None)


def recognised(path: Path):
    with open_rows(path) as source:
        rows = iter(source)
        head = list(islice(rows, HEADER_SEARCH_ROWS))
        dept = path.parent.name if path.parent.name in DEPARTMENTS else None
        rec = recognise(head, CFG, department=dept, file_name=path.name)
        body = list(chain((r for r in head if r[0] > rec.header_row), rows))
    return rec, body


def both_ways(rec, body, size):
    mapper = row_mapper(rec)
    by_batch = ([], [], 0)
    for i in range(0, len(body), size):
        rows, rejected, skipped = mapper.map_batch(body[i:i + size], 7)
        by_batch[0].extend(tuple(r) for r in rows)
        by_batch[1].extend(rejected)
        by_batch = (by_batch[0], by_batch[1], by_batch[2] + skipped)
    rows, rejected, skipped = map_rows(mapper, body, 7)
    return by_batch, ([tuple(r) for r in rows], rejected, skipped)


@pytest.fixture(scope="module")
def messy_county(tmp_path_factory):
    dest = tmp_path_factory.mktemp("messy")
    generate_county(dest, persons=1500, seed=5, messy=True)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def test_sample_files(messy_county):
    files = sorted(p for p in SAMPLE_INBOX.rglob("*") if p.is_file()) + messy_county
    assert len(files) > 30
    batched_somewhere = 0
    for path in files:
        rec, body = recognised(path)
        for size in (1, 7, 500):
            got, want = both_ways(rec, body, size)
            assert got == want, (path.name, size)
        mapper = row_mapper(rec)
        batched_somewhere += mapper._by_columns(body[:50], 1) is not None if body else 0
    assert batched_somewhere > 10          # the column path is really taken


def _rec(tmp_path, text: str, name="p.csv"):
    path = tmp_path / "agency" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return recognised(path)


HEADER = "公民身份号码,姓名,性别,出生日期,参保状态,月养老金\n"
GOOD = "440303196106231371,丁永强,男,1961-06-23,退休,3942.31\n"


@pytest.mark.parametrize("odd", [
    "440303195502287540,,女,1955-02-28,退休,10\n",                    # a required value missing
    "440303195502287540,孙兰,女,1955-02-30,退休,10\n",                # no such date
    "4.40303195502287E+17,孙兰,女,1955-02-28,退休,10\n",              # an ID Excel turned into a number
    "440303195502287540,孙兰\n",                                       # a short row
    "合计,,,,,123.00\n",                                               # a totals line
    " 合 计 ,,,,,123.00\n",
    "公民身份号码,姓名,性别,出生日期,参保状态,月养老金\n",              # a repeated header
    "440303195502287540,总数孙兰,女,1955-02-28,退休,10\n",             # looks like totals, is not
    "440303195502287540,孙兰,女,,退休,\n",                             # optional values empty
    "44030319550228754x, 孙 兰 ,女,1955/2/28,退休,\"1,234.5\"\n",      # messy but fine
])
def test_one_odd_row_among_good_ones(tmp_path, odd):
    rec, body = _rec(tmp_path, HEADER + GOOD * 5 + odd + GOOD * 5)
    got, want = both_ways(rec, body, 100)
    assert got == want


def test_cell_too_long_and_excel_cells(tmp_path):
    rec, body = _rec(tmp_path, HEADER + GOOD * 3)
    body[1] = (body[1][0], [body[1][1][0], CellTooLong(20000, 10000), *body[1][1][2:]])
    body[2] = (body[2][0], [body[2][1][0], "孙兰", "女", 20000.0, "退休", 1234.5])
    got, want = both_ways(rec, body, 100)
    assert got == want
    assert len(want[1]) == 1 and "过长" in want[1][0][1]


def test_optional_id_and_natural_key_fallback(tmp_path):
    path = tmp_path / "civil_affairs" / "火化.csv"
    path.parent.mkdir()
    path.write_text("公民身份号码,姓名,出生日期,死亡日期\n"
                    "440303195502287540,孙兰,1955-02-28,2026-03-01\n"
                    ",无名,1950-01-01,2026-03-02\n"
                    ",无名二,,2026-03-03\n", encoding="utf-8")
    rec, body = recognised(path)
    got, want = both_ways(rec, body, 100)
    assert got == want
    assert [r[0] for r in want[0]] == ["440303195502287540\x1f2026-03-01", "无名|1950-01-01\x1f2026-03-02",
                                       "无名二|\x1f2026-03-03"]
