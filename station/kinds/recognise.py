"""Recognising a delivery's kind and the field of each of its columns.

:func:`propose` makes the best guess and says how sure it is; :func:`recognise` is the
same but raises :class:`Unrecognised` when no kind fits at all.

1. **The header row** is the row, among the first :data:`HEADER_SEARCH_ROWS`, whose cells
   match the most known headers (title lines and grouping rows such as
   ``基本信息 | 业务信息`` above it are passed over). A ``序号`` column is ignored.
2. **Each kind** gets its own assignment of columns to fields: by header spelling
   (aliases, data-element codes, near spellings — :mod:`station.kinds.infer`), then, for
   fields still missing, by the content of the columns whose headers say nothing
   (content typing), then by elimination. Every assignment carries a confidence and a
   Chinese reason.
3. **The kind** chosen is one whose required fields are all found, preferring the file's
   department folder, then file-name hints (``rules.yaml`` ``kinds: names``), then the kind
   that explains most columns. The department folder is a strong prior: a file in
   ``public_security/`` is proposed as a 公安 kind unless its headers clearly say
   otherwise, and a kind of another department is never *confident*.

A recognition is **confident** when the kind and every required field are assigned with
high confidence, no other kind fits equally well, and the kind belongs to the file's
department folder (or the file is in no folder). Only confident recognitions are applied
without a clerk's confirmation; ``reasons`` says, in Chinese, why one is not confident.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..config import Config, fold_header
from ..formats import CellTooLong
from . import infer
from .infer import CLOSE, HIGH, SAMPLE_ROWS, header_candidates, is_ignored_header
from .spec import DEPARTMENTS, KINDS, Field, KindSpec

HEADER_SEARCH_ROWS = 30
# Rows a caller should pass: the header search plus data rows to type columns by content.
HEAD_ROWS = HEADER_SEARCH_ROWS + SAMPLE_ROWS

CONTENT = 0.85        # confidence of a column typed by its content, when unique
ELIMINATION = 0.8     # the last column for the last required field
AMBIGUOUS = 0.5       # two candidates: shown, never applied unconfirmed


@dataclass
class ColumnProposal:
    index: int                 # cell index in the row
    header: str                # the header as written (one line)
    column: str | None         # the field's register column, None = not used
    reason: str                # Chinese, for the clerk
    confidence: float


@dataclass
class Recognition:
    kind: KindSpec
    header_row: int                 # row number of the header in the file
    columns: dict[int, str]         # cell index -> field column
    unknown_headers: list[str]      # headers that map to no field of the kind
    header_cells: list              # the header row as written
    confident: bool = True
    reasons: list[str] = field(default_factory=list)        # Chinese: why not confident
    proposals: list[ColumnProposal] = field(default_factory=list)


class Unrecognised(Exception):
    """No kind fits. ``str(e)`` is a Chinese reason naming the headers seen and the
    nearest kind with its missing fields."""


def canonical_headers(cells: Sequence[Any], cfg: Config) -> list[str | None]:
    return [cfg.aliases.get(fold_header(c)) if c not in (None, "") else None for c in cells]


# --------------------------------------------------------------------------- header row

_DIGIT = re.compile(r"\d")


def _text(cell: Any) -> str:
    if cell is None or isinstance(cell, CellTooLong):
        return ""
    return str(cell).strip()


def _headerish(cell: Any) -> bool:
    """A cell that could be a header: text, no digits, not too long."""
    if not isinstance(cell, str):
        return False
    t = infer.fold(cell)
    return 0 < len(t) <= 30 and not _DIGIT.search(t)


def _row_score(cells: Sequence[Any], cfg: Config, near: bool) -> int:
    """How many distinct known headers the row's cells are."""
    found = set()
    index = infer.header_index(cfg)
    for c in cells:
        if not _headerish(c):
            continue
        f = infer.fold(c)
        if f in index.exact:
            found.add(index.exact[f])
        elif near or infer._LATIN.fullmatch(f):
            cands = header_candidates(c, cfg)
            if cands and cands[0][1] >= HIGH:
                found.add(cands[0][0])
    return len(found)


