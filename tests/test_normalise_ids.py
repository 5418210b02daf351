"""Citizen ID numbers: normalising, GB 11643 validation, 15→18, masking."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from station.normalise import (
    FieldError,
    birth_date_from_id,
    check_char,
    is_valid_id,
    looks_like_id,
    mask_id,
    mask_ids_in_text,
    normalise_id,
)

PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
             "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
             "65", "71", "81", "82", "83"]

# A published example of a valid ID (check character X).
KNOWN_VALID = "11010519491231002X"


def slow_check_char(first17: str) -> str:
    """The textbook GB 11643 computation, independent of the fast one under test."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(first17, weights))
    return "10X98765432"[total % 11]


def make_id(region: str = "420105", birth: str = "19800101", seq: str = "123") -> str:
    first17 = region + birth + seq
    return first17 + slow_check_char(first17)


# ------------------------------------------------------------------ check character

def test_check_char_of_known_valid_id():
    assert check_char(KNOWN_VALID[:17]) == "X"


@pytest.mark.parametrize("first17, expected", [
    ("11010519491231002", "X"),
    ("42010519800101123", slow_check_char("42010519800101123")),
])
def test_check_char_examples(first17, expected):
    assert check_char(first17) == expected


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_matches_textbook_formula(first17):
    assert check_char(first17) == slow_check_char(first17)


def test_check_char_covers_every_residue():
    seen = {check_char(f"4201051980010{n:04d}") for n in range(200)}
    assert seen == set("0123456789X")


# ------------------------------------------------------------------------ validity

def test_known_valid_id_is_valid():
    assert is_valid_id(KNOWN_VALID)
    assert normalise_id(KNOWN_VALID) == (KNOWN_VALID, True)


def test_constructed_id_is_valid():
    s = make_id()
    assert is_valid_id(s)
    assert normalise_id(s) == (s, True)


def test_wrong_check_char_is_invalid():
    s = make_id()
    wrong = s[:17] + ("0" if s[17] != "0" else "1")
    assert not is_valid_id(wrong)


@pytest.mark.parametrize("bad_birth", ["19800230", "19801301", "19800100", "18491231"])
def test_impossible_or_implausible_birth_date_is_invalid(bad_birth):
    s = make_id(birth=bad_birth)  # correct check character, bad date
    assert s[17] == check_char(s[:17])
    assert not is_valid_id(s)


def test_birth_date_in_the_future_is_invalid():
    future = (dt.date.today() + dt.timedelta(days=400)).strftime("%Y%m%d")
    assert not is_valid_id(make_id(birth=future))


def test_birth_date_1850_is_allowed():
    assert is_valid_id(make_id(birth="18500101"))


@pytest.mark.parametrize("s", [
    "",
    "11010519491231002x",        # lower-case x: is_valid_id expects the normalised form
    "1101051949123100X2",        # X not last
    "11010519491231002",         # 17 chars
    "110105194912310021X",       # 19 chars
    "１１０１０５１９４９１２３１００２X",  # full-width: not normalised
])
def test_is_valid_id_rejects_non_normalised_or_malformed(s):
    assert not is_valid_id(s)


def test_is_valid_id_of_non_string_is_false():
    assert not is_valid_id(None)  # type: ignore[arg-type]
    assert not is_valid_id(110105194912310021)  # type: ignore[arg-type]


# --------------------------------------------------------------------- normalise_id

@pytest.mark.parametrize("raw", [
    "11010519491231002x",
    " 11010519491231002X ",
    "\u300011010519491231002X\u3000",
    "\t11010519491231002x\n",
    "110105 19491231 002X",
    "１１０１０５１９４９１２３１００２Ｘ",
    "１１０１０５１９４９１２３１００２ｘ",
    "\ufeff11010519491231002X",
    "11010519491231002\u200bX",
    "11010519491231002X\xa0",
])
def test_real_world_forms_normalise_to_valid_id(raw):
    assert normalise_id(raw) == (KNOWN_VALID, True)


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000", "\t\n", float("nan")])
def test_empty_is_none(empty):
    assert normalise_id(empty) is None


def test_invalid_check_char_is_kept_as_written_and_flagged():
    s = make_id()
    wrong = s[:17] + ("0" if s[17] != "0" else "1")
    assert normalise_id(" " + wrong.lower() + " ") == (wrong, False)


