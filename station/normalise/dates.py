"""Dates, year-months and years.

Dates come back as ISO text (``YYYY-MM-DD``, months ``YYYY-MM``) because that is what
SQLite stores and sorts. Cells arrive as date objects (calamine), Excel serial numbers,
or text in the forms partner departments use (DOMAIN.md § What real files look like).
"""
from __future__ import annotations

import datetime as _dt
import math
import re

from ._common import fold, odd_digit, remember, show
from .errors import FieldError

MIN_YEAR = 1850
MAX_YEAR = 2100
MIN_FISCAL_YEAR = 1900  # parse_year: 参保年度 and the like

# Excel's 1900 date system: from serial 61 on (1900-03-01), day 0 is 1899-12-30. Numbers
# below MIN_SERIAL (dates before 1927-05-18) are refused: a number cell 2026 in a date
# column is a year, not 1905-07-18 (parse_month refuses the same numbers). Number cells of
# a workbook in the 1904 date system (old Mac Excel) carry ``date_system == 1904``
# (station.formats marks them): their serials count from 1904-01-01, 1462 days later.
_EXCEL_EPOCH = _dt.date(1899, 12, 30)
_EPOCH_1904_SHIFT = 1462
MIN_SERIAL = 10_000
_EXCEL_MAX_SERIAL = (_dt.date(MAX_YEAR, 12, 31) - _EXCEL_EPOCH).days

# A date in text. ASCII digits only (NFKC has already folded full-width ones).
_DATE_RE = re.compile(
    r"""
    (?:
        (?P<y1>\d{4})(?P<sep>[-/.])(?P<m1>\d{1,2})(?P=sep)(?P<d1>\d{1,2})
      | (?P<y2>\d{4})(?P<m2>\d{2})(?P<d2>\d{2})(?:(?P<h2>\d{2})(?P<n2>\d{2})(?P<s2>\d{2}))?
      | (?P<y3>\d{4})\s*年\s*(?P<m3>\d{1,2})\s*月\s*(?P<d3>\d{1,2})\s*[日号]?
    )
    (?:(?:\s+|T)                                         # an optional time of day
        (?P<h>\d{1,2}):(?P<n>\d{1,2})(?::(?P<s>\d{1,2})(?:\.\d+)?)?
        (?:\s*(?:Z|(?P<tz>[+-]\d{2}:?\d{2})))?               # and time zone
    )?
    """,
    re.VERBOSE | re.ASCII,
)
# Excel serial number written as text: five digits, maybe with a time fraction.
_SERIAL_TEXT_RE = re.compile(r"\d{5}(?:\.\d+)?", re.ASCII)

# A weekday written after a date (or its time): 星期四, 周四, 礼拜四, in brackets or not.
_WEEKDAY_RE = re.compile(r"\s*\(?\s*(?:星期|周|礼拜)(?P<w>[一二三四五六日天])\s*\)?\s*")
_WEEKDAYS = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6}

# Chinese numerals before 年, 月, 日 or 号: 二〇二六年十一月五日. A year is written digit
# by digit, a month or day as a number (十一, 二十五, 廿五, 卅一).
_CN_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "○": "0"}
_CN_RUN = re.compile(r"(?P<run>[〇零○一二三四五六七八九十廿卅]+)\s*(?P<unit>[年月日号])")


def _cn_small() -> dict[str, str]:
    units = "一二三四五六七八九"
    out = {u: str(i + 1) for i, u in enumerate(units)}
    for tens, prefixes in ((1, ("十", "一十")), (2, ("二十", "廿")), (3, ("三十", "卅"))):
        for p in prefixes:
            out[p] = str(tens * 10)
            for i, u in enumerate(units):
                if tens < 3 or i == 0:
                    out[p + u] = str(tens * 10 + i + 1)
    return out


_CN_SMALL = _cn_small()


