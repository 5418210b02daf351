"""Pre-flight checks for .xlsx (a zip of XML parts) before calamine sees them.

1. The zip directory: reject non-zips, truncated zips, encrypted entries, compression
   methods Python cannot check, zip bombs (total uncompressed size over ``MAX_UNZIPPED``,
   or over ``BOMB_FLOOR`` at more than ``BOMB_RATIO`` x the compressed size), and other
   zip-based formats (xlsb, ods, docx) with a message of their own. Declared sizes can be
   trusted: calamine's zip reader stops with an error at a part's declared size (checked).
2. The shared-string table: at most ``MAX_EXCEL_CELLS`` strings.
3. Each worksheet part calamine is about to load: calamine stores a sheet densely
   (rows x columns of the box around all cells), so two stray cells in A1 and XFD1048576
   (a 5 KB file) make it allocate hundreds of GB and abort the process. The scan bounds
   that box without parsing the XML cell by cell (a few regex passes, ~20% of calamine's
   own time); files written in an unusual style fall back to an exact expat pass.

XML entity expansion ("billion laughs") is not a risk here: calamine's XML reader
(quick-xml) does not expand DTD entities and fails with "unrecognized entity" (checked),
and the fallback expat pass refuses any DTD.
"""
from __future__ import annotations

import re
import zipfile
from xml.parsers import expat

from ._base import MAX_EXCEL_CELLS

MAX_UNZIPPED = 1 << 30          # 1 GB of XML in total is far beyond any partner file
BOMB_FLOOR = 100 << 20
BOMB_RATIO = 200
MAX_PARTS = 10_000
SCAN_CHUNK = 1 << 22


class ZipProblem(Exception):
    """``kind`` says which user message applies; ``str(e)`` is an English diagnostic."""

    def __init__(self, kind: str, detail: str = "", **info):
        super().__init__(detail or kind)
        self.kind = kind
        self.info = info


class SheetTooLarge(Exception):
    def __init__(self, rows: int, cols: int):
        super().__init__(f"{rows} x {cols}")
        self.rows = rows
        self.cols = cols


def _member(names: list[str], wanted: str) -> str | None:
    """calamine looks parts up case-insensitively and takes the first match."""
    w = wanted.lower()
    for n in names:
        if n.lower() == w:
            return n
    return None


def check_zip(path) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except Exception as e:      # BadZipFile, struct.error on odd zip64 fields, OSError...
        raise ZipProblem("corrupt", repr(e)) from None
    try:
        names = [i.filename for i in infos]
        lower = {n.lower() for n in names}
        if "xl/workbook.bin" in lower:
            raise ZipProblem("xlsb")
        if "content.xml" in lower or "mimetype" in lower:
            raise ZipProblem("ods")
        if "word/document.xml" in lower or "ppt/presentation.xml" in lower:
            raise ZipProblem("office")
        if "xl/workbook.xml" not in lower:
            raise ZipProblem("corrupt", "no xl/workbook.xml")
        if len(infos) > MAX_PARTS:
            raise ZipProblem("corrupt", "too many parts")
        check_entries(infos)
        sst = _member(names, "xl/sharedStrings.xml")
        if sst is not None:
            _check_shared_strings(zf, sst)
        return zf
    except BaseException:
        zf.close()
        raise


