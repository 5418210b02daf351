"""Delimited text (CSV/TSV): encoding detection, delimiter sniffing, streaming rows.

Encoding (NOTES.md § Encodings): a BOM decides (UTF-8 -> ``utf-8-sig``; UTF-16 -> ``utf-16``,
what Excel's "Unicode text" export writes); otherwise the WHOLE file must decode as strict
UTF-8, else as ``gb18030`` (a superset of GBK that also covers the rare characters common in
names). The check is one streaming pass with an incremental decoder, so a GBK byte deep in a
mostly-ASCII file is seen before any row is yielded.

Rows are parsed by the stdlib ``csv`` module (quotes, doubled quotes, embedded newlines).
Row numbers are physical line numbers where a record starts (blank lines count).

Long cells: ``csv.field_size_limit`` is set to ``max_cell_chars`` so the C parser itself
notices an over-long field at no per-row cost. That limit is process-global; it is
(re)applied whenever a CSV pass starts. When the csv module raises "field larger than field
limit", the record is re-read by a small pure-Python parser that keeps counting the long
field without storing it and yields it as ``CellTooLong``; the csv module then resumes on
the following line. Files with physical lines longer than ``LONG_LINE_CHARS`` are parsed
entirely by that Python parser, which reads in bounded pieces, so memory stays bounded
whatever the line length.
"""
from __future__ import annotations

import codecs
import collections
import csv
import io
import itertools
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from ._base import REEXPORT_HINT, CellTooLong, RowSource, UnreadableFile

CHUNK = 1 << 20                 # bytes per read in the encoding pass
LONG_LINE_CHARS = 1 << 20       # longer physical lines switch to the bounded parser
PIECE_CHARS = 1 << 16           # piece size of the bounded parser
SNIFF_CHARS = 1 << 16           # text looked at to choose the delimiter
SNIFF_RECORDS = 20
DELIMITERS = (",", "\t", ";")

_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13)) + b"\x7f"

JUNK_REASON = "文件不是可读取的表格：内容是二进制数据，不是文本（CSV）、Excel 或 JSON 格式。" + REEXPORT_HINT + "。"


@dataclass
class TextInfo:
    encoding: str
    empty: bool          # nothing but whitespace (and a BOM)
    has_nul: bool
    long_lines: bool     # some physical line is longer than LONG_LINE_CHARS
    control_ratio: float  # share of control bytes in the first chunk (binary junk test)


