"""Mapping a recognised file's raw rows to normalised register rows.

:func:`row_mapper` compiles, once per file, a plan of (cell index, normaliser) pairs, so
the per-row work is one tight loop. A row either becomes a tuple in the register's
column order (:func:`station.register.schema.kind_columns`; the trailing
``delivery_id`` and ``row_no`` are left for the caller), is skipped (a totals line or
a repeated header), or is rejected with a Chinese reason.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from ..formats import CellTooLong
from ..normalise import NORMALISERS, FieldError
from ..register.schema import kind_columns
from .recognise import Recognition
from .spec import KindSpec

TOTALS = re.compile(r"^\s*(合\s*计|总\s*计|小\s*计|共\s*计|总数|合计金额)")


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


def row_mapper(rec: Recognition) -> Callable[[Sequence[Any]], list]:
    spec = rec.kind
    columns = list(kind_columns(spec))
    pos = {c: i for i, c in enumerate(columns)}
    header_of = {f.column: f.header for f in spec.fields}
    plan = []
    for f in spec.fields:
        idx = next((i for i, c in rec.columns.items() if c == f.column), None)
        if idx is None:
            continue
        plan.append((idx, pos[f.column], NORMALISERS[f.type], f.required, f.type == "id", f.header))
    key_pos = [pos[c] for c in spec.key]
    is_cremation = spec.name == "cremations"
    width = len(columns)
    nk_pos = pos["nk"]

    def map_row(cells: Sequence[Any]) -> list:
        first = next((c for c in cells[:4] if isinstance(c, str) and c.strip()), None)
        if first is not None and TOTALS.match(first):
            raise RowSkipped("合计行")
        out: list[Any] = [None] * width
        for idx, p, fn, required, is_id, header in plan:
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
        if is_cremation:
            out[nk_pos] = natural_key(spec, {c: out[pos[c]] for c in spec.key})
        elif len(key_pos) == 1:
            out[nk_pos] = out[key_pos[0]] if isinstance(out[key_pos[0]], str) else str(out[key_pos[0]])
        else:
            out[nk_pos] = "\x1f".join("" if out[p] is None else str(out[p]) for p in key_pos)
        return out

    header_cells = {str(c).strip() for c in rec.header_cells if c not in (None, "")}

    def mapper(cells: Sequence[Any]) -> list:
        try:
            return map_row(cells)
        except RowRejected:
            # A repeated header (page breaks in exported lists) is not a bad row.
            if header_cells and {str(c).strip() for c in cells if c not in (None, "")} <= header_cells:
                raise RowSkipped("重复的表头行") from None
            raise

    return mapper
