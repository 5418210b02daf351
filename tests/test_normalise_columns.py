"""The column normalisers give exactly the per-cell results (station.normalise.columns)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.normalise import NORMALISERS, FieldError, check_char
from station.normalise.columns import COLUMN_NORMALISERS


def per_cell(kind, cells):
    fn = NORMALISERS[kind]
    try:
        out = [fn(c) for c in cells]
    except FieldError:
        return "error"
    if kind == "id":
        return [None if v is None else v[0] for v in out], [None if v is None else v[1] for v in out]
    return out


def by_column(kind, cells):
    try:
        out = COLUMN_NORMALISERS[kind](cells)
    except FieldError:
        return "error"
    return (list(out[0]), list(out[1])) if kind == "id" else list(out)


def valid_id(n: int) -> str:
    body = f"4403031{n % 10}{(n // 10) % 10}0{1 + n % 9}{10 + n % 18}{n % 1000:03d}"[:17]
    return body + check_char(body)


PIECES = ["", " ", "\u3000", "\u200b", "Ａ", "ａ", "abc", "ABC", "张伟", "退休", "E", "1E5", "12",
          "3.5", "-0", "0.005", "1,234.50", "￥12", "2026-10-05", "2026/10/5", "20261005", "202610",
          "2026-10", "2026年10月", "2026", "2026年度", "一级", "\n", "x", "X", "nan", "inf", "1_000",
          "é", "e\u0301", "ﬁ", "³", valid_id(1), valid_id(2).lower(), valid_id(3)[:17] + "X",
          valid_id(4)[:15], "4.40303195502287E+17", "440303195502287540.0", "15", "3页"]

cells = st.lists(st.one_of(st.sampled_from(PIECES),
                           st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).map("".join),
                           st.text(max_size=6)), max_size=12)


@pytest.mark.parametrize("kind", sorted(COLUMN_NORMALISERS))
@settings(max_examples=300, deadline=None)
@given(column=cells)
def test_column_equals_per_cell(kind, column):
    assert by_column(kind, column) == per_cell(kind, column)


@pytest.mark.parametrize("kind,column", [
    ("id", [valid_id(n) for n in range(50)] + [valid_id(7)[:17] + "X", valid_id(8)[:16] + "X9"]),
    ("id", [valid_id(n) for n in range(50)]),
    ("id", [valid_id(9)[:6] + "18491231" + valid_id(9)[14:], valid_id(9)[:6] + "20991231" + valid_id(9)[14:]]),
    ("amount", ["1.005", "2.675", "10", "10.5", "", "3942.31"]),
    ("amount", ["3942.31", "2772.81", "", "100"]),
    ("amount", ["-0", "5"]),
    ("code", ["u0001", "P000000001", "91440303uy3w7wkk3e"]),
    ("code", ["1E5", "A"]),
    ("name", ["张伟", "李 娜", "王芳"]),
    ("int", ["1", "2", "30"]),
    ("date", ["2024-02-29", "2000-02-29", "1852-02-29", "2026-04-30", "", "1850-01-01", "2100-12-31"]),
    ("date", ["2026-04-30", "1900-02-29"]),
    ("date", ["2026-04-30", "2100-02-29"]),
    ("date", ["2026-04-31", "2026-01-01"]),
    ("date", ["1849-12-31", "2026-01-01"]),
    ("date", ["2026-1-01", "2026-01-01"]),
    ("month", ["2026-10", "", "1850-01", "2100-12"]),
    ("month", ["2026-13", "2026-10"]),
    ("code", ["", "u0001", "", "P1"]),
    ("name", ["", "张伟", "王芳"]),
    ("text", ["退休", "", "参保缴费"]),
])
def test_typical_columns(kind, column):
    assert by_column(kind, column) == per_cell(kind, column)
