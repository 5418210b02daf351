"""What differs between operating systems, in one place: claiming a file, opening it
without following links, and telling a network filesystem from a local disk.

The rest of the station calls these functions and never imports ``fcntl`` or uses
``O_NOFOLLOW`` itself (NOTES.md § Files arriving in a folder: neither exists on Windows).
"""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

try:                                  # POSIX
    import fcntl
except ImportError:                   # pragma: no cover - Windows
    fcntl = None                      # type: ignore[assignment]

MOUNTINFO = Path("/proc/self/mountinfo")

# Filesystems on which SQLite's WAL (shared memory and byte-range locks) is unsafe
# (sqlite.org/wal.html "WAL does not work over a network filesystem"), and on which inotify
# sees no writes made by other machines. 9p and drvfs are how WSL mounts Windows drives;
# vboxsf and vmhgfs are a virtual machine's shared folders; the fuse.* ones are object
# stores and SMB or cluster filesystems mounted in user space.
NETWORK_FILESYSTEMS = {
    "cifs", "smb", "smbfs", "smb3", "nfs", "nfs4", "sshfs", "fuse.sshfs", "9p", "afs",
    "ncpfs", "coda", "ceph", "glusterfs", "fuse.glusterfs", "davfs", "fuse.davfs2",
    "fuse.rclone", "lustre", "gpfs", "ocfs2", "gfs2", "v9fs",
    "vboxsf", "vmhgfs", "fuse.vmhgfs-fuse", "drvfs", "fuse.s3fs", "fuse.gcsfuse",
    "fuse.smbnetfs", "fuse.juicefs", "juicefs", "fuse.ceph", "fuse.cephfs",
}


def is_network_filesystem(fstype: str) -> bool:
    fstype = fstype.lower()
    return fstype in NETWORK_FILESYSTEMS or fstype.startswith(("nfs", "smb", "cifs"))


def _unescape(field: str) -> str:
    """Mount points in mountinfo escape space, tab, newline and backslash as octal."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def filesystem_of(path: Path, mountinfo: Path | None = None) -> tuple[str, str] | None:
    """(filesystem type, mount point) of the mount holding ``path`` (links resolved): the
    longest mount point that is a prefix of it in ``/proc/self/mountinfo`` (the last one
    wins when a mount is stacked on another). None where mountinfo cannot be read (not
    Linux)."""
    try:
        lines = (mountinfo or MOUNTINFO).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    target = str(Path(path).resolve())
    best: tuple[str, str] | None = None
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        point = _unescape(fields[4])
        inside = target == point or point == "/" or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[1])):
            best = (right.split()[0], point)
    return best


def open_nofollow(path: Path | str) -> int:
    """A read-only descriptor of ``path`` itself, never of what a link points to.

    Raises OSError (ELOOP for a link where the OS can tell) and FileNotFoundError. Never
    blocks on a FIFO. Where ``O_NOFOLLOW`` does not exist the link is refused by an lstat
    before the open, and the descriptor compared with it after."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    if hasattr(os, "O_NOFOLLOW"):
        return os.open(path, flags | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    before = os.lstat(path)           # pragma: no cover - Windows
    if stat.S_ISLNK(before.st_mode):
        raise OSError(40, "is a symbolic link", str(path))
    fd = os.open(path, flags)
    after = os.fstat(fd)
    if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise OSError(40, "replaced while opened", str(path))
    return fd


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes of an open file from ``offset`` (b"" at its end), without
    relying on the descriptor's position where ``os.pread`` exists (not on Windows)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)     # pragma: no cover - Windows
    return os.read(fd, size)


def try_lock(fd: int) -> bool:
    """An exclusive, non-blocking advisory lock on an open file (released when the
    descriptor is closed); False when another process holds it."""
    if fcntl is None:                 # pragma: no cover - Windows: the rename is the claim
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def private_folder(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (0700), created with its parents if
    needed: folders that keep originals hold personal data. mkdir's mode goes through the
    umask, hence the chmod; on Windows chmod cannot restrict a folder (its ACLs are the
    user profile's) and is skipped."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path
