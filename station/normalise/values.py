"""Amounts, integers, text, names, codes, archive subjects and disability levels."""
from __future__ import annotations

import datetime as _dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from ._common import float_to_text, fold, odd_digit, remember, show, squeeze
from .errors import FieldError
from .ids import looks_like_id, normalise_id

_CENT = Decimal("0.01")

# ---------------------------------------------------------------------------- amounts

_AMOUNT_RE = re.compile(
    r"""
    (?P<open>\()?\s*
    (?P<s1>[+-])?\s*
    (?:(?:¥|RMB|CNY|人民币)\s*)?
    (?P<s2>[+-])?
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)   # no spaces inside
    \s*(?:元|圆)?\s*
    (?(open)\))
    """,
    re.VERBOSE | re.ASCII | re.IGNORECASE,
)


def _amount_reason(shown: str) -> str:
    return f"金额「{shown}」无法识别：请填写数字，如 1234.50、1,234.50 或 ￥1234.5"


# The largest amount accepted, in yuan: far beyond any payment, fee or fund entry of a
# county, small enough that sums of millions of amounts stay exact to the cent in a double.
AMOUNT_LIMIT = 1e12


def _out_of_range(f: float, shown: str) -> FieldError:
    """The error for a number that is not finite or beyond AMOUNT_LIMIT."""
    if f != f or (math.isinf(f) and not any(c.isdigit() for c in shown)):
        return FieldError(_amount_reason(shown))             # NaN, "inf", "Infinity"
    return FieldError(
        f"金额「{shown}」超出合理范围：绝对值不能超过 1 万亿元（1,000,000,000,000），"
        "请核对是否多写了数位或填错了列"
    )


def _odd_amount(shown: str, odd: str) -> FieldError:
    return FieldError(
        f"金额「{shown}」含有上标、带圈等特殊数字「{odd}」，不能当作普通数字：请改为普通数字，"
        "如 1234.50、1,234.50 或 ￥1234.5"
    )


def _cents(f: float, text: str | None = None) -> float:
    """Round to cents, half away from zero on the decimal digits as written."""
    c = f * 100
    if c.is_integer() and c / 100 == f:
        return f + 0.0
    r = round(f, 2)
    if r != f:
        # More than two decimals: round the written decimal, not its binary neighbour
        # (2.675 is stored as 2.67499…, and round() would give 2.67).
        try:
            r = float(Decimal(text if text is not None else repr(f)).quantize(_CENT, ROUND_HALF_UP))
        except InvalidOperation:
            pass
    return r + 0.0  # no -0.0


def parse_amount(value: object) -> float | None:
    """An amount cell as a float rounded to cents; None for an empty cell.

    Accepts 1234.5, "1,234.50", "￥1234.5", "1234.5元", full-width digits, and numbers
    Excel wrote in scientific notation. Brackets are the accounting convention for a
    negative amount: "(12.50)" is -12.5; a sign inside brackets ("(-12)", "(+12)") is
    refused, as is anything NFKC would turn into digits that are not digits ("1234²",
    "①") and any amount beyond ±AMOUNT_LIMIT (1e12 yuan), infinity and NaN. Raises
    FieldError.
    """
    if value.__class__ is str:
        try:
            f = float(value)  # fast path: plain numbers (also tolerates surrounding spaces)
        except ValueError:
            pass
        else:
            if not -AMOUNT_LIMIT <= f <= AMOUNT_LIMIT:    # also NaN and infinity
                raise _out_of_range(f, show(value))
            c = f * 100
            if c.is_integer() and c / 100 == f:  # whole cents; cheaper than round(f, 2)
                return f + 0.0  # no -0.0
            return _cents(f, value.strip())
        odd = odd_digit(value)
        if odd is not None:
            raise _odd_amount(show(value), odd)
        t = fold(value).strip()
        if not t:
            return None
        m = _AMOUNT_RE.fullmatch(t)
        if m is None or (m["s1"] and m["s2"]):
            raise FieldError(_amount_reason(show(value)))
        if m["open"] and (m["s1"] or m["s2"]):
            raise FieldError(
                f"金额「{show(value)}」有歧义：括号表示负数，括号内不能再带正负号；"
                "负数请写作 -1,234.50 或 (1,234.50)，正数不加括号"
            )
        num = m["num"].replace(",", "")
        if m["open"] or (m["s1"] or m["s2"]) == "-":
            num = "-" + num
        f = float(num)
        if not -AMOUNT_LIMIT <= f <= AMOUNT_LIMIT:
            raise _out_of_range(f, show(value))
        return _cents(f, num)
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(_amount_reason(str(value)))
    if isinstance(value, int):
        if not -AMOUNT_LIMIT <= value <= AMOUNT_LIMIT:
            raise _out_of_range(math.inf, show(value))
        return float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not -AMOUNT_LIMIT <= value <= AMOUNT_LIMIT:
            raise _out_of_range(value, show(value))
        return _cents(value)
    if isinstance(value, Decimal):
        if value.is_nan() or not -AMOUNT_LIMIT <= value <= AMOUNT_LIMIT:
            raise _out_of_range(math.nan if value.is_nan() else math.inf, show(value))
        return float(value.quantize(_CENT, ROUND_HALF_UP)) + 0.0
    raise FieldError(_amount_reason(show(value)))


