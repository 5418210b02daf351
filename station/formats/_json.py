"""JSON deliveries: a list of records (objects).

Not streamed: the file is parsed with ``json.loads`` (hence ``MAX_JSON_BYTES``). The header
row (row_no 0) is the union of the records' keys in first-seen order; record i is row i.
Values stay as JSON gives them (str, int, float, bool), except: ``null`` and a missing key
become "" (the empty cell of every format), and a nested object or list becomes its JSON
text (``json.dumps(..., ensure_ascii=False)``) so the row can still be loaded or rejected
field by field.
"""
from __future__ import annotations

import json
from typing import Iterator

from ._base import EMPTY_REASON, MAX_JSON_BYTES, CellTooLong, RowSource, UnreadableFile, human_size
from ._text import scan_text

_SHAPE_HINT = "请确认文件是“记录列表”格式：以 [ 开头，每条记录是一个 {…} 对象。"


def _bad(detail: str) -> UnreadableFile:
    return UnreadableFile(f"JSON 文件格式不正确：{detail}。{_SHAPE_HINT}")


def open_json(path, size: int, *, max_cell_chars: int, max_columns: int) -> RowSource:
    if size > MAX_JSON_BYTES:
        raise UnreadableFile(
            f"JSON 文件过大（{human_size(size)}，JSON 格式最多 {MAX_JSON_BYTES // 2**20} MB），"
            f"请改用 CSV 或 xlsx 格式导出。")
    encoding = scan_text(path, stop_on_nul=False).encoding
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise UnreadableFile(f"JSON 文件第 {line} 行附近有无法识别的字符（编码不是 UTF-8 或 GBK/GB18030），"
                             f"请重新导出为 UTF-8 编码。") from None
    if not text.strip():
        raise UnreadableFile(EMPTY_REASON)
    try:
        data = json.loads(text)
    except RecursionError:
        raise _bad("嵌套层数过深") from None
    except ValueError as e:
        line = getattr(e, "lineno", None)
        raise _bad(f"第 {line} 行附近有语法错误" if line else "有语法错误") from None
    del text, raw
    if not isinstance(data, list):
        raise _bad("最外层不是列表")
    if not data:
        raise UnreadableFile("文件是空的：JSON 列表中没有任何记录，请确认导出成功后重新放入收件箱。")
    keys: dict[str, None] = {}
    for i, rec in enumerate(data, 1):
        if not isinstance(rec, dict):
            raise _bad(f"第 {i} 条记录不是对象")
        for k in rec:
            if k not in keys:
                keys[k] = None
                if len(keys) > max_columns:
                    raise UnreadableFile(
                        f"表头列数过多：JSON 记录共有超过 {max_columns} 个不同的字段。"
                        f"请检查导出设置，只保留需要的字段后重新导出。")
    header = list(keys)

    def rows() -> Iterator[tuple[int, list]]:
        yield 0, [_cell(k, max_cell_chars) for k in header]
        for i, rec in enumerate(data, 1):
            cells = [_cell(rec.get(k), max_cell_chars) for k in header]
            if any(c != "" for c in cells):
                yield i, cells

    return RowSource("json", encoding=encoding, rows=rows)


def _cell(v, max_cell: int):
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        v = json.dumps(v, ensure_ascii=False)
    if isinstance(v, str) and len(v) > max_cell:
        return CellTooLong(len(v), max_cell)
    return v
