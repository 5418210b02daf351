"""Confirming a held file's kind and columns (待确认 → 导入): the API behind ``station
pending``, ``station map`` and the TUI's mapping screen.

A held delivery (:mod:`station.inbox.held`) is read again from ``inbox/held/``; the
recognition proposes a kind, a header row and a field for each column, each with a reason
(:func:`station.kinds.recognise.propose` when it exists). The clerk may force the kind and
correct single columns; :func:`view` shows the result — every column's header, a few sample
values and its field, what is still missing, and the first rows as they would be applied —
with ID numbers masked (and a birth date equal to an ID's birth digits masked too, so that
the ID cannot be rebuilt). :func:`confirm` applies the file exactly once with that mapping
(see :func:`station.inbox.confirm.apply_held`), optionally saves the headers as aliases in the
home's ``rules.yaml`` (:mod:`station.services.aliases`) and re-runs the rules.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..config import Config, fold_header
from ..formats import CellTooLong, UnreadableFile, open_rows
from ..inbox import confirm as confirming, held
from ..inbox.pipeline import DeliveryResult, Pipeline
from ..kinds.recognise import HEAD_ROWS, HEADER_SEARCH_ROWS, Recognition, Unrecognised, propose
from ..kinds.spec import DEPARTMENTS, KINDS, KindSpec
from ..normalise import FieldError, looks_like_id, mask_id, mask_ids_in_text, normalise_id
from .formatting import mask_account, mask_birth_date, mask_personal

SAMPLES = 3            # sample values shown per column
PREVIEW_ROWS = 5       # rows shown as they would be applied
IGNORE_WORDS = {"", "-", "忽略", "无", "不导入", "none", "ignore"}


class MappingError(Exception):
    """What the clerk asked for cannot be done; ``str(e)`` says why and what to do (Chinese)."""


@dataclass
class Pending:
    """A held delivery that waits for its mapping to be confirmed."""
    id: int
    name: str
    original_path: str
    stored_path: str
    kind: str | None           # the kind the station guessed, if any
    department: str | None
    reason: str
    received_at: str
    container: str | None = None    # a zip member: the zip's name
    member: str | None = None

    @property
    def kind_title(self) -> str:
        return KINDS[self.kind].title if self.kind in KINDS else "未识别"

    @property
    def why(self) -> str:
        """The reason it waits, without the advice on what to do."""
        text = self.reason.replace(held.HOLD_ADVICE, "")
        return text[len("待确认："):] if text.startswith("待确认：") else text


@dataclass
class ColumnView:
    index: int
    header: str                 # as written, on one line (shortened), or which column it is
    samples: list[str]          # masked unless asked otherwise
    column: str | None          # the field (register column) it maps to, None = not imported
    field_title: str            # the field's Chinese header, "" when none
    reason: str                 # why (Chinese)
    confidence: float
    corrected: bool = False     # the clerk chose this field
    written: str = ""           # the header as written, on one line ("" when none)


@dataclass
class PreviewRow:
    row_no: int
    values: dict[str, str]      # field title -> value as it would be stored (masked)
    rejected: str | None = None    # the reason, when the row would be rejected
    skipped: bool = False


@dataclass
class MappingView:
    pending: Pending
    kind: KindSpec | None
    header_row: int | None
    columns: list[ColumnView]
    missing: list[str]              # required fields of the kind no column maps to
    doubled: list[str]              # fields two columns map to
    reasons: list[str]              # the recognition's reasons (Chinese)
    confident: bool
    preview: list[PreviewRow] = field(default_factory=list)
    new_aliases: list[tuple[str, str]] = field(default_factory=list)   # (header, canonical header)
    recognition: Recognition | None = None      # what would be applied, when ready

    @property
    def ready(self) -> bool:
        return self.kind is not None and not self.missing and not self.doubled

    @property
    def problems(self) -> list[str]:
        out = []
        if self.kind is None:
            out.append("尚未选择文件类型。")
        if self.missing:
            out.append(f"缺少必填字段：{'、'.join(self.missing)}。请为它们指定对应的列。")
        if self.doubled:
            out.append(f"以下字段对应了多列：{'、'.join(self.doubled)}。每个字段只能对应一列。")
        return out


@dataclass
class Confirmed:
    result: DeliveryResult
    aliases_saved: list[tuple[str, str]]
    alias_notes: list[str]          # aliases not saved, and why
    evaluation: Any = None


# --------------------------------------------------------------------------- pending

_PENDING_SQL = ("SELECT d.id, d.original_name, d.original_path, d.stored_path, d.kind, d.department,"
                " coalesce(d.reason, ''), d.received_at, c.original_name, d.member"
                " FROM deliveries AS d LEFT JOIN deliveries AS c ON c.id = d.container_id"
                " WHERE d.status = ? ORDER BY d.id")


def pending(station) -> list[Pending]:
    """The held deliveries still waiting, oldest first (a confirmation cut short by a
    crash is finished first)."""
    confirming.finish_interrupted(station.home, station.conn)
    return [Pending(*r) for r in station.conn.execute(_PENDING_SQL, (held.HELD,)).fetchall()]


def find_pending(station, ref: str | int) -> Pending:
    """A waiting delivery by ledger number (``12`` or ``#12``), by path (the held copy or
    where it was delivered) or by file name."""
    waiting = pending(station)
    if not waiting:
        raise MappingError("没有待确认的文件。")
    text = str(ref).strip()
    number = text.lstrip("#")
    if number.isdigit():
        for p in waiting:
            if p.id == int(number):
                return p
    candidates = []
    try:
        as_path = Path(text).expanduser().resolve()
    except (OSError, RuntimeError):
        as_path = None
    for p in waiting:
        where = (station.home.root / p.stored_path).resolve()
        if as_path is not None and as_path == where:
            return p
        if text in (p.stored_path, p.original_path, p.name, p.member) or \
                (as_path is not None and str(as_path).endswith("/" + p.original_path)):
            candidates.append(p)
    if len(candidates) == 1:
        return candidates[0]
    listed = "；".join(f"#{p.id} {p.name}" for p in (candidates or waiting)[:10])
    if candidates:
        raise MappingError(f"有多个待确认文件名为「{text}」：{listed}。请用编号指定，如 station map #{candidates[0].id}。")
    raise MappingError(f"「{text}」不在待确认列表中。待确认的文件：{listed}。")


# --------------------------------------------------------------------------- reading

def _read(station, p: Pending, extra: int) -> list[tuple[int, list]]:
    try:
        with _open(station, p) as source:
            return list(islice(iter(source), HEADER_SEARCH_ROWS + extra))  # header search + samples
    except UnreadableFile as e:
        raise MappingError(f"无法读取待确认文件「{p.name}」：{e}") from None


def _open(station, p: Pending):
    cfg = station.cfg
    path = station.home.root / p.stored_path
    if not path.is_file():
        raise MappingError(f"待确认文件「{p.name}」已不在 {p.stored_path}（可能被移走或删除）。"
                           "请把原文件重新放入收件箱。")
    return open_rows(path, max_bytes=cfg.limits.max_bytes, max_cell_chars=cfg.limits.max_cell_chars,
                     max_columns=cfg.limits.max_columns)


def department_of(p: Pending) -> str | None:
    """The department folder the file was delivered in (or its zip member path names)."""
    for part in (p.member or "").split("/")[:-1] + p.original_path.split("/")[:-1]:
        if part in DEPARTMENTS:
            return part
    return p.department if p.department in DEPARTMENTS else None


# --------------------------------------------------------------------------- kinds and fields

def parse_kind(text: str | None) -> KindSpec | None:
    """A kind by name (``household_deaths``) or Chinese title (户籍注销人员)."""
    if text is None or not str(text).strip():
        return None
    t = str(text).strip()
    for spec in KINDS.values():
        if t in (spec.name, spec.title):
            return spec
    raise MappingError(f"未知的文件类型「{t}」。可选：" +
                       "、".join(f"{s.title}（{s.name}）" for s in KINDS.values()) + "。")


def parse_field(spec: KindSpec, text: str | None, cfg: Config) -> str | None:
    """A field of ``spec`` by register column, canonical header or alias; None = ignore."""
    t = "" if text is None else str(text).strip()
    if t.lower() in IGNORE_WORDS:
        return None
    for f in spec.fields:
        if t == f.column or t == f.header:
            return f.column
    canonical = cfg.aliases.get(fold_header(t))
    for f in spec.fields:
        if canonical == f.header:
            return f.column
    raise MappingError(f"「{spec.title}」没有字段「{t}」。可选字段：{'、'.join(f.header for f in spec.fields)}；"
                       "不导入该列请写「忽略」。")


def _header_index(cells: Sequence[Any], key: str | int) -> int:
    if isinstance(key, int):
        if 0 <= key < len(cells):
            return key
        raise MappingError(f"没有第 {key + 1} 列。")
    k = str(key).strip()
    for i, c in enumerate(cells):
        if _one_line(c) == k:
            return i
    folded = fold_header(k)
    hits = [i for i, c in enumerate(cells) if c not in (None, "") and fold_header(c) == folded]
    if len(hits) == 1:
        return hits[0]
    shown = "、".join(_one_line(c) for c in cells if c not in (None, ""))
    if hits:
        raise MappingError(f"表头「{k}」出现了多次，无法确定是哪一列。表头有：{shown}。")
    raise MappingError(f"文件中没有表头「{k}」。表头有：{shown}。")


# --------------------------------------------------------------------------- recognition

def _recognition(head: list[tuple[int, list]], cfg: Config, department: str | None, file_name: str,
                 kind: KindSpec | None, overrides: Mapping[str, str | None] | None = None) -> Recognition:
    """The recognition's proposal (:func:`station.kinds.recognise.propose`); ``kind``
    forces the kind, ``overrides`` maps headers as written to field columns."""
    try:
        return propose(head, cfg, department=department, file_name=file_name,
                       kind=kind.name if kind else None,
                       overrides={h: c or "" for h, c in (overrides or {}).items()} or None)
    except Unrecognised as e:
        raise MappingError(f"文件中找不到像表头的行，无法确定对应关系：{e}") from None


# --------------------------------------------------------------------------- the view

def view(station, ref: str | int | Pending, *, kind: str | KindSpec | None = None,
         columns: Mapping[str | int, str | None] | None = None, unmasked: bool = False,
         preview_rows: int = PREVIEW_ROWS) -> MappingView:
    """The proposal for a held file, with the clerk's choices applied: ``kind`` forces the
    kind, ``columns`` maps a header (as written, or a column index) to a field (register
    column, Chinese header or alias; ``None`` / 忽略 = not imported)."""
    p = ref if isinstance(ref, Pending) else find_pending(station, ref)
    if p.stored_path.lower().endswith(".zip"):
        raise MappingError(f"「{p.name}」是压缩包，不需要确认对应关系：{p.why} 处理后请把新的文件放入收件箱。")
    spec = kind if isinstance(kind, KindSpec) else parse_kind(kind)
    cfg = station.cfg
    rows = _read(station, p, max(preview_rows, SAMPLES) + 20)
    head = rows[:HEAD_ROWS]
    if not head:
        raise MappingError(f"待确认文件「{p.name}」中没有任何数据行。")
    dept = department_of(p)
    rec = _recognition(head, cfg, dept, p.name, spec)
    spec = spec or rec.kind
    cells = list(rec.header_cells)
    corrected: dict[int, str | None] = {}
    for key, value in (columns or {}).items():
        corrected[_header_index(cells, key)] = parse_field(spec, value, cfg)
    if corrected:
        rec = _recognition(head, cfg, dept, p.name, spec,
                           {_one_line(cells[i], None): c for i, c in corrected.items() if _one_line(cells[i], None)})
    chosen: dict[int, str | None] = {i: rec.columns.get(i) for i in range(len(cells))}
    chosen.update(corrected)
    data = [r for r in rows if r[0] > rec.header_row]
    proposals = {pr.index: pr for pr in rec.proposals}
    cols = _column_views(cells, chosen, set(corrected), proposals, spec, data, unmasked)
    mapped = [c.column for c in cols if c.column]
    by_column = {f.column: f for f in spec.fields}
    missing = [f.header for f in spec.required if f.column not in mapped]
    doubled = sorted({by_column[c].header for c in mapped if mapped.count(c) > 1})
    mv = MappingView(p, spec, rec.header_row, cols, missing, doubled, [str(r) for r in rec.reasons],
                     rec.confident and not corrected)
    if mv.ready:
        mv.recognition = _final_recognition(rec, spec, cols)
        mv.preview = _preview(mv.recognition, data[:preview_rows], unmasked)
        from .aliases import aliases_to_save
        mv.new_aliases = aliases_to_save(cfg, spec, [(c.written, c.column) for c in cols if c.column])[0]
    return mv


def _column_views(cells, chosen, corrected, proposals, spec, data, unmasked) -> list[ColumnView]:
    by_column = {f.column: f for f in spec.fields} if spec else {}
    samples = [list(r[1]) for r in data[:SAMPLES]]
    row_ids = [_row_ids(r) for r in samples]
    out = []
    for i, cell in enumerate(cells):
        col = chosen.get(i)
        if cell in (None, "") and col is None:
            continue
        f = by_column.get(col)
        prop = proposals.get(i)
        if i in corrected:
            reason = "人工指定。" if col else "人工指定：不导入。"
            confidence = 1.0
        elif prop is not None and prop.column == col:
            reason, confidence = prop.reason, float(prop.confidence)
        else:
            reason, confidence = ("按表头对应。" if col else "没有对应的字段，暂不导入。"), (1.0 if col else 0.0)
        shown = [_shown(r[i] if i < len(r) else "", f, unmasked, ids) for r, ids in zip(samples, row_ids)]
        out.append(ColumnView(i, _one_line(cell) or f"（第 {i + 1} 列，无表头）", shown, col,
                              f.header if f else "", reason, confidence, i in corrected,
                              _one_line(cell, None)))
    return out


def _final_recognition(rec: Recognition, spec: KindSpec, cols: list[ColumnView]) -> Recognition:
    """What is applied: the clerk's kind and columns, confident by confirmation."""
    return dataclasses.replace(
        rec, kind=spec, columns={c.index: c.column for c in cols if c.column},
        unknown_headers=[c.header for c in cols if not c.column], confident=True,
        reasons=["人工确认的文件类型和字段对应关系。"])


