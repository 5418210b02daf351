"""What a masked output may show about a person: the masking policy in one place.

A masked ID (``440303********9567``) hides the eight digits of the birth date, so a birth
date printed beside it gives the ID back. The policy (docs/REVIEW.md § Personal data):

- ID numbers are masked (:func:`~station.normalise.ids.mask_id`, and inside free text
  :func:`~station.normalise.ids.mask_ids_in_text`); bank accounts keep their last four
  digits (:func:`~station.normalise.accounts.mask_account`).
- A **birth date is shown as its year only**: ``1967-**-**``. A 出生日期 field, a
  ``birth_date`` key, and — inside free text — any date (or run of digits) that spells
  the hidden part of an ID the output is about: the subject's, and every ID the text or
  the record names. Ages stay (the 高龄 rule is about them).

Everything here is for the default, masked output; ``--unmask`` (CLI) and Ctrl+U (TUI)
show the data as delivered.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable

from .accounts import mask_account
from .ids import mask_id, mask_ids_in_text

# Keys (evidence field headers, register columns, evidence keys) whose values are birth
# dates, ID numbers and bank accounts.
BIRTH_KEYS = frozenset({"出生日期", "birth_date"})
ID_KEYS = frozenset({"公民身份号码", "id_number"})
ACCOUNT_KEYS = frozenset({"银行账号", "account_no", "account", "bank_account"})

# What may be an ID in a text, to learn whose birth dates to hide: 18 or 15 digits (the
# 18th may be X), after folding full-width digits and joining groups split by spaces or
# dashes, whatever letters stand around them.
_ID_LIKE = re.compile(r"(?<!\d)(?:\d{17}[0-9Xx]|\d{15})(?!\d)", re.ASCII)
_GROUP_GAP = re.compile(r"(?<=\d)[\s\-\u2010-\u2015_·]+(?=\d)")
# A bank account inside free text: a run of 16 to 19 digits (bank card numbers), or one
# written in groups of four split by a space or a dash, not part of a longer run. ID
# numbers are masked before (their digits are no longer a run); 20-digit tax receipt
# numbers, dates and months stay.
_ACCOUNT_IN_TEXT = re.compile(
    r"(?<![\d*])(?:\d{16,19}|\d{4}(?:[ \-]\d{4}){3}(?:[ \-]?\d{1,3})?)(?![\d*])", re.ASCII)


def mask_birth_date(value: Any) -> str:
    """A birth date with its year only: ``1967-12-21`` → ``1967-**-**``,
    ``19671221`` → ``1967****``; digits after the year become ``*``."""
    if value is None:
        return ""
    s = str(value)
    m = re.match(r"\s*\d{4}", s)
    keep = m.end() if m else 0
    return s[:keep] + re.sub(r"\d", "*", s[keep:])


def _hidden(id_number: str) -> tuple[str, str, str, str] | None:
    """(hidden characters, year, month, day) of an ID: the eight birth digits of an 18
    character ID, the yymmdd of a 15 digit one; None for anything else."""
    s = id_number.strip().upper()
    if len(s) == 18 and s[:17].isdigit():
        part = s[6:14]
        return part, part[:4], part[4:6], part[6:8]
    if len(s) == 15 and s.isdigit():
        return s[6:11], "19" + s[6:8], s[8:10], s[10:12]
    return None


def _date_pattern(year: str, month: str, day: str) -> str:
    """Every way a date is written: 1967-12-21, 1967/1/5, 1967.12.21, 1967年12月21日,
    19671221 (digits not part of a longer number)."""
    m = f"0?{int(month)}" if month.isdigit() else re.escape(month)
    d = f"0?{int(day)}" if day.isdigit() else re.escape(day)
    return (rf"(?<!\d)({year})(?:\s*[-/.]\s*{m}\s*[-/.]\s*{d}|\s*年\s*{m}\s*月\s*{d}\s*日?"
            rf"|{re.escape(month)}{re.escape(day)})(?!\d)")


def _ids_in(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        if sum(map(str.isdigit, value)) >= 15:
            joined = _GROUP_GAP.sub("", unicodedata.normalize("NFKC", value))
            found.update(m.group(0).upper() for m in _ID_LIKE.finditer(joined))
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in ID_KEYS and isinstance(v, str) and v:
                found.add(v.strip().upper())
            _ids_in(v, found)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _ids_in(v, found)


def ids_in(*values: Any) -> set[str]:
    """Every ID named in ``values`` (strings, records, lists): the context of an output
    whose parts are read side by side — a note naming an ID and another giving a birth
    date, in one history or one export."""
    found: set[str] = set()
    for value in values:
        _ids_in(value, found)
    return found


def _hide_birth_digits(text: str, ids: Iterable[str]) -> str:
    for id_number in ids:
        hidden = _hidden(id_number)
        if hidden is None:
            continue
        part, year, month, day = hidden
        if year not in text and part not in text:      # the common case: nothing to hide
            continue
        text = re.sub(_date_pattern(year, month, day), lambda m: mask_birth_date(m.group(0)), text)
        # the hidden characters themselves, as a run of their own (出生日期部分「19991340」)
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(part)}(?![0-9A-Za-z])", "*" * len(part), text)
    return text


def mask_personal(text: Any, ids: Iterable[str | None] = ()) -> str:
    """Free text (a summary, a note, a name, a file name, a reason, a raw row) as a
    masked output may show it: ID numbers masked, and the birth digits of ``ids`` (the
    subject) and of every ID in the text hidden wherever they appear."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    known: set[str] = {i.strip().upper() for i in ids if i}
    _ids_in(s, known)
    return _mask_text(s, known)