# --------------------------------------------------------------------------- integers

_INT_RE = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.0+)?(?:\s*(?:页|件|张|份))?", re.ASCII)


def _int_reason(shown: str) -> str:
    return f"数值「{shown}」不是整数：请只填写整数，如 3（可带“页”“件”等单位）"


def parse_int(value: object) -> int | None:
    """A whole-number cell (e.g. 页数) as an int; None for an empty cell.

    Accepts 3, 3.0, "3", " 3 ", "3页", "3件", "1,200", full-width digits. Raises FieldError.
    """
    if value.__class__ is str:
        if value.isdigit() and value.isascii():
            return int(value)
        if odd_digit(value) is not None:
            raise FieldError(_int_reason(show(value)))
        t = fold(value).strip()
        if not t:
            return None
        m = _INT_RE.fullmatch(t)
        if m is None:
            raise FieldError(_int_reason(show(value)))
        n = int(m[2].replace(",", ""))
        return -n if m[1] == "-" else n
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(_int_reason(str(value)))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
        raise FieldError(_int_reason(show(value)))
    raise FieldError(_int_reason(show(value)))


# ------------------------------------------------------------------------------- text

def _cell_text(value: object) -> str | None:
    """A non-text cell as the text a user would see in the spreadsheet."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return float_to_text(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(" ", timespec="seconds")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value)


_text_cache: dict[str, str] = {}
_name_cache: dict[str, str] = {}
_code_cache: dict[str, str] = {}


def normalise_text(value: object) -> str | None:
    """Free text: NFKC-folded, trimmed (U+3000 too), inner runs of whitespace collapsed to
    one space; numbers as written (3.0 → "3"); None for an empty cell.
    """
    if value.__class__ is str:
        hit = _text_cache.get(value)
        if hit is not None:
            return hit
        result = " ".join(fold(value).split())
        return remember(_text_cache, value, result) if result else None
    if value is None:
        return None
    text = _cell_text(value)
    if text is None:
        return None
    return " ".join(fold(text).split()) or None


def normalise_name(value: object) -> str | None:
    """A person's or unit's name: NFKC-folded with *all* whitespace removed (U+3000,
    NBSP, zero-width space); None for an empty cell.
    """
    if value.__class__ is str:
        hit = _name_cache.get(value)
        if hit is not None:
            return hit
        result = squeeze(value)
        return remember(_name_cache, value, result) if result else None
    if value is None:
        return None
    text = _cell_text(value)
    if text is None:
        return None
    return squeeze(text) or None


# ------------------------------------------------------------------------------ codes

_SCI_RE = re.compile(r"[+-]?\d+(?:\.\d*)?E[+-]\d+", re.ASCII)


def _code_number_reason(shown: str) -> str:
    return (
        f"编号被 Excel 转成了数字（{shown}），已丢失位数，无法恢复："
        "请让报送单位把该列设为文本后重新导出"
    )


def normalise_code(value: object) -> str | None:
    """An identifier compared upper-case (统一社会信用代码, 单位编号): NFKC-folded, all
    whitespace removed, upper-case; a numeric cell 123.0 → "123". None for an empty
    cell. Raises FieldError when Excel turned a long code into a number.
    """
    if value.__class__ is str:
        hit = _code_cache.get(value)
        if hit is not None:
            return hit
        t = squeeze(value).upper()
        if not t:
            return None
        if "E" in t and _SCI_RE.fullmatch(t):
            raise FieldError(_code_number_reason(show(value)))
        odd = odd_digit(value)
        if odd is not None:
            raise FieldError(f"编号「{show(value)}」含有上标、带圈等特殊数字「{odd}」，不能当作普通数字：请改为普通数字")
        return remember(_code_cache, value, t)
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) >= 1e15:
            raise FieldError(_code_number_reason(show(value)))
        return float_to_text(value)
    text = _cell_text(value)
    if text is None:
        return None
    return squeeze(text).upper() or None


def normalise_subject(value: object) -> str | None:
    """An archive subject (档案对象): a normalised ID when it looks like an ID number,
    otherwise a code. None for an empty cell. Raises FieldError for numbers that lost
    digits in Excel.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if not math.isnan(value) and value.is_integer() and abs(value) >= 1e14:
            # 15 digits survive a double (a legacy ID); 16 or more do not.
            result = normalise_id(value)
            return result[0] if result else None
        return normalise_code(value)
    code = normalise_code(value)
    if code is None:
        return None
    if looks_like_id(code):
        result = normalise_id(code)
        return result[0] if result else None
    if "." in code:
        # "420105198001011234.0": an ID that went through a number; normalise_id says so.
        digits = code.partition(".")[0]
        if len(digits) >= 15 and digits.isdigit():
            result = normalise_id(code)
            return result[0] if result else None
    return code