def _cn_number(m: re.Match) -> str:
    run, unit = m["run"], m["unit"]
    if unit == "年":
        value = "".join(_CN_DIGITS.get(c, "?") for c in run) if len(run) == 4 else None
    else:
        value = _CN_SMALL.get(run)
    if value is None or "?" in value:
        return m.group(0)                      # left as written: the date is refused
    return value + unit


def _arabic(t: str) -> str:
    """``t`` with Chinese numerals before 年/月/日/号 written in digits."""
    return _CN_RUN.sub(_cn_number, t)


def _odd(shown: str, odd: str, what: str, formats: str) -> FieldError:
    return FieldError(f"{what}「{shown}」含有上标、带圈等特殊数字「{odd}」，不能当作普通数字：请改为普通数字，{formats}")

_MONTH_RE = re.compile(
    r"""
    (?P<y>\d{4})
    (?:
        (?P<sep>[-/.])(?P<m1>\d{1,2})
      | (?P<m2>\d{2})
      | \s*年\s*(?P<m3>\d{1,2})\s*月份?
    )
    """,
    re.VERBOSE | re.ASCII,
)

_YEAR_RE = re.compile(r"(\d{4})(?:\.0+|\s*年度?|\s*年?度)?", re.ASCII)

_DATE_FORMATS = "请使用 2026-10-05、2026/10/5、20261005 或 2026年10月5日 等格式"
_MONTH_FORMATS = "请使用 2026-10、202610 或 2026年10月 等格式"

# Parsed results by raw cell text (see _common.remember).
_date_cache: dict[str, str] = {}
_month_cache: dict[str, str] = {}
_year_cache: dict[str, int] = {}


# ---------------------------------------------------------------------------- dates

def _ymd(y: int, m: int, d: int, shown: str) -> str:
    try:
        day = _dt.date(y, m, d)
    except ValueError:
        raise FieldError(
            f"日期「{shown}」无法识别：该日期不存在（月份或日超出范围），请核对后{_DATE_FORMATS}"
        ) from None
    return _checked(day, shown)


def _checked(day: _dt.date, shown: str) -> str:
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise FieldError(
            f"日期「{shown}」的年份 {day.year} 不在 {MIN_YEAR}—{MAX_YEAR} 的合理范围内：请核对该日期"
        )
    return day.isoformat()


def _from_serial(serial: float, shown: str) -> str:
    """An Excel serial number (1900 system, MIN_SERIAL or more); a fraction is the time
    of day."""
    n = math.floor(serial)
    if not MIN_SERIAL <= n <= _EXCEL_MAX_SERIAL:
        raise FieldError(
            f"日期「{shown}」无法识别：不像是 Excel 日期序号（应在 {MIN_SERIAL}—{_EXCEL_MAX_SERIAL} 之间），{_DATE_FORMATS}"
        )
    return _checked(_EXCEL_EPOCH + _dt.timedelta(days=n), shown)


