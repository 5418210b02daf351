"""Amounts, integers, text, names, codes, subjects, levels, name comparison, NORMALISERS."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from station.kinds.spec import KINDS
from station.normalise import (
    NORMALISERS,
    FieldError,
    names_equal,
    names_homophone,
    normalise_code,
    normalise_credit_code,
    normalise_id,
    normalise_name,
    normalise_subject,
    normalise_text,
    parse_amount,
    parse_date,
    parse_int,
    parse_level,
    parse_month,
    parse_year,
)

KNOWN_VALID = "11010519491231002X"


# -------------------------------------------------------------------------- amounts

@pytest.mark.parametrize("raw, expected", [
    ("1234.50", 1234.5),
    ("1,234.50", 1234.5),
    ("12,345,678.9", 12345678.9),
    ("￥1234.5", 1234.5),
    ("¥1234.5", 1234.5),
    ("￥1,234.50", 1234.5),
    ("1234.5元", 1234.5),
    ("¥ 1,234.50 元", 1234.5),
    ("人民币1234.5元", 1234.5),
    ("RMB 1234.5", 1234.5),
    (" 1234 ", 1234.0),
    ("\u30001234\u3000", 1234.0),
    ("１２３４.５", 1234.5),
    ("１，２３４．５０", 1234.5),
    ("-12.5", -12.5),
    ("+12.5", 12.5),
    ("-¥12.5", -12.5),
    ("12元", 12.0),
    ("1,234.50元", 1234.5),
    ("¥12元", 12.0),
    ("１２３４．５元", 1234.5),
    ("(12)", -12.0),          # the accounting convention: brackets are a minus sign
    ("(¥12.50)", -12.5),
    ("(12.50元)", -12.5),
    ("¥-12.5", -12.5),
    ("(12.50)", -12.5),
    ("（12.50）", -12.5),
    (".5", 0.5),
    ("12.", 12.0),
    ("0", 0.0),
    ("1.23E+05", 123000.0),   # Excel's General format for large numbers
    (1234, 1234.0),
    (1234.5, 1234.5),
    (Decimal("1234.505"), 1234.51),
])
def test_amount_forms(raw, expected):
    result = parse_amount(raw)
    assert result == expected
    assert isinstance(result, float)


@pytest.mark.parametrize("raw, expected", [
    ("2.675", 2.68),       # half up on the written decimal, not 2.67 from binary
    ("2.665", 2.67),
    ("-2.675", -2.68),
    ("1,234.565", 1234.57),
    ("0.001", 0.0),
    (2.675, 2.68),
    (1234.5000000001, 1234.5),
    (0.1 + 0.2, 0.3),
])
def test_amount_rounds_to_cents(raw, expected):
    assert parse_amount(raw) == expected


LIMIT = 1e12     # yuan; DOMAIN.md: amounts beyond it are refused where they enter


@pytest.mark.parametrize("raw", [
    "1000000000000.01", "1,000,000,000,001", "1e13", "-1e13", "1.7976931348623157e308",
    1.7976931348623157e308, -1.7976931348623157e308, 1e300, 10**13, -(10**13), Decimal("1e13"),
    "99999999999999999999", "1" * 400,
])
def test_absurd_amounts_are_refused(raw):
    with pytest.raises(FieldError) as info:
        parse_amount(raw)
    assert "金额" in info.value.reason and "超出" in info.value.reason


@pytest.mark.parametrize("raw, expected", [
    ("999999999999.99", 999999999999.99), ("1000000000000", 1e12), (10**12, 1e12),
    ("-1,000,000,000,000.00", -1e12), (999999999999.99, 999999999999.99),
])
def test_amounts_up_to_the_limit_are_kept(raw, expected):
    assert parse_amount(raw) == expected


@given(st.one_of(st.floats(), st.integers(), st.decimals(),
                 st.text(alphabet="0123456789.,-+eE()¥元 ", max_size=40)))
def test_every_accepted_amount_is_finite_and_bounded(raw):
    try:
        value = parse_amount(raw)
    except FieldError:
        return
    assert value is None or (math.isfinite(value) and abs(value) <= LIMIT)


def test_amount_has_no_negative_zero():
    assert str(parse_amount("-0.001")) == "0.0"


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000", float("nan")])
def test_empty_amount_is_none(empty):
    assert parse_amount(empty) is None


@pytest.mark.parametrize("raw", [
    "1234²", "①", "⑫", "1²3", "¹²", "⑴", "⒈", "12³.5", "(-12)", "(+12)", "（-12）", "(¥-12)", "-(12)",
    "abc", "十二元", "1.2万", "12 34", "1 234.5", "1,23", "1,2345.6", "12.5.3", "--12", "-¥-12", "(12.5", "¥", "元",
    "nan", "NaN", "inf", "-Infinity", float("inf"), float("-inf"), True, Decimal("NaN"),
    dt.date(2026, 10, 5),
])
def test_bad_amounts(raw):
    with pytest.raises(FieldError) as info:
        parse_amount(raw)
    assert "金额" in info.value.reason and "1,234.50" in info.value.reason


# ------------------------------------------------------------------------- integers

@pytest.mark.parametrize("raw, expected", [
    ("3", 3), (3, 3), (3.0, 3), (" 3 ", 3), ("3页", 3), ("3 页", 3), ("12件", 12), ("３", 3),
    ("３页", 3), ("1,200", 1200), ("3.0", 3), ("-2", -2), ("0", 0),
])
def test_int_forms(raw, expected):
    result = parse_int(raw)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("empty", [None, "", " ", "\u3000", float("nan")])
def test_empty_int_is_none(empty):
    assert parse_int(empty) is None


@pytest.mark.parametrize("raw", ["3.5", 3.5, "三", "abc", "3页半", "1,20", True, "3 4", dt.date(2026, 1, 1),
                                 "3²", "③", "1²", "⑶页"])
def test_bad_ints(raw):
    with pytest.raises(FieldError) as info:
        parse_int(raw)
    assert "整数" in info.value.reason


# ----------------------------------------------------------------------------- text

@pytest.mark.parametrize("raw, expected", [
    ("基本养老金", "基本养老金"),
    ("  基本养老金  ", "基本养老金"),
    ("\u3000死亡\u3000", "死亡"),
    ("武汉市  江汉区\t\t某街道", "武汉市 江汉区 某街道"),
    ("第一\u3000\u3000中学", "第一 中学"),
    ("ＡＢＣ（测试）", "ABC(测试)"),
    ("a\u200bb", "ab"),
    ("line1\nline2", "line1 line2"),
    ("\xa0x\xa0", "x"),
    (3, "3"),
    (3.0, "3"),
    (3.5, "3.5"),
    (dt.date(2026, 10, 5), "2026-10-05"),
    (dt.datetime(2026, 10, 5), "2026-10-05"),
    (dt.datetime(2026, 10, 5, 8, 30), "2026-10-05 08:30:00"),
    (True, "TRUE"),
])
def test_text(raw, expected):
    assert normalise_text(raw) == expected


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000\u3000", "\t\n", "\u200b", float("nan")])
def test_empty_text_is_none(empty):
    assert normalise_text(empty) is None


# ---------------------------------------------------------------------------- names

@pytest.mark.parametrize("raw, expected", [
    ("张伟", "张伟"),
    (" 张伟 ", "张伟"),
    ("张 伟", "张伟"),
    ("张\u3000伟", "张伟"),
    ("张\xa0伟", "张伟"),
    ("张\u200b伟", "张伟"),
    ("\ufeff张伟", "张伟"),
    ("张\t伟\n", "张伟"),
    ("ＺＨＡＮＧ Ｗｅｉ", "ZHANGWei"),
    ("阿卜杜·热合曼", "阿卜杜·热合曼"),
    ("武汉市某某有限公司（分公司）", "武汉市某某有限公司(分公司)"),
])
def test_names(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000", "\u200b"])
def test_empty_name_is_none(empty):
    assert normalise_name(empty) is None


def test_names_equal():
    assert names_equal("张伟", " 张\u3000伟 ")
    assert names_equal("ＡＢ", "AB")
    assert not names_equal("张伟", "张玮")
    assert not names_equal(None, None)
    assert not names_equal("", "")
    assert not names_equal("张伟", None)


def test_names_homophone():
    assert names_homophone("张伟", "张玮")
    assert names_homophone("张伟", " 张 玮 ")
    assert names_homophone("张伟", "张伟")
    assert names_homophone("李娜", "李纳")
    assert not names_homophone("张伟", "张强")
    assert not names_homophone("张伟", "章伟伟")
    assert not names_homophone("张伟", "")
    assert not names_homophone(None, None)


# ---------------------------------------------------------------------------- codes

@pytest.mark.parametrize("raw, expected", [
    ("91420100ma4k1234x5", "91420100MA4K1234X5"),
    (" 91420100MA4K1234X5 ", "91420100MA4K1234X5"),
    ("９１４２０１００ＭＡ４Ｋ１２３４Ｘ５", "91420100MA4K1234X5"),
    ("9142 0100\u3000MA4K 1234X5", "91420100MA4K1234X5"),
    ("dw-001", "DW-001"),
    ("001143", "001143"),     # leading zeros survive
    (123.0, "123"),
    (123, "123"),
    (12.5, "12.5"),
    (420105800101123.0, "420105800101123"),
])
def test_codes(raw, expected):
    assert normalise_code(raw) == expected


@pytest.mark.parametrize("empty", [None, "", " ", "\u3000", float("nan")])
def test_empty_code_is_none(empty):
    assert normalise_code(empty) is None


@pytest.mark.parametrize("raw", [9.1420100123456e17, "9.14201E+17", "9.1420100123456E+17"])
def test_code_turned_into_number_is_refused(raw):
    with pytest.raises(FieldError) as info:
        normalise_code(raw)
    assert "Excel" in info.value.reason and "文本" in info.value.reason


@pytest.mark.parametrize("raw", ["U²", "P000①", "4403031967122195⁶⁷", "A⑴"])
def test_codes_with_superscript_or_circled_digits_are_refused(raw):
    # NFKC would make "U²" the code "U2": a different unit. An archive subject the same.
    with pytest.raises(FieldError) as info:
        normalise_code(raw)
    assert "数字" in info.value.reason
    with pytest.raises(FieldError):
        normalise_subject(raw)


# ------------------------------------------------------------------------- subjects

@pytest.mark.parametrize("raw, expected", [
    (KNOWN_VALID, KNOWN_VALID),
    ("11010519491231002x", KNOWN_VALID),
    (" １１０１０５１９４９１２３１００２ｘ ", KNOWN_VALID),
    ("420105800101123", normalise_id("420105800101123")[0]),
    (420105800101123.0, normalise_id("420105800101123")[0]),
    ("420105800101123.0", normalise_id("420105800101123")[0]),
    ("110105194912310021", "110105194912310021"),   # invalid ID kept as written
    ("dw-001", "DW-001"),
    (" DW 001 ", "DW001"),
    (1001.0, "1001"),
    (1001, "1001"),
])
def test_subjects(raw, expected):
    assert normalise_subject(raw) == expected


@pytest.mark.parametrize("empty", [None, "", "  ", float("nan")])
def test_empty_subject_is_none(empty):
    assert normalise_subject(empty) is None


@pytest.mark.parametrize("raw", [4.2010519800101e17, "4.2010519800101E+17", "420105198001011234.0"])
def test_subject_turned_into_number_is_refused(raw):
    with pytest.raises(FieldError) as info:
        normalise_subject(raw)
    assert "Excel" in info.value.reason and "无法恢复" in info.value.reason


# --------------------------------------------------------------------------- levels

@pytest.mark.parametrize("raw, expected", [
    ("一级", "一级"), ("二级", "二级"), ("三级", "三级"), ("四级", "四级"),
    ("1级", "一级"), ("2级", "二级"), ("３级", "三级"), ("4 级", "四级"),
    ("壹级", "一级"), ("贰级", "二级"), ("叁级", "三级"), ("肆级", "四级"),
    ("一", "一级"), ("二", "二级"),
    ("1", "一级"), ("4", "四级"), (" 2 ", "二级"), ("2.0", "二级"),
    (1, "一级"), (2, "二级"), (3.0, "三级"), (4.0, "四级"),
    ("Ⅰ级", "一级"), ("Ⅱ级", "二级"), ("Ⅲ级", "三级"), ("Ⅳ级", "四级"), ("IV", "四级"), ("ii级", "二级"),
    ("二级残疾", "二级"), ("残疾等级二级", "二级"), ("等级：3级", "三级"),
    ("一级（极重度）", "一级"), ("四级(轻度)", "四级"),
    ("极重度", "一级"), ("重度", "二级"), ("中度", "三级"), ("轻度", "四级"),
])
def test_levels(raw, expected):
    assert parse_level(raw) == expected


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000", float("nan")])
def test_empty_level_is_none(empty):
    assert parse_level(empty) is None


@pytest.mark.parametrize("raw", ["五级", "5级", "5", 5, 0, "0", "伍级", "V级", "Ⅴ级", "特级", "abc", 1.5, True, "12级"])
def test_unknown_levels(raw):
    with pytest.raises(FieldError) as info:
        parse_level(raw)
    assert "残疾等级" in info.value.reason and "一级至四级" in info.value.reason


def test_contradictory_level_and_severity():
    with pytest.raises(FieldError, match="不一致"):
        parse_level("一级（轻度）")


# ---------------------------------------------------------------------- NORMALISERS

def test_normalisers_cover_every_field_type_in_the_spec():
    used = {f.type for kind in KINDS.values() for f in kind.fields}
    assert used <= set(NORMALISERS)
    assert set(NORMALISERS) == {
        "id", "name", "text", "code", "subject", "date", "month", "year", "amount", "int", "level",
        "account", "credit_code",
    }


def test_normalisers_map_to_the_right_functions():
    assert NORMALISERS["id"] is normalise_id
    assert NORMALISERS["date"] is parse_date
    assert NORMALISERS["month"] is parse_month
    assert NORMALISERS["year"] is parse_year
    assert NORMALISERS["amount"] is parse_amount
    assert NORMALISERS["level"] is parse_level
    assert NORMALISERS["subject"] is normalise_subject


@pytest.mark.parametrize("kind", sorted(NORMALISERS))
@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000"])
def test_every_normaliser_maps_empty_to_none(kind, empty):
    assert NORMALISERS[kind](empty) is None


# ------------------------------------------------------------------------ properties

def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False))
def test_amount_in_any_written_form_parses_to_its_value(d):
    value = float(d)
    plain = f"{d:.2f}"
    grouped = f"{d:,.2f}"
    forms = [plain, grouped, f"￥{grouped}", f"{plain}元", f" {plain} ", _fullwidth(grouped)]
    for raw in forms:
        assert parse_amount(raw) == value, raw


@given(st.text(alphabet=st.sampled_from("张王李伟玮娜AbＣ1 \u3000\t\xa0\u200b"), max_size=12))
def test_name_normalisation_is_idempotent_and_whitespace_free(s):
    n = normalise_name(s)
    if n is not None:
        assert normalise_name(n) == n
        assert not any(c.isspace() for c in n) and "\u200b" not in n
        assert names_equal(s, n)


@given(st.text(max_size=30))
def test_text_normalisation_is_idempotent(s):
    n = normalise_text(s)
    if n is not None:
        assert normalise_text(n) == n
        assert n == n.strip() and "  " not in n


# ----------------------------------------------------------------- credit codes

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def textbook_uscc_check(body17: str) -> str:
    """GB 32100-2015: weights 3**i mod 31, check = 31 - sum mod 31 (31 → 0)."""
    total = sum(USCC_ALPHABET.index(c) * (3 ** i % 31) for i, c in enumerate(body17))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def make_uscc(body17: str = "91440303MA5FXXK4X") -> str:
    return body17 + textbook_uscc_check(body17)


@pytest.mark.parametrize("raw", [
    "91110000600037341L", "91110000600037341l", " 91110000600037341L ", "9111 0000 6000 3734 1L",
    "91-110000-600037341L", "９１１１００００６０００３７３４１Ｌ", "91110000600037341L\u200b",
    "\u300091110000 600037341L",
])
def test_credit_code_forms(raw):
    assert normalise_credit_code(raw) == "91110000600037341L"


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000", "-"])
def test_empty_credit_code_is_none(empty):
    assert normalise_credit_code(empty) is None


@pytest.mark.parametrize("raw, why", [
    ("91110000600037341N", "校验"),                 # wrong check character
    ("91110000600037314L", "校验"),                 # two characters swapped
    ("9111000060003734L", "18 位"),                 # one character missing
    ("91110000600037341LL", "18 位"),
    ("9111000060003I341L", "字母"),                 # I, O, Z, S, V are never used
    ("91110000O00037341L", "字母"),
    ("911100006000S7341L", "字母"),
    ("91A10000600037341L", "行政区划"),            # the region code is six digits
    ("91110000600037341²", "数字"),
    (9.111e17, "Excel"),
    ("9.111E+17", "Excel"),
])
def test_mistyped_credit_codes_get_a_reason(raw, why):
    with pytest.raises(FieldError) as info:
        normalise_credit_code(raw)
    assert "统一社会信用代码" in info.value.reason and why in info.value.reason


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_credit_code_check_matches_the_textbook_and_catches_one_typo(body17):
    code = body17 + textbook_uscc_check(body17)
    if not body17[2:8].isdigit():
        return
    assert normalise_credit_code(code) == code
    for pos in (0, 9, 17):
        wrong = code[:pos] + USCC_ALPHABET[(USCC_ALPHABET.index(code[pos]) + 1) % 31] + code[pos + 1:]
        if pos != 17 and not wrong[2:8].isdigit():
            continue
        with pytest.raises(FieldError):
            normalise_credit_code(wrong)


def test_credit_code_is_a_field_type_of_units_and_enterprises():
    assert NORMALISERS["credit_code"] is normalise_credit_code
    for kind in ("units", "enterprises"):
        assert {f.column: f.type for f in KINDS[kind].fields}["credit_code"] == "credit_code"