def _find_header(rows: Sequence[tuple[int, list]], cfg: Config) -> int | None:
    """Position in ``rows`` of the header row, or None when no row looks like one."""
    best, best_pos = 0, None
    for pos, (_, cells) in enumerate(rows):
        filled = [c for c in cells if _text(c)]
        if len(filled) < 2:
            continue
        headerish = sum(map(_headerish, filled))
        near = headerish >= 0.8 * len(filled)
        score = _row_score(filled, cfg, near)
        if score > best:
            best, best_pos = score, pos
    if best >= 2:
        return best_pos
    for pos, (_, cells) in enumerate(rows):     # no known header: the first header-like row
        filled = [c for c in cells if _text(c)]
        if len(filled) >= 2 and sum(map(_headerish, filled)) == len(filled):
            return pos
    return None


def header_fit(rows: Sequence[tuple[int, list]], cfg: Config) -> int:
    """How many known headers the best header-like row among ``rows`` has."""
    best = 0
    for _, cells in rows[:HEADER_SEARCH_ROWS]:
        filled = [c for c in cells if _text(c)]
        if len(filled) >= 2:
            near = sum(map(_headerish, filled)) >= 0.8 * len(filled)
            best = max(best, _row_score(filled, cfg, near))
    return best


def sheet_chooser(cfg: Config):
    """For :func:`station.formats.open_rows`: pick the workbook sheet whose header fits a
    kind best (the first sheet is often 填表说明, the instructions); ties go to the first."""
    def choose(sheets: Sequence[tuple[str, list]]) -> int:
        scores = [header_fit(rows, cfg) for _, rows in sheets]
        return max(range(len(scores)), key=lambda i: (scores[i], -i))
    return choose


# --------------------------------------------------------------------------- one kind

@dataclass
class _Assessment:
    spec: KindSpec
    props: dict[int, ColumnProposal]
    required_ok: bool
    required_score: float
    missing: list[str]                 # required headers not found (confidently)
    weak: list[str]                    # Chinese notes on doubtful required fields
    explained: int                     # columns assigned with high confidence
    dept_match: bool
    name_hint: bool


class _Columns:
    """The header row and sample data of one file, with per-column caches."""

    def __init__(self, cells: Sequence[Any], data: Sequence[Sequence[Any]], cfg: Config):
        self.cells = list(cells)
        self.headers = [" ".join(_text(c).split()) for c in cells]
        self.ignored = [is_ignored_header(h) for h in self.headers]
        self.cands = [[] if (ign or not h) else header_candidates(h, cfg)
                      for h, ign in zip(self.headers, self.ignored)]
        self.data = data
        self._profiles: dict[int, dict] = {}

    def values(self, i: int) -> list:
        return [r[i] for r in self.data if i < len(r)]

    def profile(self, i: int) -> dict:
        p = self._profiles.get(i)
        if p is None:
            p = self._profiles[i] = infer.column_profile(self.values(i))
        return p

    def has_data(self, i: int) -> bool:
        return any(infer.clean_value(v) not in (None, "") for v in self.values(i))

    def known_elsewhere(self, i: int) -> bool:
        """The header clearly names some field (of any kind)."""
        return bool(self.cands[i]) and self.cands[i][0][1] >= HIGH

    def label(self, i: int) -> str:
        return f"第 {i + 1} 列「{self.headers[i]}」" if self.headers[i] else f"第 {i + 1} 列（无表头）"


def _resolve_override(spec: KindSpec, target: str | None) -> Field | None | bool:
    """The field an override names (by column or Chinese header); None to ignore the
    column; False when it names nothing of this kind."""
    if target in (None, "", "-", "忽略", "不导入"):
        return None
    for f in spec.fields:
        if target in (f.column, f.header) or fold_header(target) == fold_header(f.header):
            return f
    return False