def _date_from_number(value: float | int, shown: str) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError(f"日期「{shown}」无法识别：{_DATE_FORMATS}")
    if 10_000_000 <= value <= 99_999_999 and value == int(value):
        # A date typed as a number: 20261005.
        n = int(value)
        return _ymd(n // 10000, n // 100 % 100, n % 100, shown)
    if value < MIN_SERIAL:
        if value == int(value) and MIN_YEAR <= value <= MAX_YEAR:
            raise FieldError(f"日期「{shown}」只有年份，缺少月和日：{_DATE_FORMATS}")
        raise FieldError(f"日期「{shown}」无法识别：不像是日期，{_DATE_FORMATS}")
    if getattr(value, "date_system", 1900) == 1904:
        value = float(value) + _EPOCH_1904_SHIFT
    return _from_serial(value, shown)


def _time_ok(h: str | None, n: str | None, s: str | None, tz: str | None) -> bool:
    if h is not None and (int(h) > 23 or int(n) > 59 or (s is not None and int(s) > 59)):
        return False
    if tz is not None:
        hh, mm = int(tz[1:3]), int(tz[-2:])
        if hh > 14 or mm > 59:
            return False
    return True


def _date_from_text(s: str) -> str | None:
    t = s.strip()
    if not t.isascii():
        odd = odd_digit(t)
        if odd is not None:
            raise _odd(show(t), odd, "日期", _DATE_FORMATS)
        t = fold(t).strip()
    if not t:
        return None
    # Fast path: already ISO.
    if len(t) == 10 and t[4] == "-" and t[7] == "-":
        y, m, d = t[:4], t[5:7], t[8:]
        if y.isdigit() and m.isdigit() and d.isdigit() and t.isascii():
            return _ymd(int(y), int(m), int(d), t)
    weekday = None
    if not t.isascii():
        w = _WEEKDAY_RE.search(t)
        if w is not None:
            weekday = _WEEKDAYS[w["w"]]
            t = (t[:w.start()] + " " + t[w.end():]).strip()
        t = _arabic(t)
    match = _DATE_RE.fullmatch(t)
    if match:
        g = match.groupdict()
        if not (_time_ok(g["h"], g["n"], g["s"], g["tz"]) and _time_ok(g["h2"], g["n2"], g["s2"], None)):
            raise FieldError(
                f"日期「{show(s.strip())}」中的时间不存在（时应为 0—23，分、秒应为 0—59）："
                f"请核对，或只填写日期，{_DATE_FORMATS}")
        for k in "123":
            if g["y" + k] is not None:
                day = _ymd(int(g["y" + k]), int(g["m" + k]), int(g["d" + k]), t)
                if weekday is not None and _dt.date.fromisoformat(day).weekday() != weekday:
                    raise FieldError(
                        f"日期「{show(s.strip())}」前后矛盾：{day} 是星期"
                        f"{'一二三四五六日'[_dt.date.fromisoformat(day).weekday()]}，"
                        "与所写的星期不符，请核对日期")
                return day
    if weekday is None and _SERIAL_TEXT_RE.fullmatch(t):
        return _from_serial(float(t), t)
    raise FieldError(f"日期「{show(s.strip())}」无法识别：{_DATE_FORMATS}")


def parse_date(value: object) -> str | None:
    """A date cell as ``YYYY-MM-DD``; None for an empty cell. Raises FieldError."""
    if value.__class__ is str:
        hit = _date_cache.get(value)
        if hit is not None:
            return hit
        result = _date_from_text(value)
        if result is None:
            return None
        return remember(_date_cache, value, result)
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return _checked(value.date(), show(value))
    if isinstance(value, _dt.date):
        return _checked(value, show(value))
    if isinstance(value, bool):
        raise FieldError(f"日期「{value}」无法识别：{_DATE_FORMATS}")
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (int, float)):
        return _date_from_number(value, show(value))
    raise FieldError(f"日期「{show(value)}」无法识别：{_DATE_FORMATS}")


# --------------------------------------------------------------------------- months

def _ym(y: int, m: int, shown: str) -> str:
    if not 1 <= m <= 12:
        raise FieldError(f"年月「{shown}」无法识别：月份 {m} 不存在，请核对后{_MONTH_FORMATS}")
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise FieldError(
            f"年月「{shown}」的年份 {y} 不在 {MIN_YEAR}—{MAX_YEAR} 的合理范围内：请核对"
        )
    return f"{y:04d}-{m:02d}"


def _ambiguous_month(shown: str) -> FieldError:
    return FieldError(
        f"年月「{shown}」有歧义：可能是 Excel 把 {shown}0（10月）存成了数字 {shown}，"
        f"也可能是 1月；请把该列设为文本，或改用 2026-10 这样的格式后重新报送"
    )


