"""Dates, year-months and years in the forms partner departments deliver."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from station.normalise import FieldError, parse_date, parse_month, parse_year


# ---------------------------------------------------------------------------- dates

@pytest.mark.parametrize("raw", [
    "2026-10-05",
    "2026/10/5",
    "2026/10/05",
    "20261005",
    "2026.10.05",
    "2026.10.5",
    "2026-10-5",
    "2026年10月5日",
    "2026年10月05日",
    "2026年10月5号",
    "2026年10月5",
    "2026 年 10 月 5 日",
    "2026-10-05 00:00:00",
    "2026-10-05 08:30:15.123",
    "2026-10-05T08:30:00",
    "2026/10/5 8:30",
    "2026年10月5日 8:30",
    "２０２６－１０－０５",
    "２０２６年１０月５日",
    "２０２６/１０/５",
    "  2026-10-05  ",
    "\u30002026-10-05\u3000",
    "\t20261005\n",
])
def test_text_forms(raw):
    assert parse_date(raw) == "2026-10-05"


@pytest.mark.parametrize("raw", [
    dt.date(2026, 10, 5),
    dt.datetime(2026, 10, 5),
    dt.datetime(2026, 10, 5, 23, 59, 59),
    20261005,
    20261005.0,
])
def test_date_objects_and_numbers(raw):
    assert parse_date(raw) == "2026-10-05"


@pytest.mark.parametrize("serial, iso", [
    (10000, "1927-05-18"),
    (25569, "1970-01-01"),
    (36526, "2000-01-01"),
    (45658, "2025-01-01"),
    (46300, "2026-10-05"),
    (46300.0, "2026-10-05"),
    (46300.75, "2026-10-05"),   # a time of day
    ("46300", "2026-10-05"),    # serial written as text
    ("46300.5", "2026-10-05"),
    ("４６３００", "2026-10-05"),
])
def test_excel_serials(serial, iso):
    assert parse_date(serial) == iso


def test_serial_matches_excel_epoch_for_every_day_of_a_year():
    # From serial 61 on, Excel counts days from 1899-12-30.
    for serial in range(46023, 46023 + 366):
        assert parse_date(serial) == (dt.date(1899, 12, 30) + dt.timedelta(days=serial)).isoformat()


@pytest.mark.parametrize("number", [2026, 2026.0, 1, 59, 60, 367, 9999, 9999.5, 0, -1, -46300])
def test_small_numbers_are_no_dates(number):
    # A number cell 2026 in a date column is a year, not Excel serial 2026 (1905-07-18);
    # numbers below 10000 (dates before 1927-05-18) are refused as parse_month does.
    with pytest.raises(FieldError) as info:
        parse_date(number)
    assert "日期" in info.value.reason and "2026-10-05" in info.value.reason


def test_a_year_in_a_date_column_says_the_month_and_day_are_missing():
    with pytest.raises(FieldError, match="缺少月和日"):
        parse_date(2026)


@pytest.mark.parametrize("serial", [0, -1, 2958465, 99999, "99999", 1e12])
def test_serial_out_of_range(serial):
    with pytest.raises(FieldError) as info:
        parse_date(serial)
    assert "日期" in info.value.reason


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000", float("nan")])
def test_empty_date_is_none(empty):
    assert parse_date(empty) is None


@pytest.mark.parametrize("raw", [
    "2026-13-01",
    "2026-02-30",
    "2026/0/5",
    "20260230",
    "2026年2月30日",
    "2026-00-10",
])
def test_impossible_dates(raw):
    with pytest.raises(FieldError) as info:
        parse_date(raw)
    assert raw in info.value.reason
    assert "无法识别" in info.value.reason and "2026-10-05" in info.value.reason


@pytest.mark.parametrize("raw", [
    "10/05/2026",
    "05-10-2026",
    "26-10-05",
    "2026-10",
    "202610",
    "2026",
    "昨天",
    "不详",
    "2026-10-05x",
    "2026-10/05",
    "2026.10-05",
    "1234",
    True,
    dt.time(8, 30),
    dt.timedelta(days=3),
    float("inf"),
])
def test_unrecognised_dates(raw):
    with pytest.raises(FieldError) as info:
        parse_date(raw)
    assert "日期" in info.value.reason and "格式" in info.value.reason


@pytest.mark.parametrize("raw", ["0201-01-01", "1799-12-31", "2201-01-01", dt.date(1, 1, 1)])
def test_implausible_years(raw):
    with pytest.raises(FieldError) as info:
        parse_date(raw)
    assert "合理范围" in info.value.reason


def test_reason_names_the_value():
    with pytest.raises(FieldError) as info:
        parse_date("2026-13-01")
    assert str(info.value).startswith("日期「2026-13-01」无法识别")


def test_repeated_value_gives_same_answer_and_errors_are_not_cached():
    assert parse_date("2026/10/5") == parse_date("2026/10/5") == "2026-10-05"
    for _ in range(2):
        with pytest.raises(FieldError):
            parse_date("2026-02-30")


# --------------------------------------------------------------------------- months

@pytest.mark.parametrize("raw", [
    "202610",
    "2026-10",
    "2026/10",
    "2026.10",
    "2026年10月",
    "2026年10月份",
    "2026 年 10 月",
    " 2026-10 ",
    "２０２６年１０月",
    "２０２６１０",
    "2026-10-05",
    "2026-10-31",
    "2026/10/5",
    "20261005",
    "2026年10月5日",
    "2026-10-05 00:00:00",
    "46300",
    202610,
    202610.0,
    20261005,
    46300,
    46300.0,
    dt.date(2026, 10, 5),
    dt.datetime(2026, 10, 5, 8, 30),
])
def test_month_forms(raw):
    assert parse_month(raw) == "2026-10"


@pytest.mark.parametrize("raw", ["2026-1", "2026/1", "2026年1月", "2026-01", "202601", "2026.01", 2026.01])
def test_one_digit_month(raw):
    assert parse_month(raw) == "2026-01"


@pytest.mark.parametrize("raw, iso", [(2026.05, "2026-05"), (2026.12, "2026-12"), ("2026.5", "2026-05")])
def test_decimal_months(raw, iso):
    assert parse_month(raw) == iso


@pytest.mark.parametrize("raw", [2026.1, "2026.1"])
def test_ambiguous_decimal_month(raw):
    # Excel stores 2026.10 typed into a number cell as 2026.1: October or January?
    with pytest.raises(FieldError) as info:
        parse_month(raw)
    assert "歧义" in info.value.reason and "文本" in info.value.reason


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000", float("nan")])
def test_empty_month_is_none(empty):
    assert parse_month(empty) is None


@pytest.mark.parametrize("raw", ["2026-13", "202613", "2026年0月", "202600", 202613])
def test_impossible_month(raw):
    with pytest.raises(FieldError) as info:
        parse_month(raw)
    assert "月份" in info.value.reason


@pytest.mark.parametrize("raw", [
    "2026", 2026, 2026.0, "10/2026", "十月", "2026-10-35", "2026年", "26-10", True, "2026.123", 2026.123,
])
def test_unrecognised_month(raw):
    with pytest.raises(FieldError) as info:
        parse_month(raw)
    assert "年月" in info.value.reason and "2026-10" in info.value.reason


def test_implausible_month_year():
    with pytest.raises(FieldError, match="合理范围"):
        parse_month("0202-10")


# ---------------------------------------------------------------------------- years

@pytest.mark.parametrize("raw", [
    2026, 2026.0, "2026", " 2026 ", "2026年", "2026年度", "2026 年度", "２０２６", "２０２６年度",
    "2026.0", dt.date(2026, 3, 1),
])
def test_year_forms(raw):
    assert parse_year(raw) == 2026


@pytest.mark.parametrize("empty", [None, "", " ", "\u3000", float("nan")])
def test_empty_year_is_none(empty):
    assert parse_year(empty) is None


@pytest.mark.parametrize("raw", [1899, "1899", 2101, "2101年度", 0, 45000])
def test_year_out_of_range(raw):
    with pytest.raises(FieldError) as info:
        parse_year(raw)
    assert "合理范围" in info.value.reason and "2026" in info.value.reason


@pytest.mark.parametrize("raw", ["26", "二〇二六", "2026-10", "abc", 2026.5, True, "2026年10月"])
def test_unrecognised_year(raw):
    with pytest.raises(FieldError) as info:
        parse_year(raw)
    assert "年度" in info.value.reason and "四位年份" in info.value.reason


# ------------------------------------------------------------------------ properties

def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in s)


def _forms(d: dt.date) -> list[str]:
    y, m, day = d.year, d.month, d.day
    return [
        d.isoformat(),
        f"{y}/{m}/{day}",
        f"{y}/{m:02d}/{day:02d}",
        f"{y}{m:02d}{day:02d}",
        f"{y}.{m:02d}.{day:02d}",
        f"{y}年{m}月{day}日",
        f"{y}年{m}月{day}号",
        f"{d.isoformat()} 00:00:00",
        f"{y}/{m}/{day} 8:30",
        _fullwidth(f"{y}年{m}月{day}日"),
        f"\u3000{d.isoformat()} ",
    ]


dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31))


@given(dates)
def test_every_accepted_form_of_a_date_parses_to_its_iso(d):
    for raw in _forms(d):
        assert parse_date(raw) == d.isoformat(), raw
    serial = (d - dt.date(1899, 12, 30)).days
    if serial >= 10_000:
        assert parse_date(serial) == d.isoformat()
        assert parse_date(float(serial) + 0.25) == d.isoformat()
    else:                       # a number below 10000 is no date (see test_small_numbers…)
        with pytest.raises(FieldError):
            parse_date(serial)


@given(dates)
def test_every_form_of_a_date_gives_its_month(d):
    month = d.isoformat()[:7]
    for raw in _forms(d) + [f"{d.year}-{d.month}", f"{d.year}年{d.month}月", f"{d.year}{d.month:02d}"]:
        assert parse_month(raw) == month, raw


# ------------------------------------------------- times, weekdays, Chinese numerals

@pytest.mark.parametrize("raw", [
    "2026-11-05 00:00:00",
    "20261105000000",
    "20261105083015",
    "2026-11-05T00:00:00",
    "2026-11-05T00:00:00+08:00",
    "2026-11-05T23:59:59+0800",
    "2026-11-05T00:00:00Z",
    "2026-11-05 00:00:00.000",
    "2026-11-05 23:59",
    "2026/11/5 0:00",
    "二〇二六年十一月五日",
    "二零二六年十一月五日",
    "2026年11月5日星期四",
    "2026年11月5日 星期四",
    "2026-11-05 星期四",
    "2026-11-05（星期四）",
    "2026-11-05 周四",
    "2026年11月5日礼拜四",
    "2026-11-05 00:00:00 星期四",
])
def test_forms_clerks_write(raw):
    assert parse_date(raw) == "2026-11-05", raw
    assert parse_month(raw) == "2026-11", raw


@pytest.mark.parametrize("raw, iso", [
    ("二〇二六年一月三十一日", "2026-01-31"),
    ("二〇二六年十二月二十日", "2026-12-20"),
    ("一九五五年二月二十八日", "1955-02-28"),
    ("二〇二四年二月廿九日", "2024-02-29"),
    ("二〇〇〇年十月十日", "2000-10-10"),
    ("二〇二六年10月5日", "2026-10-05"),
])
def test_chinese_numeral_dates(raw, iso):
    assert parse_date(raw) == iso


@pytest.mark.parametrize("raw", ["二〇二六年十一月", "二零二六年十一月份"])
def test_chinese_numeral_months(raw):
    assert parse_month(raw) == "2026-11"


@pytest.mark.parametrize("raw", [
    "2026-11-05 99:99",
    "2026-11-05 24:00",
    "2026-11-05 12:60",
    "2026-11-05 12:30:61",
    "2026-11-05T25:00:00",
    "20261105990000",
    "20261105240000",
    "2026-11-05T00:00:00+25:00",
    "2026年11月5日 8:75",
])
def test_impossible_times_are_refused(raw):
    with pytest.raises(FieldError) as info:
        parse_date(raw)
    assert "时间" in info.value.reason
    with pytest.raises(FieldError):
        parse_month(raw)


@pytest.mark.parametrize("raw", ["2026年11月5日星期五", "2026-11-05 周日", "2026-11-05（星期一）"])
def test_a_weekday_that_contradicts_the_date_is_refused(raw):
    with pytest.raises(FieldError) as info:
        parse_date(raw)
    assert "星期" in info.value.reason


@pytest.mark.parametrize("raw", [
    "二〇二六年十三月五日", "二〇二六年二月三十日", "二〇二六年十一月三十二日", "二〇二六年零月五日",
    "二六年十一月五日", "二〇二六年十十月五日", "二〇二六年十一月初五",
])
def test_impossible_chinese_numeral_dates(raw):
    with pytest.raises(FieldError):
        parse_date(raw)


@pytest.mark.parametrize("raw", [
    "2026-1¹-05", "2026-11-0⑤", "2026-11-0５", "²⁰²⁶-11-05", "2026年11月⑤日",
])
def test_superscript_and_circled_digits_are_not_digits(raw):
    if "５" in raw:                       # full-width digits are ordinary digits
        assert parse_date(raw) == "2026-11-05"
        return
    with pytest.raises(FieldError) as info:
        parse_date(raw)
    assert "数字" in info.value.reason
