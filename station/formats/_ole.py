"""Pre-flight checks for OLE2 (Compound File) containers before calamine sees them.

calamine reads legacy .xls completely when the workbook is opened, and a few values in a
damaged or crafted file make it ask for an absurd allocation, which aborts the whole
Python process (a Rust allocation failure is not an exception): sector numbers far past
the end of the file, sector chains that loop, stream sizes larger than the file, an SST
string count in the billions, a DIMENSIONS record or two far-apart cells that span a huge
area (calamine stores every sheet densely, rows x columns). A 5 KB .xls with cells at A1
and IV65536 takes 1 GB; one with a cell in column 65535 aborts.

This module walks the container and the BIFF records the way calamine 0.37 does and
refuses such files first. It does not decode cell values: reading stays calamine's job.
It also recognises password-protected Office files (EncryptedPackage stream, BIFF FILEPASS
record) and OLE files that are not workbooks (Word, PowerPoint).
"""
from __future__ import annotations

import struct

from ._base import MAX_EXCEL_CELLS

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENDOFCHAIN = 0xFFFFFFFE
DIFSECT = 0xFFFFFFFC
RESERVED = 0xFFFFFFFA          # ids >= this end a DIFAT chain in calamine
MINI_CUTOFF = 4096


class OleError(Exception):
    """Structure calamine would choke on. ``str(e)`` is an English diagnostic."""


class Encrypted(Exception):
    pass


class TooLarge(Exception):
    def __init__(self, rows: int, cols: int):
        super().__init__(f"{rows} x {cols}")
        self.rows = rows
        self.cols = cols


def _u32s(b: bytes) -> tuple[int, ...]:
    return struct.unpack_from(f"<{len(b) // 4}I", b)


class Ole:
    """A validated view of a compound file (directory entries and stream access)."""

    def __init__(self, data: bytes):
        self.data = data
        if len(data) < 512 or data[:8] != MAGIC:
            raise OleError("not an OLE2 file")
        major, _bom, shift, mini_shift = struct.unpack_from("<HHHH", data, 26)
        if shift not in (9, 12) or mini_shift != 6:
            raise OleError("bad sector shift")
        size = 1 << shift
        self.size = size
        if len(data) <= size:
            raise OleError("no sectors")
        n = (len(data) - size + size - 1) // size
        self.n = n
        dir_len, fat_len, dir_start = struct.unpack_from("<III", data, 40)
        mini_fat_start, mini_fat_len, difat_start, difat_len = struct.unpack_from("<IIII", data, 60)
        # calamine reserves a Vec from bytes 62..66 of the header (a misaligned read).
        if struct.unpack_from("<I", data, 62)[0] > (1 << 26):
            raise OleError("header counts out of range")
        if max(dir_len, fat_len, mini_fat_len, difat_len) > n:
            raise OleError("header counts larger than the file")

        # DIFAT: 109 ids in the header, then a chain; calamine pops the last id of every
        # DIFAT sector as the next link.
        difat = list(_u32s(data[76:512]))
        seen: set[int] = set()
        sid = difat_start
        while sid < RESERVED:
            if sid >= n or sid in seen:
                raise OleError("bad DIFAT chain")
            seen.add(sid)
            difat.extend(_u32s(self._sector(sid)))
            sid = difat.pop()
        fat_ids = [x for x in difat if x < DIFSECT]
        if any(x >= n for x in fat_ids) or len(set(fat_ids)) != len(fat_ids):
            raise OleError("bad FAT sector list")
        fats: list[int] = []
        for x in fat_ids:
            fats.extend(_u32s(self._sector(x)))
        self.fats = fats

        dirs = self._chain_bytes(dir_start, fats, n, self._sector)
        if dir_len:
            dirs = dirs[: dir_len * size]
        entries = []
        for off in range(0, len(dirs) - 127, 128):
            e = dirs[off: off + 128]
            name = e[:64].decode("utf-16-le", "replace").split("\x00", 1)[0]
            start = struct.unpack_from("<I", e, 116)[0]
            length = struct.unpack_from("<I" if size == 512 else "<Q", e, 120)[0]
            entries.append((name, start, length))
        if not entries or (major != 3 and entries[0][1] == ENDOFCHAIN):
            raise OleError("empty root directory")
        self.entries = entries
        self.names = {e[0] for e in entries}

        self.mini = b""
        self.minifat: tuple[int, ...] = ()
        if mini_fat_len > 0:
            _, root_start, root_len = entries[0]
            if root_len > len(data):
                raise OleError("mini stream larger than the file")
            mini = self._chain_bytes(root_start, fats, n, self._sector)
            self.mini = mini[:root_len] if root_len else mini
            minifat = self._chain_bytes(mini_fat_start, fats, n, self._sector)
            minifat = minifat[: mini_fat_len * size]
            self.minifat = _u32s(minifat)

    def _sector(self, sid: int) -> bytes:
        off = (sid + 1) * self.size
        return self.data[off: off + self.size]

    def _mini_sector(self, sid: int) -> bytes:
        return self.mini[sid * 64: sid * 64 + 64]

    @staticmethod
    def _chain_bytes(start: int, fat, limit: int, read) -> bytes:
        out = []
        seen: set[int] = set()
        sid = start
        while sid != ENDOFCHAIN:
            if sid >= limit or sid >= len(fat) or sid in seen:
                raise OleError("bad sector chain")
            seen.add(sid)
            out.append(read(sid))
            sid = fat[sid]
        return b"".join(out)

    def stream(self, name: str) -> bytes | None:
        """The stream as calamine would read it (first entry of that name)."""
        for ename, start, length in self.entries:
            if ename == name:
                break
        else:
            return None
        if length < MINI_CUTOFF:
            n_mini = (len(self.mini) + 63) // 64
            data = self._chain_bytes(start, self.minifat, n_mini, self._mini_sector)
        else:
            if length > len(self.data):
                raise OleError("stream larger than the file")
            data = self._chain_bytes(start, self.fats, self.n, self._sector)
        return data[:length] if length else data


