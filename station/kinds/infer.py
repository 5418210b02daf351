"""Inference behind header recognition: matching header spellings and typing columns.

Three ways to say which field a column holds, each with a confidence in [0, 1] and a
Chinese reason a clerk can read:

- **Header spelling** (:func:`header_candidates`). The header cell is folded (full-width
  to half-width, whitespace of any kind removed, bracketed notes such as ``(元)`` anywhere
  dropped, stars and colons stripped) and looked up among the canonical headers and the
  aliases of ``rules.yaml`` (confidence 1.0). A header of Latin letters only is read as a
  **data-element code**: the pinyin initials of a canonical header or alias (``GRBH`` =
  个人编号), computed with pypinyin from the configuration, never listed by hand (0.95).
  Otherwise near spellings are scored (:func:`similarity`): suffix synonyms (时间 ~ 日期,
  类别 ~ 类型, 号码 ~ 号, 名称 ~ 名), containment, shared character pairs and edit distance.
- **Content** (:func:`column_profile`, :func:`content_fit`). Sample values are typed:
  valid GB 11643 IDs, dates, year-months, years, amounts, unified social credit codes,
  disability levels, person names, and the enumerations of the kinds' coded fields.
- **Elimination**: when one required field and one unexplained column remain, the column
  is that field if its values can be read as such (decided in :mod:`.recognise`).

The index of spellings and codes is built once per loaded configuration and kept on it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..config import Config
from ..normalise import FieldError, is_valid_id, parse_amount, parse_date, parse_level, parse_month
from .spec import KINDS, Field

HIGH = 0.75           # a match at or above this is confident
EXACT = 1.0
FOLDED = 0.97         # equal once brackets / punctuation / synonyms are folded away
CODE = 0.95           # pinyin-initials data-element code
CLOSE = 0.1           # two candidates nearer than this are ambiguous
NEAR_FLOOR = 0.5      # below this a spelling is not proposed at all
MAX_NEAR_CHARS = 30   # longer cells are no header: not compared (edit distance is quadratic)

# Columns that are never data: a running number in front, a row number.
IGNORED_HEADERS = frozenset({"序号", "序", "行号", "顺序号", "编号序号", "NO", "NO.", "XH"})

_BRACKETS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕|<[^<>]*>|《[^《》]*》")
_PUNCT = str.maketrans("", "", "*＊:：·•、,，.。;；'\"‘’“”#№_-—/\\|")
_LATIN = re.compile(r"[A-Za-z]+")
_SYNONYMS = (("年月日", "日期"), ("时间", "日期"), ("类别", "类型"), ("种类", "类型"),
             ("号码", "号"), ("编码", "编号"), ("名称", "名"))


def fold(text: Any) -> str:
    """A header cell folded for comparison: NFKC, bracketed notes anywhere dropped,
    whitespace of every kind (ASCII, U+3000, tabs) and punctuation removed, and the
    Excel text trick ``="…"`` undone."""
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = "".join(s.split())
    if s.startswith('="') and s.endswith('"'):
        s = s[2:-1]
    prev = None
    while prev != s:
        prev, s = s, _BRACKETS.sub("", s)
    return s.translate(_PUNCT)


def _synonyms(s: str) -> str:
    for a, b in _SYNONYMS:
        s = s.replace(a, b)
    return s


SUBSTITUTION = 1.5    # a changed character weighs more than an added one (办结 ≠ 办理)


def levenshtein(a: str, b: str) -> float:
    """Edit distance; inserting or deleting a character costs 1, changing one 1.5."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (SUBSTITUTION if ca != cb else 0)))
        prev = cur
    return prev[-1]


def _pairs(s: str) -> set[str]:
    return {s[i:i + 2] for i in range(len(s) - 1)}


