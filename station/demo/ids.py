"""Identifier arithmetic for the demo generator: citizen IDs and credit codes.

Kept independent of :mod:`station.normalise` on purpose: the generator must produce
(and deliberately break) identifiers without relying on the code it is meant to test.

- Citizen ID (GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence
  (odd for men, even for women), one ISO 7064 MOD 11-2 check character (0-9 or X).
- Unified social credit code (GB 32100-2015): registration authority + type, 6-digit
  region, 9-character organisation code (GB 11714, with its own check), one MOD 31
  check character over the alphabet without I, O, S, V, Z.
"""
from __future__ import annotations

import datetime as dt
from operator import mul

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
_ID_OFFSET = 48 * sum(ID_WEIGHTS)   # ord("0") times the weights: lets us sum raw bytes
ID_CHARS = "0123456789X"


def id_check(body17: str) -> str:
    """Check character for the first 17 digits of an ID."""
    return ID_CHECK[(sum(map(mul, body17.encode("ascii"), ID_WEIGHTS)) - _ID_OFFSET) % 11]


def make_id(region: str, birth: dt.date, seq: int) -> str:
    body = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return body + id_check(body)


def is_valid_id(s: str) -> bool:
    """Full GB 11643 validity: length, characters, birth date, check character."""
    if len(s) != 18 or not s[:17].isascii() or not s[:17].isdigit():
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return s[17] == id_check(s[:17])


def to_legacy15(id18: str) -> str:
    """The pre-1999 15-digit form: no century, no check character."""
    return id18[:6] + id18[8:17]


def from_legacy15(id15: str) -> str:
    body = id15[:6] + "19" + id15[6:]
    return body + id_check(body)


def neighbours(s: str) -> set[str]:
    """Every ID-shaped string one substitution or one adjacent swap away from ``s``.

    This is the candidate relation of DEATH_FUZZY_MATCH; the generator uses it to keep
    accidental candidates out of the register.
    """
    out: set[str] = set()
    for i, c in enumerate(s):
        head, tail = s[:i], s[i + 1:]
        for d in ID_CHARS:
            if d != c:
                out.add(head + d + tail)
    for i in range(len(s) - 1):
        if s[i] != s[i + 1]:
            out.add(s[:i] + s[i + 1] + s[i] + s[i + 2:])
    return out


def one_edit(a: str, b: str) -> bool:
    """True when a and b (same length) differ in exactly one position or by one swap of
    adjacent characters."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (len(diff) == 2 and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])


# -- unified social credit codes -------------------------------------------------------

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_check(body8: str) -> str:
    """GB 11714 organisation-code check character."""
    c = 11 - sum(int(ch, 36) * w for ch, w in zip(body8, ORG_WEIGHTS)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check(body17: str) -> str:
    s = sum(USCC_CHARS.index(ch) * w for ch, w in zip(body17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - s % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    if len(code) != 18 or any(ch not in USCC_CHARS for ch in code):
        return False
    return org_check(code[8:16]) == code[16] and uscc_check(code[:17]) == code[17]


def make_credit_code(rng, region: str) -> str:
    body8 = "".join(rng.choice(USCC_CHARS) for _ in range(8))
    body17 = "91" + region + body8 + org_check(body8)
    return body17 + uscc_check(body17)