# ------------------------------------------------------------------------------- BIFF

_CELL_RECORDS = {
    0x0203: 14,   # Number
    0x0204: 6,    # Label
    0x0205: 8,    # BoolErr
    0x027E: 10,   # RK
    0x00FD: 10,   # LabelSst
}
_MAX_FORMULA_RECORD = 8224 + 4   # BIFF8 record size limit; larger formulas are crafted


class _Box:
    __slots__ = ("r0", "r1", "c0", "c1")

    def __init__(self):
        self.r0 = self.c0 = 1 << 40
        self.r1 = self.c1 = -1

    def add(self, r: int, c0: int, c1: int) -> None:
        if r < self.r0:
            self.r0 = r
        if r > self.r1:
            self.r1 = r
        if c0 < self.c0:
            self.c0 = c0
        if c1 > self.c1:
            self.c1 = c1

    def area(self) -> tuple[int, int]:
        if self.r1 < 0:
            return 0, 0
        return self.r1 - self.r0 + 1, self.c1 - self.c0 + 1


def _records(buf: bytes, pos: int):
    """(type, data start, data length) like calamine's RecordIter; CONTINUE records are
    folded into the record before them, as calamine does."""
    n = len(buf)
    unpack = struct.unpack_from
    while pos < n:
        if n - pos < 4:
            return
        typ, ln = unpack("<HH", buf, pos)
        if n - pos < ln + 4:
            return
        start = pos + 4
        pos = start + ln
        cont = 0
        if n - pos > 4 and unpack("<H", buf, pos)[0] == 0x003C:
            while n - pos > 4 and unpack("<H", buf, pos)[0] == 0x003C:
                cl = unpack("<H", buf, pos + 2)[0]
                if n - pos < cl + 4:
                    return
                cont += cl
                pos += 4 + cl
        yield typ, start, ln, cont


def date1904(buf: bytes) -> bool:
    """Whether the workbook globals' DATEMODE record (0x0022) selects the 1904 date system."""
    for typ, start, ln, _cont in _records(buf, 0):
        if typ == 0x0022 and ln >= 2:
            return struct.unpack_from("<H", buf, start)[0] == 1
        if typ == 0x000A:                                                    # EOF
            break
    return False


def check_workbook_stream(buf: bytes) -> None:
    """Raise Encrypted, TooLarge or OleError for what calamine must not be given."""
    unpack = struct.unpack_from
    sheets: list[int] = []
    for typ, start, ln, cont in _records(buf, 0):
        if typ == 0x002F and ln >= 2 and unpack("<H", buf, start)[0] != 0:   # FilePass
            raise Encrypted()
        if typ == 0x00FC and ln >= 8:                                        # SST
            count = unpack("<i", buf, start + 4)[0]
            if count > (ln + cont) // 3 + 1:
                raise OleError("SST string count larger than the record")
        elif typ == 0x0085 and ln >= 4:                                      # BoundSheet8
            sheets.append(unpack("<I", buf, start)[0])
        elif typ == 0x000A:                                                  # EOF
            break
    total = 0
    worst = (0, 0)
    for pos in sheets:
        if pos > len(buf):
            continue   # calamine fails on it (a panic, caught by the caller)
        cells, formulas = _Box(), _Box()
        fpos = (0, 0)
        for typ, start, ln, cont in _records(buf, pos):
            if typ in _CELL_RECORDS:
                if ln < _CELL_RECORDS[typ]:
                    break                       # calamine errors out here
                r, c = unpack("<HH", buf, start)
                cells.add(r, c, c)
            elif typ == 0x00BD:                 # MulRk
                if ln < 6:
                    break
                r, c0 = unpack("<HH", buf, start)
                c_last = unpack("<H", buf, start + ln - 2)[0]
                k = (c_last - c0 + 1) & 0xFFFF
                if ln != 6 + 6 * k:
                    break
                if k:
                    cells.add(r, c0, c0 + k - 1)
            elif typ == 0x0006:                 # Formula
                if ln < 20:
                    break
                if ln + cont > _MAX_FORMULA_RECORD:
                    raise OleError("oversized formula record")
                fpos = unpack("<HH", buf, start)
                cells.add(fpos[0], fpos[1], fpos[1])
                formulas.add(fpos[0], fpos[1], fpos[1])
            elif typ == 0x0207:                 # String (formula result)
                cells.add(fpos[0], fpos[1], fpos[1])
            elif typ == 0x0200:                 # Dimensions: calamine reserves rows x cols
                if ln == 10:
                    rf, rl, cf, cl = unpack("<HHHH", buf, start)
                elif ln == 14:
                    rf, rl, cf, cl = unpack("<IIHH", buf, start)
                else:
                    break
                if rl >= 1 and cl >= 1:
                    rows = ((rl - 1 - rf) + 1) & 0xFFFFFFFF
                    cols = ((cl - 1 - cf) + 1) & 0xFFFFFFFF
                    if rows * cols > MAX_EXCEL_CELLS:
                        raise TooLarge(rows, cols)
            elif typ == 0x000A:
                break
        for box in (cells, formulas):
            rows, cols = box.area()
            total += rows * cols
            if rows * cols > worst[0] * worst[1]:
                worst = (rows, cols)
    if total > MAX_EXCEL_CELLS:
        raise TooLarge(*worst)
