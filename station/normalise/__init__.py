"""Normalisation of cell values: small pure functions, one per field type.

Every function takes a raw cell (str, int, float, date, datetime, None — whatever the
CSV or Excel reader produced), returns the normalised value or None for an empty cell,
and raises :class:`FieldError` with a Chinese reason for a value it cannot accept.
``NORMALISERS`` maps each field type of :mod:`station.kinds.spec` to its function.
"""
from __future__ import annotations

from .dates import parse_date, parse_month, parse_year
from .errors import FieldError
from .ids import (
    birth_date_from_id,
    check_char,
    is_valid_id,
    looks_like_id,
    mask_id,
    normalise_id,
)


__all__ = [
    "FieldError",
    "birth_date_from_id",
    "check_char",
    "is_valid_id",
    "looks_like_id",
    "mask_id",
    "normalise_id",
    "parse_date",
    "parse_month",
    "parse_year",
]
