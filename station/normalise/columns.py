"""Normalising a whole column of text cells at once (the bulk-load path).

``COLUMN_NORMALISERS[type](cells)`` returns exactly ``[NORMALISERS[type](c) for c in
cells]`` for a sequence of ``str`` cells — for ``id`` as two lists, the IDs and their
validity flags, with None for an empty cell in both — and raises FieldError when any cell
would. It is the per-cell function's result, computed with C-level passes where a cheap
test over the column proves the common case:

- text, names and codes that are already clean (no whitespace, nothing that NFKC
  folding or the invisible-character filter would change) come back as they are (codes
  upper-cased), tested on the column joined with newlines;
- dates and months already in ISO form (checked by a regular expression that knows
  month lengths and leap years) come back as they are; others, years and repeated text
  are looked up in the per-cell functions' caches with ``map(dict.get, …)``; only the
  misses go through the function;
- plain decimal amounts already in whole cents are ``map(float, …)``;
- 18-character IDs of digits (and a final X) get their check character verified with
  ``map(int, …, 13)`` (see :mod:`station.normalise.ids`) and their birth dates through
  the cached date check.

Anything else falls back to the per-cell function, cell by cell.
"""
from __future__ import annotations

import math
import re
import unicodedata
from itertools import repeat
from operator import add, and_, itemgetter, mod, mul
from typing import Any, Callable, Sequence

from . import credit, dates, values
from ._common import _INVISIBLE
from .accounts import normalise_account
from .credit import normalise_credit_code
from .dates import parse_date, parse_month, parse_year
from .ids import PROVINCES, _birth_date_valid, _date_ok, id_region_known, normalise_id
from .values import (AMOUNT_LIMIT, normalise_code, normalise_name, normalise_subject, normalise_text,
                     parse_amount, parse_int, parse_level)

Column = Sequence[str]
_BIRTH = itemgetter(slice(6, 14))
_PROVINCE = itemgetter(slice(0, 2))
_FIRST = itemgetter(0)
_LAST = itemgetter(17)
_ELEVEN = repeat(11)
_EMPTY = (None, None)
_ONE = 1


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


def _spread(cells: Column, values: list) -> list:
    """``values`` for the non-empty cells, None for the empty ones ("")."""
    it = iter(values)
    return [next(it) if c else None for c in cells]


def _present(cells: Column) -> Column:
    return list(filter(None, cells)) if "" in cells else cells


def _already(pattern: re.Pattern, fallback: Callable[[Column], list]) -> Callable[[Column], list]:
    """Cells that ``pattern`` proves to be in normal form already come back as they
    are (empty ones as None); any other column goes to ``fallback``."""
    def column(cells: Column) -> list:
        present = _present(cells)
        text = "\n".join(present)
        # The count: a cell holding a newline would otherwise pass as two cells.
        if pattern.fullmatch(text) and text.count("\n") == len(present) - 1:
            return list(cells) if present is cells else _spread(cells, present)
        return fallback(cells)
    return column


# Years MIN_YEAR..MAX_YEAR (1850..2100), real month lengths, 29 February of leap years.
_YEAR = r"(?:18[5-9]\d|19\d\d|20\d\d|2100)"
_LEAP_DAY = (r"(?:18(?:5[26]|[68][048]|[79][26])|19(?:0[48]|[2468][048]|[13579][26])"
             r"|20(?:[02468][048]|[13579][26]))-02-29")
_ISO_DAY = (rf"(?:{_YEAR}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)"
            rf"|(?:0[13578]|1[02])-31)|{_LEAP_DAY})")
_ISO_DAYS = re.compile(rf"(?:{_ISO_DAY}\n)*{_ISO_DAY}|", re.ASCII)
_ISO_MONTH = rf"{_YEAR}-(?:0[1-9]|1[0-2])"
_ISO_MONTHS = re.compile(rf"(?:{_ISO_MONTH}\n)*{_ISO_MONTH}|", re.ASCII)


def _clean_present(cells: Column) -> tuple[Column, str] | None:
    present = _present(cells)
    text = _clean(present)
    return None if text is None else (present, text)


def text_column(cells: Column) -> list:
    clean = _clean_present(cells)
    if clean is not None:
        return list(cells) if clean[0] is cells else _spread(cells, clean[0])
    return _with_misses(cells, list(map(values._text_cache.get, cells)), normalise_text)


def name_column(cells: Column) -> list:
    clean = _clean_present(cells)
    if clean is not None:
        return list(cells) if clean[0] is cells else _spread(cells, clean[0])
    return _with_misses(cells, list(map(values._name_cache.get, cells)), normalise_name)


