"""File writers for the demo generator.

Every file is written under a ``.part`` name and renamed when complete, so a station
watching the inbox never picks up half a file (it ignores ``*.part``). XLSX output is
made byte-for-byte reproducible: openpyxl stamps the save time into ``docProps/core.xml``
and into every zip entry, both of which are rewritten here.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class FileInfo:
    path: str                 # relative to the inbox, POSIX separators
    kind: str
    rows: int = 0             # data rows, bad rows included; no title/header/totals
    encoding: str = "utf-8"   # utf-8, utf-8-sig, gb18030 or xlsx
    delimiter: str = ","
    title_line: bool = False
    totals_line: bool = False
    bad_rows: int = 0
    copy_of: str | None = None  # a second delivery of that file under another name


class CsvOut:
    """A delimited text file: optional title line, one header row, data rows, optional
    totals line.

    ``fast=True`` (the benchmark) joins string cells with the delimiter and writes in
    batches, about three times faster than ``csv.writer`` per row. It is only for cells
    that can never need quoting — all strings, no delimiter, quote or line break — which
    holds for everything the generator writes in clean mode (the word lists contain no
    such characters, and the tests read every clean file back with ``csv``)."""

    BATCH = 8192

    def __init__(self, root: Path, rel: str, kind: str, headers, *, encoding="utf-8",
                 delimiter=",", title: str | None = None, crlf: bool = False, fast: bool = False):
        self.final = root / rel
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.final.with_name(self.final.name + ".part")
        self.fh = open(self.tmp, "w", encoding=encoding, newline="")
        self.writer = csv.writer(self.fh, delimiter=delimiter,
                                 lineterminator="\r\n" if crlf else "\n")
        self.info = FileInfo(rel, kind, encoding=encoding, delimiter=delimiter,
                             title_line=title is not None)
        self.line = 0             # physical lines written so far
        if title is not None:
            self.fh.write(title + ("\r\n" if crlf else "\n"))
            self.line += 1
        self.writer.writerow(headers)
        self.line += 1
        self.fast = fast
        if fast:
            self._lines: list[str] = []
            self._sep = delimiter
            self.writerow = self._fast_row
        else:
            self.writerow = self.writer.writerow   # hot path: callers count rows themselves

    def _fast_row(self, values) -> None:
        lines = self._lines
        lines.append(self._sep.join(values))
        if len(lines) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._lines:
            self._lines.append("")
            self.fh.write(self.writer.dialect.lineterminator.join(self._lines))
            self._lines.clear()

    def row(self, values) -> int:
        """Write one data row; returns its 1-based line number."""
        self.writerow(values)
        self.line += 1
        self.info.rows += 1
        return self.line

    def totals(self, values) -> None:
        if self.fast:
            self._flush()
        self.writer.writerow(values)
        self.info.totals_line = True

    def close(self, extra_rows: int = 0) -> FileInfo:
        """Close and publish; ``extra_rows`` counts rows written through ``writerow``."""
        self.info.rows += extra_rows
        if self.fast:
            self._flush()
        self.fh.close()
        os.replace(self.tmp, self.final)
        return self.info


_FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def write_xlsx(root: Path, rel: str, kind: str, headers, rows, *, sheet_title: str,
               stamp: dt.datetime) -> FileInfo:
    """Write one sheet; ``rows`` may hold ``datetime.date`` values (become date cells)
    and ``None`` (empty cells). The result is reproducible for equal input."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title
    ws.append(list(headers))
    n = 0
    for r in rows:
        ws.append(list(r))
        n += 1
    for col, width in zip("ABCDEFGHIJ", (22, 10, 6, 12, 12, 12, 16, 12, 12, 12)):
        ws.column_dimensions[col].width = width
    wb.properties.creator = "station demo"
    buf = io.BytesIO()
    wb.save(buf)

    stamp_text = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(lambda m: m.group(1) + stamp_text + m.group(2), data)
            info = zipfile.ZipInfo(item.filename, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)
    final = root / rel
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".part")
    tmp.write_bytes(out.getvalue())
    os.replace(tmp, final)
    return FileInfo(rel, kind, rows=n, encoding="xlsx", delimiter="")
