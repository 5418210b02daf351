"""Mapping a recognised file's raw rows to normalised register rows.

:func:`row_mapper` compiles, once per file, a plan of (cell index, normaliser) pairs, so
the per-row work is one tight loop. A row either becomes a tuple in the register's
column order (:func:`station.kinds.spec.kind_columns`; the trailing
``delivery_id`` and ``row_no`` are left for the caller), is skipped (a totals line or
a repeated header), or is rejected with a Chinese reason.

The mapper also maps whole batches (:meth:`RowMapper.map_batch`), column by column: each
normaliser runs over a column with ``map`` and the rows are put back together with
``zip``, a fraction of the per-row loop's cost on large files. A batch with anything
unusual in it — a short row, a cell too long, a value a normaliser refuses, a missing
required value, text that might be a totals line — is mapped row by row instead, so the
result is always exactly the per-row result.
"""
from __future__ import annotations

import re
from itertools import repeat
from operator import itemgetter
from typing import Any, Callable, Sequence

from ..formats import CellTooLong
from ..normalise import NORMALISERS, FieldError
from ..normalise.columns import COLUMN_NORMALISERS
from .recognise import Recognition
from .spec import KindSpec, kind_columns

TOTALS = re.compile(r"^\s*(合\s*计|总\s*计|小\s*计|共\s*计|总数|合计金额)")
# Anywhere in the first cells of a batch: map that batch row by row (where TOTALS decides).
_MAYBE_TOTALS = re.compile(r"合\s*计|总\s*计|小\s*计|共\s*计|总数")
_FIRST_CELLS = itemgetter(slice(0, 4))
_STR = {str}

Batch = Sequence[tuple[int, Sequence[Any]]]     # (row_no, cells) pairs, in file order
# (rows for RowWriter.add_rows, with delivery_id and row_no filled in;
#  rejected rows as (row_no, reason, cells); number of rows skipped)
BatchResult = tuple[list, list[tuple[int, str, Sequence[Any]]], int]


class RowRejected(Exception):
    """A row that cannot be applied; ``str(e)`` is the Chinese reason."""


class RowSkipped(Exception):
    """A row that is not data (a totals line, a repeated header)."""


def natural_key(spec: KindSpec, row: dict[str, Any]) -> str:
    """The record's identity within its kind (DOMAIN.md § natural key)."""
    if spec.name == "cremations":
        who = row.get("id_number") or f"{row.get('name') or ''}|{row.get('birth_date') or ''}"
        return f"{who}\x1f{row.get('death_date') or ''}"
    return "\x1f".join("" if row.get(c) is None else str(row.get(c)) for c in spec.key)


def row_mapper(rec: Recognition) -> "RowMapper":
    return RowMapper(rec)


