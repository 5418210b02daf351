"""Taking a delivery out of the inbox: one descriptor, a private snapshot, and a check
that the original did not change before it is let go.

NOTES.md § Files arriving in a folder: a path opened again after it was hashed can lead
to other bytes (a link renamed over it, rows appended by a copy still running). So the
pipeline opens the file once without following links (:func:`station.platform.open_nofollow`),
and :func:`take` copies that descriptor into a private, owner-only snapshot while hashing
it. Everything after reads the snapshot (formats, the mapping child): what is applied is
exactly what is hashed, and the snapshot is what is kept in ``processed/``.

The original is removed from the inbox only when it is still the file that was taken:
same size, modification time and change time (the kernel's own stamp, which no program
can set), and the same hash (:func:`unchanged`). A file that changed after it was taken
stays in the inbox — put back, not lost — and is applied again as the new delivery it is.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from ..platform import read_at

CHUNK = 1 << 20
_counter = itertools.count()


class StillWriting(Exception):
    """The file changed while it was being read: its writer is not done."""


@dataclass
class Taken:
    fd: int                       # the claimed descriptor of the original
    stamp: tuple[int, int, int]   # (size, mtime_ns, ctime_ns) when it was taken
    digest: str                   # SHA-256 of the snapshot
    snapshot: Path | None         # the private copy (None once stored or discarded)

    @property
    def size(self) -> int:
        return self.stamp[0]


def stamp_of(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def take(fd: int, work: Path, suffix: str) -> Taken:
    """Copy the open file ``fd`` into a new snapshot in ``work`` (same ending as the
    original: formats look at it), hashing what is copied. Raises :class:`StillWriting`
    when the original changed meanwhile (the snapshot is then removed)."""
    before = stamp_of(os.fstat(fd))
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    snapshot = work / f"{os.getpid()}-{next(_counter)}{suffix[:16]}"
    out = os.open(snapshot, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    h = hashlib.sha256()
    try:
        offset = 0
        while chunk := read_at(fd, CHUNK, offset):
            h.update(chunk)
            os.write(out, chunk)
            offset += len(chunk)
        # Size and mtime: a write changes both. Not ctime here: a link renamed over the
        # original changes only its link count, and what was read is still its bytes.
        after = stamp_of(os.fstat(fd))
        if after[:2] != before[:2] or offset != before[0]:
            raise StillWriting()
    except BaseException:
        os.close(out)
        snapshot.unlink(missing_ok=True)
        raise
    os.close(out)
    return Taken(fd, before, h.hexdigest(), snapshot)


def hash_fd(fd: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while chunk := read_at(fd, CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


def unchanged(taken: Taken) -> bool:
    """Whether the original is still exactly what was taken: size, mtime and ctime, then
    the hash of its bytes now."""
    try:
        if stamp_of(os.fstat(taken.fd)) != taken.stamp:
            return False
        return hash_fd(taken.fd) == taken.digest
    except OSError:
        return False


def still_there(path: Path, fd: int) -> bool:
    """Whether ``path`` still names the file open as ``fd`` (not a link or another file
    renamed over it)."""
    try:
        here, now = os.fstat(fd), os.lstat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (now.st_dev, now.st_ino)


# ---------------------------------------------------------------- completeness

def looks_complete(path: Path) -> bool:
    """Whether a file's own structure says it is whole: a workbook or zip ends with its
    end-of-central-directory record, a legacy .xls fills whole 512-byte sectors, a JSON
    list ends with ``]``, any other text with a line break. A file cut off by a copy that
    is still running fails this (almost always: a cut exactly after a line break passes)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(max(0, size - (1 << 16) - 22))
            tail = f.read()
    except OSError:
        return False
    if size == 0:
        return True               # an empty file is rejected as empty, not waited for
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        i = tail.rfind(b"PK\x05\x06")
        return i >= 0 and len(tail) - i >= 22
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return size % 512 == 0
    end = tail.rstrip(b"\x00 \t\x1a")       # UTF-16 line breaks end with a NUL byte
    if not end:
        return True
    last = end[-1:]
    if head.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n").startswith((b"[", b"[\x00", b"\x00[")):
        return last in (b"]", b"\n", b"\r")
    return last in (b"\n", b"\r")


def recently_changed(fd: int, seconds: float) -> bool:
    """Whether the open file was written (or its attributes changed) in the last
    ``seconds``: a file that looks cut off and is still that fresh is waited for."""
    st = os.fstat(fd)
    return time.time() - max(st.st_mtime, st.st_ctime) < seconds


def clear_stale(work: Path) -> None:
    """Remove snapshots left by station processes that are gone (killed mid-file)."""
    try:
        names = os.listdir(work)
    except OSError:
        return
    for name in names:
        pid = name.split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue                  # still running (or the pid was reused): leave it
        except ProcessLookupError:
            pass
        except OSError:
            continue
        try:
            p = work / name
            if stat.S_ISREG(os.lstat(p).st_mode):
                p.unlink()
        except OSError:
            pass
