"""Applying a held file (:mod:`station.inbox.held`) once a clerk has confirmed its kind
and columns: exactly once, in one transaction with its own ledger entry, the held entry
turned ``mapped`` in the same transaction; then the original moves to processed/."""
from __future__ import annotations

import hashlib
import os
from typing import Any

from ..formats import open_rows
from ..platform import open_nofollow, try_lock
from ..register.db import now_iso, write_transaction
from .held import HELD, MAPPED
from .pipeline import _AppliedMeanwhile, sha256_of


class HeldError(Exception):
    """A held file cannot be applied now; ``str(e)`` says why and what to do (Chinese)."""


def apply_held(pipeline, held_id: int, rec: Any):
    """Apply the held delivery ``held_id`` with the confirmed recognition ``rec`` (kind,
    header row, columns): one transaction writes its rows, a ledger entry of its own and
    turns the held entry into ``mapped``; then the original moves to processed/.

    None when another station process is taking the file right now. Raises HeldError when
    the file is no longer waiting, changed on disk, or its bytes were applied already."""
    conn = pipeline.conn
    row = conn.execute("SELECT status, stored_path, sha256, original_path, original_name FROM deliveries"
                       " WHERE id = ?", (held_id,)).fetchone()
    if row is None or row[0] != HELD:
        raise HeldError(f"第 {held_id} 号报送不在待确认列表中（可能已经确认导入）。请运行 station pending 查看。")
    stored, digest, origin, name = row[1], row[2], row[3], row[4]
    path = pipeline.home.root / stored
    try:
        fd = open_nofollow(path)
    except OSError:
        raise HeldError(f"待确认文件「{name}」已不在 {stored}（可能被移走或删除）。"
                        "请把原文件重新放入收件箱。") from None
    try:
        if not try_lock(fd):
            return None             # another station process is applying it right now
        size = os.fstat(fd).st_size
        if _digest(fd) != digest:
            raise HeldError(f"待确认文件「{name}」的内容与收件时不同（{stored} 被修改过），未导入。"
                            "请把对方报送的原文件重新放入收件箱。")

        def before_commit(delivery_id: int) -> None:
            now = conn.execute("SELECT status FROM deliveries WHERE id = ?", (held_id,)).fetchone()
            if now is None or now[0] != HELD:
                raise HeldError(f"第 {held_id} 号报送已由他人确认导入，未重复导入。")
            earlier = conn.execute("SELECT id FROM deliveries WHERE sha256 = ? AND status = 'applied'"
                                   " AND id <> ? ORDER BY id LIMIT 1", (digest, delivery_id)).fetchone()
            if earlier is not None:
                raise HeldError(f"内容完全相同的文件已作为第 {earlier[0]} 号报送导入，未重复导入。")
            conn.execute("UPDATE deliveries SET status = ?, resolved_by = ?, kind = ? WHERE id = ?",
                         (MAPPED, delivery_id, rec.kind.name, held_id))
            conn.execute("UPDATE deliveries SET (container_id, member) = (SELECT container_id, member"
                         " FROM deliveries WHERE id = ?) WHERE id = ?", (held_id, delivery_id))
            conn.execute("UPDATE deliveries SET reason = ? WHERE id = ?",
                         (f"按确认的文件类型和字段对应关系导入（第 {held_id} 号待确认报送）。", delivery_id))

        cfg = pipeline.cfg
        with open_rows(path, max_bytes=cfg.limits.max_bytes, max_cell_chars=cfg.limits.max_cell_chars,
                       max_columns=cfg.limits.max_columns) as source:
            body = (r for r in source if r[0] > rec.header_row)
            try:
                return pipeline._apply(path, digest, size, rec, source, body, origin=origin,
                                       before_commit=before_commit)
            except _AppliedMeanwhile as e:
                raise HeldError(f"内容完全相同的文件已作为第 {e.earlier[0]} 号报送导入，未重复导入。") from None
    finally:
        os.close(fd)


def _digest(fd: int) -> str:
    h = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1 << 20):
        h.update(chunk)
    return h.hexdigest()


def finish_interrupted(home, conn) -> int:
    """Held files confirmed and applied whose move to processed/ was cut short (the
    station was killed between the commit and the move): move them now. The count."""
    done = 0
    for held_path, applied_path, digest in conn.execute(
            "SELECT h.stored_path, a.stored_path, h.sha256 FROM deliveries AS h JOIN deliveries AS a"
            " ON a.id = h.resolved_by WHERE h.status = ?", (MAPPED,)).fetchall():
        src, dest = home.root / held_path, home.root / (applied_path or "")
        if applied_path and src.is_file() and not dest.exists() and sha256_of(src) == digest:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            os.chmod(dest, 0o600)
            done += 1
    return done


def _digest(fd: int) -> str:
    h = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1 << 20):
        h.update(chunk)
    return h.hexdigest()


def reject_held(home, conn, held_id: int, why: str) -> str:
    """A clerk refuses a held file (not a delivery to import: a wrong file, an encrypted
    zip the partner will send again): the held entry becomes ``rejected`` with the
    clerk's reason and the file moves to ``rejected/`` with a reason note. Where it lies now."""
    from .pipeline import _safe_name, _unique_destination
    row = conn.execute("SELECT status, stored_path, original_name, reason FROM deliveries WHERE id = ?",
                       (held_id,)).fetchone()
    if row is None or row[0] != HELD:
        raise HeldError(f"第 {held_id} 号报送不在待确认列表中（可能已经确认导入）。请运行 station pending 查看。")
    src = home.root / row[1]
    dest = _unique_destination(home.rejected, _safe_name(row[2]))
    stored = str(dest.relative_to(home.root))
    reason = f"经办人拒收：{why.strip()}（原为待确认：{row[3] or ''}）"
    with write_transaction(conn):
        now = conn.execute("SELECT status FROM deliveries WHERE id = ?", (held_id,)).fetchone()
        if now is None or now[0] != HELD:
            raise HeldError(f"第 {held_id} 号报送已由他人处理。")
        conn.execute("UPDATE deliveries SET status = 'rejected', reason = ?, stored_path = ? WHERE id = ?",
                     (reason, stored, held_id))
    fd = os.open(dest.with_name(dest.name + ".reason.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"文件：{row[2]}\n时间：{now_iso()}\n原因：{reason}\n")
    if src.is_file():
        os.replace(src, dest)
        os.chmod(dest, 0o600)
    return stored