def check_entries(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip bomb (by the declared sizes), encrypted entries and compression
    methods Python cannot check."""
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > MAX_UNZIPPED or (total > BOMB_FLOOR and total > BOMB_RATIO * max(packed, 1)):
        raise ZipProblem("bomb", total=total)
    for i in infos:
        if i.flag_bits & 0x1:
            raise ZipProblem("encrypted")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ZipProblem("method", str(i.compress_type))


_SI = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")


def _check_shared_strings(zf: zipfile.ZipFile, name: str) -> None:
    count = 0
    for data in _xml_chunks(zf, name):
        count += len(_SI.findall(data))
        if count > MAX_EXCEL_CELLS:
            raise ZipProblem("bomb", total=zf.getinfo(name).file_size)


def _xml_chunks(zf: zipfile.ZipFile, name: str):
    """The part's bytes in chunks cut after a '>' (so no tag is split)."""
    carry = b""
    try:
        with zf.open(name) as f:
            while True:
                b = f.read(SCAN_CHUNK)
                if not b:
                    if carry:
                        yield carry
                    return
                data = carry + b
                cut = data.rfind(b">") + 1
                carry = data[cut:]
                if len(carry) > SCAN_CHUNK:        # no '>' for 4 MB: not a sheet
                    raise ZipProblem("corrupt", "no tag end")
                if cut:
                    yield data[:cut]
    except ZipProblem:
        raise
    except Exception as e:      # bad CRC, truncated data, unsupported feature...
        raise ZipProblem("corrupt", repr(e)) from None


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> zip member, resolved the way calamine does (workbook.xml + rels).

    Best effort: a name missing from the result is scanned via ``all_sheet_parts``.
    """
    names = zf.namelist()
    out: dict[str, str] = {}
    try:
        wb = _small_part(zf, _member(names, "xl/workbook.xml"))
        rels = _small_part(zf, _member(names, "xl/_rels/workbook.xml.rels"))
    except ZipProblem:
        return out
    targets = {}
    for m in re.finditer(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>", rels):
        attrs = dict(re.findall(rb'([\w:.-]+)\s*=\s*"([^"]*)"', m.group(1)))
        if b"Id" in attrs and b"Target" in attrs:
            targets[attrs[b"Id"]] = attrs[b"Target"].decode("utf-8", "replace")
    for m in re.finditer(rb"<(?:[\w.-]+:)?sheet\b([^>]*)>", wb):
        attrs = dict(re.findall(rb'([\w:.-]+)\s*=\s*"([^"]*)"', m.group(1)))
        rid = attrs.get(b"r:id") or attrs.get(b"relationships:id")
        name = attrs.get(b"name")
        if rid is None or name is None or rid not in targets:
            continue
        t = targets[rid]
        path = t[1:] if t.startswith("/xl/") else t if t.startswith("xl/") else "xl/" + t
        member = _member(names, path)
        if member is not None:
            out[_xml_unescape(name.decode("utf-8", "replace"))] = member
    return out


_DATE1904 = re.compile(rb"<(?:[\w.-]+:)?workbookPr\b[^>]*?\bdate1904\s*=\s*[\"'](?:1|true)[\"']")


def date1904(zf: zipfile.ZipFile) -> bool:
    """Whether the workbook uses the 1904 date system (workbookPr date1904, old Mac Excel):
    its date serials count from 1904-01-01. A workbook.xml that cannot be read says no."""
    try:
        wb = _small_part(zf, _member(zf.namelist(), "xl/workbook.xml"))
    except ZipProblem:
        return False
    return _DATE1904.search(wb) is not None


def all_sheet_parts(zf: zipfile.ZipFile) -> list[str]:
    return [n for n in zf.namelist()
            if n.lower().startswith(("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/"))]


def _small_part(zf: zipfile.ZipFile, name: str | None) -> bytes:
    if name is None:
        raise ZipProblem("corrupt", "missing part")
    if zf.getinfo(name).file_size > 16 << 20:
        raise ZipProblem("corrupt", "oversized part")
    try:
        return zf.read(name)
    except Exception as e:
        raise ZipProblem("corrupt", repr(e)) from None


def _xml_unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


# ------------------------------------------------------------------ sheet area bound

_ROW_NUM = re.compile(rb'<row r="([0-9]{1,10})"')
_FIRST_COLS = re.compile(rb'<c r="([A-Z]{1,3})[1-9]')


def _col_name(c: int) -> str:
    n, s = c + 1, ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _col_index(s: bytes) -> int:
    n = 0
    for ch in s.upper():
        n = n * 26 + (ch - 64)
    return n - 1


def _cols_upto(c: int) -> str:
    """Regex for an upper-case column name at or left of column index ``c``."""
    s = _col_name(c)
    alts = [f"[A-Z]{{1,{len(s) - 1}}}"] if len(s) > 1 else []
    for i, ch in enumerate(s):
        if ch > "A":
            rest = len(s) - i - 1
            alts.append(s[:i] + (f"[A-{chr(ord(ch) - 1)}]" if ch > "B" else "A")
                        + (f"[A-Z]{{{rest}}}" if rest else ""))
    alts.append(s)
    return "|".join(alts)


def _row_cap(r: int) -> int:
    """The bound the probe enforces for rows: r rounded up in its first two digits
    (within 10% of r), so one pattern serves many chunks."""
    s = str(r)
    if len(s) == 1:
        return 9
    return (int(s[:2]) + 1) * 10 ** (len(s) - 2) - 1


def _rows_upto(r: int) -> str:
    """Regex for a row number from 1 to ``_row_cap(r)``, then the closing quote."""
    s = str(r)
    L = len(s)
    if L == 1:
        return '[1-9]"'
    alts = [f'[1-9][0-9]{{0,{L - 2}}}"']
    d1, d2 = int(s[0]), int(s[1])
    if d1 > 1:
        alts.append(f'[1-{d1 - 1}][0-9]{{{L - 1}}}"')
    alts.append(f'{d1}[0-{d2}]' + (f"[0-9]{{{L - 2}}}" if L > 2 else "") + '"')
    return "|".join(alts)


_probe_cache: dict[tuple[int, int], re.Pattern] = {}


def _probe(r: int, c: int) -> re.Pattern:
    """Find a cell tag that is not exactly ``<c r="COLROW"`` with COL <= c and
    ROW <= _row_cap(r): no r, r not first, lower case, leading zeros, a column right of
    c, a row below the cap. ``<col``, ``<cols`` etc. do not match."""
    key = (r, c)
    p = _probe_cache.get(key)
    if p is None:
        if len(_probe_cache) > 256:
            _probe_cache.clear()
        pat = ('<c(?![^\\s>/]| r="(?:' + _cols_upto(c) + ")(?:" + _rows_upto(r) + "))")
        p = _probe_cache[key] = re.compile(pat.encode())
    return p


_LAST_ROW = re.compile(rb'<row r="([0-9]{1,10})"')
_PREFIXED_CELL = re.compile(rb":c[\s>/]")


def check_sheet(zf: zipfile.ZipFile, name: str, max_columns: int) -> None:
    """Raise SheetTooLarge if calamine's dense copy of this sheet could exceed
    MAX_EXCEL_CELLS (or be wider than ``max_columns``), ZipProblem if unreadable."""
    bound = _fast_bound(zf, name, max_columns)
    if bound is None:
        rows, cols = _exact_bound(zf, name)
    else:
        rows, cols = bound
        if rows * cols > MAX_EXCEL_CELLS:     # a loose bound: confirm before refusing
            rows, cols = _exact_bound(zf, name)
    if rows * cols > MAX_EXCEL_CELLS:
        raise SheetTooLarge(rows, cols)


def _fast_bound(zf: zipfile.ZipFile, name: str, max_columns: int) -> tuple[int, int] | None:
    """(rows, cols) bounding calamine's box, for sheets in the usual style: every cell
    written ``<c r="A1"``, rows in ascending order with cells in their row. None for any
    other style (then the exact pass decides)."""
    r_max = 0
    c_max = -1
    for data in _xml_chunks(zf, name):
        if _PREFIXED_CELL.search(data):            # namespace-prefixed tags: exact pass
            return None
        i = data.rfind(b'<row r="')
        if i >= 0:                                  # rows ascend: the last is the largest
            m = _LAST_ROW.match(data, i)
            if m:
                r_max = max(r_max, int(m.group(1)))
        rows_checked = False
        while _probe(r_max, max(c_max, 0)).search(data):
            # A cell right of the widest so far (widen, look again), rows not ascending
            # (take the true maximum, look again), or a style the fast path skips.
            cols = _FIRST_COLS.findall(data)
            new_c = max(map(_col_index, set(cols))) if cols else -1
            if new_c > c_max:
                if new_c >= max_columns:
                    return None
                c_max = new_c
                continue
            if not rows_checked:
                rows_checked = True
                nums = _ROW_NUM.findall(data)
                new_r = max(map(int, nums)) if nums else 0
                if new_r > r_max:
                    r_max = new_r
                    continue
            return None
    # Every cell passed the probe, so its column is <= max(c_max, 0) (A if none seen).
    return _row_cap(r_max), max(c_max, 0) + 1


class _Exact:
    """calamine's cell positions, replayed with expat (slow, exact)."""

    def __init__(self):
        self.row = 0
        self.col = 0
        self.pos: tuple[int, int] | None = None
        self.valued = False
        self.box = [1 << 40, -1, 1 << 40, -1]

    @staticmethod
    def _ref(ref: str, need_col: bool) -> tuple[int, int | None]:
        m = re.fullmatch(r"([A-Za-z]*)([0-9]+)", ref)
        if not m or (need_col and not m.group(1)) or int(m.group(2)) == 0:
            raise ZipProblem("corrupt", f"bad cell reference {ref!r}")
        col = _col_index(m.group(1).encode()) if m.group(1) else None
        return int(m.group(2)) - 1, col

    def start(self, tag: str, attrs: dict) -> None:
        local = tag.rsplit(":", 1)[-1]
        if self.pos is not None:
            self.valued = True                     # any child element may carry a value
        if local == "row":
            if "r" in attrs:
                self.row = self._ref(attrs["r"], False)[0]
        elif local == "c":
            if "r" in attrs:
                r, c = self._ref(attrs["r"], True)
                self.col = c
                self.pos = (r, c)
            else:
                self.pos = (self.row, self.col)
            self.valued = False

    def end(self, tag: str) -> None:
        local = tag.rsplit(":", 1)[-1]
        if local == "row":
            self.row += 1
            self.col = 0
        elif local == "c" and self.pos is not None:
            if self.valued:
                r, c = self.pos
                b = self.box
                b[0], b[1], b[2], b[3] = min(b[0], r), max(b[1], r), min(b[2], c), max(b[3], c)
            self.col += 1
            self.pos = None


def _no_dtd(*_args) -> None:
    raise ZipProblem("corrupt", "DTD in a worksheet")


def _exact_bound(zf: zipfile.ZipFile, name: str) -> tuple[int, int]:
    state = _Exact()
    p = expat.ParserCreate()
    p.StartElementHandler = state.start
    p.EndElementHandler = state.end
    p.StartDoctypeDeclHandler = _no_dtd
    p.EntityDeclHandler = _no_dtd
    try:
        for data in _xml_chunks(zf, name):
            p.Parse(data, False)
        p.Parse(b"", True)
    except expat.ExpatError as e:
        raise ZipProblem("corrupt", f"XML error: {e}") from None
    b = state.box
    if b[1] < 0:
        return 0, 0
    return b[1] - b[0] + 1, b[3] - b[2] + 1


# ------------------------------------------------------------------ zip deliveries

MAX_MEMBERS = 1000             # files in one zip delivery
_OFFICE_PARTS = ("xl/workbook.xml", "xl/workbook.bin", "content.xml", "mimetype", "word/document.xml",
                 "ppt/presentation.xml")


def is_archive(path, head: bytes) -> bool:
    """Whether a file starting with ``head`` is a zip of files (a delivery of several
    lists), not a workbook or another Office document (which are zips too). A zip whose
    directory cannot be read counts as an archive only when it is named ``.zip``."""
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.lower() for n in zf.namelist()}
    except Exception:
        return str(path).lower().endswith(".zip")
    return not any(p in names for p in _OFFICE_PARTS)


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's path as its writer meant it: zips made on Chinese Windows store names
    in GBK without saying so (Python then decodes them as cp437)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name.replace("\\", "/")


def check_archive(path) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open a zip delivery and list its files (directories left out), or raise ZipProblem:
    ``corrupt``, ``encrypted``, ``method`` (a compression Python cannot read), ``bomb``
    (the same limits as for workbooks) or ``members`` (more than MAX_MEMBERS files)."""
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except Exception as e:
        raise ZipProblem("corrupt", repr(e)) from None
    try:
        files = [i for i in infos if not i.is_dir()]
        if len(files) > MAX_MEMBERS:
            raise ZipProblem("members", count=len(files))
        check_entries(files)
        return zf, files
    except BaseException:
        zf.close()
        raise
