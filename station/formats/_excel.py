"""Excel workbooks (.xlsx and legacy .xls) through python-calamine.

calamine loads a whole sheet into memory, densely (rows x columns). Before it is called,
``_zip`` / ``_ole`` check the file so that no input can make it allocate absurd amounts
(which would abort the process, not raise). Every exception calamine raises, including
Rust panics (``pyo3_runtime.PanicException``, a BaseException), becomes UnreadableFile.

Sheet choice: the first visible worksheet with a non-empty cell, else the first hidden one
(templates often hide a code-list sheet in front). A caller that knows better passes
``choose_sheet``: it sees every non-empty sheet's first rows (visible sheets first) and
picks one, so a workbook whose first sheet is 填表说明 is read from its data sheet. Cells are what calamine gives: str,
float (all numbers; Excel has no integer type), bool, date, datetime, time, timedelta, and
"" for an empty cell (calamine never gives None; error cells like #N/A also come as "").
Text longer than ``max_cell_chars`` becomes CellTooLong. Cell i of a row is column i of
the sheet (A = 0), even when the used range starts further right.

A workbook in the 1904 date system (old Mac Excel) gives its date cells correctly (calamine
reads the flag), but a number that is a date serial in a cell without a date format counts
days from 1904-01-01: such a workbook's numbers come as Number1904 or Integer1904, a float or int that
says so (``date_system == 1904``), and the date normalisers shift them.
"""
from __future__ import annotations

import os
import struct
from itertools import islice
from typing import Callable, Iterator, Sequence

import python_calamine as pc

from . import _ole, _zip
from ._base import (MAX_EXCEL_CELLS, MAX_XLS_BYTES, REEXPORT_HINT, CellTooLong, RowSource,
                    UnreadableFile, human_size)

# Given each non-empty sheet's name and first rows, the index of the sheet to read.
ChooseSheet = Callable[[Sequence[tuple[str, list]]], int]

EXCEL_MAX_CELL_CHARS = 32767     # Excel's own limit on a cell's text

CORRUPT = "Excel 文件已损坏或不完整，无法打开。请用 Excel 或 WPS 重新导出（另存为 .xlsx）后再放入收件箱。"
PASSWORD = "文件有密码保护，无法读取。请在 Excel 或 WPS 中取消密码（或另存为不加密的 .xlsx / CSV）后再放入收件箱。"
NOT_EXCEL = "文件不是 Excel 表格（是其他 Office 文档），请确认放入的是数据表格。"

_ZIP_MESSAGES = {
    "corrupt": CORRUPT,
    "encrypted": PASSWORD,
    "xlsb": "文件是 Excel 二进制工作簿（.xlsb），暂不支持。请在 Excel 中另存为 .xlsx 后再放入收件箱。",
    "ods": "文件是 OpenDocument 表格（.ods），暂不支持。请另存为 .xlsx 后再放入收件箱。",
    "office": NOT_EXCEL,
    "method": "Excel 文件使用了不支持的压缩方式，无法检查。" + REEXPORT_HINT + "。",
}


class Number1904(float):
    """A number cell of a workbook in the 1904 date system: as a date serial it counts
    days from 1904-01-01 (station.normalise.dates reads ``date_system``)."""
    __slots__ = ()
    date_system = 1904


class Integer1904(int):
    """A whole number cell of a legacy (.xls) workbook in the 1904 date system."""
    __slots__ = ()
    date_system = 1904


def _too_large(rows: int, cols: int, sheet: str | None) -> UnreadableFile:
    where = f"工作表“{sheet}”" if sheet else "工作簿"
    return UnreadableFile(
        f"{where}的数据区域过大（约 {rows} 行 × {cols} 列，超过 {MAX_EXCEL_CELLS} 个单元格的上限）。"
        f"请删除多余的空行、空列（常见于误填在远处的单元格），或把数据另存为 CSV 后再放入收件箱。")


def _zip_problem(e: _zip.ZipProblem) -> UnreadableFile:
    if e.kind == "bomb":
        return UnreadableFile(
            f"Excel 文件解压后过大（约 {human_size(e.info.get('total', 0))}），可能已损坏或不是正常导出的表格。"
            f"请重新导出，或另存为 CSV 后再放入收件箱。")
    return UnreadableFile(_ZIP_MESSAGES.get(e.kind, CORRUPT))


def _calamine(fn, *args):
    """Call into calamine; anything it raises (panics included) becomes UnreadableFile."""
    try:
        return fn(*args)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except pc.PasswordError:
        raise UnreadableFile(PASSWORD) from None
    except BaseException:
        raise UnreadableFile(CORRUPT) from None


def _check_xls(path, size: int) -> bool:
    """Check a legacy workbook before calamine sees it; whether it uses the 1904 dates."""
    if size > MAX_XLS_BYTES:
        raise UnreadableFile(
            f"Excel 97-2003（.xls）文件过大（{human_size(size)}，上限 {MAX_XLS_BYTES // 2**20} MB）。"
            f"请另存为 .xlsx 或 CSV 后再放入收件箱。")
    with open(path, "rb") as f:
        data = f.read()
    try:
        ole = _ole.Ole(data)
        if "EncryptedPackage" in ole.names or "EncryptionInfo" in ole.names:
            raise UnreadableFile(PASSWORD)
        stream = ole.stream("Workbook")
        if stream is None:
            stream = ole.stream("Book")
        if stream is None:
            raise UnreadableFile(NOT_EXCEL if ole.names & {"WordDocument", "PowerPoint Document"}
                                 else CORRUPT)
        _ole.check_workbook_stream(stream)
        return _ole.date1904(stream)
    except (_ole.OleError, struct.error, IndexError, ValueError):
        raise UnreadableFile(CORRUPT) from None
    except _ole.Encrypted:
        raise UnreadableFile(PASSWORD) from None
    except _ole.TooLarge as e:
        raise _too_large(e.rows, e.cols, None) from None