def _assess(spec: KindSpec, cols: _Columns, cfg: Config, department: str | None, file_name: str,
            overrides: dict[str, str] | None) -> _Assessment:
    by_header = spec.field_by_header()
    props: dict[int, ColumnProposal] = {}
    taken: dict[str, int] = {}                 # field column -> cell index
    n = len(cols.headers)

    def give(i: int, f: Field, conf: float, reason: str) -> None:
        props[i] = ColumnProposal(i, cols.headers[i], f.column, reason, round(conf, 3))
        taken[f.column] = i

    # Overrides first: the clerk's word.
    forced: set[int] = set()
    if overrides:
        folded = {infer.fold(k): v for k, v in overrides.items()}
        for i, h in enumerate(cols.headers):
            key = h if h in overrides else infer.fold(h) if infer.fold(h) in folded else None
            if key is None:
                continue
            target = overrides[key] if key in overrides else folded[key]
            f = _resolve_override(spec, target)
            forced.add(i)
            if f is None:
                props[i] = ColumnProposal(i, h, None, "按人工指定不导入此列", 1.0)
            elif f is False:
                props[i] = ColumnProposal(i, h, None, f"人工指定的字段「{target}」不属于「{spec.title}」", 0.0)
            elif f.column not in taken:
                give(i, f, 1.0, f"按人工指定作「{f.header}」")

    # Header spellings: the clearest columns first; each takes its best free field.
    order = []
    for i in range(n):
        if i in forced or cols.ignored[i] or not cols.cands[i]:
            continue
        mine = [(c, s, r) for c, s, r in cols.cands[i] if c in by_header]
        if mine:
            order.append((mine[0][1], i, mine))
    order.sort(key=lambda t: (-t[0], t[1]))
    conflicts: dict[int, str] = {}
    for _, i, mine in order:
        free = [(c, s, r) for c, s, r in mine if by_header[c].column not in taken]
        if not free:
            c = mine[0][0]
            conflicts[i] = f"也像「{c}」，但该字段已由{cols.label(taken[by_header[c].column])}提供，不导入"
            continue
        c, s, r = free[0]
        rivals = [(c2, s2) for c2, s2, _ in cols.cands[i]
                  if c2 != c and (c2 not in by_header or by_header[c2].column not in taken)]
        top = rivals[0] if rivals else None
        if top is not None and top[1] >= HIGH and top[1] - s >= CLOSE and top[0] not in by_header:
            continue                            # clearly another kind's field
        if top is not None and s < 1.0 and abs(top[1] - s) < CLOSE:
            s = min(s, AMBIGUOUS)
            r = f"{r}；但也像「{top[0]}」，请确认"
        give(i, by_header[c], s, r)

    # Content typing for fields still missing, over columns whose headers say nothing.
    def open_columns() -> list[int]:
        return [i for i in range(n) if i not in props and not cols.ignored[i]
                and not cols.known_elsewhere(i) and cols.has_data(i)]

    def missing(required: bool) -> list[Field]:
        return [f for f in spec.fields if f.required == required and f.column not in taken]


    # A doubtful header whose content fits the field is no longer doubtful.
    for i, p in list(props.items()):
        if p.column and HIGH > p.confidence > 0 and i not in forced:
            f = spec_field(spec, p.column)
            fit = infer.content_fit(f, cols.profile(i))
            if fit is not None and fit[0] >= 0.9:
                give(i, f, CONTENT, f"「{cols.headers[i]}」与「{f.header}」写法相近，内容也都是{fit[1]}")

    wanted = missing(True) + missing(False)
    free = open_columns()
    fits: dict[str, list[tuple[float, int, str]]] = {}
    claimed: dict[int, list[str]] = {}
    for f in wanted:
        for i in free:
            fit = infer.content_fit(f, cols.profile(i))
            if fit is not None and fit[0] >= 0.8:
                fits.setdefault(f.column, []).append((fit[0], i, fit[1]))
                claimed.setdefault(i, []).append(f.column)
    for f in wanted:
        hits = fits.get(f.column)
        if not hits or f.column in taken:
            continue
        hits.sort(key=lambda h: (-h[0], h[1]))
        share, i, what = hits[0]
        if i in props:
            continue
        sampled = sum(1 for v in cols.values(i) if infer.clean_value(v) not in (None, ""))
        reason = (f"{cols.label(i)}的表头认不出，但抽查的 {sampled} 个值中 "
                  f"{round(share * sampled)} 个是{what}，认作「{f.header}」")
        rivals = [c for c in claimed.get(i, []) if c != f.column and c not in taken]
        if len(hits) > 1:
            if f.required:
                others = "、".join(cols.label(j) for _, j, _ in hits[1:3])
                give(i, f, AMBIGUOUS, f"{reason}；但{others}也像，请确认")
        elif rivals:
            if f.required:
                names = "、".join(spec_field(spec, c).header for c in rivals)
                give(i, f, AMBIGUOUS, f"{reason}；但也可能是「{names}」，请确认")
        elif f.required or share >= 0.9:
            give(i, f, CONTENT, reason)

    # Elimination: the last required field takes the last unexplained column.
    still = missing(True)
    free = open_columns()
    if len(still) == 1 and len(free) == 1:
        f, i = still[0], free[0]
        readable = infer.readable_as(f, cols.values(i))
        fit = infer.content_fit(f, cols.profile(i))     # a coded field must look like one
        if readable >= 0.9 and (fit is None or fit[0] >= 0.5):
            give(i, f, ELIMINATION, f"其余必填字段都已找到，只剩{cols.label(i)}，"
                                    f"其内容可作「{f.header}」，按排除法认作「{f.header}」")

    # Columns left over.
    for i in range(n):
        if i in props:
            continue
        h = cols.headers[i]
        if cols.ignored[i]:
            reason = f"「{h}」是序号列，不导入"
        elif i in conflicts:
            reason = conflicts[i]
        elif not h and not cols.has_data(i):
            continue
        elif cols.known_elsewhere(i):
            reason = f"表头像「{cols.cands[i][0][0]}」，但「{spec.title}」没有这个字段，不导入"
        else:
            reason = f"「{spec.title}」中没有对应的字段，不导入"
        props[i] = ColumnProposal(i, h, None, reason, 0.0)

    confs = {p.column: p.confidence for p in props.values() if p.column}
    req = spec.required
    miss = [f.header for f in req if confs.get(f.column, 0.0) < HIGH]
    weak = []
    for f in req:
        c = confs.get(f.column)
        if c is not None and c < HIGH:
            i = taken[f.column]
            weak.append(f"必填字段「{f.header}」对应{cols.label(i)}没有把握：{props[i].reason}")
    kc = cfg.kinds.get(spec.name)
    dept = kc.department if kc else spec.department
    return _Assessment(
        spec, props,
        required_ok=not miss,
        required_score=sum(confs.get(f.column, 0.0) for f in req) / max(len(req), 1),
        missing=miss, weak=weak,
        explained=sum(1 for p in props.values() if p.column and p.confidence >= HIGH),
        dept_match=department is not None and dept == department,
        name_hint=bool(kc) and any(x and x in file_name for x in kc.names),
    )


