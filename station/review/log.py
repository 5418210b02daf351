"""The review log: reviewers' decisions, append-only and hash-chained.

Every decision is one row of ``decisions``. Its ``hash`` is the SHA-256 of a canonical
JSON form of (seq, anomaly_id, action, reviewer, note, amount, at, prev_hash), and
``prev_hash`` is the previous row's hash (the first row's is 64 zeros), so editing,
deleting or reordering any row breaks the chain from that row on. Triggers forbid
UPDATE and DELETE; the chain catches whoever drops them.

Deleting the *last* row leaves a valid shorter chain, so the head (entries, hash) is
also kept in ``meta`` and written in the same transaction as the row; exports and
reports print the head so that a copy kept elsewhere proves the log at that time.

An anomaly's review state is derived from its log (:func:`derive_state`);
``anomalies.review_status`` and ``anomalies.recovered`` are a cache, updated in the same
transaction as the decision and checked by :func:`verify_chain`.

The checks in :func:`decide` are the only ones: the CLI and the TUI both call it.
"""
from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import dataclass, field
from typing import Iterable

from ..config import Config
from ..log import ids_text, log as _log
from ..register.db import now_iso, write_transaction
from .states import (ACTION_TITLES, ACTIONS, STATE_TITLES, allowed_actions, next_state)

GENESIS = "0" * 64
META_ENTRIES = "review_log_entries"
META_HEAD = "review_log_head"
MAX_LISTED = 20          # failures listed in one error message
_CHUNK = 500             # ids per IN (...) query

COLUMNS = ("seq", "anomaly_id", "action", "reviewer", "note", "amount", "at", "prev_hash", "hash")


class ReviewError(Exception):
    """A decision cannot be recorded. ``str(e)`` is a Chinese message saying what is
    wrong and what to do; ``failures`` lists (anomaly_id, message) for bulk decisions."""

    def __init__(self, message: str, failures: list[tuple[int, str]] | None = None):
        super().__init__(message)
        self.failures = failures or []


@dataclass
class ReviewState:
    """An anomaly's review state as its log says."""
    state: str = "new"
    recovered: float | None = None
    confirmed_by: str | None = None
    entries: int = 0
    problems: list[str] = field(default_factory=list)   # illegal steps (only if tampered)


@dataclass
class VerifyResult:
    ok: bool
    entries: int                       # rows in the log
    head: str                          # hash of the last row (GENESIS when empty)
    first_broken_seq: int | None = None
    reason: str | None = None          # Chinese, None when ok
    broken_at: str | None = None       # time of the first broken entry, when known
    broken_anomaly: int | None = None  # its anomaly, when known
    cache_mismatches: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- hashing