def similarity(a: str, b: str) -> float:
    """How near two folded, synonym-normalised spellings are, in [0, 1]."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    score = 1 - levenshtein(a, b) / len(longer)
    if len(shorter) >= 2 and shorter in longer:
        score = max(score, 0.55 + 0.4 * len(shorter) / len(longer))
    pa, pb = _pairs(a), _pairs(b)
    if pa and pb:
        score = max(score, 0.9 * 2 * len(pa & pb) / (len(pa) + len(pb)))
    return score


@dataclass
class HeaderIndex:
    exact: dict[str, str]                       # folded spelling -> canonical header
    near: list[tuple[str, str, str]]            # (normalised spelling, canonical, spelling)
    _codes: dict[str, set[str]] | None = None   # pinyin initials -> canonical headers
    _spellings: list[tuple[str, str]] = field(default_factory=list)   # (spelling, canonical)
    _cache: dict[str, list] = field(default_factory=dict)

    def codes(self) -> dict[str, set[str]]:
        if self._codes is None:
            self._codes = _build_codes(self._spellings)
        return self._codes


def _build_codes(spellings: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    # pypinyin loads large dictionaries: imported only when a header looks like a code.
    from itertools import product

    from pypinyin import Style, lazy_pinyin, pinyin
    codes: dict[str, set[str]] = {}
    for spelling, canonical in spellings:
        if not spelling or _LATIN.fullmatch(spelling):
            continue
        variants = {"".join(lazy_pinyin(spelling, style=Style.FIRST_LETTER))}
        letters = pinyin(spelling, style=Style.FIRST_LETTER, heteronym=True)
        combos = 1
        for opts in letters:
            combos *= len(opts)
        if combos <= 8:              # a few readings of polyphonic characters
            variants |= {"".join(p) for p in product(*letters)}
        for v in variants:
            v = v.upper()
            if _LATIN.fullmatch(v):
                codes.setdefault(v, set()).add(canonical)
    return codes


def header_index(cfg: Config) -> HeaderIndex:
    """The spellings index of ``cfg``, built on first use and kept on the config."""
    index = getattr(cfg, "_header_index", None)
    if index is not None:
        return index
    exact: dict[str, str] = {}
    spellings: list[tuple[str, str]] = []
    for spelling, canonical in cfg.aliases.items():      # keys are fold_header()-ed
        exact.setdefault(fold(spelling), canonical)
        spellings.append((fold(spelling), canonical))
    near = [(_synonyms(s), c, s) for s, c in spellings]
    index = HeaderIndex(exact, near, _spellings=spellings)
    cfg._header_index = index      # type: ignore[attr-defined]
    return index


def header_candidates(text: Any, cfg: Config) -> list[tuple[str, float, str]]:
    """Canonical headers ``text`` may stand for, best first: (canonical, confidence,
    reason). Empty for a blank cell or one that resembles nothing."""
    index = header_index(cfg)
    raw = "" if text is None else str(text)
    key = raw
    hit = index._cache.get(key)
    if hit is not None:
        return hit
    shown = " ".join(raw.split())
    f = fold(raw)
    out: list[tuple[str, float, str]] = []
    if not f:
        pass
    elif f in index.exact:
        canonical = index.exact[f]
        if shown == canonical:
            out = [(canonical, EXACT, "表头与标准写法相同")]
        elif f == fold(canonical):
            out = [(canonical, EXACT, f"「{shown}」去掉空格、括号说明后即「{canonical}」")]
        else:
            out = [(canonical, EXACT, f"「{shown}」是「{canonical}」的已登记别名")]
    elif _LATIN.fullmatch(f):
        found = index.codes().get(f.upper(), set())
        out = [(c, CODE, f"「{shown}」是「{c}」的拼音首字母代码") for c in sorted(found)]
        if len(found) > 1:
            out = [(c, CODE - CLOSE, r) for c, _, r in out]
    elif len(f) <= MAX_NEAR_CHARS:
        s = _synonyms(f)
        chars = set(s)
        best: dict[str, tuple[float, str]] = {}
        for spelling, canonical, original in index.near:
            if chars.isdisjoint(spelling):
                continue
            score = FOLDED if spelling == s else similarity(s, spelling)
            if score >= NEAR_FLOOR and score > best.get(canonical, (0.0, ""))[0]:
                best[canonical] = (score, original)
        for canonical, (score, original) in best.items():
            if score >= FOLDED:
                why = f"「{shown}」与「{original}」只差同义的说法，认作「{canonical}」"
            else:
                via = "" if original == canonical else f"（别名「{original}」）"
                why = f"「{shown}」与「{canonical}」{via}写法相近"
            out.append((canonical, round(score, 3), why))
        out.sort(key=lambda t: -t[1])
    if len(index._cache) < 5000:
        index._cache[key] = out
    return out


def is_ignored_header(text: Any) -> bool:
    return fold(text).upper() in IGNORED_HEADERS


# ---------------------------------------------------------------------- content typing

# Values the kinds' coded fields take (DOMAIN.md § kinds), and common variants.
ENUMERATIONS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "性别": ("男", "女", "未知", "未说明"),
    "参保状态": ("参保缴费", "暂停缴费", "退休", "终止", "死亡", "正常参保", "终止参保", "中断缴费",
             "暂停参保", "正常缴费"),
    "单位状态": ("正常", "注销", "暂停", "吊销", "终止", "正常参保", "暂停缴费"),
    "注销原因": ("死亡", "迁出", "其他", "出国", "出境", "出国(境)", "出国（境）", "服兵役", "入伍",
             "重复登记", "重复户口", "宣告死亡", "被宣告死亡", "户口迁出"),
    "登记类型": ("设立", "变更", "注销", "吊销", "新设", "设立登记", "变更登记", "注销登记", "撤销"),
    "变动类型": ("新增", "等级变更", "注销", "死亡", "变更", "迁出", "迁入", "类别变更", "复评"),
    "待遇类型": ("基本养老金", "失业保险金", "基本养老金调整补发", "丧葬补助金", "抚恤金",
             "伤残津贴", "工伤保险待遇", "遗属待遇", "城乡居民养老金", "过渡性养老金"),
    "残疾类别": ("视力", "听力", "言语", "肢体", "智力", "精神", "多重", "视力残疾", "听力残疾",
             "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾"),
    "人员类别": ("学生", "成年居民", "儿童", "老年居民", "大学生", "婴幼儿", "低保对象", "特困人员"),
    "保管期限": ("永久", "长期", "短期", "30年", "10年"),
    "险种": ("企业职工基本养老保险", "工伤保险", "失业保险", "城乡居民基本养老保险",
           "机关事业单位养老保险", "职工基本医疗保险", "城乡居民基本医疗保险", "生育保险"),
    "处理结果": ("成功", "失败", "退回", "处理中", "交易成功", "处理成功", "代发成功", "入账成功", "交易失败"),
    "收入类型": ("征收划入", "利息", "其他", "利息收入", "其他收入"),
}.items()}

_CREDIT = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}")
_PERSON_NAME = re.compile(r"[\u3400-\u9fff·]{2,6}")
_UNIT_WORDS = ("公司", "有限", "厂", "店", "合作社", "中心", "学校", "医院", "局", "部", "社", "所", "馆", "院")
_GENERIC = re.compile(r"级|类|型|保险|补助|变更|登记|正常|成功|失败|申请|审批")
_YEAR = re.compile(r"(19|20)\d{2}")
_AMOUNT_TEXT = re.compile(r"-?[\d,]+(\.\d{1,2})?元?|-?\.\d{1,2}")

SAMPLE_ROWS = 50      # data rows looked at to type a column


def clean_value(v: Any) -> Any:
    if isinstance(v, str):
        s = v.strip()
        if s.startswith('="') and s.endswith('"'):
            s = s[2:-1].strip()
        return s
    return v


def _ok(fn, v) -> bool:
    try:
        return fn(v) is not None
    except (FieldError, ValueError, TypeError, OverflowError):
        return False


def column_profile(values: Sequence[Any]) -> dict[str, float]:
    """Share of the non-empty ``values`` that read as each content type."""
    vals = [clean_value(v) for v in values]
    vals = [v for v in vals if v not in (None, "")]
    if not vals:
        return {}
    n = len(vals)
    texts = [v if isinstance(v, str) else None for v in vals]
    counts = dict.fromkeys(("id", "date", "month", "year", "amount", "credit", "level",
                            "person", "unit"), 0)
    enum = {k: 0 for k in ENUMERATIONS}
    for v, t in zip(vals, texts):
        t_up = t.upper() if t is not None else None
        if t_up is not None and len(t_up) in (15, 18) and is_valid_id(t_up):
            counts["id"] += 1
            continue
        if t_up is not None and len(t_up) == 18 and _CREDIT.fullmatch(t_up):
            counts["credit"] += 1
            continue
        is_date = _ok(parse_date, v)
        if is_date and not (isinstance(v, (int, float)) and not isinstance(v, bool)):
            counts["date"] += 1
        elif is_date:                  # an Excel serial number: a date only in a date column
            counts["date"] += 0.5
        if not is_date and _ok(parse_month, v):
            counts["month"] += 1
        if (t is not None and _YEAR.fullmatch(t)) or (isinstance(v, (int, float)) and 1900 <= v <= 2100):
            counts["year"] += 1
        if (t is not None and _AMOUNT_TEXT.fullmatch(t) and _ok(parse_amount, v)) or (
                isinstance(v, float) and not is_date):
            counts["amount"] += 1
        if t is not None and _ok(parse_level, v):
            counts["level"] += 1
        if t is None:
            continue
        folded = unicodedata.normalize("NFKC", t)
        coded = False
        for k, allowed in ENUMERATIONS.items():
            if folded in allowed:
                enum[k] += 1
                coded = True
        if (not coded and _PERSON_NAME.fullmatch(t) and not any(w in t for w in _UNIT_WORDS)
                and not _GENERIC.search(t)):
            counts["person"] += 1
        if len(t) >= 4 and any(w in t for w in _UNIT_WORDS):
            counts["unit"] += 1
    out = {k: c / n for k, c in counts.items() if c}
    out.update({f"enum:{k}": c / n for k, c in enum.items() if c})
    return out


_PERSON_HEADERS = {"姓名", "法定代表人", "户名"}
_UNIT_HEADERS = {"单位名称", "企业名称"}
TYPE_WORDS = {"id": "有效的公民身份号码", "date": "日期", "month": "年月", "year": "年份",
              "amount": "金额", "credit": "统一社会信用代码", "level": "残疾等级",
              "person": "人名", "unit": "单位名称"}


def content_fit(f: Field, profile: dict[str, float]) -> tuple[float, str] | None:
    """How well a column with ``profile`` fits field ``f`` by content alone:
    (share of values that fit, what they are, in Chinese), or None when the field
    has no recognisable content (free text)."""
    want: str | None
    if f.header in ENUMERATIONS:
        share = profile.get(f"enum:{f.header}", 0.0)
        return share, f"「{f.header}」的取值"
    if f.type == "id":
        want = "id"
    elif f.type == "date":
        want = "date"
    elif f.type == "month":
        if profile.get("date", 0) >= 0.5:
            return 0.0, TYPE_WORDS["month"]
        want = "month"
    elif f.type == "year":
        want = "year"
    elif f.type == "amount":
        if profile.get("id", 0) or profile.get("date", 0) >= 0.5 or profile.get("year", 0) >= 0.5:
            return 0.0, TYPE_WORDS["amount"]
        want = "amount"
    elif f.type == "level":
        want = "level"
    elif f.header == "统一社会信用代码":
        want = "credit"
    elif f.header in _PERSON_HEADERS:
        want = "person"
    elif f.header in _UNIT_HEADERS:
        want = "unit"
    elif f.type == "subject":
        return profile.get("id", 0.0) + profile.get("credit", 0.0), "身份号码或单位编号"
    else:
        return None
    return profile.get(want, 0.0), TYPE_WORDS[want]


def readable_as(f: Field, values: Sequence[Any]) -> float:
    """Share of the non-empty sample values the field's normaliser accepts."""
    from ..normalise import NORMALISERS
    fn = NORMALISERS[f.type]
    vals = [clean_value(v) for v in values]
    vals = [v for v in vals if v not in (None, "")]
    if not vals:
        return 0.0
    return sum(_ok(fn, v) for v in vals) / len(vals)


def all_fields_by_header() -> dict[str, list[tuple[str, Field]]]:
    out: dict[str, list[tuple[str, Field]]] = {}
    for spec in KINDS.values():
        for f in spec.fields:
            out.setdefault(f.header, []).append((spec.name, f))
    return out
