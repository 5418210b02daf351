"""Shared types of the reading layer: the error, the long-cell marker and RowSource."""
from __future__ import annotations

from typing import Callable, Iterator

# Hard ceilings that hold even when the caller passes no ``max_bytes``. They protect the
# process, not policy: above them a reader would need gigabytes of memory.
MAX_EXCEL_CELLS = 10_000_000        # used area (rows x columns) of one sheet / one .xls
MAX_XLS_BYTES = 256 * 1024 * 1024   # calamine reads a whole .xls into memory
MAX_JSON_BYTES = 256 * 1024 * 1024  # JSON is parsed with json.loads, not streamed


class UnreadableFile(Exception):
    """The file cannot be read at all.

    ``reason`` (also ``str(e)``) is a Simplified Chinese sentence for the user saying
    what is wrong and what to do about it.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class CellTooLong:
    """Stands in for a cell longer than ``max_cell_chars``.

    The row is still yielded, so the caller can reject just that row with ``reason``;
    the text itself is not kept (it may be megabytes of garbage, e.g. after a stray
    quote character).
    """

    __slots__ = ("length", "limit")

    def __init__(self, length: int, limit: int | None = None):
        self.length = length
        self.limit = limit

    @property
    def reason(self) -> str:
        limit = f"，上限 {self.limit} 个字符" if self.limit is not None else ""
        return f"单元格内容过长（{self.length} 个字符{limit}），请检查该行是否有多余的引号或粘贴错误"

    def __repr__(self) -> str:
        return f"CellTooLong({self.length})"

    def __str__(self) -> str:           # as quoted in messages (a header seen, a rejected row)
        return f"（过长的内容，{self.length} 个字符）"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellTooLong) and other.length == self.length

    def __hash__(self) -> int:
        return hash(("CellTooLong", self.length))


class RowSource:
    """An opened file, ready to be iterated as ``(row_no, cells)`` pairs.

    Each ``iter()`` starts a fresh pass over the file. ``close()`` (or leaving the
    ``with`` block) releases open files and the loaded workbook; iterating afterwards
    raises ``ValueError``.
    """

    def __init__(
        self,
        format: str,
        *,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
        rows: Callable[[], Iterator[tuple[int, list]]],
        on_close: Callable[[], None] | None = None,
    ):
        self.format = format
        self.encoding = encoding
        self.delimiter = delimiter
        self.sheet = sheet
        self._rows = rows
        self._on_close = on_close
        self._iterators: list = []
        self.closed = False

    def __iter__(self) -> Iterator[tuple[int, list]]:
        if self.closed:
            raise ValueError("RowSource is closed")
        it = self._rows()
        self._iterators.append(it)
        return it

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for it in self._iterators:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        self._iterators.clear()
        if self._on_close is not None:
            self._on_close()
        self._rows = _closed_rows

    def __enter__(self) -> "RowSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        extra = {"encoding": self.encoding, "delimiter": self.delimiter, "sheet": self.sheet}
        shown = ", ".join(f"{k}={v!r}" for k, v in extra.items() if v is not None)
        return f"RowSource(format={self.format!r}{', ' + shown if shown else ''})"


def _closed_rows() -> Iterator[tuple[int, list]]:
    raise ValueError("RowSource is closed")


def human_size(n: int) -> str:
    """1536 -> '1.5 KB'; used in messages the user reads."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover


REEXPORT_HINT = "请用 Excel 或 WPS 打开后另存为 .xlsx 或 CSV（UTF-8）再放入收件箱"
EMPTY_REASON = "文件是空的（没有任何内容），请确认导出成功后重新放入收件箱。"