def _mask_text(s: str, known: set[str]) -> str:
    """:func:`mask_personal` once the IDs of the context are known."""
    digits = sum(map(str.isdigit, s))
    if digits < 4:                # neither an ID nor a year in it: most names and titles
        return s
    masked = mask_ids_in_text(s) if digits >= 15 else s
    for id_number in known:       # a known ID glued into a longer run of digits, too
        if len(id_number) in (15, 18) and id_number in masked.upper():
            masked = re.sub(re.escape(id_number), mask_id(id_number), masked, flags=re.IGNORECASE)
    if _ACCOUNT_IN_TEXT.search(masked):       # a bank account written into a note or a raw row
        masked = _ACCOUNT_IN_TEXT.sub(lambda m: mask_account(m.group(0)), masked)
    return _hide_birth_digits(masked, known)


def mask_field(key: str, value: Any, ids: Iterable[str | None] = ()) -> Any:
    """One field of a record, by its header or column name: birth dates to the year, ID
    numbers and accounts masked, text through :func:`mask_personal`; numbers as they are."""
    if value is None or value == "":
        return value
    if key in BIRTH_KEYS:
        return mask_birth_date(value)
    if key in ID_KEYS and isinstance(value, str):
        return mask_id(value.strip())
    if key in ACCOUNT_KEYS:
        return mask_account(value)
    return mask_value(value, ids)


def mask_value(value: Any, ids: Iterable[str | None] = ()) -> Any:
    """A JSON-like value (evidence, a record): every string masked by its key or with
    :func:`mask_personal`, recursively; the IDs it names count as context."""
    known: set[str] = {i.strip().upper() for i in ids if i}
    _ids_in(value, known)
    return _mask(value, known)


def _mask(value: Any, ids: set[str]) -> Any:
    if isinstance(value, str):
        return _mask_text(value, ids)
    if isinstance(value, dict):
        return {k: (_mask_key(k, v, ids)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, ids) for v in value]
    if isinstance(value, tuple):
        return tuple(_mask(v, ids) for v in value)
    return value


def _mask_key(key: Any, value: Any, ids: set[str]) -> Any:
    if isinstance(key, str) and (key in BIRTH_KEYS or key in ID_KEYS or key in ACCOUNT_KEYS) \
            and not isinstance(value, (dict, list, tuple)):
        return mask_field(key, value, ids)
    return _mask(value, ids)


__all__ = ["ACCOUNT_KEYS", "BIRTH_KEYS", "ID_KEYS", "ids_in", "mask_birth_date", "mask_field",
           "mask_personal", "mask_value"]