def test_bad_date_id_is_kept_and_flagged():
    s = make_id(birth="19800230")
    assert normalise_id(s) == (s, False)


@pytest.mark.parametrize("raw, kept", [
    ("42010519800101123", "42010519800101123"),    # 17 digits
    ("4201051980010112345", "4201051980010112345"),  # 19 digits
    ("4201051980010112AB", "4201051980010112AB"),
    ("abc", "ABC"),
    ("不详", "不详"),
    ("12.5", "12.5"),
])
def test_malformed_ids_are_kept_not_dropped(raw, kept):
    assert normalise_id(raw) == (kept, False)


def test_int_cell_is_exact():
    s = next(make_id(seq=f"{n:03d}") for n in range(100) if make_id(seq=f"{n:03d}")[17] != "X")
    assert normalise_id(int(s)) == (s, True)
    assert normalise_id(420105800101123) == normalise_id("420105800101123")


def test_bool_cell_is_refused():
    with pytest.raises(FieldError, match="不是号码"):
        normalise_id(True)


# -------------------------------------------------------------------------- 15 → 18

def test_fifteen_digit_id_converts_to_eighteen():
    result = normalise_id("420105800101123")
    first17 = "42010519800101123"
    assert result == (first17 + slow_check_char(first17), True)


def test_fifteen_digit_full_width_with_spaces_converts():
    assert normalise_id(" ４２０１０５８００１０１１２３ ") == normalise_id("420105800101123")


def test_fifteen_digit_id_with_bad_date_is_kept():
    assert normalise_id("420105801301123") == ("420105801301123", False)
    assert normalise_id("420105800230123") == ("420105800230123", False)


def test_fifteen_digit_number_from_excel_is_exact_and_converts():
    # Calamine reads a numeric cell as a float; 15 digits survive a double exactly.
    assert normalise_id(420105800101123.0) == normalise_id("420105800101123")
    assert normalise_id("420105800101123.0") == normalise_id("420105800101123")


# --------------------------------------------------------- numbers that lost digits

@pytest.mark.parametrize("raw", [
    4.2010519800101E+17,
    420105198001011234.0,
    1e16,
    float("inf"),
    "4.2010519800101E+17",
    "4.20105E17",
    "4.2010519800101e+17",
    " 4.2010519800101E+17 ",
    "４.２０１０５１９８００１０１Ｅ+１７",
    "420105198001011234.0",
    "420105198001011234.00",
    "4201051980010112.0",
])
def test_id_turned_into_number_is_refused(raw):
    with pytest.raises(FieldError) as info:
        normalise_id(raw)
    reason = info.value.reason
    assert "Excel" in reason and "无法恢复" in reason and "文本" in reason
    assert str(info.value) == reason


def test_refusal_reason_shows_the_value():
    with pytest.raises(FieldError, match=r"4\.2010519800101E\+17"):
        normalise_id("4.2010519800101E+17")


def test_field_error_is_a_value_error():
    assert issubclass(FieldError, ValueError)


# ----------------------------------------------------------------------- birth date

def test_birth_date_from_id():
    assert birth_date_from_id(KNOWN_VALID) == dt.date(1949, 12, 31)
    assert birth_date_from_id(make_id(birth="20000229")) == dt.date(2000, 2, 29)


@pytest.mark.parametrize("s", [make_id(birth="19000229"), "420105800101123", "", "abc"])
def test_birth_date_from_id_none_when_no_date(s):
    assert birth_date_from_id(s) is None


# ----------------------------------------------------------------------- looks_like

@pytest.mark.parametrize("s", [
    KNOWN_VALID, "11010519491231002x", " 11010519491231002X ", "420105800101123",
    "１１０１０５１９４９１２３１００２Ｘ", make_id(birth="19800230"),
    "110105194912310021",
])
def test_looks_like_id(s):
    assert looks_like_id(s)


@pytest.mark.parametrize("s", [
    "", "DH-2026-001", "91420100MA4K1234X5", "4201058001011234", "42010519800101123",
    "1101051949123100XX", "X10105194912310021", "12345", None,
])
def test_does_not_look_like_id(s):
    assert not looks_like_id(s)


# ------------------------------------------------------------------------- masking

def test_mask_eighteen():
    assert mask_id("420105198001011234") == "420105********1234"
    assert mask_id(KNOWN_VALID) == "110105********002X"