def _preview(rec, rows: list[tuple[int, list]], unmasked: bool) -> list[PreviewRow]:
    from ..kinds.mapping import RowRejected, RowSkipped, row_mapper
    from ..register.schema import kind_columns
    mapper = row_mapper(rec)
    names = list(kind_columns(rec.kind))
    fields = {f.column: f for f in rec.kind.fields}
    out = []
    for row_no, cells in rows:
        try:
            mapped = mapper(cells)
        except RowSkipped:
            out.append(PreviewRow(row_no, {}, skipped=True))
            continue
        except RowRejected as e:
            out.append(PreviewRow(row_no, {}, rejected=mask_ids_in_text(str(e)) if not unmasked else str(e)))
            continue
        values = dict(zip(names, mapped))
        ids = {v for c, v in values.items() if c in fields and fields[c].type == "id" and v}
        shown = {}
        for c, f in fields.items():
            if c in rec.columns.values():
                shown[f.header] = _shown(values.get(c), f, unmasked, ids)
        out.append(PreviewRow(row_no, shown))
    return out


# --------------------------------------------------------------------------- masking

_LONG_DIGITS = re.compile(r"(?<!\d)\d{9,}(?!\d)")


def _row_ids(cells: Sequence[Any]) -> set[str]:
    """The ID numbers among a row's cells (their birth digits are hidden everywhere)."""
    out = set()
    for c in cells:
        if isinstance(c, str) and looks_like_id(c.strip()):
            try:
                got = normalise_id(c)
            except FieldError:
                continue
            if got:
                out.add(got[0])
    return out