class _DecodeFailed(Exception):
    def __init__(self, offset: int):
        self.offset = offset


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None  # UTF-32: not supported, treated as binary (it is full of NULs)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _pass(path, encoding: str, *, stop_on_nul: bool) -> TextInfo:
    """Decode the whole file once; raise _DecodeFailed(offset) if it does not decode."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    nonblank = False
    has_nul = False
    long_lines = False
    run = 0              # characters since the last line break
    offset = 0
    control_ratio = 0.0
    utf16 = encoding == "utf-16"
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            final = not chunk
            if offset == 0 and chunk and not utf16:
                sample = chunk[:65536]
                control_ratio = (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample)
            if not utf16 and b"\x00" in chunk:
                has_nul = True
                if stop_on_nul:
                    return TextInfo(encoding, False, True, False, control_ratio)
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as e:
                raise _DecodeFailed(offset + max(e.start, 0)) from None
            offset += len(chunk)
            if text:
                if utf16 and "\x00" in text:
                    has_nul = True
                    if stop_on_nul:
                        return TextInfo(encoding, False, True, False, control_ratio)
                if not nonblank and text.replace("\ufeff", "").strip():
                    nonblank = True
                if not long_lines:
                    last = max(text.rfind("\n"), text.rfind("\r"))
                    if last < 0:
                        run += len(text)
                    else:
                        first = min(i for i in (text.find("\n"), text.find("\r")) if i >= 0)
                        if run + first > LONG_LINE_CHARS:
                            long_lines = True
                        run = len(text) - last - 1
                    if run > LONG_LINE_CHARS:
                        long_lines = True
            if final:
                break
    return TextInfo(encoding, not nonblank, has_nul, long_lines, control_ratio)


def _line_of_offset(path, offset: int) -> int:
    """1-based line number of byte ``offset`` (for messages)."""
    line = 1
    done = 0
    with open(path, "rb") as f:
        while done < offset:
            chunk = f.read(min(CHUNK, offset - done))
            if not chunk:
                break
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def scan_text(path, *, stop_on_nul: bool = True) -> TextInfo:
    """Choose the encoding by decoding the whole file (BOM -> strict UTF-8 -> gb18030)."""
    with open(path, "rb") as f:
        head = f.read(4)
    bom = _bom_encoding(head)
    candidates = [bom] if bom else ["utf-8", "gb18030"]
    failed_at = 0
    for enc in candidates:
        try:
            return _pass(path, enc, stop_on_nul=stop_on_nul)
        except _DecodeFailed as e:
            failed_at = max(failed_at, e.offset)
    line = _line_of_offset(path, failed_at)
    raise UnreadableFile(
        f"文件不是可读取的表格：无法识别文字编码（既不是 UTF-8，也不是 GBK/GB18030），"
        f"第 {line} 行附近有无法识别的字符。{REEXPORT_HINT}。"
    )


def detect_encoding(path) -> str:
    """The encoding open_rows would use for this text file.

    Returns ``"utf-8-sig"``, ``"utf-16"`` (both from a BOM), ``"utf-8"`` or ``"gb18030"``.
    Raises UnreadableFile when the file decodes in none of them.
    """
    return scan_text(path, stop_on_nul=False).encoding


# --------------------------------------------------------------------------- delimiter

def _sample_text(path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="", errors="replace") as f:
        text = f.read(SNIFF_CHARS)
        more = f.read(1)
    if more:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[: cut + 1]
    return text


def _records(sample: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The first non-blank records of the sample as (start line, fields)."""
    out = []
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False)
    prev = 0
    try:
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if any(row):
                out.append((start, row))
                if len(out) >= SNIFF_RECORDS:
                    break
    except csv.Error:
        pass
    return out


def choose_delimiter(sample: str) -> tuple[str, list[tuple[int, list[str]]]]:
    """Pick ``,`` ``\\t`` or ``;``: the one that splits the most of the first records into
    the same number of fields (title lines have no delimiter and do not vote)."""
    best = None
    best_key = None
    for rank, d in enumerate(DELIMITERS):
        records = _records(sample, d)
        widths = [len(r) for _, r in records if len(r) > 1]
        if widths:
            mode_count = collections.Counter(widths).most_common(1)[0][1]
            key = (mode_count, len(widths), -rank)
        else:
            key = (0, 0, -rank)
        if best_key is None or key > best_key:
            best, best_key = (d, records), key
    assert best is not None
    return best


# --------------------------------------------------------------------------- parsing

_START_RECORD, _START_FIELD, _IN_FIELD, _IN_QUOTED, _QUOTE_IN_QUOTED = range(5)