def test_mask_fifteen():
    # 6 region digits, 6 birth digits (YYMMDD), 3 sequence digits: no birth digit shows.
    assert mask_id("420105800101123") == "420105******123"


@pytest.mark.parametrize("s, masked", [
    (None, ""),
    ("", ""),
    ("A", "*"),
    ("AB", "A*"),
    ("ABC", "A**"),
    ("ABCD", "A**D"),
    ("ABCDE", "AB*DE"),
    ("4201051980", "42******80"),
])
def test_mask_other(s, masked):
    assert mask_id(s) == masked


@pytest.mark.parametrize("s", ["ABCD", "4201051980", "420105800101123", KNOWN_VALID, "不详"])
def test_mask_never_shows_a_short_value_whole(s):
    masked = mask_id(s)
    assert len(masked) == len(s) and "*" in masked


# ------------------------------------------------------------------------ properties

def _fullwidth(c: str) -> str:
    return chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c


@st.composite
def valid_ids(draw):
    birth = draw(st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date.today()))
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    seq = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return make_id(region, birth.strftime("%Y%m%d"), seq)


@st.composite
def messy(draw, s: str):
    out = []
    for c in s:
        if draw(st.booleans()):
            c = c.lower()
        if draw(st.integers(0, 3)) == 0:
            c = _fullwidth(c)
        out.append(c)
        out.append(draw(st.sampled_from(["", "", "", " ", "\u3000", "\t"])))
    pad = st.sampled_from(["", " ", "\u3000", "  \t"])
    return draw(pad) + "".join(out) + draw(pad)


@given(st.data())
def test_messy_valid_id_normalises_to_itself_and_valid(data):
    s = data.draw(valid_ids())
    raw = data.draw(messy(s))
    assert normalise_id(raw) == (s, True)
    assert looks_like_id(raw)


@given(valid_ids())
def test_single_digit_change_invalidates(s):
    # GB 11643's check catches every single-character substitution.
    for pos in (0, 9, 16):
        changed = s[:pos] + str((int(s[pos]) + 1) % 10) + s[pos + 1:]
        assert not is_valid_id(changed)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)),
       st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_fifteen_to_eighteen_property(birth, seq):
    fifteen = "420105" + birth.strftime("%y%m%d") + seq
    result = normalise_id(fifteen)
    assert result is not None
    eighteen, valid = result
    assert valid and len(eighteen) == 18
    assert birth_date_from_id(eighteen) == birth
    assert eighteen[:6] + eighteen[8:17] == fifteen


def _oracle_birth_ok(birth: str) -> bool:
    try:
        d = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        return False
    return 1850 <= d.year and d <= dt.date.today()


@pytest.mark.parametrize("birth", [
    "19800228", "19800229", "19810229", "20000229", "19000229", "19800131", "19800431",
    "19800430", "19801231", "19801232", "19800001", "19801301", "19800100", "19801300",
    "20191231", "20200101", "18491231", "18500101", "21000101", "00000000", "99999999",
])
def test_birth_date_edges_agree_with_calendar(birth):
    s = make_id(birth=birth)
    assert is_valid_id(s) == _oracle_birth_ok(birth)
    assert normalise_id(s) == (s, _oracle_birth_ok(birth))


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.sampled_from(["0", "1", "2", "3"]))
def test_any_birth_string_is_judged_like_the_calendar(birth, seq_start):
    # Also exercises check characters X (some seq values) on the fast path.
    for seq in (seq_start + "00", seq_start + "17", seq_start + "55"):
        s = make_id(birth=birth, seq=seq)
        assert normalise_id(s) == (s, _oracle_birth_ok(birth))


