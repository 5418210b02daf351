"""Delimited text (CSV/TSV): encoding detection, delimiter sniffing, streaming rows.

Encoding (NOTES.md § Encodings): a BOM decides (UTF-8 -> ``utf-8-sig``; UTF-16 -> ``utf-16``,
what Excel's "Unicode text" export writes); otherwise the WHOLE file must decode as strict
UTF-8, else it is read as ``gb18030`` (a superset of GBK that also covers the rare characters
common in names). The check is one streaming pass with an incremental decoder, so a GBK byte
deep in a mostly-ASCII file is seen before any row is yielded. The same pass looks for NUL
bytes (binary junk), quote characters and very long lines. Bytes that are invalid in the
chosen encoding (a broken BOM file, a broken GBK file past its first megabyte) are reported
while rows are read, as UnreadableFile naming the line.

Rows are parsed by the stdlib ``csv`` module (quotes, doubled quotes, embedded newlines).
Cells written with Excel's text trick ``="440303…"`` are read as the text inside.
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
import operator
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from ._base import EMPTY_REASON, REEXPORT_HINT, CellTooLong, RowSource, UnreadableFile

CHUNK = 1 << 20                 # bytes per read in the encoding pass
LONG_LINE_CHARS = 1 << 20       # longer physical lines switch to the bounded parser
PIECE_CHARS = 1 << 16           # piece size of the bounded parser
SNIFF_CHARS = 1 << 16           # text looked at to choose the delimiter
SNIFF_RECORDS = 20
MAX_RECOVERIES = 8              # long cells handed back to the csv module before staying
DELIMITERS = (",", "\t", ";")

_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13)) + b"\x7f"

JUNK_REASON = "文件不是可读取的表格：内容是二进制数据，不是文本（CSV）、Excel 或 JSON 格式。" + REEXPORT_HINT + "。"


@dataclass
class TextInfo:
    encoding: str
    empty: bool           # nothing but whitespace (and a BOM)
    has_nul: bool
    has_quote: bool       # a '"' somewhere: records may span lines
    long_lines: bool      # some physical line is longer than LONG_LINE_CHARS
    control_ratio: float  # share of control bytes in the first 64 KB (binary junk test)


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None  # UTF-32: not supported, treated as binary (it is full of NULs)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


class _Lines:
    """Tracks whether any physical line is longer than LONG_LINE_CHARS across chunks
    (a line inside one chunk is shorter than the chunk, so only runs that cross chunk
    boundaries need counting)."""

    def __init__(self):
        self.run = 0
        self.long = False

    def feed(self, text, nl, cr) -> None:
        if self.long:
            return
        last = max(text.rfind(nl), text.rfind(cr))
        if last < 0:
            self.run += len(text)
        else:
            first = min(i for i in (text.find(nl), text.find(cr)) if i >= 0)
            if self.run + first > LONG_LINE_CHARS:
                self.long = True
            self.run = len(text) - last - 1
        if self.run > LONG_LINE_CHARS:
            self.long = True


def _undecodable(path, offset: int) -> UnreadableFile:
    line = _line_of_offset(path, offset)
    return UnreadableFile(
        f"文件不是可读取的表格：无法识别文字编码（既不是 UTF-8，也不是 GBK/GB18030），"
        f"第 {line} 行附近有无法识别的字符。{REEXPORT_HINT}。")


def _scan_utf16(path, stop_on_nul: bool) -> TextInfo:
    decoder = codecs.getincrementaldecoder("utf-16")("strict")
    nonblank = has_nul = has_quote = False
    lines = _Lines()
    offset = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            try:
                text = decoder.decode(chunk, not chunk)
            except UnicodeDecodeError as e:
                raise _undecodable(path, offset + max(e.start, 0)) from None
            offset += len(chunk)
            if "\x00" in text:
                has_nul = True
                if stop_on_nul:
                    break
            nonblank = nonblank or bool(text.replace("\ufeff", "").strip())
            has_quote = has_quote or '"' in text
            lines.feed(text, "\n", "\r")
            if not chunk:
                break
    return TextInfo("utf-16", not nonblank and not has_nul, has_nul, has_quote, lines.long, 0.0)


def scan_text(path, *, thorough: bool = False, stop_on_nul: bool = True) -> TextInfo:
    """Choose the encoding: a BOM decides, else strict UTF-8 over the whole file, else
    gb18030. One pass over the bytes, which also looks for NULs, quotes, long lines.

    A BOM file is taken as UTF-8 without decoding it all here, and a gb18030 file is only
    test-decoded at its start: errors further on surface while reading rows (as
    UnreadableFile naming the line). ``thorough`` decodes everything up front.
    """
    with open(path, "rb") as f:
        head = f.read(4)
    bom = _bom_encoding(head)
    if bom == "utf-16":
        return _scan_utf16(path, stop_on_nul)
    utf8 = codecs.getincrementaldecoder("utf-8")("strict") if (bom is None or thorough) else None
    failed_at = None
    nonblank = has_nul = has_quote = False
    lines = _Lines()
    control_ratio = 0.0
    offset = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            if offset == 0 and chunk:
                sample = chunk[:65536]
                control_ratio = (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample)
            if b"\x00" in chunk:
                has_nul = True
                if stop_on_nul:
                    break
            if utf8 is not None:
                try:
                    utf8.decode(chunk, not chunk)
                except UnicodeDecodeError as e:
                    failed_at = offset + max(e.start, 0)
                    utf8 = None
            if not nonblank:
                nonblank = bool(chunk.replace(codecs.BOM_UTF8, b"").strip())
            has_quote = has_quote or b'"' in chunk
            lines.feed(chunk, b"\n", b"\r")
            offset += len(chunk)
            if not chunk:
                break
    if bom == "utf-8-sig":
        if failed_at is not None:
            raise _undecodable(path, failed_at)
        encoding = "utf-8-sig"
    elif failed_at is None:
        encoding = "utf-8"
    else:
        encoding = "gb18030"
        _check_gb18030(path, thorough)
    return TextInfo(encoding, not nonblank and not has_nul, has_nul, has_quote, lines.long,
                    control_ratio)


def _check_gb18030(path, thorough: bool) -> None:
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    offset = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            try:
                decoder.decode(chunk, not chunk)
            except UnicodeDecodeError as e:
                raise _undecodable(path, offset + max(e.start, 0)) from None
            offset += len(chunk)
            if not chunk or not thorough:
                return


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


def detect_encoding(path) -> str:
    """The encoding open_rows would use for this text file.

    Returns ``"utf-8-sig"``, ``"utf-16"`` (both from a BOM), ``"utf-8"`` or ``"gb18030"``.
    Raises UnreadableFile when the file decodes in none of them.
    """
    return scan_text(path, thorough=True, stop_on_nul=False).encoding


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
        f"第 {line} 行附近有无法识别的字符，或文件在读取过程中被修改。"
        f"请确认文件已完整复制；如仍不行，{REEXPORT_HINT}。")


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
        self.one_line_records = not info.has_quote
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
        # Hot loop: the (row_no, row) tuples come from enumerate/zip in C, and the loop
        # does no more than the blank-row and width checks.
        max_columns = self.max_columns
        f = self._open()
        try:
            base = 0                      # physical lines consumed before this reader
            recoveries = 0
            while True:
                csv.field_size_limit(self.max_cell)
                reader = csv.reader(f, delimiter=self.delimiter, strict=False)
                if self.one_line_records:      # no quote in the file: record n = line n
                    pairs = enumerate(reader, base + 1)
                else:                          # lines read before the record, plus one
                    pairs = zip(map(operator.add, map(operator.attrgetter("line_num"),
                                                      itertools.repeat(reader)),
                                    itertools.repeat(base + 1)), reader)
                pair = None
                try:
                    for pair in pairs:
                        row = pair[1]
                        if any(row):
                            if len(row) > max_columns:
                                raise self.too_many(pair[0], len(row))
                            yield pair
                    return
                except csv.Error as e:
                    if not _is_field_limit(e):
                        raise _changed(pair[0] if pair else base + 1) from None
                except (UnicodeDecodeError, OSError):
                    raise _changed(pair[0] if pair else base + 1) from None
                # A field over max_cell. Re-read from the last record seen (its end is
                # not known) with the bounded parser, yield the long record, then let
                # the csv module resume on the line after it.
                start = pair[0] if pair else base + 1
                f.close()
                try:
                    f = self._open()
                    collections.deque(itertools.islice(f, start - 1), maxlen=0)
                    parser = _RecordParser(f.readline, self.delimiter, self.max_cell, max_columns,
                                           start, True, self.too_many)
                    rec = parser.next_record()
                    if pair is not None and rec is not None and rec[0] == start:
                        rec = parser.next_record()     # the record seen before the long one
                except (UnicodeDecodeError, OSError):
                    raise _changed(start) from None
                if rec is not None:
                    yield rec
                recoveries += 1
                if recoveries >= MAX_RECOVERIES:
                    # Many long cells: re-reading from the start each time would be
                    # quadratic, so the bounded parser reads the rest of the file.
                    try:
                        yield from parser.records()
                    except (UnicodeDecodeError, OSError):
                        raise _changed(parser.line) from None
                    return
                base = parser.line - 1
        finally:
            f.close()


def open_text(path, *, max_cell_chars: int, max_columns: int) -> RowSource:
    info = scan_text(path)
    if info.empty:
        raise UnreadableFile(EMPTY_REASON)
    if info.has_nul or info.control_ratio > 0.01:
        raise UnreadableFile(JUNK_REASON)
    delimiter, head = choose_delimiter(_sample_text(path, info.encoding))
    for line, rec in head:              # fail early on an over-wide header
        if len(rec) > max_columns:
            raise _too_many(max_columns)(line, len(rec))
    rows = _CsvRows(path, info, delimiter, max_cell_chars, max_columns)
    if any('="' in c for _, rec in head for c in rec):
        rows = _TextTrick(rows)
    return RowSource("csv", encoding=info.encoding, delimiter=delimiter, rows=rows)


class _TextTrick:
    """Undoes Excel's text trick: a cell written ``="440303…"`` (so that Excel keeps the
    digits as text) is read as ``440303…``. Only files whose first records use it pay
    for the check."""

    def __init__(self, rows: Callable[[], Iterator[tuple[int, list]]]):
        self.rows = rows

    def __call__(self) -> Iterator[tuple[int, list]]:
        for row_no, row in self.rows():
            if any(c.__class__ is str and c[:2] == '="' for c in row):
                row = [c[2:-1] if (c.__class__ is str and len(c) >= 3 and c[:2] == '="'
                                   and c[-1] == '"') else c for c in row]
            yield row_no, row
