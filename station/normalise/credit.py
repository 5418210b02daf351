"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

18 characters over a 31-character alphabet (digits and the capital letters without I, O,
Z, S, V): the registering authority (1), the entity type (1), the region code (6
digits), the organisation code (9), and a check character. With the characters' values
v_i (their place in the alphabet) and weights W_i = 3**i mod 31, the check character is
the one of value (31 - sum(v_i * W_i for the first 17) mod 31) mod 31.

A mistyped code is refused with a reason (the row is rejected and the clerk sees why):
kept as written it would match no register unit and raise a false 新设企业未参保登记.

The normalised form: NFKC-folded, upper-case, spaces and dashes removed. The first two
characters may be letters (authority N for rural collective organisations, Y for
others); python-stdnum's cn.uscc requires digits there and refuses such codes.
"""
from __future__ import annotations

from operator import mul

from ._common import SEPARATORS, remember, show
from .errors import FieldError
from .values import normalise_code

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ALLOWED = frozenset(ALPHABET)

_credit_cache: dict[str, str] = {}


def credit_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters (all in ALPHABET)."""
    total = sum(map(mul, map(_VALUE.__getitem__, first17), _WEIGHTS))
    return ALPHABET[-total % 31]


def _problem(code: str) -> str | None:
    """Why ``code`` (normalised) is no credit code, in words a clerk can act on; None
    when it is one."""
    if len(code) != 18:
        return f"应为 18 位，实为 {len(code)} 位：请核对是否漏填或多填了字符"
    bad = next((c for c in code if c not in _ALLOWED), None)
    if bad is not None:
        return (f"含有不允许的字符「{bad}」：代码只由数字和大写字母组成，且不用字母 I、O、Z、S、V"
                "（常见错误：字母 O 与数字 0、字母 I 与数字 1 混淆）")
    if not code[2:8].isdigit():
        return "第 3—8 位应为行政区划代码（6 位数字）：请核对"
    expected = credit_check_char(code[:17])
    if expected != code[17]:
        return "校验未通过：有字符录错或顺序颠倒，请与营业执照上的代码逐位核对"
    return None


def normalise_credit_code(value: object) -> str | None:
    """A unified social credit code, normalised and checked; None for an empty cell.

    Raises FieldError with a reason for a code that fails GB 32100 (length, characters,
    region code, check character) and for a code Excel turned into a number.
    """
    if value.__class__ is str:
        hit = _credit_cache.get(value)
        if hit is not None:
            return hit
    try:
        # Excel numbers and superscript or circled digits refused, whitespace removed.
        code = normalise_code(value)
    except FieldError as e:
        raise FieldError(e.reason.replace("编号", "统一社会信用代码", 1)) from None
    if code is None:
        return None
    shown = show(value)
    if not code.isalnum() or not code.isascii():
        code = SEPARATORS.sub("", code)
        if not code:
            return None
    why = _problem(code)
    if why is not None:
        raise FieldError(f"统一社会信用代码「{shown}」{why}")
    if value.__class__ is str:
        return remember(_credit_cache, value, code)
    return code


__all__ = ["ALPHABET", "credit_check_char", "normalise_credit_code"]