@given(st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_any_real_date_is_judged_like_the_calendar(d):
    s = make_id(birth=d.strftime("%Y%m%d"))
    assert normalise_id(s) == (s, d <= dt.date.today())


# ------------------------------------------------------------ province, odd digits

@pytest.mark.parametrize("region", ["000000", "100000", "990426", "190101", "240101", "470101", "700101",
                                    "800101", "840101", "900101"])
def test_an_unknown_province_is_invalid(region):
    s = make_id(region=region)
    assert normalise_id(s) == (s, False)
    assert not is_valid_id(s)


@pytest.mark.parametrize("region", [p + "0101" for p in PROVINCES] + ["911100", "944030"])
def test_every_province_and_permanent_residence_prefix_is_valid(region):
    # 81/82/83: residence permits of Hong Kong, Macao and Taiwan residents; 9 + a province:
    # foreigners' permanent residence ID cards (2023 format).
    s = make_id(region=region)
    assert normalise_id(s) == (s, True)


@pytest.mark.parametrize("odd", ["²", "⁷", "⑦", "⒎", "⑺", "₇"])
def test_superscript_or_circled_digits_never_make_a_valid_id(odd):
    s = make_id()
    raw = s[:16] + odd + s[17:]
    result = normalise_id(raw)
    assert result is not None and result[1] is False


# --------------------------------------------------------------- IDs in free text

ID = "440303196712219567"
assert ID[17] == check_char(ID[:17])
BIRTH = ID[6:14]


def _fw(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in s)


@pytest.mark.parametrize("text", [
    f"备注：{ID}",
    f"ID{ID}",
    f"身份证号{ID}号",
    f"张三_{ID}.csv",
    f"{ID[:6]} {ID[6:14]} {ID[14:]}",
    f"{ID[:6]}-{ID[6:10]}-{ID[10:14]}-{ID[14:]}",
    f"{ID[:6]}－{ID[6:14]}－{ID[14:]}",
    f"{ID[:4]} {ID[4:8]} {ID[8:12]} {ID[12:16]} {ID[16:]}",
    f"{ID[:6]}　{ID[6:14]}　{ID[14:]}",
    f"{ID[:6]} - {ID[6:14]} - {ID[14:]}",
    _fw(ID),
    "ID" + _fw(ID),
    ID[:10] + _fw(ID[10]) + ID[11:],
    ID[:17] + "Ｘ",
    _fw(ID[:17]) + "ｘ",
    ID[:8] + "​" + ID[8:],
    f"两人：{ID}，{ID[:17]}X",
])
def test_ids_in_text_are_masked_with_their_birth_date_hidden(text):
    masked = mask_ids_in_text(text)
    flat = "".join(c for c in masked if c.isalnum())
    import unicodedata
    flat = unicodedata.normalize("NFKC", flat)
    assert BIRTH not in flat and ID[6:12] not in flat, masked
    assert "*" in masked


@pytest.mark.parametrize("text, expected", [
    (f"ID{ID}", f"ID{ID[:6]}********{ID[14:]}"),
    (f"{ID[:6]} {ID[6:14]} {ID[14:]}", f"{ID[:6]}********{ID[14:]}"),
    ("旧号 440303671221956 已换", "旧号 440303******956 已换"),
    ("金额 1234.50 元，电话 13800138000", "金额 1234.50 元，电话 13800138000"),
    ("流水号 P2026100000001", "流水号 P2026100000001"),
    ("", ""),
    (None, ""),
])
def test_mask_ids_in_text_examples(text, expected):
    assert mask_ids_in_text(text) == expected


def test_a_full_id_in_a_name_field_is_masked():
    # Swapped columns put an ID where the name should be; callers mask any text with it.
    assert mask_ids_in_text(ID) == mask_id(ID)
    assert mask_ids_in_text("440303671221956") == "440303******956"


@pytest.mark.parametrize("n", [16, 17, 19])
def test_id_like_runs_of_other_lengths_show_only_their_last_four(n):
    run = (ID + "1234")[:n]
    assert mask_ids_in_text(f"号码{run}。") == f"号码{'*' * (n - 4)}{run[-4:]}。"


_SEPS = st.sampled_from(["", "", "", " ", "-", "　", "－", " - ", "​", "—"])


@st.composite
def hidden_ids(draw):
    s = draw(valid_ids())
    out = []
    for i, c in enumerate(s):
        if draw(st.integers(0, 4)) == 0:
            c = _fw(c)
        if c in "Xx" and draw(st.booleans()):
            c = c.lower()
        out.append(c)
        if i < 17:
            out.append(draw(_SEPS))
    return s, "".join(out)


_AROUND = st.text(alphabet="张三李四备注IDid号：,，。 _-()abcXYZ", max_size=8)


@given(hidden_ids(), _AROUND, _AROUND)
def test_no_id_in_text_survives_masking(pair, before, after):
    import unicodedata
    s, written = pair
    masked = mask_ids_in_text(before + written + after)
    flat = unicodedata.normalize("NFKC", "".join(c for c in masked if c.isalnum()))
    assert s[6:14] not in flat, masked
    assert s not in flat
