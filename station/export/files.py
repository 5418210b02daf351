"""Writing export files safely: atomic and owner-only on disk, inert in Excel and WPS.

- Files are written to a temporary file in the target folder (created 0600) and moved
  into place with ``os.replace``: a killed export never leaves a half-written file under
  the final name.
- No cell can be taken as a formula. In CSV, text starting with ``= + - @``, tab, CR or
  LF — also in their full-width or small forms (``＝ ＋ － ＠ ﹦``…), which Excel and WPS
  may fold — gets a leading ``'`` (NOTES.md § Exports), which is what a spreadsheet needs
  there. In XLSX the text is kept exactly as entered in a string-typed cell (openpyxl
  would write any ``=…`` string as a formula otherwise) with the quotePrefix style, so it
  stays text when edited and prints without a visible mark.
- CSV is UTF-8 with a BOM, so that Excel and WPS show Chinese correctly.
"""
from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import sqlite3
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


class ExportError(Exception):
    """The export cannot be written. ``str(e)`` is a Chinese message for the user."""


@dataclass
class ExportResult:
    path: Path
    rows: int                 # data rows written (decisions, or report lines)
    entries: int              # review-log entries at export time
    head: str                 # review-log head at export time


class Money(float):
    """An amount of yuan: two decimals in text formats, a number in XLSX."""


class Rate:
    """A rate against the target: ``62.5%`` (or — when there is no denominator)."""

    def __init__(self, value: float | None):
        self.value = value

    def __str__(self) -> str:
        return "—" if self.value is None else f"{self.value * 100:.1f}%"


def neutralise(text: str) -> str:
    """Make ``text`` inert in a spreadsheet: prefix ``'`` when it could start a formula,
    judged on its first character after NFKC folding (``＝`` and ``﹦`` fold to ``=``)."""
    if text and unicodedata.normalize("NFKC", text[0]).startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def text_of(value: Any) -> str:
    """A cell's text for CSV, Markdown and HTML."""
    if value is None:
        return ""
    if isinstance(value, Money):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, Rate)):
        return str(value)
    return neutralise(str(value))


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction, so that rows and the log's head come from one state."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def head_line(entries: int, head: str) -> str:
    return f"校验值：entries={entries} head={head}"


# --------------------------------------------------------------------------- atomic

def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through ``write(binary_file)``: temp file in the same folder, fsync,
    ``os.replace``. The file is created 0600 (owner only)."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"目标文件夹 {folder} 不存在。请先创建该文件夹，或用 --out 指定其他位置。")
    _remove_stale_parts(folder)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=folder)
    except OSError as e:
        raise ExportError(f"无法在 {folder} 中写入文件：{e.strerror or e}。"
                          "请检查该文件夹的写权限和磁盘空间，或用 --out 指定其他位置。") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ExportError(f"写入 {path} 失败：{e.strerror or e}。请检查磁盘空间和权限；"
                              "如果该文件正在 Excel/WPS 中打开，请先关闭。") from None
        raise


STALE_PART_SECONDS = 24 * 3600
_PART = re.compile(r"^\..+\.(\d+)\.[A-Za-z0-9_]{8}\.part$")     # .<name>.<pid>.<random>.part


def _remove_stale_parts(folder: Path) -> None:
    """Temporary files left in ``folder`` by exports that were killed: their writer (the
    pid in their name) is gone, or they are more than a day old."""
    import time
    try:
        candidates = [(p, m) for p in folder.iterdir() if (m := _PART.match(p.name))]
    except OSError:
        return
    for p, m in candidates:
        pid = int(m.group(1))
        try:
            stale = time.time() - p.stat().st_mtime > STALE_PART_SECONDS
            if not stale and pid != os.getpid():
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    stale = True
                except PermissionError:
                    pass
            if stale:
                p.unlink()
        except OSError:
            pass


# --------------------------------------------------------------------------- CSV

def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]],
              footer: Sequence[str] = ()) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([text_of(h) for h in header])
    for row in rows:
        w.writerow([text_of(v) for v in row])
    for line in footer:
        w.writerow([text_of(line)])
    return buf.getvalue().encode("utf-8-sig")


# --------------------------------------------------------------------------- XLSX

def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class SheetWriter:
    """Appends rows to an openpyxl worksheet with safe cell types and tracks widths."""

    def __init__(self, ws, text_columns: Sequence[int] = ()):
        self.ws = ws
        self.row = 0
        self.widths: dict[int, int] = {}
        self.text_columns = set(text_columns)   # 1-based columns formatted as text (@)

    def append(self, values: Sequence[Any], *, bold: bool = False, track: bool = True) -> None:
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.styles import Font
        self.row += 1
        for col, value in enumerate(values, start=1):
            cell = self.ws.cell(row=self.row, column=col)
            if value is None:
                shown = ""
            elif isinstance(value, Rate):
                if value.value is None:
                    cell.value = "—"
                    cell.data_type = "s"
                else:
                    cell.value = value.value
                    cell.number_format = "0.0%"
                shown = str(value)
            elif isinstance(value, Money):
                cell.value = float(value)
                cell.number_format = "#,##0.00"
                shown = f"{value:,.2f}"
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.value = value
                shown = str(value)
            else:
                # Exactly as entered, typed as text: a text cell is never a formula, so no
                # visible ' is needed; quotePrefix keeps it text when a clerk edits the cell.
                shown = ILLEGAL_CHARACTERS_RE.sub("", str(value))
                cell.value = shown
                cell.data_type = "s"
                if neutralise(shown) != shown:
                    cell.quotePrefix = True
                if col in self.text_columns:
                    cell.number_format = "@"
            if bold:
                cell.font = Font(bold=True)
            if track:
                self.widths[col] = max(self.widths.get(col, 0), _display_width(shown))

    def blank(self) -> None:
        self.row += 1

    def finish(self, *, max_width: int = 60, min_width: int = 6) -> None:
        from openpyxl.utils import get_column_letter
        for col, width in self.widths.items():
            self.ws.column_dimensions[get_column_letter(col)].width = max(min_width, min(max_width, width + 2))


def new_workbook():
    from openpyxl import Workbook
    return Workbook()


def save_workbook(wb, f: IO[bytes]) -> None:
    wb.save(f)
