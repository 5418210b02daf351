"""Helpers shared by the normalisers (internal)."""
from __future__ import annotations

import math
import re
import unicodedata

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