def code_column(cells: Column) -> list:
    clean = _clean_present(cells)
    if clean is not None:
        present, text = clean
        upper = text.upper()
        if "E" not in upper:                   # no cell can be a number in E notation
            codes = list(present) if upper == text else upper.split("\n")
            return codes if present is cells else _spread(cells, codes)
    return _with_misses(cells, list(map(values._code_cache.get, cells)), normalise_code)


def amount_column(cells: Column) -> list:
    present = list(filter(None, cells))        # "" is an empty cell (None)
    text = "\n".join(present)
    if _PLAIN_AMOUNTS.fullmatch(text) and text.count("\n") == len(present) - 1:
        # Up to 12 digits with at most two decimals: below AMOUNT_LIMIT, and float() of
        # the text is already in cents (round(x, 2) == x for such an x), which
        # parse_amount returns as it is.
        numbers = list(map(float, present))
    else:
        try:
            numbers = list(map(float, present))
        except ValueError:
            return list(map(parse_amount, cells))
        # Already in whole cents (parse_amount returns such a number as it is), within
        # ±AMOUNT_LIMIT (so finite), no NaN, and no zero (which might be -0.0, returned
        # as 0.0).
        if (numbers != list(map(round, numbers, repeat(2))) or 0.0 in numbers
                or any(map(math.isnan, numbers))
                or (numbers and not -AMOUNT_LIMIT <= min(numbers) <= max(numbers) <= AMOUNT_LIMIT)):
            return list(map(parse_amount, cells))
    if len(present) == len(cells):
        return numbers
    it = iter(numbers)
    return [next(it) if c else None for c in cells]


_PLAIN_AMOUNTS = re.compile(r"(?:\d{1,12}(?:\.\d{0,2})?\n)*\d{1,12}(?:\.\d{0,2})?|", re.ASCII)


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
                # _valid18: the province, the check character, then the birth date.
                valid = list(map(and_, map(_ONE.__eq__, checks), born))
                if not set(map(_PROVINCE, cells)) <= PROVINCES:
                    valid = list(map(and_, map(id_region_known, cells), valid))
                return list(cells), valid
    pairs = [_EMPTY if c == "" else (normalise_id(c) or _EMPTY) for c in cells]
    if n == 0:
        return [], []
    ids_, valid = zip(*pairs)
    return list(ids_), list(valid)


# Credit codes (see station.normalise.credit). Checked on the column's joined bytes: the
# allowed characters by one bytes.translate, the region digits by a regular expression,
# and the check character by int(): the weights 3**i mod 31 of the first 17 characters
# are the powers of 34 (≡ 3 mod 31), so a code reversed (each character written as the
# base-34 digit of its value) read as a base-34 number X is v17 * 3**17 + S (mod 31),
# S the weighted sum of the first 17; the code is valid when S + v17 ≡ 0, that is when
# X + v17 * (1 - 3**17) ≡ 0 (mod 31). Reversing the whole joined text reverses every
# code (and their order, which does not matter for "all valid").
_BASE34 = "0123456789ABCDEFGHIJKLMNOPQRSTU"
_CREDIT_BYTES = (credit.ALPHABET + "\n").encode()
_TO_BASE34 = bytes.maketrans(credit.ALPHABET.encode(), _BASE34.encode())
_BASE34_VALUE = {ord(c): i for i, c in enumerate(_BASE34)}.__getitem__
_CHECK_FACTOR = (1 - pow(3, 17, 31)) % 31
_CREDIT_SHAPE = re.compile(rb"(?:..\d{6}.{10}\n)*..\d{6}.{10}")
_credit_cells = _cached(credit._credit_cache, normalise_credit_code)


def credit_column(cells: Column) -> list:
    clean = _clean_present(cells)
    if clean is not None and clean[1]:
        present, text = clean
        upper = text.upper()
        raw = upper.encode()
        if (not raw.translate(None, _CREDIT_BYTES) and len(raw) == 19 * len(present) - 1
                and _CREDIT_SHAPE.fullmatch(raw)):
            reversed_codes = raw.translate(_TO_BASE34)[::-1].split(b"\n")
            sums = map(add, map(int, reversed_codes, repeat(34)),
                       map(mul, map(_BASE34_VALUE, map(_FIRST, reversed_codes)), repeat(_CHECK_FACTOR)))
            if not any(map(mod, sums, repeat(31))):
                codes = list(present) if upper == text else upper.split("\n")
                return codes if present is cells else _spread(cells, codes)
    return _credit_cells(cells)


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
    "date": _already(_ISO_DAYS, _cached(dates._date_cache, parse_date)),
    "month": _already(_ISO_MONTHS, _cached(dates._month_cache, parse_month)),
    "year": _cached(dates._year_cache, parse_year),
    "amount": amount_column,
    "int": int_column,
    "level": _per_cell(parse_level),
    "account": _per_cell(normalise_account),
    "credit_code": credit_column,
}

__all__ = ["COLUMN_NORMALISERS"]
