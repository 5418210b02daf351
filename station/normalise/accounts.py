"""Bank account numbers (银行账号): normalising and masking.

An account number is personal data (DOMAIN.md § The money side): it is masked like an ID
number everywhere by default, showing its last four digits only, and account numbers
compare after removing spaces and dashes. The normalised form: NFKC-folded (full-width
digits become ASCII), every kind of whitespace and dash removed, upper-case.
"""
from __future__ import annotations

import math
import re

from ._common import SEPARATORS, fold, odd_digit, show
from .errors import FieldError

# Integers up to this magnitude survive a trip through an Excel number exactly; an
# account number read as a float beyond it has lost digits.
_EXACT_FLOAT_LIMIT = 10**15


def _number_reason(shown: str) -> str:
    return (
        f"银行账号被 Excel 转成了数字（{shown}），已丢失位数，无法恢复："
        "请让报送单位把该列设为文本后重新导出"
    )


_SCI = re.compile(r"[+-]?\d+(?:\.\d*)?E[+-]?\d+", re.ASCII)


def normalise_account(value: object) -> str | None:
    """An account-number cell without spaces and dashes, upper-case; None when empty.

    ``"6222 0212-3456 7890 123"`` → ``"6222021234567890123"``.
    Raises FieldError when Excel turned a long account number into a number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(f"银行账号「{value}」不是账号：请检查该列是否填错")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer() or abs(value) >= _EXACT_FLOAT_LIMIT:
            raise FieldError(_number_reason(show(value)))
        return str(int(value))
    text = value if isinstance(value, str) else str(value)
    t = SEPARATORS.sub("", fold(text)).upper()
    if not t:
        return None
    odd = odd_digit(text)
    if odd is not None:
        raise FieldError(f"银行账号「{show(value)}」含有上标、带圈等特殊数字「{odd}」：请改为普通数字")
    if "E" in t and _SCI.fullmatch(t):
        raise FieldError(_number_reason(show(value)))
    return t


def mask_account(s: object) -> str:
    """Mask an account number for screens and exports: only the last four digits stay,
    ``************1234``. Spaces and dashes are removed first. A value of eight
    characters or fewer shows at most a quarter of itself (never the whole of a short
    value); empty gives "".
    """
    if s is None:
        return ""
    try:
        t = normalise_account(s)
    except FieldError:
        t = str(s)
    if not t:
        return ""
    n = len(t)
    keep = 4 if n > 8 else n // 4
    return "*" * (n - keep) + (t[n - keep:] if keep else "")


__all__ = ["mask_account", "normalise_account"]