def spec_field(spec: KindSpec, column: str) -> Field:
    return next(f for f in spec.fields if f.column == column)


def _rank(a: _Assessment) -> tuple:
    """Order of preference among kinds: a complete fit in the file's folder first; then
    the weight of evidence, where the folder counts for one and a half columns (a
    partial fit from the folder beats a complete fit elsewhere unless the headers clearly
    say otherwise), a complete fit for one column and a file-name hint for half a column."""
    weight = a.explained + 1.5 * a.dept_match + 1.0 * a.required_ok + 0.5 * a.name_hint
    return (a.required_ok and a.dept_match, weight, a.required_ok, a.explained, a.required_score)


def _dept_title(dept: str | None) -> str:
    if dept is None:
        return ""
    title = DEPARTMENTS.get(dept)
    return f"{title}（{dept}）" if title else dept


# --------------------------------------------------------------------------- public

def propose(rows: Sequence[tuple[int, list]], cfg: Config, *, department: str | None,
            file_name: str, kind: str | None = None,
            overrides: dict[str, str] | None = None) -> Recognition:
    """The best recognition of a file from its first rows (pass :data:`HEAD_ROWS`).

    Never raises for a file with a header-like row: when unsure, returns the best guess
    with ``confident=False`` and the reasons. ``kind`` forces the kind; ``overrides``
    maps headers as written to fields (register column or Chinese header; ``""`` to
    leave a column out). Raises :class:`Unrecognised` only when no row looks like a header.
    """
    rows = list(rows)
    pos = _find_header(rows[:HEADER_SEARCH_ROWS], cfg)
    if pos is None:
        first = next((c for _, c in rows[:HEADER_SEARCH_ROWS] if any(_text(x) for x in c)), [])
        raise Unrecognised(_no_header_reason(first))
    row_no, cells = rows[pos]
    data = [c for _, c in rows[pos + 1: pos + 1 + SAMPLE_ROWS]]
    cols = _Columns(cells, data, cfg)
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    specs = [KINDS[kind]] if kind else list(KINDS.values())
    found = sorted((_assess(s, cols, cfg, department, file_name, overrides) for s in specs),
                   key=_rank, reverse=True)
    best = found[0]
    reasons: list[str] = []
    # The folder says one kind, the headers clearly another (of another department).
    better = [a for a in found[1:] if a.required_ok and a.explained > best.explained
              and not a.dept_match] if kind is None and best.required_ok and best.dept_match else []
    other = max(better, key=lambda a: a.explained) if better else None
    if other is not None:
        okc = cfg.kinds.get(other.spec.name)
        reasons.append(
            f"文件在{_dept_title(department)}文件夹中，但表头更像"
            f"{_dept_title(okc.department if okc else other.spec.department)}的「{other.spec.title}」"
            f"（认出 {other.explained} 列，「{best.spec.title}」只认出 {best.explained} 列），须人工确认")
        if other.explained >= best.explained + 2:        # clearly: propose that kind
            best = other
    spec = best.spec
    kc = cfg.kinds.get(spec.name)
    kind_dept = kc.department if kc else spec.department
    if not best.required_ok:
        if best.missing:
            reasons.append(f"最接近的类型是「{spec.title}」，但必填字段没有把握找到："
                           f"{'、'.join(best.missing)}")
        reasons.extend(best.weak)
    if department is not None and kind_dept != department and kind is None and other is None:
        if department in {k.department for k in cfg.kinds.values()}:
            reasons.append(f"文件在{_dept_title(department)}文件夹中，但内容更像"
                           f"{_dept_title(kind_dept)}的「{spec.title}」；不同部门的文件须人工确认")
        else:
            reasons.append(f"文件在「{department}」文件夹中，这个文件夹没有对应的文件类型；"
                           f"内容像{_dept_title(kind_dept)}的「{spec.title}」，须人工确认")
    elif department is not None and kind_dept != department:
        reasons.append(f"「{spec.title}」属于{_dept_title(kind_dept)}，文件却在{_dept_title(department)}文件夹中")
    if kind is None and len(found) > 1 and best.required_ok and best is found[0]:
        second = found[1]
        if second.required_ok and _rank(second)[:4] == _rank(best)[:4]:
            reasons.append(f"表头同时符合「{spec.title}」和「{second.spec.title}」，无法确定是哪一种")
    columns = {i: p.column for i, p in best.props.items() if p.column}
    unknown = [cols.headers[i] for i, p in sorted(best.props.items())
               if p.column is None and cols.headers[i]]
    return Recognition(spec, row_no, columns, unknown, list(cells), confident=not reasons,
                       reasons=reasons, proposals=[best.props[i] for i in sorted(best.props)])