def _shown(value: Any, f, unmasked: bool, ids: set[str]) -> str:
    """A cell or stored value as the mapping screen shows it (``f``: the field it maps
    to, if any): one line, and by default masked as everywhere (normalise/privacy.py):
    IDs, accounts to their last four digits, birth dates to their year, the birth digits
    of the row's IDs wherever they appear, and any other long run of digits."""
    if value is None:
        return ""
    if isinstance(value, CellTooLong):
        return "（内容过长）"
    if isinstance(value, dt.datetime):
        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        text = _one_line(value)
    if unmasked:
        return text
    if (f is not None and f.type == "id") or looks_like_id(text.strip()):
        return mask_id(text.strip())
    if f is not None and f.type == "account":
        return mask_account(text)
    if f is not None and f.column == "birth_date":
        return mask_birth_date(text)
    return _LONG_DIGITS.sub(lambda m: mask_id(m.group(0)), mask_personal(text, ids))


_CONTROL = dict.fromkeys([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x200E, 0x200F,
                          *range(0x202A, 0x202F), *range(0x2066, 0x206A)], " ")


def _one_line(value: Any, limit: int | None = 60) -> str:
    """Hostile text made safe to show: one line, no control or bidi characters, bounded."""
    if value is None:
        return ""
    text = " ".join(str(value).translate(_CONTROL).split())
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


