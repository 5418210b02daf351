"""Bank account numbers: normalising (spaces and dashes removed) and masking (last four)."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from station.normalise import NORMALISERS, FieldError, mask_account, normalise_account


@pytest.mark.parametrize("raw", [
    "6222021234567890123",
    "6222 0212 3456 7890 123",
    "6222-0212-3456-7890-123",
    " 6222\u30000212\u00a03456\t7890 123 ",
    "６２２２０２１２３４５６７８９０１２３",
    "6222\u20140212\u2013345678\u2010 90123",
    6222021234567,
    6222021234567.0,
])
def test_account_forms_normalise_to_the_digits(raw):
    expected = "6222021234567890123" if not isinstance(raw, (int, float)) else "6222021234567"
    assert normalise_account(raw) == expected


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000", " - ", float("nan")])
def test_empty_account_is_none(empty):
    assert normalise_account(empty) is None


@pytest.mark.parametrize("raw", [6.222021234567891e18, "6.22202123456789E+18", 1234.5, True])
def test_account_that_lost_digits_in_excel_is_refused(raw):
    with pytest.raises(FieldError, match="银行账号"):
        normalise_account(raw)


def test_account_is_a_field_type():
    assert NORMALISERS["account"] is normalise_account


def test_mask_account_shows_only_the_last_four_digits():
    assert mask_account("6222 0212 3456 7890 123") == "*" * 15 + "0123"
    assert mask_account("6222-0212-3456-7890-123") == mask_account("6222021234567890123")


@pytest.mark.parametrize("empty", [None, ""])
def test_mask_account_of_nothing_is_empty(empty):
    assert mask_account(empty) == ""


@given(st.text(alphabet="0123456789 -", max_size=30))
def test_mask_account_hides_all_but_the_last_four(raw):
    digits = raw.replace(" ", "").replace("-", "")
    masked = mask_account(raw)
    assert len(masked) == len(digits)
    shown = masked.replace("*", "")
    assert len(shown) <= 4
    assert digits.endswith(shown)
    if digits:
        assert shown != digits                    # never the whole of a short value