class _RecordParser:
    """A pure-Python CSV record parser with bounded memory.

    Follows the csv module's default dialect (``"`` quotes, doubled quotes, non-strict):
    line breaks inside quotes are data; a quote inside an unquoted field is literal; text
    after a closing quote is appended. Fields longer than ``max_cell`` are counted but
    not stored and come out as ``CellTooLong``. ``read`` returns text pieces ('' at end);
    with ``whole_lines`` every piece is one complete physical line (``readline()``), else
    pieces may cut lines anywhere (``readline(limit)``).
    """

    def __init__(self, read: Callable[[], str], delimiter: str, max_cell: int, max_columns: int,
                 line: int, whole_lines: bool, too_many: Callable[[int, int], Exception]):
        self.read = read
        self.delimiter = delimiter
        self.max_cell = max_cell
        self.max_columns = max_columns
        self.line = line                    # physical line number of the next character
        self.whole_lines = whole_lines
        self.too_many = too_many
        self._unquoted_end = re.compile("[" + re.escape(delimiter) + "\r\n]")
        self._buf = ""
        self._pos = 0
        self._skip_lf = False              # a record ended on '\r' at the end of a piece
        self._data_cr = False              # quoted data ran to the end of a piece on '\r'
        self._eof = False

    def _fill(self) -> bool:
        """Make sure there is unread text in the buffer; False at end of input."""
        while self._pos >= len(self._buf):
            if self._eof:
                return False
            piece = self.read()
            if not piece:
                self._eof = True
                self._buf, self._pos = "", 0
                return False
            self._buf, self._pos = piece, 0
            if self._skip_lf:
                self._skip_lf = False
                if piece.startswith("\n"):
                    self._pos = 1
        return True

    def _eat_line_break(self) -> None:
        """Consume the line break at the current position and count the line."""
        buf, pos = self._buf, self._pos
        if buf[pos] == "\r":
            pos += 1
            if pos < len(buf):
                if buf[pos] == "\n":
                    pos += 1
            elif not self.whole_lines:
                self._skip_lf = True
        else:
            pos += 1
        self._pos = pos
        self.line += 1

    def _count_breaks(self, text: str, to_end: bool) -> None:
        """Count the line breaks inside quoted data (``\\r\\n`` is one break, also when
        a piece boundary falls between the two)."""
        n = text.count("\n") + text.count("\r") - text.count("\r\n")
        if self._data_cr and self._pos == 0 and text.startswith("\n"):
            n -= 1
        self._data_cr = to_end and not self.whole_lines and text.endswith("\r")
        self.line += n

    def records(self) -> Iterator[tuple[int, list]]:
        """Yield (line, cells) for every non-blank record, to the end of the input."""
        while True:
            rec = self.next_record()
            if rec is None:
                return
            yield rec

    def next_record(self) -> tuple[int, list] | None:
        """Parse one non-blank record; None at end of input. Never reads past its end."""
        while True:
            if not self._fill():
                return None
            c = self._buf[self._pos]
            if c == "\r" or c == "\n":
                self._eat_line_break()       # blank line
                continue
            start = self.line
            cells = self._parse_fields(start)
            if any(cells):
                return start, cells

    def _parse_fields(self, start: int) -> list:
        cells: list = []
        parts: list[str] = []
        length = 0
        state = _START_FIELD
        delim = self.delimiter
        max_cell = self.max_cell

        def add(text: str) -> None:
            nonlocal length, parts
            length += len(text)
            if parts is not None:
                if length > max_cell:
                    parts = None       # stop storing; keep counting
                else:
                    parts.append(text)

        def save() -> None:
            nonlocal length, parts
            cells.append("".join(parts) if parts is not None else CellTooLong(length, max_cell))
            if len(cells) > self.max_columns:
                raise self.too_many(start, len(cells))
            parts, length = [], 0

        while True:
            if not self._fill():
                if state == _IN_QUOTED and parts is None:
                    raise UnreadableFile(
                        f"第 {start} 行开始的引号没有配对（一直到文件末尾），其余内容无法正确读取。"
                        f"请检查该行的引号，或用 Excel 或 WPS 重新另存为 CSV（UTF-8）后再放入收件箱。")
                if state != _START_FIELD or cells:
                    save()
                return cells
            buf, pos = self._buf, self._pos
            c = buf[pos]
            if state == _START_FIELD:
                if c == '"':
                    state = _IN_QUOTED
                    self._pos = pos + 1
                elif c == delim:
                    save()
                    self._pos = pos + 1
                elif c == "\r" or c == "\n":
                    save()
                    self._eat_line_break()
                    return cells
                else:
                    state = _IN_FIELD
            elif state == _IN_FIELD:
                m = self._unquoted_end.search(buf, pos)
                if m is None:
                    add(buf[pos:])
                    self._pos = len(buf)
                    continue
                add(buf[pos:m.start()])
                self._pos = m.start()
                if m.group() == delim:
                    save()
                    self._pos += 1
                    state = _START_FIELD
                else:
                    save()
                    self._eat_line_break()
                    return cells
            elif state == _IN_QUOTED:
                q = buf.find('"', pos)
                text = buf[pos:] if q < 0 else buf[pos:q]
                self._count_breaks(text, q < 0)
                add(text)
                if q < 0:
                    self._pos = len(buf)
                else:
                    self._pos = q + 1
                    state = _QUOTE_IN_QUOTED
            else:  # _QUOTE_IN_QUOTED
                if c == '"':
                    add('"')
                    self._pos = pos + 1
                    state = _IN_QUOTED
                elif c == delim:
                    save()
                    self._pos = pos + 1
                    state = _START_FIELD
                elif c == "\r" or c == "\n":
                    save()
                    self._eat_line_break()
                    return cells
                else:
                    state = _IN_FIELD


