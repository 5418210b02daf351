"""Recognising a delivery's kind from its header row.

The header is searched among the first rows (title lines may stand above it). Each cell
is folded (:func:`station.config.fold_header`) and mapped through the aliases in
``rules.yaml`` to a canonical header. A kind fits when all its required fields are
present; among fitting kinds the one in the file's department folder wins, then one
whose file-name hints match, then the one that explains most of the columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..config import Config, fold_header
from .spec import KINDS, KindSpec

HEADER_SEARCH_ROWS = 30


@dataclass
class Recognition:
    kind: KindSpec
    header_row: int                 # row number of the header in the file
    columns: dict[int, str]         # cell index -> field column
    unknown_headers: list[str]      # headers that map to no field of the kind
    header_cells: list              # the header row as written


class Unrecognised(Exception):
    """No kind fits. ``str(e)`` is a Chinese reason naming the headers seen and the
    nearest kind with its missing fields."""


def canonical_headers(cells: Sequence[Any], cfg: Config) -> list[str | None]:
    return [cfg.aliases.get(fold_header(c)) if c not in (None, "") else None for c in cells]


def _score(spec: KindSpec, canon: list[str | None]):
    by_header = spec.field_by_header()
    present = {h for h in canon if h in by_header}
    missing = [f.header for f in spec.required if f.header not in present]
    return present, missing


def recognise(rows: Sequence[tuple[int, list]], cfg: Config, *, department: str | None,
              file_name: str) -> Recognition:
    """Find the header row and kind among ``rows`` (the first rows of a file)."""
    best_miss: tuple[int, KindSpec, list[str], list] | None = None
    first_header: list | None = None
    for row_no, cells in rows[:HEADER_SEARCH_ROWS]:
        if not any(c not in (None, "") for c in cells):
            continue
        canon = canonical_headers(cells, cfg)
        if first_header is None and sum(1 for c in cells if c not in (None, "")) > 1:
            first_header = cells
        fitting = []
        for spec in KINDS.values():
            present, missing = _score(spec, canon)
            if not missing:
                kc = cfg.kinds[spec.name]
                preference = (
                    department is not None and kc.department == department,
                    any(n and n in file_name for n in kc.names),
                    len(present),
                    -(len(spec.fields) - len(present)),
                )
                fitting.append((preference, spec))
            elif present and (best_miss is None or len(missing) < len(best_miss[2])
                              or (len(missing) == len(best_miss[2]) and len(present) > best_miss[0])):
                best_miss = (len(present), spec, missing, cells)
        if fitting:
            fitting.sort(key=lambda p: p[0], reverse=True)
            spec = fitting[0][1]
            by_header = spec.field_by_header()
            columns: dict[int, str] = {}
            unknown: list[str] = []
            for i, h in enumerate(canon):
                if h in by_header and by_header[h].column not in columns.values():
                    columns[i] = by_header[h].column
                elif cells[i] not in (None, ""):
                    unknown.append(str(cells[i]))
            return Recognition(spec, row_no, columns, unknown, list(cells))

    seen = [_shown(c) for c in (best_miss[3] if best_miss else first_header or []) if c not in (None, "")]
    seen_text = "、".join(seen[:20]) + ("……" if len(seen) > 20 else "") if seen else "（没有找到表头）"
    if best_miss:
        _, spec, missing, _ = best_miss
        raise Unrecognised(
            f"无法识别文件类型。看到的表头：{seen_text}。最接近的类型是「{spec.title}」({spec.name})，"
            f"但缺少必填字段：{'、'.join(missing)}。如果对方改了表头名称，请在 rules.yaml 的 aliases 中添加别名后，"
            f"把文件从 rejected 放回 inbox。")
    raise Unrecognised(
        f"无法识别文件类型。看到的表头：{seen_text}。它不像任何已配置的文件类型；"
        f"请确认文件内容，或在 rules.yaml 中添加表头别名。")


def _shown(cell: Any, limit: int = 40) -> str:
    """A header cell as quoted in a reason: one line, at most ``limit`` characters."""
    text = " ".join(str(cell).split())
    return text if len(text) <= limit else text[:limit] + "…"
