"""Taking one delivery from the inbox into the register.

For each file: hash it; if the same bytes were applied before, record a duplicate;
otherwise read → recognise → map and normalise → apply, in **one** write transaction
together with its ledger entry. Only after the commit is the original moved, byte for
byte, to ``inbox/processed/YYYY-MM/`` (or ``inbox/rejected/`` with a reason file). The
ledger records where the file is going before it goes, so a crash between the commit
and the move is finished on the next run instead of applying the file twice.
"""
from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import shutil
import sqlite3
import stat
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import Callable, Iterator

from ..config import Config
from ..formats import UnreadableFile, open_rows
from ..home import Home
from ..log import log
from ..platform import open_nofollow, private_folder, try_lock
from . import taking
from ..kinds.mapping import RowMapper, map_rows, row_mapper
from ..kinds.recognise import HEAD_ROWS, Unrecognised, recognise, sheet_chooser
from ..kinds.spec import KINDS
from ..register.apply import RowWriter, build_deferred_indexes
from ..register.db import now_iso, reclaim_space, sync_wal, write_transaction
from . import held
from .worker import WORKER_MIN_BYTES, WorkerUnavailable, fewer_collections, mapped_batches, spare_core

IGNORED = ("~$*", "*.tmp", "*.part", "*.crdownload", ".~lock*", "Thumbs.db", "desktop.ini",
           ".*", "README.md", "*.reason.txt")

Progress = Callable[[str, int], None]   # (file name, rows done so far)

# Zip deliveries: station.inbox.members (which builds on this module) registers itself
# here when the inbox package is imported.
ARCHIVES = None

MAP_BATCH = 2000    # rows mapped at a time (column by column, see station.kinds.mapping)


@dataclass
class DeliveryResult:
    name: str
    status: str                  # applied | duplicate | rejected | held (待确认, station.inbox.held)
    delivery_id: int | None = None
    kind: str | None = None
    department: str | None = None
    rows_applied: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    reason: str | None = None
    duplicate_of: int | None = None
    stored_path: str | None = None
    seconds: float = 0.0
    recovered: bool = False      # a crash-interrupted move finished now
    put_back: bool = False       # the original changed after it was taken: it stays in the inbox
    left_in_place: bool = False  # its folder is read-only: a copy is kept, the original stays
    changed_ids: frozenset[str] | None = None   # the IDs written, if that is all that changed
    members: list["DeliveryResult"] = field(default_factory=list)   # a zip's files (station.inbox.members)

    @property
    def kind_title(self) -> str:
        return KINDS[self.kind].title if self.kind in KINDS else ""


def is_ignored(path: Path) -> bool:
    return any(fnmatch.fnmatch(path.name, pat) for pat in IGNORED)


def inbox_files(home: Home) -> list[Path]:
    """Every candidate delivery in the inbox, oldest first; processed/, rejected/ and held/
    are skipped."""
    found = []
    skip = {d.resolve() for d in home.kept_folders()}
    for dirpath, dirnames, filenames in os.walk(home.inbox):
        d = Path(dirpath)
        dirnames[:] = sorted(n for n in dirnames
                             if (d / n).resolve() not in skip and not n.startswith("."))
        for n in sorted(filenames):
            p = d / n
            if not is_ignored(p) and p.is_file() and not p.is_symlink():
                found.append(p)
    return found