class RowMapper:
    """``mapper(cells)`` maps one row (or raises RowRejected / RowSkipped);
    ``mapper.map_batch(rows, delivery_id)`` maps many (see the module docstring)."""

    def __init__(self, rec: Recognition):
        spec = rec.kind
        columns = list(kind_columns(spec))
        pos = {c: i for i, c in enumerate(columns)}
        plan, column_fns = [], []
        for f in spec.fields:
            idx = next((i for i, c in rec.columns.items() if c == f.column), None)
            if idx is None:
                continue
            plan.append((idx, pos[f.column], NORMALISERS[f.type], f.required, f.type == "id", f.header))
            column_fns.append(COLUMN_NORMALISERS[f.type])
        self._column_fns = column_fns
        self.spec = spec
        self.plan = plan
        self.pos = pos
        self.width = len(columns)
        self.key_pos = [pos[c] for c in spec.key]
        self.nk_pos = pos["nk"]
        self.is_cremation = spec.name == "cremations"
        self.one_of = [pos[c] for c in spec.one_of]
        if self.one_of:
            headers = {f.column: f.header for f in spec.fields}
            self.one_of_reason = ("缺少「" + "」或「".join(headers[c] for c in spec.one_of)
                                  + "」：至少要填一项")
        self.header_cells = {str(c).strip() for c in rec.header_cells if c not in (None, "")}
        indexes = [idx for idx, *_ in plan]
        self._min_len = max(indexes, default=-1) + 1
        self._take = itemgetter(*indexes) if len(indexes) > 1 else None

    # ------------------------------------------------------------------ one row

    def map_row(self, cells: Sequence[Any]) -> list:
        first = next((c for c in cells[:4] if isinstance(c, str) and c.strip()), None)
        if first is not None and TOTALS.match(first):
            raise RowSkipped("合计行")
        out: list[Any] = [None] * self.width
        for idx, p, fn, required, is_id, header in self.plan:
            cell = cells[idx] if idx < len(cells) else None
            if isinstance(cell, CellTooLong):
                raise RowRejected(f"「{header}」内容过长（{cell.length} 个字符），不像正常数据")
            try:
                value = fn(cell)
            except FieldError as e:
                raise RowRejected(f"「{header}」{e.reason}") from None
            if value is None:
                if required:
                    raise RowRejected(f"缺少必填字段「{header}」")
                continue
            if is_id:
                out[p], out[p + 1] = value
            else:
                out[p] = value
        if self.one_of and all(out[p] is None for p in self.one_of):
            raise RowRejected(self.one_of_reason)
        key_pos = self.key_pos
        if self.is_cremation:
            out[self.nk_pos] = natural_key(self.spec, {c: out[self.pos[c]] for c in self.spec.key})
        elif len(key_pos) == 1:
            out[self.nk_pos] = out[key_pos[0]] if isinstance(out[key_pos[0]], str) else str(out[key_pos[0]])
        else:
            out[self.nk_pos] = "\x1f".join("" if out[p] is None else str(out[p]) for p in key_pos)
        return out

    def __call__(self, cells: Sequence[Any]) -> list:
        try:
            return self.map_row(cells)
        except RowRejected:
            # A repeated header (page breaks in exported lists) is not a bad row.
            header_cells = self.header_cells
            if header_cells and {str(c).strip() for c in cells if c not in (None, "")} <= header_cells:
                raise RowSkipped("重复的表头行") from None
            raise

    # ------------------------------------------------------------------ many rows

    def map_batch(self, rows: Batch, delivery_id: int) -> BatchResult:
        """Map ``rows``; the same result as :func:`map_rows` with this mapper."""
        if rows and self._take is not None:
            mapped = self._by_columns(rows, delivery_id)
            if mapped is not None:
                return mapped, [], 0
        return map_rows(self, rows, delivery_id)

    def _by_columns(self, rows: Batch, delivery_id: int) -> list | None:
        """The batch mapped column by column, or None when it has to go row by row."""
        row_nos, cells = zip(*rows)
        widths = set(map(len, cells))
        if min(widths) < self._min_len:
            return None                                   # short rows: missing cells
        if len(widths) == 1:                              # the usual: one transposition
            columns = list(zip(*cells))
            firsts, mapped = columns[:4], [columns[idx] for idx, *_ in self.plan]
        else:
            firsts = list(zip(*map(_FIRST_CELLS, cells))) if min(widths) >= 4 else None
            mapped = list(zip(*map(self._take, cells)))
        if firsts is None:
            return None
        try:
            text = "\n".join(map("\n".join, firsts))
        except TypeError:                                 # not all text (Excel): rare
            text = "\n".join("\n".join(map(str, c)) for c in firsts)
        if ("计" in text or "总数" in text) and _MAYBE_TOTALS.search(text):
            return None
        out: list[Any] = [repeat(None)] * self.width
        for (idx, p, fn, required, is_id, header), column_fn, col in zip(
                self.plan, self._column_fns, mapped):
            types = set(map(type, col))
            try:
                if types <= _STR:
                    values = column_fn(col)
                elif CellTooLong in types:
                    return None
                else:                                     # Excel cells: numbers, dates
                    values = list(map(fn, col))
                    if is_id:
                        values = tuple(zip(*[(None, None) if v is None else v for v in values]))
            except FieldError:
                return None
            if is_id:
                if required and None in values[0]:
                    return None
                out[p], out[p + 1] = values
            else:
                if required and None in values:
                    return None
                out[p] = values
        n = len(cells)
        if self.one_of:                                   # a row naming none: row by row
            given = [out[p] for p in self.one_of if not isinstance(out[p], repeat)]
            if not given or any(all(v is None for v in vs) for vs in zip(*given)):
                return None
        keys = [out[p] for p in self.key_pos]
        if self.is_cremation:
            ids, names, births, deaths = (([None] * n if isinstance(k, repeat) else k) for k in keys)
            out[self.nk_pos] = [f"{i or (nm or '') + '|' + (b or '')}\x1f{d or ''}"
                                for i, nm, b, d in zip(ids, names, births, deaths)]
        else:
            texts = []
            for col in keys:
                if isinstance(col, repeat):               # a key field the file lacks
                    col = [""] * n
                elif None in col:
                    col = ["" if v is None else str(v) for v in col]
                elif not set(map(type, col)) <= _STR:
                    col = list(map(str, col))
                texts.append(col)
            out[self.nk_pos] = texts[0] if len(texts) == 1 else list(map("\x1f".join, zip(*texts)))
        out[-2] = repeat(delivery_id)
        out[-1] = row_nos
        return list(zip(*out))


def map_rows(mapper: Callable[[Sequence[Any]], list], rows: Batch, delivery_id: int) -> BatchResult:
    """Map a batch row by row with a per-row ``mapper``."""
    good, rejected, skipped = [], [], 0
    for row_no, cells in rows:
        try:
            values = mapper(cells)
        except RowRejected as e:
            rejected.append((row_no, str(e), cells))
            continue
        except RowSkipped:
            skipped += 1
            continue
        values[-2] = delivery_id
        values[-1] = row_no
        good.append(values)
    return good, rejected, skipped