def _month_from_text(s: str) -> str | None:
    t = s.strip()
    if not t.isascii():
        odd = odd_digit(t)
        if odd is not None:
            raise _odd(show(t), odd, "年月", _MONTH_FORMATS)
        t = _arabic(fold(t).strip())
    if not t:
        return None
    match = _MONTH_RE.fullmatch(t)
    if match:
        y = int(match["y"])
        m = match["m1"] or match["m2"] or match["m3"]
        if match["sep"] == "." and m == "1":
            raise _ambiguous_month(t)
        return _ym(y, int(m), t)
    try:
        day = _date_from_text(t)
    except FieldError:
        raise FieldError(f"年月「{show(t)}」无法识别：{_MONTH_FORMATS}") from None
    return day[:7] if day else None


def parse_month(value: object) -> str | None:
    """A year-month cell as ``YYYY-MM``; None for an empty cell. A full date gives its
    month. Raises FieldError.
    """
    if value.__class__ is str:
        hit = _month_cache.get(value)
        if hit is not None:
            return hit
        result = _month_from_text(value)
        if result is None:
            return None
        return remember(_month_cache, value, result)
    if value is None:
        return None
    if isinstance(value, _dt.date):  # date and datetime
        return _checked(value if not isinstance(value, _dt.datetime) else value.date(), show(value))[:7]
    if isinstance(value, bool):
        raise FieldError(f"年月「{value}」无法识别：{_MONTH_FORMATS}")
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not math.isfinite(value):
            raise FieldError(f"年月「{show(value)}」无法识别：{_MONTH_FORMATS}")
        if not value.is_integer() and 1000 <= value < 10000:
            # 2026.05 typed into a number cell.
            shown = repr(value)
            y, _, m = shown.partition(".")
            if m == "1":
                raise _ambiguous_month(shown)
            if len(m) == 2:
                return _ym(int(y), int(m), shown)
            raise FieldError(f"年月「{shown}」无法识别：{_MONTH_FORMATS}")
    if isinstance(value, (int, float)):
        shown = show(value)
        if 100_000 <= value <= 999_999 and value == int(value):
            n = int(value)
            return _ym(n // 100, n % 100, shown)
        if value < 10_000:
            # 2026 alone is a year, not a serial number for 1905-07-18.
            raise FieldError(f"年月「{shown}」无法识别：缺少月份，{_MONTH_FORMATS}")
        try:
            return _date_from_number(value, shown)[:7]
        except FieldError:
            raise FieldError(f"年月「{shown}」无法识别：{_MONTH_FORMATS}") from None
    raise FieldError(f"年月「{show(value)}」无法识别：{_MONTH_FORMATS}")


# ---------------------------------------------------------------------------- years

def _year(y: int, shown: str) -> int:
    if not MIN_FISCAL_YEAR <= y <= MAX_YEAR:
        raise FieldError(
            f"年度「{shown}」不在 {MIN_FISCAL_YEAR}—{MAX_YEAR} 的合理范围内：请填写四位年份，如 2026"
        )
    return y


def _year_from_text(s: str) -> int | None:
    odd = odd_digit(s)
    if odd is not None:
        raise _odd(show(s), odd, "年度", "请填写四位年份，如 2026")
    t = "".join(fold(s).split())
    if not t:
        return None
    match = _YEAR_RE.fullmatch(t)
    if not match:
        raise FieldError(f"年度「{show(s)}」无法识别：请填写四位年份，如 2026 或 2026年度")
    return _year(int(match[1]), t)


def parse_year(value: object) -> int | None:
    """A year cell as an int (1900–2100); None for an empty cell. Raises FieldError."""
    if value.__class__ is str:
        hit = _year_cache.get(value)
        if hit is not None:
            return hit
        result = _year_from_text(value)
        if result is None:
            return None
        return remember(_year_cache, value, result)
    if value is None:
        return None
    if isinstance(value, bool):
        raise FieldError(f"年度「{value}」无法识别：请填写四位年份，如 2026")
    if isinstance(value, int):
        return _year(value, str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return _year(int(value), show(value))
        raise FieldError(f"年度「{show(value)}」无法识别：请填写四位年份，如 2026")
    if isinstance(value, _dt.date):
        return _year(value.year, show(value))
    raise FieldError(f"年度「{show(value)}」无法识别：请填写四位年份，如 2026")