def _open_workbook(path, fmt: str):
    # from_path picks the reader by extension; with any other name let calamine sniff
    # the bytes (it tries xls, then xlsx) from an in-memory copy.
    if os.path.splitext(str(path))[1] == "." + fmt:
        return _calamine(pc.CalamineWorkbook.from_path, str(path))
    with open(path, "rb") as f:
        return _calamine(pc.CalamineWorkbook.from_filelike, f)


HEAD_FOR_CHOICE = 30     # rows of each sheet shown to a sheet chooser


def open_excel(path, fmt: str, size: int, *, max_cell_chars: int, max_columns: int,
               choose_sheet: ChooseSheet | None = None) -> RowSource:
    zf = None
    wb = None
    try:
        if fmt == "xlsx":
            try:
                zf = _zip.check_zip(path)
                parts = _zip.sheet_parts(zf)
            except _zip.ZipProblem as e:
                raise _zip_problem(e) from None
            dates_1904 = _zip.date1904(zf)
        else:
            dates_1904 = _check_xls(path, size)
            parts = {}
        wb = _open_workbook(path, fmt)
        metas = _calamine(lambda: list(wb.sheets_metadata))
        worksheets = [m for m in metas if m.typ == pc.SheetTypeEnum.WorkSheet]
        order = ([m for m in worksheets if m.visible == pc.SheetVisibleEnum.Visible]
                 + [m for m in worksheets if m.visible != pc.SheetVisibleEnum.Visible])
        scanned_all = False
        candidates: list[tuple[str, _SheetRows]] = []
        for meta in order:
            if zf is not None:
                try:
                    part = parts.get(meta.name)
                    if part is not None:
                        _zip.check_sheet(zf, part, max_columns)
                    elif not scanned_all:           # unknown part: check every sheet part
                        for p in _zip.all_sheet_parts(zf):
                            _zip.check_sheet(zf, p, max_columns)
                        scanned_all = True
                except _zip.ZipProblem as e:
                    raise _zip_problem(e) from None
                except _zip.SheetTooLarge as e:
                    raise _too_large(e.rows, e.cols, meta.name) from None
            sheet = _calamine(wb.get_sheet_by_name, meta.name)
            start = sheet.start
            if start is None:
                continue
            width = sheet.end[1] + 1
            if width > max_columns:
                raise UnreadableFile(
                    f"表头列数过多：工作表“{meta.name}”有 {width} 列，超过上限 {max_columns} 列。"
                    f"请删除多余的列（包括远处误填的单元格）后重新导出。")
            if not any(row.count("") != len(row) for row in _calamine(sheet.iter_rows)):
                continue
            rows = _SheetRows(sheet, start[1], max_cell_chars, dates_1904)
            if choose_sheet is None:
                return RowSource(fmt, sheet=meta.name, rows=rows, on_close=rows.release)
            candidates.append((meta.name, rows))
        if len(candidates) == 1:
            name, rows = candidates[0]
            return RowSource(fmt, sheet=name, rows=rows, on_close=rows.release)
        if candidates:
            heads = [(name, list(islice(rows(), HEAD_FOR_CHOICE))) for name, rows in candidates]
            pick = choose_sheet(heads)
            pick = pick if isinstance(pick, int) and 0 <= pick < len(candidates) else 0
            for i, (_, rows) in enumerate(candidates):
                if i != pick:
                    rows.release()
            name, rows = candidates[pick]
            return RowSource(fmt, sheet=name, rows=rows, on_close=rows.release)
        raise UnreadableFile("Excel 文件中没有任何数据（所有工作表都是空的），请确认导出成功后重新放入收件箱。")
    finally:
        # The rows live in the loaded sheet; release the file now (Windows keeps open
        # files from being moved to processed/).
        if wb is not None:
            try:
                wb.close()
            except BaseException:
                pass
        if zf is not None:
            zf.close()


class _SheetRows:
    def __init__(self, sheet, first_col: int, max_cell_chars: int, dates_1904: bool = False):
        self.sheet = sheet
        self.first_col = first_col
        self.max_cell = max_cell_chars
        self.dates_1904 = dates_1904

    def release(self) -> None:
        self.sheet = None

    def __call__(self) -> Iterator[tuple[int, list]]:
        sheet = self.sheet
        if sheet is None:
            raise ValueError("RowSource is closed")
        return self._rows(sheet)

    def _rows(self, sheet) -> Iterator[tuple[int, list]]:
        pad = [""] * self.first_col
        limit = self.max_cell
        check = limit < EXCEL_MAX_CELL_CHARS
        # iter_rows starts at sheet row 1, padding rows above the used range with "".
        for row_no, row in enumerate(sheet.iter_rows(), 1):
            if row.count("") == len(row):
                continue
            if check:
                for i, v in enumerate(row):
                    if v.__class__ is str and len(v) > limit:
                        row[i] = CellTooLong(len(v), limit)
            if self.dates_1904:
                row = [Number1904(v) if v.__class__ is float else Integer1904(v) if v.__class__ is int
                       else v for v in row]
            yield row_no, (pad + row if pad else row)
