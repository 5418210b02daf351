"""Normalisation of cell values: small pure functions, one per field type.

Every function takes a raw cell (str, int, float, date, datetime, None — whatever the
CSV or Excel reader produced), returns the normalised value or None for an empty cell,
and raises :class:`FieldError` with a Chinese reason for a value it cannot accept.
``NORMALISERS`` maps each field type of :mod:`station.kinds.spec` to its function.
"""
from __future__ import annotations

from typing import Any, Callable

from .accounts import mask_account, normalise_account
from .credit import normalise_credit_code
from .dates import parse_date, parse_month, parse_year
from .errors import FieldError
from .ids import (
    birth_date_from_id,
    check_char,
    id_region_known,
    is_valid_id,
    looks_like_id,
    mask_id,
    mask_ids_in_text,
    normalise_id,
)
from .values import (
    AMOUNT_LIMIT,
    names_equal,
    names_homophone,
    normalise_code,
    normalise_name,
    normalise_subject,
    normalise_text,
    parse_amount,
    parse_int,
    parse_level,
)

# Note: the "id" normaliser returns (id, valid) — the caller stores both, the validity
# in ``<column>_valid``. All the others return a single value.
NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "id": normalise_id,
    "name": normalise_name,
    "text": normalise_text,
    "code": normalise_code,
    "subject": normalise_subject,
    "date": parse_date,
    "month": parse_month,
    "year": parse_year,
    "amount": parse_amount,
    "int": parse_int,
    "level": parse_level,
    "account": normalise_account,
    "credit_code": normalise_credit_code,
}

__all__ = [
    "AMOUNT_LIMIT",
    "FieldError",
    "NORMALISERS",
    "birth_date_from_id",
    "check_char",
    "id_region_known",
    "is_valid_id",
    "looks_like_id",
    "mask_account",
    "mask_id",
    "mask_ids_in_text",
    "names_equal",
    "names_homophone",
    "normalise_account",
    "normalise_code",
    "normalise_credit_code",
    "normalise_id",
    "normalise_name",
    "normalise_subject",
    "normalise_text",
    "parse_amount",
    "parse_date",
    "parse_int",
    "parse_level",
    "parse_month",
    "parse_year",
]