def canonical(entry: dict) -> bytes:
    """The bytes that an entry's hash covers. Amounts are fixed to two decimals so that
    a value read back from the REAL column hashes like the value written."""
    amount = entry.get("amount")
    payload = {
        "seq": int(entry["seq"]),
        "anomaly_id": int(entry["anomaly_id"]),
        "action": entry["action"],
        "reviewer": entry["reviewer"],
        "note": entry.get("note"),
        "amount": None if amount is None else f"{float(amount):.2f}",
        "at": entry["at"],
        "prev_hash": entry["prev_hash"],
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


# --------------------------------------------------------------------------- reading

def _rows(conn: sqlite3.Connection, where: str = "", args: Iterable = ()) -> list[dict]:
    cur = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM decisions {where} ORDER BY seq", tuple(args))
    return [dict(zip(COLUMNS, r)) for r in cur]


def history(conn: sqlite3.Connection, anomaly_id: int) -> list[dict]:
    """The anomaly's decisions, oldest first."""
    return [{"seq": r["seq"], "action": r["action"], "action_title": ACTION_TITLES.get(r["action"], r["action"]),
             "reviewer": r["reviewer"], "note": r["note"], "amount": r["amount"], "at": r["at"]}
            for r in _rows(conn, "WHERE anomaly_id = ?", (anomaly_id,))]


def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(entries, hash of the last entry) as the table holds them now."""
    count = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    row = conn.execute("SELECT hash FROM decisions ORDER BY seq DESC LIMIT 1").fetchone()
    return count, row[0] if row else GENESIS


def _meta_head(conn: sqlite3.Connection) -> tuple[int, str] | None:
    got = dict(conn.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                            (META_ENTRIES, META_HEAD)).fetchall())
    if META_ENTRIES not in got or META_HEAD not in got:
        return None
    try:
        return int(got[META_ENTRIES]), got[META_HEAD]
    except ValueError:
        return -1, got[META_HEAD]


def _replay(entries: Iterable[dict]) -> ReviewState:
    st = ReviewState()
    for e in entries:
        st.entries += 1
        action = e["action"]
        nxt = next_state(st.state, action) if action in ACTIONS else None
        if nxt is None:
            st.problems.append(f"第 {e['seq']} 条：从「{STATE_TITLES.get(st.state, st.state)}」"
                               f"不能执行「{ACTION_TITLES.get(action, action)}」")
            continue
        if action == "confirm":
            st.confirmed_by = e["reviewer"]
        if action == "rectify":
            st.recovered = None if e["amount"] is None else float(e["amount"])
        st.state = nxt
    return st


def derive_state(conn: sqlite3.Connection, anomaly_id: int) -> ReviewState:
    """Recompute the anomaly's review state from its log (not from the cache)."""
    return _replay(_rows(conn, "WHERE anomaly_id = ?", (anomaly_id,)))


def _derive_many(conn: sqlite3.Connection, ids: list[int]) -> dict[int, ReviewState]:
    by_id: dict[int, list[dict]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r in _rows(conn, f"WHERE anomaly_id IN ({marks})", chunk):
            by_id[r["anomaly_id"]].append(r)
    return {i: _replay(entries) for i, entries in by_id.items()}


# --------------------------------------------------------------------------- writing

def _same_person(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def _money(x: float) -> str:
    return f"{x:,.2f}"


def check_decision(action: str, reviewer: str | None, note: str | None,
                   amount: float | None) -> tuple[str, str | None, float | None]:
    """Checks that do not depend on the anomaly; returns the cleaned (reviewer, note, amount)."""
    if action not in ACTIONS:
        raise ReviewError(f"未知的操作「{action}」。可用的操作有："
                          + "、".join(f"{a}（{ACTION_TITLES[a]}）" for a in ACTIONS) + "。")
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise ReviewError("没有填写复核人。请写明是谁作出这一决定（命令行用 --reviewer 姓名，"
                          "或设置 STATION_REVIEWER 环境变量）。")
    note = (note or "").strip() or None
    if action == "dismiss" and note is None:
        raise ReviewError("排除疑点必须写明理由：请在说明中写清为什么排除（命令行用 --note）。")
    if action == "note" and note is None:
        raise ReviewError("备注内容为空：请写下要记录的说明（命令行用 --note）。")
    if action == "rectify":
        if amount is None:
            raise ReviewError("整改完成必须填写追回金额（元，没有追回写 0）（命令行用 --amount）。")
        try:
            amount = float(amount)
        except (TypeError, ValueError):
            raise ReviewError(f"追回金额「{amount}」不是数字，请填写如 1234.50。") from None
        if not math.isfinite(amount) or amount < 0:
            raise ReviewError(f"追回金额「{amount}」无效：应为不小于 0 的金额，如 1234.50。")
        amount = round(amount, 2)
    elif amount is not None:
        raise ReviewError(f"只有「整改完成」（rectify）需要填写金额，「{ACTION_TITLES[action]}」不需要；"
                          "请去掉金额后重试。")
    return reviewer, note, amount


def _check_anomaly(cfg: Config, aid: int, row: tuple | None, st: ReviewState, action: str,
                   reviewer: str, allow_cleared: bool) -> str | None:
    """Why ``action`` cannot be recorded on anomaly ``aid``, or None."""
    if row is None:
        return f"疑点 #{aid} 不存在，请核对疑点编号（station anomalies 可列出疑点）。"
    data_status, amount = row
    if data_status == "cleared" and not allow_cleared:
        return (f"该疑点（#{aid}）已因数据变化消除（最新报送的数据中已不再出现），"
                "一般无需再处理。如仍要记录，请加 --cleared。")
    if st.problems:
        return (f"疑点 #{aid} 的复核日志前后矛盾（{st.problems[0]}），"
                "请先运行 station verify 检查复核日志。")
    if next_state(st.state, action) is None:
        allowed = "、".join(f"{a}（{ACTION_TITLES[a]}）" for a in allowed_actions(st.state))
        return (f"疑点 #{aid} 当前状态为「{STATE_TITLES[st.state]}」，不能执行「{ACTION_TITLES[action]}」"
                f"（{action}）。当前可执行：{allowed}。")
    if (action == "rectify" and cfg.review.four_eyes and amount is not None
            and amount > cfg.review.four_eyes_threshold and _same_person(st.confirmed_by, reviewer)):
        return (f"疑点 #{aid} 涉及金额 {_money(amount)} 元，超过双人复核门槛 "
                f"{_money(cfg.review.four_eyes_threshold)} 元；它由「{st.confirmed_by}」确认违规，"
                f"按“审核、支付分家”的要求，整改完成须由另一名复核人记录，不能是「{st.confirmed_by}」本人。")
    return None


def _check_head(conn: sqlite3.Connection) -> None:
    """Refuse to append behind a log whose head no longer matches ``meta``: appending
    would make a deleted last entry undetectable."""
    entries, head = chain_head(conn)
    last_seq = conn.execute("SELECT coalesce(max(seq), 0) FROM decisions").fetchone()[0]
    meta = _meta_head(conn)
    if meta is None:
        if entries == 0:
            return
    elif meta == (entries, head) and last_seq == entries:
        return
    raise ReviewError("复核日志校验不通过（记录数或校验值与上次写入时不符），为免掩盖改动，暂停记录新的决定。"
                      "请运行 station verify 查明原因并报告。")


def decide(conn: sqlite3.Connection, cfg: Config, anomaly_ids: list[int], action: str,
           reviewer: str, note: str | None = None, amount: float | None = None,
           allow_cleared: bool = False) -> list[int]:
    """Record ``action`` on every anomaly in ``anomaly_ids``, all or nothing.

    Returns the seqs of the new log entries (in the order of ``anomaly_ids``, duplicates
    dropped). Raises :class:`ReviewError` (nothing written) when any anomaly fails a check.
    """
    reviewer, note, amount = check_decision(action, reviewer, note, amount)
    ids = list(dict.fromkeys(int(i) for i in anomaly_ids))
    if not ids:
        raise ReviewError("没有选中任何疑点：请给出疑点编号，或用筛选条件选择疑点。")
    with write_transaction(conn):
        _check_head(conn)
        found: dict[int, tuple] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for aid, data_status, amt in conn.execute(
                    f"SELECT id, data_status, amount FROM anomalies WHERE id IN ({marks})", chunk):
                found[aid] = (data_status, amt)
        states = _derive_many(conn, ids)
        failures = []
        for aid in ids:
            why = _check_anomaly(cfg, aid, found.get(aid), states[aid], action, reviewer, allow_cleared)
            if why:
                failures.append((aid, why))
        if failures:
            raise _bulk_error(failures, action, len(ids))

        _, prev = chain_head(conn)
        seq = conn.execute("SELECT coalesce(max(seq), 0) FROM decisions").fetchone()[0]
        at = now_iso()
        seqs = []
        for aid in ids:
            seq += 1
            entry = {"seq": seq, "anomaly_id": aid, "action": action, "reviewer": reviewer,
                     "note": note, "amount": amount, "at": at, "prev_hash": prev}
            entry["hash"] = prev = entry_hash(entry)
            conn.execute(f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                         [entry[c] for c in COLUMNS])
            st = states[aid]
            new_state = next_state(st.state, action)
            recovered = amount if action == "rectify" else st.recovered
            conn.execute("UPDATE anomalies SET review_status = ?, recovered = ? WHERE id = ?",
                         (new_state, recovered, aid))
            seqs.append(seq)
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         [(META_ENTRIES, str(seq)), (META_HEAD, prev)])
    # Anomaly ids and the action only: no reviewer, no note (station/log.py).
    _log.info("decision seq=%d-%d action=%s anomalies=%s", seqs[0], seqs[-1], action, ids_text(ids))
    return seqs


def _bulk_error(failures: list[tuple[int, str]], action: str, total: int) -> ReviewError:
    if total == 1:
        return ReviewError(failures[0][1], failures)
    ids = "、".join(f"#{aid}" for aid, _ in failures[:MAX_LISTED])
    more = f" 等共 {len(failures)} 条" if len(failures) > MAX_LISTED else ""
    lines = [f"选中的 {total} 条疑点中，{ids}{more} 不能执行「{ACTION_TITLES[action]}」，"
             "本次没有记录任何决定（全部成功才记录）。请去掉这些疑点或处理原因后重试："]
    lines += [f"  {why}" for _, why in failures[:MAX_LISTED]]
    if len(failures) > MAX_LISTED:
        lines.append(f"  ……另有 {len(failures) - MAX_LISTED} 条未列出。")
    return ReviewError("\n".join(lines), failures)


# --------------------------------------------------------------------------- verifying

def verify_chain(conn: sqlite3.Connection) -> VerifyResult:
    """Recompute the whole chain, compare its head with ``meta``, and check that every
    anomaly's cached review state agrees with its log."""
    if conn.in_transaction:
        return _verify(conn)
    conn.execute("BEGIN")           # one consistent snapshot (read transaction)
    try:
        return _verify(conn)
    finally:
        conn.execute("COMMIT")


def _where(e: dict) -> str:
    return f"第 {e['seq']} 条（{str(e['at']).replace('T', ' ')}，疑点 #{e['anomaly_id']}）"


def _verify(conn: sqlite3.Connection) -> VerifyResult:
    prev, expected, entries = GENESIS, 1, 0
    by_anomaly: dict[int, list[dict]] = {}

    def broken(seq: int | None, reason: str, e: dict | None = None) -> VerifyResult:
        count, head = chain_head(conn)
        return VerifyResult(False, count, head, seq, reason,
                            e["at"] if e else None, e["anomaly_id"] if e else None)

    for e in _rows(conn):
        if e["seq"] != expected:
            if e["seq"] > expected:
                missing = (f"第 {expected} 条" if e["seq"] == expected + 1
                           else f"第 {expected}–{e['seq'] - 1} 条")
                return broken(expected, f"{missing}记录缺失（被删除）；其后的{_where(e)}无法与前面衔接。")
            return broken(e["seq"], f"{_where(e)}的序号不连续（应为第 {expected} 条）。", e)
        if e["prev_hash"] != prev:
            return broken(e["seq"], f"{_where(e)}与前一条记录不衔接：前面的记录被删除、插入、改动"
                                    "或调换了顺序。", e)
        if entry_hash(e) != e["hash"]:
            return broken(e["seq"], f"{_where(e)}的内容与其校验值不符：该记录被改动过"
                                    f"（现为：{e['reviewer']}，{ACTION_TITLES.get(e['action'], e['action'])}，"
                                    f"说明「{e['note'] or ''}」）。", e)
        prev = e["hash"]
        expected += 1
        entries += 1
        by_anomaly.setdefault(e["anomaly_id"], []).append(e)

    meta = _meta_head(conn)
    if meta is None:
        if entries:
            return broken(None, f"复核日志有 {entries} 条记录，但数据库中没有登记最近一次写入的校验值"
                                "（meta 表中的记录被删除）。")
    elif meta[0] != entries:
        m_entries, _ = meta
        if m_entries > entries:
            which = (f"第 {m_entries} 条（最后一条）" if m_entries == entries + 1
                     else f"第 {entries + 1}–{m_entries} 条（最后 {m_entries - entries} 条）")
            return broken(entries + 1, f"复核日志现有 {entries} 条记录，但最近一次写入后应有 {m_entries} 条："
                                       f"{which}已被删除。")
        return broken(m_entries + 1, f"复核日志现有 {entries} 条记录，但最近一次写入后只有 {m_entries} 条："
                                     f"第 {m_entries + 1} 条起的记录不是由本站写入的。")
    elif meta[1] != prev:
        return broken(None, "复核日志的校验值与最近一次写入时登记的不符：日志可能被整体改写过。"
                            "请与导出文件或报表上打印的校验值核对。")

    # The cache: every anomaly's review_status / recovered must agree with its log.
    mismatches = []
    for aid, status, recovered in conn.execute("SELECT id, review_status, recovered FROM anomalies ORDER BY id"):
        st = _replay(by_anomaly.get(aid, []))
        rec_ok = (st.recovered is None and recovered is None) or (
            st.recovered is not None and recovered is not None and abs(st.recovered - recovered) < 0.005)
        if st.problems or st.state != status or not rec_ok:
            mismatches.append(aid)
    head = prev
    if mismatches:
        ids = "、".join(f"#{a}" for a in mismatches[:MAX_LISTED])
        more = f" 等共 {len(mismatches)} 条" if len(mismatches) > MAX_LISTED else ""
        return VerifyResult(False, entries, head, None,
                            f"复核日志本身完整，但疑点 {ids}{more} 的状态与日志推算结果不符"
                            "（疑点表中的复核状态或追回金额被直接改动过）。", cache_mismatches=mismatches)
    return VerifyResult(True, entries, head)