def recognise(rows: Sequence[tuple[int, list]], cfg: Config, *, department: str | None,
              file_name: str) -> Recognition:
    """Like :func:`propose`, but raises :class:`Unrecognised` when no kind's required
    fields can all be found. A returned recognition may still be not confident."""
    rec = propose(rows, cfg, department=department, file_name=file_name)
    if any(f.column not in rec.columns.values() for f in rec.kind.required):
        raise Unrecognised(unrecognised_reason(rec))
    return rec


def unrecognised_reason(rec: Recognition) -> str:
    seen = [_shown(c) for c in rec.header_cells if _text(c)]
    seen_text = "、".join(seen[:20]) + ("……" if len(seen) > 20 else "") if seen else "（没有找到表头）"
    missing = [f.header for f in rec.kind.required if f.column not in rec.columns.values()]
    if len(missing) == len(rec.kind.required):
        return (f"无法识别文件类型。看到的表头：{seen_text}。它不像任何已配置的文件类型；"
                f"请确认文件内容，或在 rules.yaml 中添加表头别名。")
    return (f"无法识别文件类型。看到的表头：{seen_text}。最接近的类型是「{rec.kind.title}」({rec.kind.name})，"
            f"但缺少必填字段：{'、'.join(missing)}。如果对方改了表头名称，请在 rules.yaml 的 aliases 中添加别名后，"
            f"把文件从 rejected 放回 inbox。")


def not_confident_reason(rec: Recognition) -> str:
    """One Chinese message for a recognition that is not confident."""
    return ("文件类型或列的对应关系没有把握，未导入：" + "；".join(rec.reasons)
            + "。请确认后再导入（或在 rules.yaml 中添加表头别名，把文件放回对应部门的文件夹）。")


def _no_header_reason(first: Sequence[Any]) -> str:
    seen = [_shown(c) for c in first if _text(c)]
    seen_text = "、".join(seen[:20]) + ("……" if len(seen) > 20 else "") if seen else "（没有找到表头）"
    return (f"无法识别文件类型：前 {HEADER_SEARCH_ROWS} 行中没有像表头的一行。看到的内容：{seen_text}。"
            f"请确认文件第一行（或标题下面一行）是列名。")


def _shown(cell: Any, limit: int = 40) -> str:
    """A header cell as quoted in a reason: one line, at most ``limit`` characters."""
    text = " ".join(str(cell).split())
    return text if len(text) <= limit else text[:limit] + "…"
