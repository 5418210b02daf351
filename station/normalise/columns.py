"""Normalising a whole column of text cells at once (the bulk-load path).

``COLUMN_NORMALISERS[type](cells)`` returns exactly ``[NORMALISERS[type](c) for c in
cells]`` for a sequence of ``str`` cells — for ``id`` as two lists, the IDs and their
validity flags, with None for an empty cell in both — and raises FieldError when any cell
would. It is the per-cell function's result, computed with C-level passes where a cheap
test over the column proves the common case:

- text, names and codes that are already clean (no whitespace, nothing that NFKC
  folding or the invisible-character filter would change) come back as they are (codes
  upper-cased), tested on the column joined with newlines;
- dates, months, years and repeated text are looked up in the per-cell functions'
  caches with ``map(dict.get, …)``; only the misses go through the function;
- plain decimal amounts already in whole cents are ``map(float, …)``;
- 18-character IDs of digits (and a final X) get their check character verified with
  ``map(int, …, 13)`` (see :mod:`station.normalise.ids`) and their birth dates through
  the cached date check.

Anything else falls back to the per-cell function, cell by cell.
"""
from __future__ import annotations

import math
import unicodedata
from itertools import repeat
from operator import and_, itemgetter, mod
from typing import Any, Callable, Sequence

from . import dates, values
from ._common import _INVISIBLE
from .dates import parse_date, parse_month, parse_year
from .ids import _birth_date_valid, _date_ok, normalise_id
from .values import (normalise_code, normalise_name, normalise_subject, normalise_text,
                     parse_amount, parse_int, parse_level)

Column = Sequence[str]
_BIRTH = itemgetter(slice(6, 14))
_LAST = itemgetter(17)
_ELEVEN = repeat(11)
_EMPTY = (None, None)


def _clean(cells: Column) -> str | None:
    """The cells joined with newlines when every cell is non-empty, holds no whitespace
    and is unchanged by NFKC folding and the invisible-character filter; else None.

    ``str.split()`` splits on every Unicode whitespace and drops empty pieces, so the
    pieces equal the cells exactly when no cell is empty or holds whitespace. A newline is
    a stable boundary for NFKC (it neither composes nor decomposes), so the joined text
    is normalised exactly when every cell is."""
    text = "\n".join(cells)
    if text.split() != list(cells):
        return None
    if not text.isascii() and (not unicodedata.is_normalized("NFKC", text)
                               or _INVISIBLE.search(text)):
        return None
    return text


def _with_misses(cells: Column, hits: list, fn: Callable[[Any], Any]) -> list:
    if None not in hits:
        return hits
    return [h if h is not None else (None if c == "" else fn(c)) for h, c in zip(hits, cells)]


def _cached(cache: dict, fn: Callable[[Any], Any]) -> Callable[[Column], list]:
    def column(cells: Column) -> list:
        return _with_misses(cells, list(map(cache.get, cells)), fn)
    return column


def text_column(cells: Column) -> list:
    if _clean(cells) is not None:
        return list(cells)
    return _with_misses(cells, list(map(values._text_cache.get, cells)), normalise_text)


def name_column(cells: Column) -> list:
    if _clean(cells) is not None:
        return list(cells)
    return _with_misses(cells, list(map(values._name_cache.get, cells)), normalise_name)


def code_column(cells: Column) -> list:
    text = _clean(cells)
    if text is not None:
        upper = text.upper()
        if "E" not in upper:                   # no cell can be a number in E notation
            return list(cells) if upper == text else upper.split("\n")
    return _with_misses(cells, list(map(values._code_cache.get, cells)), normalise_code)


def amount_column(cells: Column) -> list:
    present = list(filter(None, cells))        # "" is an empty cell (None)
    try:
        numbers = list(map(float, present))
    except ValueError:
        return list(map(parse_amount, cells))
    # Already in whole cents (parse_amount returns such a number as it is), finite, and
    # no zero (which might be -0.0, returned as 0.0).
    if (numbers != list(map(round, numbers, repeat(2))) or 0.0 in numbers
            or any(map(math.isinf, numbers)) or any(map(math.isnan, numbers))):
        return list(map(parse_amount, cells))
    if len(present) == len(cells):
        return numbers
    it = iter(numbers)
    return [next(it) if c else None for c in cells]


def int_column(cells: Column) -> list:
    text = "".join(cells)
    if text.isascii() and text.isdigit() and "" not in cells:
        return list(map(int, cells))
    return list(map(parse_int, cells))


def id_column(cells: Column) -> tuple[list, list]:
    """(IDs, validity flags); both None for an empty cell."""
    n = len(cells)
    if set(map(len, cells)) == {18}:
        text = "".join(cells)
        if text.isascii():
            if text.isdigit():
                fixed = cells
            elif text.count("X") == "".join(map(_LAST, cells)).count("X") \
                    and text.replace("X", "").isdigit():
                fixed = list(map(str.replace, cells, repeat("X"), repeat("A")))  # X only last
            else:
                fixed = None
            if fixed is not None:
                checks = list(map(mod, map(int, fixed, repeat(13)), _ELEVEN))
                born = list(map(_date_ok.get, map(_BIRTH, cells)))
                if None in born:
                    born = [b if b is not None else _birth_date_valid(c[6:14])
                            for b, c in zip(born, cells)]
                # _valid18: the check character first, then the birth date.
                valid = [c == 1 and b for c, b in zip(checks, born)]
                return list(cells), valid
    pairs = [_EMPTY if c == "" else (normalise_id(c) or _EMPTY) for c in cells]
    if n == 0:
        return [], []
    ids_, valid = zip(*pairs)
    return list(ids_), list(valid)


def _per_cell(fn: Callable[[Any], Any]) -> Callable[[Column], list]:
    def column(cells: Column) -> list:
        return list(map(fn, cells))
    return column


COLUMN_NORMALISERS: dict[str, Callable[[Column], Any]] = {
    "id": id_column,
    "name": name_column,
    "text": text_column,
    "code": code_column,
    "subject": _per_cell(normalise_subject),
    "date": _cached(dates._date_cache, parse_date),
    "month": _cached(dates._month_cache, parse_month),
    "year": _cached(dates._year_cache, parse_year),
    "amount": amount_column,
    "int": int_column,
    "level": _per_cell(parse_level),
}

__all__ = ["COLUMN_NORMALISERS"]
