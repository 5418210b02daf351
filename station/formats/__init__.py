"""The reading layer: turn a delivered file into a stream of raw rows.

    with open_rows(path, max_bytes=1 << 30) as src:
        for row_no, cells in src:
            ...

Formats (decided by content first, the extension only as a fallback):

- ``xlsx``  zip magic ``PK\\x03\\x04``; read with python-calamine after safety checks.
- ``xls``   OLE2 magic ``\\xD0\\xCF\\x11\\xE0``; likewise. Encrypted Office files of either
  kind (an OLE container with an EncryptedPackage stream) are refused with a reason.
- ``json``  text whose first non-space character is ``[`` followed by ``{`` or ``]``
  (or any text in a ``.json`` file): a list of records.
- ``csv``   any other text: UTF-8 (with or without BOM), GBK/GB18030, UTF-16 with BOM;
  comma, tab or semicolon separated.

A workbook is read from one sheet: the first non-empty one, or the one ``choose_sheet``
picks from every non-empty sheet's name and first rows.

Rows come in file order, including title lines above the header and totals below it;
blank rows (every cell empty) are skipped, but row numbers count them. ``row_no`` is what a
user sees: the physical line a CSV record starts on, the Excel sheet row, or for JSON the
record number (the header, synthesised from the keys, is row 0). Rows are not padded.

An empty cell is always ``""``, in every format. A cell longer than ``max_cell_chars``
comes as a ``CellTooLong`` marker (the row is still yielded). Anything that makes the whole
file unreadable raises ``UnreadableFile`` whose ``reason`` tells the user, in Chinese, what
is wrong and what to do; iteration can raise it too (e.g. a row wider than
``max_columns`` further down a CSV, or a file that changed while being read).
"""
from __future__ import annotations

import os

from ._base import (EMPTY_REASON, MAX_EXCEL_CELLS, MAX_JSON_BYTES, MAX_XLS_BYTES, CellTooLong,
                    RowSource, UnreadableFile, human_size)
from ._text import detect_encoding

__all__ = ["open_rows", "detect_encoding", "RowSource", "UnreadableFile", "CellTooLong",
           "MAX_EXCEL_CELLS", "MAX_JSON_BYTES", "MAX_XLS_BYTES"]


_OTHER_BINARY = (
    (b"%PDF", "文件是 PDF 文档，不是数据表格。请向报送单位索取 Excel 或 CSV 格式的数据。"),
    (b"\x89PNG", "文件是图片，不是数据表格。请向报送单位索取 Excel 或 CSV 格式的数据。"),
    (b"\xff\xd8\xff", "文件是图片，不是数据表格。请向报送单位索取 Excel 或 CSV 格式的数据。"),
    (b"GIF8", "文件是图片，不是数据表格。请向报送单位索取 Excel 或 CSV 格式的数据。"),
    (b"Rar!", "文件是压缩包（RAR），请先解压，再把其中的表格文件放入收件箱。"),
    (b"7z\xbc\xaf\x27\x1c", "文件是压缩包（7z），请先解压，再把其中的表格文件放入收件箱。"),
    (b"\x1f\x8b", "文件是压缩包（gzip），请先解压，再把其中的表格文件放入收件箱。"),
)
_HTML_STARTS = ("<html", "<!doctype", "<table", "<head", "<body", "<meta", "<div", "<style")


def sniff_format(path, head: bytes) -> str:
    """'xlsx', 'xls', 'json' or 'csv' for a file starting with ``head``."""
    ext = os.path.splitext(str(path))[1].lower()
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    for magic, reason in _OTHER_BINARY:
        if head.startswith(magic):
            raise UnreadableFile(reason)
    text = _head_text(head)
    if text.startswith("[") and (text[1:].lstrip()[:1] in ("{", "]") or ext == ".json"):
        return "json"
    low = text[:200].lower()
    if low.startswith(_HTML_STARTS) or (low.startswith("<?xml") and "<html" in low):
        raise UnreadableFile("文件实际是网页（HTML）格式，不是真正的 Excel 文件。"
                             "请用 Excel 或 WPS 打开后另存为 .xlsx 再放入收件箱。")
    if low.startswith("<?xml") and ("urn:schemas-microsoft-com:office:spreadsheet" in text
                                    or "<workbook" in low):
        raise UnreadableFile("文件是 Excel 2003 XML 表格，暂不支持。"
                             "请用 Excel 或 WPS 打开后另存为 .xlsx 再放入收件箱。")
    if ext == ".json":
        return "json"
    return "csv"


def _limit_text(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else human_size(n)


def _head_text(head: bytes) -> str:
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(enc, "ignore").lstrip()
    return head.decode("utf-8", "ignore").lstrip()


def open_rows(path, *, max_bytes: int | None = None, max_cell_chars: int = 10000,
              max_columns: int = 500, choose_sheet=None) -> RowSource:
    """Open a delivered file for reading rows; see the module docstring."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise UnreadableFile("文件不存在（可能已被移走或改名），请重新放入收件箱。") from None
    except OSError:
        raise UnreadableFile("文件无法打开（没有读取权限或正被其他程序占用），请关闭相关程序后重试。") from None
    if max_bytes is not None and size > max_bytes:
        raise UnreadableFile(
            f"文件大小 {human_size(size)} 超过上限 {_limit_text(max_bytes)}，"
            f"请拆分成几个较小的文件后再放入收件箱，或请管理员调整上限。")
    if size == 0:
        raise UnreadableFile(EMPTY_REASON)
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        raise UnreadableFile("文件无法打开（没有读取权限或正被其他程序占用），请关闭相关程序后重试。") from None
    fmt = sniff_format(path, head)
    try:
        if fmt in ("xlsx", "xls"):
            from ._excel import open_excel
            return open_excel(path, fmt, size, max_cell_chars=max_cell_chars, max_columns=max_columns,
                              choose_sheet=choose_sheet)
        if fmt == "json":
            from ._json import open_json
            return open_json(path, size, max_cell_chars=max_cell_chars, max_columns=max_columns)
        from ._text import open_text
        return open_text(path, max_cell_chars=max_cell_chars, max_columns=max_columns)
    except OSError:
        raise UnreadableFile("读取文件时出错（文件可能正在复制或已被移走），请确认文件完整后重新放入收件箱。") from None
    except MemoryError:
        raise UnreadableFile("文件过大，内存不足以读取。请拆分成几个较小的文件，或另存为 CSV 后再放入收件箱。") from None