# --------------------------------------------------------------------------- confirming

def confirm(station, ref: str | int | Pending, *, kind: str | KindSpec | None = None,
            columns: Mapping[str | int, str | None] | None = None, save_aliases: bool = False,
            as_of: dt.date | None = None, evaluate: bool = True, source_note: str | None = None,
            who: str | None = None) -> Confirmed:
    """Apply a held file with the confirmed mapping (exactly once), save its headers as
    aliases when asked, then re-run the rules the new data can change."""
    mv = view(station, ref, kind=kind, columns=columns, preview_rows=0)
    if not mv.ready:
        raise MappingError("无法导入：" + "".join(mv.problems))
    p, final = mv.pending, mv.recognition
    pipeline = Pipeline(station.home, station.cfg, station.conn)
    try:
        result = confirming.apply_held(pipeline, p.id, final)
    except confirming.HeldError as e:
        raise MappingError(str(e)) from None
    except (UnreadableFile, Unrecognised) as e:
        raise MappingError(f"无法读取待确认文件「{p.name}」：{e}") from None
    if result is None:
        raise MappingError(f"文件「{p.name}」正由另一个监督站程序处理，请稍后再试。")
    pipeline.finish()
    saved, notes = [], []
    if save_aliases:
        from .aliases import save_aliases as save
        where = p.original_path if p.member is None else f"{p.container}/{p.member}"
        saved, notes = save(station, mv.kind, [(c.written, c.column) for c in mv.columns if c.column],
                            source=source_note or f"{who + ' ' if who else ''}确认「{where}」（第 {p.id} 号报送）时添加")
    out = Confirmed(result, saved, notes)
    if evaluate:
        through, kinds = station.pending_evaluation()
        if kinds:
            out.evaluation = station._evaluate_logged(as_of, kinds, through)
    return out


def reject(station, ref: str | int | Pending, why: str) -> str:
    """Refuse a held file with the clerk's reason (required): it moves to rejected/ and
    leaves the list. Where it lies now (relative to the home)."""
    if not (why or "").strip():
        raise MappingError("请写明拒收原因（例如：不是本站需要的文件、请对方重新报送）。")
    p = ref if isinstance(ref, Pending) else find_pending(station, ref)
    try:
        return confirming.reject_held(station.home, station.conn, p.id, why)
    except confirming.HeldError as e:
        raise MappingError(str(e)) from None