# ----------------------------------------------------------------------------- levels

_LEVELS = ("一级", "二级", "三级", "四级")
_LEVEL_DIGITS = {
    "1": 0, "一": 0, "壹": 0, "I": 0,
    "2": 1, "二": 1, "贰": 1, "貳": 1, "两": 1, "II": 1,
    "3": 2, "三": 2, "叁": 2, "參": 2, "III": 2,
    "4": 3, "四": 3, "肆": 3, "IV": 3,
}
# GB/T 26341-2010: 一级 极重度, 二级 重度, 三级 中度, 四级 轻度.
_LEVEL_SEVERITY = {"极重度": 0, "重度": 1, "中度": 2, "轻度": 3}
_LEVEL_RE = re.compile(
    r"(?:残疾)?(?:等级)?[:：]?(?P<v>[0-9]+|[一二三四壹贰貳叁參肆两]|I{1,3}|IV)"
    r"(?:\.0+)?(?:级|等)?(?:残疾)?(?:\((?P<note>[^)]*)\))?"
)


def _level_reason(shown: str) -> str:
    return f"残疾等级「{shown}」无法识别：应为一级至四级，可写作 一级、1级、壹级 或 1"


@lru_cache(maxsize=256)
def _level_from_text(t: str) -> str | None:
    s = squeeze(t).upper()
    if not s:
        return None
    m = _LEVEL_RE.fullmatch(s)
    if m:
        idx = _LEVEL_DIGITS.get(m["v"])
        if idx is None:
            raise FieldError(_level_reason(show(t)))
        note = m["note"]
        if note and _LEVEL_SEVERITY.get(note, idx) != idx:
            raise FieldError(
                f"残疾等级「{show(t)}」前后矛盾：等级与括号中的程度不一致，请核对"
            )
        return _LEVELS[idx]
    sev = _LEVEL_SEVERITY.get(s.removeprefix("残疾").removesuffix("残疾"))
    if sev is not None:
        return _LEVELS[sev]
    raise FieldError(_level_reason(show(t)))


def parse_level(value: object) -> str | None:
    """A disability level as 一级 … 四级; None for an empty cell. Accepts 一级, 1级, 壹级,
    1, 1.0, 一, Ⅰ级, 二级残疾, 重度 (GB/T 26341). Raises FieldError for anything else.
    """
    if value.__class__ is str:
        return _level_from_text(value)
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(_level_reason(str(value)))
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise FieldError(_level_reason(show(value)))
        value = int(value)
    if isinstance(value, int):
        if 1 <= value <= 4:
            return _LEVELS[value - 1]
        raise FieldError(_level_reason(str(value)))
    raise FieldError(_level_reason(show(value)))


# ------------------------------------------------------------------------------ names

def names_equal(a: object, b: object) -> bool:
    """Whether two names are equal after normalising (whitespace removed, NFKC). An empty
    name equals nothing, not even another empty one.
    """
    na = normalise_name(a)
    return na is not None and na == normalise_name(b)


@lru_cache(maxsize=65536)
def _pinyin(name: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin  # imported on first use: it loads large dictionaries

    return tuple(lazy_pinyin(name))


def names_homophone(a: object, b: object) -> bool:
    """Whether two names sound the same: pypinyin ``lazy_pinyin`` (toneless) of the whole
    normalised names gives equal lists. Equal names are homophones; empty names are not.
    """
    na, nb = normalise_name(a), normalise_name(b)
    if na is None or nb is None:
        return False
    return na == nb or _pinyin(na) == _pinyin(nb)
