"""Held deliveries (待确认): files whose kind or columns the station is not sure of.

A file is held instead of applied when recognition is not confident (``Recognition.
confident`` is False: near spellings, two kinds that fit about as well, another
department's kind than its folder's), or when no kind fits but the file has a row that
looks like a header. Nothing of it is applied. The original moves, byte for byte, to
``inbox/held/<department folder>/`` (so the watcher never takes it again) with a ledger
entry ``status = 'held'`` naming the kind the station guessed, if any, and why it waits.

A clerk then confirms the kind and the columns (:mod:`station.services.mapping`; the TUI's
mapping screen or ``station map``). The confirmed file is applied as a delivery of its own
and the held entry becomes ``mapped`` with ``resolved_by`` pointing at it, in the same
transaction. A file that has no header-like row at all is rejected as before.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Sequence

from ..register.db import now_iso, write_transaction

HELD = "held"
MAPPED = "mapped"

HOLD_ADVICE = "请在「收件」界面选中该文件按 m 确认文件类型和字段后导入（命令行：station pending、station map）。"


def header_like(rows: Sequence[tuple[int, list]]) -> bool:
    """Whether some row among ``rows`` looks like a header: two or more cells of text
    that are not numbers (a clerk can then say what each column is)."""
    for _, cells in rows:
        texts = [c for c in cells if isinstance(c, str) and c.strip()]
        words = [c for c in texts if not _numeric(c)]
        if len(words) >= 2:
            return True
    return False


def _numeric(text: str) -> bool:
    t = text.strip().replace(",", "").replace(".", "").replace("-", "").replace("/", "")
    return t.isdigit()


def hold_reason(rec: Any, error: str | None) -> str:
    """Why a file waits: the recognition's own reasons (Chinese), or the reason no kind
    fitted, then what to do."""
    reasons = [str(r) for r in (getattr(rec, "reasons", None) or []) if r]
    why = "；".join(reasons) if reasons else _without_old_advice(error or "") or "无法确定文件类型或字段对应关系。"
    if not why.endswith(("。", "！", "？")):
        why += "。"
    return f"待确认：{why}{HOLD_ADVICE}"


def _without_old_advice(message: str) -> str:
    """A rejection reason without its advice to edit rules.yaml and move the file back
    (a held file is confirmed in the station instead)."""
    sentences = [s for s in message.split("。") if s.strip()]
    kept = [s for s in sentences if "rules.yaml" not in s and "rejected" not in s]
    return "。".join(kept) + "。" if kept else ""


def waiting_twin(conn: sqlite3.Connection, digest: str) -> tuple[int, str] | None:
    """An earlier held delivery with the same bytes that still waits: (id, name)."""
    return conn.execute(
        "SELECT id, original_name FROM deliveries WHERE sha256 = ? AND status = ? ORDER BY id LIMIT 1",
        (digest, HELD)).fetchone()


def held_destination(held_root: Path, department: str | None, name: str) -> Path:
    """``inbox/held/<department>/<name>`` (the folder keeps the department hint)."""
    from .pipeline import _safe_name, _unique_destination
    folder = held_root / department if department else held_root
    folder.mkdir(parents=True, exist_ok=True)
    return _unique_destination(folder, _safe_name(name))


def hold(pipeline, path: Path, digest: str, size: int, source, rec: Any, reason: str,
         department: str | None):
    """Record ``path`` as held and move it to ``inbox/held/``; the DeliveryResult."""
    from .pipeline import DeliveryResult
    home = pipeline.home
    dest = held_destination(home.held, department, path.name)
    stored = str(dest.relative_to(home.root))
    spec = getattr(rec, "kind", None)
    kind = getattr(spec, "name", None)
    dept = department or (pipeline.cfg.kinds[kind].department if kind in pipeline.cfg.kinds else None)
    with write_transaction(pipeline.conn):
        cur = pipeline.conn.execute(
            "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size, kind,"
            " department, status, format, encoding, header_row, reason, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (digest, path.name, pipeline._relative(path), stored, size, kind, dept, HELD,
             getattr(source, "format", None), getattr(source, "encoding", None),
             getattr(rec, "header_row", None), reason, now_iso()))
    pipeline._move(path, dest)
    return DeliveryResult(path.name, HELD, cur.lastrowid, kind, dept, reason=reason, stored_path=stored)


class HeldError(Exception):
    """A held file cannot be applied now; ``str(e)`` says why and what to do (Chinese)."""


def apply_held(pipeline, held_id: int, rec: Any):
    """Apply the held delivery ``held_id`` with the confirmed recognition ``rec`` (kind,
    header row, columns): one transaction writes its rows, a ledger entry of its own and
    turns the held entry into ``mapped``; then the original moves to processed/.

    None when another station process is taking the file right now. Raises HeldError when
    the file is no longer waiting, changed on disk, or its bytes were applied already."""
    from .pipeline import _claim, sha256_of
    from ..formats import open_rows
    conn = pipeline.conn
    row = conn.execute("SELECT status, stored_path, sha256, original_path, original_name FROM deliveries"
                       " WHERE id = ?", (held_id,)).fetchone()
    if row is None or row[0] != HELD:
        raise HeldError(f"第 {held_id} 号报送不在待确认列表中（可能已经确认导入）。请运行 station pending 查看。")
    stored, digest, origin, name = row[1], row[2], row[3], row[4]
    path = pipeline.home.root / stored
    with _claim(path) as claimed:
        if not claimed:
            if not path.exists():
                raise HeldError(f"待确认文件「{name}」已不在 {stored}（可能被移走或删除）。"
                                "请把原文件重新放入收件箱。")
            return None
        size = path.lstat().st_size
        if sha256_of(path) != digest:
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
            conn.execute("UPDATE deliveries SET status = ?, resolved_by = ? WHERE id = ?",
                         (MAPPED, delivery_id, held_id))
            conn.execute("UPDATE deliveries SET reason = ? WHERE id = ?",
                         (f"按确认的文件类型和字段对应关系导入（第 {held_id} 号待确认报送）。", delivery_id))

        cfg = pipeline.cfg
        with open_rows(path, max_bytes=cfg.limits.max_bytes, max_cell_chars=cfg.limits.max_cell_chars,
                       max_columns=cfg.limits.max_columns) as source:
            body = (r for r in source if r[0] > rec.header_row)
            return pipeline._apply(path, digest, size, rec, source, body, origin=origin,
                                   before_commit=before_commit)


def finish_interrupted(pipeline) -> int:
    """Held files confirmed and applied whose move to processed/ was cut short (the
    station was killed between the commit and the move): move them now. The count."""
    from .pipeline import sha256_of
    done = 0
    for held_path, applied_path, digest in pipeline.conn.execute(
            "SELECT h.stored_path, a.stored_path, h.sha256 FROM deliveries AS h JOIN deliveries AS a"
            " ON a.id = h.resolved_by WHERE h.status = ? AND h.member IS NULL", (MAPPED,)).fetchall():
        src, dest = pipeline.home.root / held_path, pipeline.home.root / (applied_path or "")
        if applied_path and src.is_file() and not dest.exists() and sha256_of(src) == digest:
            pipeline._move(src, dest)
            done += 1
    return done
