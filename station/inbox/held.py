"""Held deliveries (待确认): files whose kind or columns the station is not sure of.

A file is held instead of applied when recognition is not confident (``Recognition.
confident`` is False: near spellings, two kinds that fit about as well, another
department's kind than its folder's), or when no kind fits but the file has a row that
looks like a header (:func:`best_guess`: the recognition's own judgement). Nothing of it is applied. The original moves, byte for byte, to
``inbox/held/<department folder>/`` (so the watcher never takes it again) with a ledger
entry ``status = 'held'`` naming the kind the station guessed, if any, and why it waits.

A clerk then confirms the kind and the columns (:mod:`station.services.mapping`; the TUI's
mapping screen or ``station map``). The confirmed file is applied as a delivery of its own
and the held entry becomes ``mapped`` with ``resolved_by`` pointing at it, in the same
transaction (:mod:`station.inbox.confirm`). A file that has no header-like row at all is
rejected as before.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Sequence

from ..platform import private_folder
from ..register.db import now_iso, write_transaction

HELD = "held"
MAPPED = "mapped"

HOLD_ADVICE = "请在「收件」界面选中该文件按 m 确认文件类型和字段后导入（命令行：station pending、station map）。"


def hold_reason(rec: Any, error: str | None = None) -> str:
    """Why a file waits: the reason no kind fitted (``error``), else the recognition's own
    reasons (Chinese); then what to do."""
    reasons = [str(r) for r in (getattr(rec, "reasons", None) or []) if r]
    why = (_without_old_advice(error) if error else "；".join(reasons)) or "无法确定文件类型或字段对应关系。"
    if not why.endswith(("。", "！", "？")):
        why += "。"
    return f"待确认：{why}{HOLD_ADVICE}"


def best_guess(head, cfg, department: str | None, file_name: str):
    """The recognition's best guess for a file no kind fits (its kind is recorded as the
    guess in the ledger), or None."""
    from ..kinds.recognise import Unrecognised, propose
    try:
        return propose(head, cfg, department=department, file_name=file_name)
    except Unrecognised:
        return None


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


def hold(pipeline, path: Path, digest: str, size: int, source, rec: Any, reason: str,
         department: str | None, *, name: str | None = None, origin: str | None = None,
         extra: dict | None = None) -> tuple[int, str, str | None, str | None]:
    """Record ``path`` as held and move it to ``inbox/held/<department>/``:
    (ledger id, where it is kept, the kind guessed, its department). ``name`` and
    ``origin``: the file's name and where it was delivered, when ``path`` is a private
    copy (a zip member); ``extra``: more ledger columns (the member's zip)."""
    home = pipeline.home
    name = name or path.name
    private_folder(home.held)
    folder = private_folder(home.held / department if department else home.held)
    dest = pipeline._destination(folder, name)
    stored = str(dest.relative_to(home.root))
    spec = getattr(rec, "kind", None)
    kind = getattr(spec, "name", None)
    dept = department or (pipeline.cfg.kinds[kind].department if kind in pipeline.cfg.kinds else None)
    extra = extra or {}
    with write_transaction(pipeline.conn):
        cur = pipeline.conn.execute(
            "INSERT INTO deliveries (sha256, original_name, original_path, stored_path, size, kind,"
            " department, status, format, encoding, header_row, reason, received_at"
            + "".join(f", {c}" for c in extra) + ")"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?" + ", ?" * len(extra) + ")",
            (digest, name, origin or pipeline._relative(path), stored, size, kind, dept, HELD,
             getattr(source, "format", None), getattr(source, "encoding", None),
             getattr(rec, "header_row", None), reason, now_iso(), *extra.values()))
    pipeline._move(path, dest)
    return cur.lastrowid, stored, kind, dept
