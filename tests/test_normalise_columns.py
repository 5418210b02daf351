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
    ("credit_code", ["91110000600037341L", "91440300568520498A", "", "9144030071526726xg"]),
    ("credit_code", ["91110000600037341L", "91110000600037341N"]),
    ("credit_code", ["91110000600037314L", "91440300568520498A"]),
    ("credit_code", ["9111000060003734L1", "91440300568520498A"]),
    ("credit_code", ["91A10000600037341L"]),
    ("credit_code", ["91110000600037341L\n91440300568520498A"]),
    ("id", [valid_id(1), "99" + valid_id(2)[2:]]),
    ("id", ["91" + valid_id(5)[2:17] + check_char("91" + valid_id(5)[2:17]), valid_id(6)]),
])
def test_typical_columns(kind, column):
    assert by_column(kind, column) == per_cell(kind, column)


# --------------------------------------------- the joined-string fast paths

# The fast paths test a whole column at once on its cells joined with a newline (or
# concatenated). A cell holding the joiner, or any other line or word separator, must
# not pass as two cells: the column result must equal the per-cell one.
GOOD = {
    "date": ["2026-10-05", "2026-10-06", "2024-02-29", "1850-01-01", "2100-12-31"],
    "month": ["2026-10", "2026-11", "1850-01"],
    "amount": ["12", "34", "1234.50", "0.5", "999999999999", "1000000000000", "7"],
    "int": ["1", "2", "30", "007"],
    "id": [valid_id(1), valid_id(2), valid_id(3)[:17] + "X"],
    "name": ["张伟", "李娜", "ABC"],
    "text": ["退休", "在职", "abc"],
    "code": ["P0001", "u0002", "91110000600037341L", "1E5"],
    "credit_code": ["91110000600037341L", "91440300568520498A", "9144030071526726XG"],
    "account": ["6222021234567890123", "6222-0212"],
    "subject": [valid_id(4), "A-1"],
    "year": ["2026", "2026年度"],
    "level": ["一级", "3"],
}
JOINERS = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
           " ", "\t", "\u3000", "\xa0", "", ",", "-", "\u200b", "²", "①"]


@pytest.mark.parametrize("kind", sorted(COLUMN_NORMALISERS))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_joined_string_fast_paths_agree_with_per_cell(kind, data):
    good = st.sampled_from(GOOD[kind])
    cell = st.one_of(good, good, st.just(""),
                     st.tuples(good, st.sampled_from(JOINERS), good).map("".join),
                     st.tuples(st.sampled_from(JOINERS), good).map("".join),
                     st.tuples(good, st.sampled_from(JOINERS)).map("".join))
    column = data.draw(st.lists(cell, min_size=1, max_size=8))
    assert by_column(kind, column) == per_cell(kind, column)


@pytest.mark.parametrize("kind, cells", [
    ("date", ["2026-10-05\n2026-10-06"]),
    ("date", ["2026-10-05", "2026-10-05\n2026-10-06", "2026-10-07"]),
    ("month", ["2026-10\n2026-11"]),
    ("amount", ["12\n34"]),
    ("amount", ["12", "12\n34", ""]),
    ("amount", ["12\r\n34"]),
])
def test_a_line_break_inside_a_cell_is_refused_like_per_cell(kind, cells):
    assert per_cell(kind, cells) == "error"
    assert by_column(kind, cells) == "error"