# --------------------------------------------------------------------------- RowSource

def _too_many(max_columns: int) -> Callable[[int, int], UnreadableFile]:
    def make(line: int, n: int) -> UnreadableFile:
        return UnreadableFile(
            f"表头列数过多：第 {line} 行有 {n} 列，超过上限 {max_columns} 列。"
            f"请检查分隔符是否正确，或删除多余的列后重新导出。")
    return make


def _changed(line: int) -> UnreadableFile:
    return UnreadableFile(
        f"读取过程中文件内容发生变化或出现无法识别的字符（第 {line} 行附近）。"
        f"请确认文件已完整复制后重新放入收件箱。")


def _is_field_limit(e: csv.Error) -> bool:
    return "field larger than field limit" in str(e)


class _CsvRows:
    def __init__(self, path, info: TextInfo, delimiter: str, max_cell: int, max_columns: int):
        self.path = path
        self.encoding = info.encoding
        self.delimiter = delimiter
        self.max_cell = max_cell
        self.max_columns = max_columns
        self.bounded = info.long_lines
        self.too_many = _too_many(max_columns)

    def _open(self):
        return open(self.path, encoding=self.encoding, newline="", errors="strict")

    def __call__(self) -> Iterator[tuple[int, list]]:
        return self._bounded() if self.bounded else self._fast()

    def _bounded(self) -> Iterator[tuple[int, list]]:
        with self._open() as f:
            parser = _RecordParser(lambda: f.readline(PIECE_CHARS), self.delimiter, self.max_cell,
                                   self.max_columns, 1, False, self.too_many)
            try:
                yield from parser.records()
            except (UnicodeDecodeError, OSError):
                raise _changed(parser.line) from None

    def _fast(self) -> Iterator[tuple[int, list]]:
        max_columns = self.max_columns
        delimiter = self.delimiter
        f = self._open()
        try:
            base = 0                    # physical lines consumed before the current reader
            while True:
                csv.field_size_limit(self.max_cell)
                reader = csv.reader(f, delimiter=delimiter, strict=False)
                prev = 0
                off = base + 1
                try:
                    for row in reader:
                        n = prev
                        prev = reader.line_num
                        if any(row):
                            if len(row) > max_columns:
                                raise self.too_many(n + off, len(row))
                            yield n + off, row
                    return
                except csv.Error as e:
                    if not _is_field_limit(e):
                        raise _changed(base + prev + 1) from None
                except (UnicodeDecodeError, OSError):
                    raise _changed(base + prev + 1) from None
                # A field over max_cell: re-read that record with the bounded parser,
                # then let the csv module resume on the line after it.
                start = base + prev + 1
                f.close()
                try:
                    f = self._open()
                    collections.deque(itertools.islice(f, start - 1), maxlen=0)
                    parser = _RecordParser(f.readline, delimiter, self.max_cell, max_columns,
                                           start, True, self.too_many)
                    rec = parser.next_record()
                except (UnicodeDecodeError, OSError):
                    raise _changed(start) from None
                if rec is not None:
                    yield rec
                base = parser.line - 1
        finally:
            f.close()


def open_text(path, *, max_cell_chars: int, max_columns: int) -> RowSource:
    info = scan_text(path)
    if info.empty:
        raise UnreadableFile("文件是空的（没有任何内容），请确认导出成功后重新放入收件箱。")
    if info.has_nul or info.control_ratio > 0.01:
        raise UnreadableFile(JUNK_REASON)
    delimiter, head = choose_delimiter(_sample_text(path, info.encoding))
    for line, rec in head:              # fail early on an over-wide header
        if len(rec) > max_columns:
            raise _too_many(max_columns)(line, len(rec))
    rows = _CsvRows(path, info, delimiter, max_cell_chars, max_columns)
    return RowSource("csv", encoding=info.encoding, delimiter=delimiter, rows=rows)
