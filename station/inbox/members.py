"""Zip deliveries: each file inside a zip is a delivery of its own.

A department that sends several lists in one ``.zip`` gets one ledger entry for the zip
(``status = 'unpacked'``, the original kept once in ``processed/``) and one for each file
in it (``container_id`` names the zip's entry, ``member`` the path inside it). A folder
inside the zip is a hint like the inbox folder: ``public_security/死亡.csv`` is read as a
公安 file wherever the zip was dropped; otherwise the zip's own folder counts.

Each member is read from a private, owner-only copy that is hashed while it is written
(what is applied is exactly what was hashed; the bytes stay in the kept zip) and goes the
way any file goes: applied, a duplicate (the same bytes applied before — so the same zip
twice applies nothing twice), held for confirmation (the copy then waits in
``inbox/held/``), or rejected with its reason in the ledger. A zip that cannot be opened
— encrypted, broken, a compression Python cannot read, or too large unpacked (the limits
of :mod:`station.formats._zip`) — is held with a Chinese message saying what to do.

A run killed half way through a zip resumes it: the zip's entry is found by its hash,
and members already in the ledger under it are not taken again.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import sys
import tempfile
from itertools import chain, islice
from pathlib import Path

from ..formats import UnreadableFile, open_rows
from ..formats import _zip
from ..formats._base import human_size
from ..kinds.recognise import HEAD_ROWS, Unrecognised, recognise
from ..kinds.spec import DEPARTMENTS
from ..register.db import now_iso, write_transaction
from . import held
from . import pipeline as _pipeline
from .pipeline import IGNORED, DeliveryResult, _AppliedMeanwhile, _safe_name

UNPACKED = "unpacked"
CHUNK = 1 << 20

NESTED = "压缩包中又包含压缩包，未读取。请解压后把其中的表格文件放入收件箱（对应部门的文件夹）。"


def problem_reason(name: str, e: _zip.ZipProblem) -> str:
    shown = _safe_name(name)
    if e.kind == "encrypted":
        return (f"压缩包「{shown}」有密码保护，无法读取其中的文件。请向报送单位索取不加密的压缩包，"
                "或解压后把其中的表格文件放入收件箱（对应部门的文件夹）。")
    if e.kind == "bomb":
        return (f"压缩包「{shown}」解压后过大（约 {human_size(e.info.get('total', 0))}），可能已损坏或不是正常的数据报送。"
                "请解压后只把其中的表格文件放入收件箱。")
    if e.kind == "members":
        return (f"压缩包「{shown}」中的文件过多（{e.info.get('count')} 个，上限 {_zip.MAX_MEMBERS} 个）。"
                "请分成几个压缩包，或解压后把表格文件放入收件箱。")
    if e.kind == "method":
        return (f"压缩包「{shown}」使用了不支持的压缩方式，无法读取。请用 Windows 自带的“发送到压缩文件夹”"
                "或 WinRAR/7-Zip 的 ZIP 格式（标准压缩）重新压缩，或解压后把表格文件放入收件箱。")
    return (f"压缩包「{shown}」已损坏或不完整，无法打开。请确认文件已完整复制，或向报送单位重新索取；"
            "也可以解压后把其中的表格文件放入收件箱。")


def is_archive(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return _zip.is_archive(path, head)


def unpack(pipeline, path: Path, digest: str, size: int, department: str | None) -> DeliveryResult:
    """Take a zip delivery: its members one by one, then keep the zip."""
    conn = pipeline.conn
    earlier = conn.execute("SELECT id, original_name, stored_path FROM deliveries WHERE sha256 = ?"
                           " AND status = ? AND container_id IS NULL ORDER BY id LIMIT 1",
                           (digest, UNPACKED)).fetchone()
    if earlier is not None and (pipeline.home.root / earlier[2]).exists():
        return pipeline._duplicate(path, digest, size, earlier[:2])
    try:
        zf, infos = _zip.check_archive(pipeline.readable(path))
    except _zip.ZipProblem as e:
        reason = held.hold_reason(None, problem_reason(path.name, e))
        delivery_id, stored, _, dept = held.hold(pipeline, path, digest, size, _ZipSource, None, reason,
                                                 department)
        return DeliveryResult(path.name, held.HELD, delivery_id, None, dept, reason=reason, stored_path=stored)
    with zf:
        wanted = [(i, _zip.member_name(i)) for i in infos]
        wanted = [(i, n) for i, n in wanted if not _skipped(n)]
        if not wanted:
            return pipeline._reject(path, digest, size, (
                f"压缩包「{_safe_name(path.name)}」中没有可导入的文件。请确认压缩包内容。"))
        if earlier is not None:          # a run cut short: resume under the same entry
            container, stored = earlier[0], earlier[2]
            dest = pipeline.home.root / stored
        else:
            dest = pipeline._destination(pipeline._processed_folder(), path.name)
            stored = str(dest.relative_to(pipeline.home.root))
            with write_transaction(conn):
                container = conn.execute(
                    "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size,"
                    " department, status, format, rows_total, reason, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'zip', ?, ?, ?)",
                    (digest, path.name, pipeline._relative(path), stored, size, department, UNPACKED,
                     len(wanted), f"压缩包，内含 {len(wanted)} 个文件，每个文件单独导入（见下）。",
                     now_iso())).lastrowid
        done = {m for (m,) in conn.execute("SELECT member FROM deliveries WHERE container_id = ?", (container,))}
        results = []
        for info, name in wanted:
            if name in done:
                continue
            r = _member(pipeline, zf, info, name, container, stored, f"{pipeline._relative(path)}/{name}",
                        _hint(name) or department)
            r.name = f"{path.name} › {name}"         # what the clerk reads: the zip and the member
            results.append(r)
    pipeline._move(path, dest)
    out = DeliveryResult(path.name, UNPACKED, container, department=department, stored_path=stored,
                         reason=f"压缩包，内含 {len(wanted)} 个文件")
    out.members = results
    return out


class _ZipSource:
    format = "zip"
    encoding = None


def _skipped(name: str) -> bool:
    base = posixpath.basename(name)
    return (not base or name.startswith("__MACOSX/") or base.startswith(".")
            or any(fnmatch.fnmatch(base, p) for p in IGNORED))


def _hint(name: str) -> str | None:
    """The department a folder inside the zip names (the nearest one wins)."""
    for part in reversed(name.split("/")[:-1]):
        if part in DEPARTMENTS:
            return part
    return None


def _member(pipeline, zf, info, name: str, container: int, zip_stored: str, origin: str,
            department: str | None) -> DeliveryResult:
    base = posixpath.basename(name)
    fd, tmp = tempfile.mkstemp(prefix=".member-", dir=pipeline.home.root)     # owner-only
    tmp_path = Path(tmp)
    try:
        h = hashlib.sha256()
        size = 0
        try:
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                while chunk := src.read(CHUNK):
                    size += len(chunk)
                    if size > pipeline.cfg.limits.max_bytes:
                        raise UnreadableFile(f"文件解压后超过上限 {pipeline.cfg.limits.max_file_mb} MB。")
                    h.update(chunk)
                    out.write(chunk)
        except UnreadableFile as e:
            return _record(pipeline, "rejected", base, origin, zip_stored, size, container, name, "", str(e))
        except zipfile_errors() as e:
            return _record(pipeline, "rejected", base, origin, zip_stored, size, container, name, "",
                           f"压缩包中的这个文件已损坏，无法解压（{type(e).__name__}）。请向报送单位重新索取。")
        return _take(pipeline, tmp_path, base, origin, zip_stored, size, h.hexdigest(), container, name,
                     department)
    finally:
        tmp_path.unlink(missing_ok=True)       # a held member was moved to inbox/held/ already


def zipfile_errors() -> tuple[type[BaseException], ...]:
    import zlib
    import zipfile
    return (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError)


def _take(pipeline, tmp: Path, base: str, origin: str, zip_stored: str, size: int, digest: str,
          container: int, member: str, department: str | None) -> DeliveryResult:
    earlier = pipeline._applied_before(digest)
    if earlier is not None:
        return _duplicate(pipeline, base, origin, zip_stored, size, digest, container, member, earlier)
    twin = held.waiting_twin(pipeline.conn, digest)
    if twin is not None:
        return _duplicate(pipeline, base, origin, zip_stored, size, digest, container, member, twin, waiting=True)
    with open(tmp, "rb") as f:
        if _zip.is_archive(tmp, f.read(4)):
            return _record(pipeline, "rejected", base, origin, zip_stored, size, container, member, digest, NESTED)
    cfg = pipeline.cfg
    link = {"container_id": container, "member": member}
    try:
        with open_rows(tmp, max_bytes=cfg.limits.max_bytes, max_cell_chars=cfg.limits.max_cell_chars,
                       max_columns=cfg.limits.max_columns) as source:
            rows = iter(source)
            head = list(islice(rows, HEAD_ROWS))
            if not head:
                raise UnreadableFile("文件中没有任何数据行。请确认对方导出时选择了正确的数据。")
            try:
                rec = recognise(head, cfg, department=department, file_name=base)
                reason = None if rec.confident else held.hold_reason(rec)
            except Unrecognised as e:
                rec = held.best_guess(head, cfg, department, base)
                if rec is None:            # no row looks like a header: nothing to confirm
                    raise
                reason = held.hold_reason(rec, str(e))
            if reason is not None:
                delivery_id, stored, kind, dept = held.hold(
                    pipeline, tmp, digest, size, source, rec, reason, department, name=base, origin=origin,
                    extra=link)
                return DeliveryResult(base, held.HELD, delivery_id, kind, dept, reason=reason, stored_path=stored)
            body = chain((r for r in head if r[0] > rec.header_row), rows)

            def before_commit(delivery_id: int) -> None:
                pipeline.conn.execute("UPDATE deliveries SET container_id = ?, member = ? WHERE id = ?",
                                      (container, member, delivery_id))
            return pipeline._apply(tmp, digest, size, rec, source, body, origin=origin,
                                   before_commit=before_commit, name=base, stored=zip_stored)
    except _AppliedMeanwhile as e:
        return _duplicate(pipeline, base, origin, zip_stored, size, digest, container, member, e.earlier)
    except (UnreadableFile, Unrecognised) as e:
        return _record(pipeline, "rejected", base, origin, zip_stored, size, container, member, digest, str(e))
    except OSError:
        raise
    except Exception as e:       # a reader or normaliser bug: this member, not the run
        import sqlite3
        if isinstance(e, sqlite3.Error):
            raise
        return _record(pipeline, "rejected", base, origin, zip_stored, size, container, member, digest,
                       f"读取文件时发生意外错误（{type(e).__name__}），内容未导入；请把压缩包和本说明交给系统维护人员。")


def _duplicate(pipeline, base, origin, zip_stored, size, digest, container, member, earlier,
               waiting: bool = False) -> DeliveryResult:
    earlier_id, earlier_name = earlier[0], earlier[1]
    reason = (f"与第 {earlier_id} 号报送「{earlier_name}」内容完全相同，"
              + ("该文件正等待确认（待确认），未重复收件。" if waiting else "未重复导入。"))
    return _record(pipeline, "duplicate", base, origin, zip_stored, size, container, member, digest, reason,
                   duplicate_of=earlier_id)


def _record(pipeline, status: str, base: str, origin: str, zip_stored: str, size: int, container: int,
            member: str, digest: str, reason: str, duplicate_of: int | None = None) -> DeliveryResult:
    """A member's ledger entry that applies nothing (rejected, duplicate): its bytes stay
    in the kept zip, so nothing moves."""
    with write_transaction(pipeline.conn):
        cur = pipeline.conn.execute(
            "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size, status,"
            " reason, duplicate_of, container_id, member, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (digest, base, origin, zip_stored, size, status, reason, duplicate_of, container, member, now_iso()))
    return DeliveryResult(base, status, cur.lastrowid, reason=reason, duplicate_of=duplicate_of,
                          stored_path=zip_stored)


_pipeline.ARCHIVES = sys.modules[__name__]        # the pipeline's zip hook