def inbox_links(home: Home) -> list[str]:
    """Links (folders or files) in the inbox, relative to it: never followed — a link can
    lead anywhere — so what they point to is not applied, and the user is told so."""
    found = []
    skip = {d.resolve() for d in home.kept_folders()}
    for dirpath, dirnames, filenames in os.walk(home.inbox):
        d = Path(dirpath)
        for n in sorted(dirnames + filenames):
            p = d / n
            if p.is_symlink() and not is_ignored(p) and not n.startswith("."):
                found.append(str(p.relative_to(home.inbox)))
        dirnames[:] = sorted(n for n in dirnames if not (d / n).is_symlink()
                             and (d / n).resolve() not in skip and not n.startswith("."))
    return found


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unique_destination(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name (2).ext`` … so that nothing is ever overwritten.
    ``name`` comes from :func:`_safe_name`, which leaves room for the suffix."""
    dest = folder / name
    stem, suffix = os.path.splitext(name)
    n = 2
    while dest.exists() or dest.is_symlink():
        dest = folder / f"{stem} ({n}){suffix}"
        n += 1
    return dest


# A stored name in bytes at most: most filesystems allow 255, and the stored name may get
# " (12345)" before its ending and ".reason.txt" after it.
STORED_NAME_BYTES = 200


def _safe_name(name: str) -> str:
    """A file name that cannot climb out of its folder or hide its ending, and that fits:
    a long one keeps its ending and is shortened with a hash of the whole name (two long
    names that differ only at the end stay apart)."""
    cleaned = "".join(c if c.isprintable() and c not in "/\\\r\n\t" and not
                      (0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or c in "\u200e\u200f")
                      else "_" for c in name)
    cleaned = cleaned.strip(" .") or "unnamed"
    if len(cleaned.encode()) <= STORED_NAME_BYTES:
        return cleaned
    stem, suffix = os.path.splitext(cleaned)
    if len(suffix.encode()) > 16:
        stem, suffix = cleaned, ""
    tag = "~" + hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    room = STORED_NAME_BYTES - len(suffix.encode()) - len(tag)
    short = stem.encode()[:room].decode("utf-8", "ignore")   # never half a character
    return short + tag + suffix


_NOT_CLAIMED = None
_UNOPENED = -1

# A file that looks cut off (see taking.looks_complete) and was written less than this
# long ago is waited for when the pipeline waits for complete files (the watcher).
INCOMPLETE_GRACE_SECONDS = 60.0

WAITING_REASON = "文件还在写入或复制中（内容仍在变化，或结尾不完整），暂不导入；写完后会自动导入。"
PUT_BACK_NOTE = ("文件在导入期间又发生了变化：已导入并归档的是取走时的内容；变化后的文件留在收件箱，"
                 "会作为一份新的报送再次导入。")
LEFT_IN_PLACE_NOTE = ("收件箱中该文件所在的文件夹是只读的，原件无法移出：已把副本保存到归档，以后不会再重复处理它。"
                      "请把该文件夹设为可写（或手动删除原件）。")


@contextmanager
def _claim(path: Path) -> Iterator[int | None]:
    """The file opened once, without following links, and locked (exclusive, non-blocking)
    for the time it is processed and stored: everything reads this descriptor.

    Yields None when another process holds it, or when the file was moved away (by the
    process that held it) between our listing and our lock; ``_UNOPENED`` for a link or
    something else that cannot be opened (the pipeline says why)."""
    try:
        fd = open_nofollow(path)
    except FileNotFoundError:
        yield _NOT_CLAIMED
        return
    except OSError:
        yield _UNOPENED
        return
    try:
        if not try_lock(fd):
            yield _NOT_CLAIMED
            return
        yield fd if taking.still_there(path, fd) else _NOT_CLAIMED
    finally:
        os.close(fd)


def _given_twice(rec, cfg: Config) -> str | None:
    """A Chinese reason when two columns of the header are the same field of the kind
    (公民身份号码 twice, or 身份证号 beside it): mapping would keep one and drop the other
    without a word."""
    from ..kinds.recognise import canonical_headers
    fields = {f.header for f in rec.kind.fields}
    seen: dict[str, int] = {}
    for i, canon in enumerate(canonical_headers(rec.header_cells, cfg)):
        if canon not in fields:
            continue
        if canon in seen:
            j = seen[canon]
            shown = [_safe_name(str(rec.header_cells[k]))[:40] for k in (j, i)]
            return (f"第 {j + 1} 列「{shown[0]}」和第 {i + 1} 列「{shown[1]}」都是「{canon}」，"
                    "无法确定以哪一列为准（确认时指定其中一列，另一列不导入）。")
        seen[canon] = i
    return None


class _AppliedMeanwhile(Exception):
    """The same bytes were applied by another process between the first duplicate check
    and this delivery's write transaction (rolled back: nothing of it is kept)."""

    def __init__(self, earlier):
        super().__init__()
        self.earlier = earlier


class Pipeline:
    """Applies deliveries for one home. Use one instance per thread (it owns ``conn``)."""

    def __init__(self, home: Home, cfg: Config, conn: sqlite3.Connection,
                 on_progress: Progress | None = None, *, wait_for_complete: bool = False):
        self.home, self.cfg, self.conn = home, cfg, conn
        self.on_progress = on_progress
        # The watcher's files: one that looks cut off and was written just now is left
        # for later (``waiting``). ``station ingest`` takes what it is given.
        self.wait_for_complete = wait_for_complete
        self._taken: taking.Taken | None = None
        self._taking: Path | None = None          # the inbox file that _taken is a snapshot of
        taking.clear_stale(home.work)

    # ------------------------------------------------------------------ public

    def process(self, path: Path) -> DeliveryResult | None:
        """Apply one delivery. None when another station process (a second reviewer's
        window, a headless watcher) is taking this file right now, or already took it."""
        started = time.perf_counter()
        with _claim(Path(path)) as fd:
            if fd is _NOT_CLAIMED:
                return None
            self._taking = Path(path)
            try:
                result = self._process(Path(path), fd)
            finally:
                self._discard()
        if result is not None:
            result.seconds = time.perf_counter() - started
        return result

    def _discard(self) -> None:
        if self._taken is not None and self._taken.snapshot is not None:
            self._taken.snapshot.unlink(missing_ok=True)
        self._taken = self._taking = None

    def readable(self, path: Path) -> Path:
        """Where to read ``path`` from: the private snapshot when it is the delivery being
        taken (never the inbox file again: see station.inbox.taking), else ``path``."""
        if self._taken is not None and self._taken.snapshot is not None and path == self._taking:
            return self._taken.snapshot
        return path

    # ------------------------------------------------------------------ steps

    def _department_of(self, path: Path) -> str | None:
        """The department folder a file is in (its first folder under the inbox, known to
        the station or not: a file in ``tax/`` is not a file with no folder)."""
        try:
            rel = path.resolve().relative_to(self.home.inbox.resolve())
        except ValueError:
            return None
        return rel.parts[0] if len(rel.parts) > 1 else None

    def _relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.home.inbox.resolve()))
        except ValueError:
            return str(path)

    def _process(self, path: Path, fd: int) -> DeliveryResult | None:
        name = path.name
        try:
            st = os.fstat(fd) if fd != _UNOPENED else path.lstat()
            if fd == _UNOPENED or not stat.S_ISREG(st.st_mode):   # a link, a pipe, a device
                return DeliveryResult(name, "rejected", reason=(
                    "这不是普通文件（是链接、管道或设备），未读取也未移动。请把真正的文件复制到收件箱。"))
            size = st.st_size
            if not os.access(path.parent, os.W_OK | os.X_OK) and self._handled_before(path, fd, size):
                return None      # a read-only folder's file, applied or refused before: said once
            if size > self.cfg.limits.max_bytes:
                return self._reject(path, None, size, (
                    f"文件大小 {size / 1024 / 1024:.1f} MB 超过上限 {self.cfg.limits.max_file_mb} MB。"
                    "请确认文件是否正确；如确需导入，请在 rules.yaml 的 limits.max_file_mb 中调大上限。"))
            try:
                self._taken = taking.take(fd, self.home.work, path.suffix)
            except taking.StillWriting:
                return DeliveryResult(name, "waiting", reason=WAITING_REASON)
            snapshot, digest = self._taken.snapshot, self._taken.digest
            size = self._taken.size
            if (self.wait_for_complete and not taking.looks_complete(snapshot)
                    and taking.recently_changed(fd, INCOMPLETE_GRACE_SECONDS)):
                return DeliveryResult(name, "waiting", reason=WAITING_REASON)
        except OSError as e:
            return DeliveryResult(name, "rejected", reason=f"无法读取文件：{e.strerror}")

        done = self._finish_interrupted(path, digest)
        if done is not None:
            return done
        earlier = self._applied_before(digest)
        if earlier is not None:
            return self._duplicate(path, digest, size, earlier)
        twin = held.waiting_twin(self.conn, digest)
        if twin is not None:
            return self._duplicate(path, digest, size, twin, waiting=True)

        folder_dept = self._department_of(path)
        rec = None
        if ARCHIVES is not None and ARCHIVES.is_archive(snapshot):     # a zip of files: each its own delivery
            return ARCHIVES.unpack(self, path, digest, size, folder_dept)
        try:
            with open_rows(snapshot, max_bytes=self.cfg.limits.max_bytes,
                           max_cell_chars=self.cfg.limits.max_cell_chars,
                           max_columns=self.cfg.limits.max_columns,
                           choose_sheet=sheet_chooser(self.cfg)) as source:
                rows = iter(source)
                head = list(islice(rows, HEAD_ROWS))
                if not head:
                    raise UnreadableFile("文件中没有任何数据行。请确认对方导出时选择了正确的数据。")
                try:
                    rec = recognise(head, self.cfg, department=folder_dept, file_name=name)
                except Unrecognised as e:
                    guess = held.best_guess(head, self.cfg, folder_dept, name)
                    if guess is None:          # no row looks like a header: nothing to confirm
                        raise
                    return self._hold(path, digest, size, source, guess, held.hold_reason(guess, str(e)),
                                      folder_dept)
                if not rec.confident:       # never applied on a guess: the clerk confirms first
                    return self._hold(path, digest, size, source, rec, held.hold_reason(rec), folder_dept)
                twice = _given_twice(rec, self.cfg)
                if twice:                   # which of the two holds the data? The clerk says
                    return self._hold(path, digest, size, source, rec, held.hold_reason(None, twice), folder_dept)
                body = chain((r for r in head if r[0] > rec.header_row), rows)
                return self._apply(path, digest, size, rec, source, body)
        except _AppliedMeanwhile as e:
            return self._duplicate(path, digest, size, e.earlier)
        except (UnreadableFile, Unrecognised) as e:
            # The kind, when it was recognised: its data counts as refused (rules.completeness).
            return self._reject(path, digest, size, str(e), kind=getattr(getattr(rec, "kind", None), "name", None))
        except (sqlite3.Error, OSError):
            raise                 # the register or the disk, not the file: leave it in the inbox
        except Exception as e:    # a reader or normaliser bug must not loop on the same file
            return self._reject(path, digest, size, (
                f"读取文件时发生意外错误（{type(e).__name__}）。文件已移出收件箱，内容未导入；"
                "请把该文件和本说明交给系统维护人员。"))

    def _apply(self, path: Path, digest: str, size: int, rec, source,
               body: Iterator[tuple[int, list]], *, origin: str | None = None,
               before_commit: Callable[[int], None] | None = None, name: str | None = None,
               stored: str | None = None) -> DeliveryResult:
        """``origin``: where the file was delivered, when not where it lies now (a held
        file, a zip member); ``before_commit(delivery_id)`` runs last inside the
        transaction (and may raise to roll it all back); ``name``: the file's name when
        ``path`` is a private copy; ``stored``: where its original is kept already (a zip
        member: the zip) — then nothing is moved."""
        spec = rec.kind
        department = self.cfg.kinds[spec.name].department
        name = name or path.name
        dest = None if stored else _unique_destination(self._processed_folder(), _safe_name(name))
        stored = stored or str(dest.relative_to(self.home.root))
        mapper = row_mapper(rec)
        skipped = 0
        with fewer_collections(), write_transaction(self.conn):
            # Again inside the write lock: another station process may have applied the
            # same bytes (under another name) since the check before reading.
            earlier = self._applied_before(digest)
            if earlier is not None:
                raise _AppliedMeanwhile(earlier)
            cur = self.conn.execute(
                "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size, kind,"
                " department, status, format, encoding, header_row, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'applied', ?, ?, ?, ?)",
                (digest, name, origin or self._relative(path), stored, size, spec.name, department,
                 source.format, source.encoding, rec.header_row, now_iso()))
            delivery_id = cur.lastrowid
            writer = RowWriter(self.conn, spec, delivery_id, defer=True)
            progress_every = 20000
            next_progress = progress_every
            for rows, rejected, n_skipped in self._mapped(path, size, rec, source, body, mapper, delivery_id):
                writer.add_rows(rows)
                for row_no, reason, cells in rejected:
                    writer.reject(row_no, reason, cells)
                skipped += n_skipped
                while self.on_progress and writer.applied + len(writer.rows) >= next_progress:
                    self.on_progress(name, next_progress)
                    next_progress += progress_every
            writer.finish()
            total = writer.applied + writer.rejected_count + skipped
            self.conn.execute(
                "UPDATE deliveries SET rows_total = ?, rows_applied = ?, rows_rejected = ?,"
                " rows_skipped = ?, applied_at = ? WHERE id = ?",
                (total, writer.applied, writer.rejected_count, skipped, now_iso(), delivery_id))
            if before_commit is not None:
                before_commit(delivery_id)
        kept = self._store(path, dest) if dest is not None else {}
        # A record without an ID (a cremation known by name and birth date) is not about
        # one ID: then the rules look at everything.
        ids = None if writer.ids is None or None in writer.ids else frozenset(writer.ids)
        return DeliveryResult(name, "applied", delivery_id, spec.name, department,
                              writer.applied, writer.rejected_count, skipped, stored_path=stored,
                              changed_ids=ids, **kept)

    def _applied_before(self, digest: str):
        """(id, original name) of the delivery that applied these bytes, or None."""
        return self.conn.execute(
            "SELECT id, original_name FROM deliveries WHERE sha256 = ? AND status = 'applied' "
            "ORDER BY id LIMIT 1", (digest,)).fetchone()

    def _mapped(self, path: Path, size: int, rec, source, body, mapper, delivery_id: int):
        """The body's rows, mapped a batch at a time: a large CSV in a second process
        (:mod:`station.inbox.worker`), anything else here."""
        if (source.format == "csv" and size >= WORKER_MIN_BYTES and isinstance(mapper, RowMapper)
                and spare_core()):
            limits = {"max_bytes": self.cfg.limits.max_bytes, "max_cell_chars": self.cfg.limits.max_cell_chars,
                      "max_columns": self.cfg.limits.max_columns}
            batches = mapped_batches(self.readable(path), rec, limits, delivery_id, MAP_BATCH)
            try:
                first = next(batches, None)
            except WorkerUnavailable as e:
                # The child could not start or died before its first batch: nothing is
                # lost, the rows are mapped here instead.
                log.warning("mapping worker unavailable (%s); mapping in this process", e.cause)
            else:
                if first is not None:
                    yield first
                    yield from batches
                return
        map_batch = getattr(mapper, "map_batch", None) or partial(map_rows, mapper)
        while batch := list(islice(body, MAP_BATCH)):
            yield map_batch(batch, delivery_id)

    def finish(self) -> list[str]:
        """After the last file: build the indexes that bulk loads deferred (see
        :mod:`station.register.apply`; a rule evaluation would build them otherwise);
        their names. Then free pages go back to the disk, when a delivery replaced much
        of what it wrote (station.register.db.reclaim_space)."""
        built = build_deferred_indexes(self.conn)
        freed = reclaim_space(self.conn)
        if freed:
            log.info("register: %.1f MB of free pages given back to the disk", freed / 2**20)
        return built

    def _processed_folder(self) -> Path:
        return private_folder(self.home.processed / time.strftime("%Y-%m"))

    def _hold(self, path: Path, digest: str, size: int, source, rec, reason: str,
              department: str | None) -> DeliveryResult:
        """Keep the file in inbox/held/ until a clerk confirms its kind and columns."""
        delivery_id, stored, kind, dept = held.hold(self, path, digest, size, source, rec, reason, department)
        return DeliveryResult(path.name, held.HELD, delivery_id, kind, dept, reason=reason, stored_path=stored)

    def _destination(self, folder: Path, name: str) -> Path:
        return _unique_destination(folder, _safe_name(name))

    def _duplicate(self, path: Path, digest: str, size: int, earlier, waiting: bool = False) -> DeliveryResult:
        earlier_id, earlier_name = earlier
        dest = _unique_destination(self._processed_folder(), _safe_name(path.name))
        stored = str(dest.relative_to(self.home.root))
        reason = (f"与第 {earlier_id} 号报送「{earlier_name}」内容完全相同，"
                  + ("该文件正等待确认（待确认），未重复收件。" if waiting else "未重复导入。"))
        with write_transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size,"
                " status, reason, duplicate_of, received_at)"
                " VALUES (?, ?, ?, ?, ?, 'duplicate', ?, ?, ?)",
                (digest, path.name, self._relative(path), stored, size, reason, earlier_id, now_iso()))
        kept = self._store(path, dest)
        return DeliveryResult(path.name, "duplicate", cur.lastrowid, reason=reason,
                              duplicate_of=earlier_id, stored_path=stored, **kept)

    def _reject(self, path: Path, digest: str | None, size: int, reason: str,
                kind: str | None = None) -> DeliveryResult:
        dest = _unique_destination(self.home.rejected, _safe_name(path.name))
        stored = str(dest.relative_to(self.home.root))
        with write_transaction(self.conn):
            cur = self.conn.execute(
                "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size,"
                " status, reason, kind, received_at) VALUES (?, ?, ?, ?, ?, 'rejected', ?, ?, ?)",
                (digest or "", path.name, self._relative(path), stored, size, reason, kind, now_iso()))
        # The reason first: a crash before the move leaves the file in the inbox, and its
        # next rejection goes to the same name and rewrites this note.
        note = dest.with_name(dest.name + ".reason.txt")
        fd = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(f"文件：{path.name}\n时间：{now_iso()}\n原因：{reason}\n")
        kept = self._store(path, dest)
        return DeliveryResult(path.name, "rejected", cur.lastrowid, reason=reason, stored_path=stored, **kept)

    def _finish_interrupted(self, path: Path, digest: str) -> DeliveryResult | None:
        """A delivery committed to the ledger but not yet moved (the station was killed in
        between): move it where the ledger says, without applying it again.

        Rejected deliveries are not recovered this way: a file put back into the inbox after
        rules.yaml was fixed must be tried again."""
        row = self.conn.execute(
            "SELECT id, status, stored_path, kind, department, rows_applied, rows_rejected, rows_skipped,"
            " reason FROM deliveries WHERE sha256 = ? AND original_path = ?"
            " AND status IN ('applied', 'duplicate', 'held') ORDER BY id DESC LIMIT 1",
            (digest, self._relative(path))).fetchone()
        if row is None or not row[2] or (self.home.root / row[2]).exists():
            return None
        dest = self.home.root / row[2]
        kept = self._store(path, dest)
        return DeliveryResult(path.name, row[1], row[0], row[3], row[4], row[5] or 0, row[6] or 0,
                              row[7] or 0, reason=row[8], stored_path=row[2], recovered=True, **kept)

    def _handled_before(self, path: Path, fd: int, size: int) -> bool:
        """Whether this file (same place, same bytes) already has a ledger entry: a file in
        a read-only folder stays where it is after it was applied, duplicated or refused,
        and must not be copied and reported again on every run."""
        row = self.conn.execute(
            "SELECT sha256 FROM deliveries WHERE original_path = ? AND size = ? ORDER BY id DESC LIMIT 1",
            (self._relative(path), size)).fetchone()
        return row is not None and (row[0] == "" or row[0] == taking.hash_fd(fd))

    def _store(self, path: Path, dest: Path) -> dict:
        """Keep the delivery at ``dest`` (after its ledger entry is committed) and let the
        original go — only if it is still exactly what was taken. Returns the flags of
        :class:`DeliveryResult` that say what happened to the original."""
        taken = self._taken
        if taken is None or taken.snapshot is None or path != self._taking:
            # never read (too large), or not an inbox original (a held file): the file itself
            return {"left_in_place": self._move_file(path, dest)}
        dest.parent.mkdir(parents=True, exist_ok=True)
        sync_wal(self.home.db_path)                      # see _move_file
        _rename(taken.snapshot, dest)
        taken.snapshot = None
        _owner_only(dest)
        if not taking.still_there(path, taken.fd):       # moved or replaced meanwhile: not ours to remove
            return {}
        if not taking.unchanged(taken):
            log.warning("a delivery changed after it was taken: the applied bytes are kept, "
                        "the changed file stays in the inbox")
            return {"put_back": True}
        try:
            os.unlink(path)
        except OSError as e:
            if e.errno not in _READ_ONLY:
                raise
            return {"left_in_place": True}
        return {}

    def _move(self, src: Path, dest: Path) -> dict:
        """Keep ``src`` at ``dest`` once its ledger entry is committed (see :meth:`_store`)."""
        return self._store(src, dest)

    def _move_file(self, src: Path, dest: Path) -> bool:
        """Move the file itself; True when its folder is read-only and only a copy could
        be kept."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        # The ledger entry must reach the disk before the move does: with synchronous=NORMAL
        # a power cut could otherwise keep the move and lose the commit (file in processed/,
        # nothing in the register). A kill alone loses neither.
        sync_wal(self.home.db_path)
        left = False
        try:
            os.replace(src, dest)
        except OSError as e:
            if e.errno not in _READ_ONLY:
                raise
            shutil.copyfile(src, dest)
            left = True
        _owner_only(dest)
        return left


_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)


def _rename(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except OSError as e:
        if e.errno != errno.EXDEV:                # the home's work folder on another disk
            raise
        shutil.move(str(src), str(dest))


def _owner_only(dest: Path) -> None:
    try:
        st = os.lstat(dest)
        # Owner-only, but never through a link, nor on an inode that has other names
        # (a hard link planted in the inbox must not change the mode of its target).
        if stat.S_ISREG(st.st_mode) and st.st_nlink == 1:
            os.chmod(dest, 0o600)
    except OSError:
        pass
