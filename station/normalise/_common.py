"""Helpers shared by the normalisers (internal)."""
from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

# Invisible characters that str.split() does not treat as whitespace but that clerks'
# copy-paste brings along: zero-width space/joiners, word joiner, BOM. (A regex search
# then sub is several times faster than str.translate on the common clean string.)
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u180e]")

_nfkc = unicodedata.normalize


def fold(s: str) -> str:
    """NFKC-fold ``s`` and drop invisible characters; ASCII passes through untouched."""
    if s.isascii():
        return s
    s = _nfkc("NFKC", s)
    if _INVISIBLE.search(s):
        s = _INVISIBLE.sub("", s)
    return s


@lru_cache(maxsize=4096)
def _odd_digit(c: str) -> bool:
    """Whether NFKC turns ``c`` into digits although it is no decimal digit itself:
    superscripts and subscripts (², ₇), circled and bracketed numbers (①, ⑫, ⑴, ⒈),
    vulgar fractions (½). Full-width and other decimal digits (１, ٣) are ordinary digits;
    Chinese numerals and Roman numerals (一, Ⅻ) do not fold to digits."""
    return not c.isdecimal() and any(d.isdigit() for d in _nfkc("NFKC", c))


def odd_digit(s: str) -> str | None:
    """The first character of ``s`` that NFKC would silently make a digit (see
    ``_odd_digit``), or None. Numbers, dates and identifiers refuse such a character:
    '1234²' is not 12342."""
    if s.isascii():
        return None
    for c in s:
        if c > "\x7f" and not c.isdecimal() and c.isnumeric() and _odd_digit(c):
            return c
    return None


# Spaces and dashes that people and programs put between groups of digits or letters in
# identifiers: every whitespace, zero-width characters, hyphen-minus, hyphen, non-breaking
# hyphen, figure dash, en and em dash, horizontal bar, minus sign, small and full-width
# hyphen-minus.
SEPARATORS = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\\-\u2010-\u2015\u2212\ufe63\uff0d]+")


def squeeze(s: str) -> str:
    """Fold and remove *all* whitespace (U+3000, NBSP, tabs, zero-width ones too)."""
    return "".join(fold(s).split())


# Results by raw cell text. Cell values repeat a lot within a file (dates, statuses,
# benefit types, amounts, names); the cap only keeps a pathological file from growing a
# cache without bound. Only successful, non-empty results are cached.
CACHE_LIMIT = 100_000


def remember(cache: dict, key: str, result):
    """Store ``result`` under ``key`` and return it."""
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = result
    return result


def show(value: object, limit: int = 40) -> str:
    """The value as the user would recognise it in a message, shortened if long."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def float_to_text(f: float) -> str | None:
    """A numeric cell as text: 3.0 → "3", 3.5 → "3.5", NaN → None (an empty cell)."""
    if math.isnan(f):
        return None
    if f.is_integer() and abs(f) < 1e16:
        return str(int(f))
    return repr(f)
