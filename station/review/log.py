"""The review log: reviewers' decisions, append-only and hash-chained.

Every decision is one row of ``decisions``. Its ``hash`` covers the entry's content in
the entry's format (:mod:`station.review.entry`: format 1 for entries written before
schema 7, format 2 since — the canonical JSON ``body`` that also records what was
decided on: rule, subject, period, name, department and amount at that moment), and
``prev_hash`` is the previous row's hash (the first row's is 64 zeros), so editing,
deleting or reordering any row breaks the chain from that row on. Triggers forbid
UPDATE, DELETE and any INSERT that is not the next seq (``INSERT OR REPLACE`` too); the
chain catches whoever drops them.

Deleting the *last* row leaves a valid shorter chain, so the head (entries, hash) is
also kept in ``meta`` and written in the same transaction as the row; exports and
reports print the head so that a copy kept elsewhere proves the log at that time.

An anomaly's review state is derived from its log (:func:`derive_state`);
``anomalies.review_status`` and ``anomalies.recovered`` are a cache, updated in the same
transaction as the decision and checked by :func:`verify_chain`. So is the anomaly's
identity: every entry names (rule, subject, period) in hashed content (format-1 entries
through the seal written at the upgrade, :func:`seal_legacy`), and verify fails when the
``anomalies`` table no longer agrees — exports and history read the entries, not the table.

The station writes two kinds of entries itself, with reviewer :data:`SYSTEM_REVIEWER`:
the seal (``upgrade``) and ``amount_changed`` (:func:`flag_amount_changes`), which sends a
decided anomaly whose amount changed back to 核查中.

The checks in :func:`decide` are the only ones: the CLI and the TUI both call it.
"""
from __future__ import annotations

import json
import math
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from .. import __version__
from ..config import Config
from ..log import ids_text, log as _log
from ..normalise import mask_ids_in_text
from ..normalise import AMOUNT_LIMIT
from ..register.db import now_iso, write_transaction
from . import head as head_file
from . import entry as fmt
from .entry import NOT_RECORDED, SYSTEM_REVIEWER
from .states import (ACTION_TITLES, ACTIONS, STATE_TITLES, SYSTEM_ACTIONS, allowed_actions,
                     next_state)

GENESIS = "0" * 64
META_ENTRIES = "review_log_entries"
META_HEAD = "review_log_head"
META_AMOUNTS_CHECKED = "amount_changes_checked_through_event"   # anomaly_events.id
MAX_LISTED = 20          # failures listed in one error message
_CHUNK = 500             # ids per IN (...) query
MAX_ID = 2 ** 63 - 1     # SQLite's INTEGER range
MAX_REVIEWER = 64        # characters

COLUMNS = ("seq", "anomaly_id", "action", "reviewer", "note", "amount", "at", "prev_hash", "hash", "body")
ANOMALY_COLUMNS = ("id", "rule", "subject", "period", "name", "department", "amount")


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
    legacy_entries: int = 0            # entries in format 1 (written before schema 7)
    sealed: bool = False               # those entries are sealed by an upgrade entry


# --------------------------------------------------------------------------- hashing

def canonical(entry: dict) -> bytes:
    """The bytes that a format-1 entry's hash covers (kept for old entries and tests)."""
    return fmt.canonical_v1(entry)


def entry_hash(entry: dict) -> str:
    """The hash ``entry`` (a decisions row as a dict) should carry, in its own format."""
    return fmt.compute_hash(entry)


# --------------------------------------------------------------------------- names

_RESERVED = {unicodedata.normalize("NFKC", n).casefold() for n in (SYSTEM_REVIEWER, "系统", "system")}


def normalise_reviewer(name: str | None) -> str:
    """A reviewer's name as stored and compared: NFKC-folded, invisible characters
    (zero-width spaces and joiners, BOM, direction marks: Unicode Cf) removed, runs of
    spaces collapsed to one, trimmed. Raises :class:`ReviewError` for control characters,
    an empty or overlong name, or the station's own name."""
    raw = name or ""
    bad = [c for c in raw if unicodedata.category(c) == "Cc"]
    if bad:
        shown = "、".join(f"U+{ord(c):04X}" for c in dict.fromkeys(bad))
        raise ReviewError(f"复核人姓名含有控制字符（{shown}），不能作为姓名记录。"
                          "请只用文字、字母和空格重新填写复核人（命令行用 --reviewer 姓名）。")
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = " ".join(text.split())
    if not text:
        raise ReviewError("没有填写复核人。请写明是谁作出这一决定（命令行用 --reviewer 姓名，"
                          "或设置 STATION_REVIEWER 环境变量）。")
    if len(text) > MAX_REVIEWER:
        raise ReviewError(f"复核人姓名过长（{len(text)} 个字符，最多 {MAX_REVIEWER} 个）。请只填写姓名。")
    if text.casefold() in _RESERVED:
        raise ReviewError(f"「{text}」是本站自动记录时使用的名称，不能作为复核人。请填写复核人的姓名。")
    return text


def _same_person(a: str | None, b: str | None) -> bool:
    """Whether two stored names are one reviewer: compared normalised (entries written by
    older releases stored names as typed) and without regard to case."""
    if a is None or b is None:
        return False
    try:
        a, b = normalise_reviewer(a), normalise_reviewer(b)
    except ReviewError:
        return False
    return a.casefold() == b.casefold()


# --------------------------------------------------------------------------- reading

def _has_body(conn: sqlite3.Connection) -> bool:
    """Whether ``decisions`` has the ``body`` column (schema 7); a read-only copy of an
    older register (a backup being checked) has not."""
    return any(r[1] == "body" for r in conn.execute("PRAGMA table_info(decisions)"))


def read_entries(conn: sqlite3.Connection, where: str = "", args: Iterable = ()) -> list[dict]:
    """Rows of the log as dicts of :data:`COLUMNS`, in seq order (``where``: an SQL WHERE
    clause with ``?`` placeholders for ``args``); ``body`` is None on an older schema."""
    cols = COLUMNS if _has_body(conn) else COLUMNS[:-1] + ("NULL AS body",)
    cur = conn.execute(f"SELECT {', '.join(cols)} FROM decisions {where} ORDER BY seq", tuple(args))
    return [dict(zip(COLUMNS, r)) for r in cur]


def seal_content(conn: sqlite3.Connection) -> dict | None:
    """The content of the seal entry (the first format-2 entry, action ``upgrade``), or
    None when there is none or it is unreadable."""
    if not _has_body(conn):
        return None
    row = conn.execute("SELECT body FROM decisions WHERE body IS NOT NULL ORDER BY seq LIMIT 1").fetchone()
    if row is None:
        return None
    try:
        body = fmt.content({"body": row[0]})
    except ValueError:
        return None
    return body if body.get("action") == "upgrade" and isinstance(body.get("legacy"), dict) else None


def _pinned(seal: dict | None, anomaly_id) -> dict | None:
    """What the seal recorded about ``anomaly_id`` (rule, subject, period, amount)."""
    if seal is None:
        return None
    got = (seal["legacy"].get("subjects") or {}).get(str(anomaly_id))
    if not isinstance(got, list) or len(got) != 4:
        return None
    rule, subject, period, amount = got
    return {"id": anomaly_id, "rule": rule, "subject": subject, "period": period or "",
            "name": None, "department": None, "amount": amount}


def recorded(row: dict, seal: dict | None = None) -> dict:
    """What an entry records, for history and exports: its content plus ``anomaly`` (what
    was decided on) and ``legacy`` (True for a format-1 entry: ``anomaly`` then comes
    from the seal — rule, subject and period only — and name and amount at the time were
    not recorded)."""
    c = fmt.content(row)
    c["legacy"] = c["v"] == fmt.LEGACY
    if c["legacy"]:
        c["anomaly"] = _pinned(seal, row["anomaly_id"])
    c["hash"] = row["hash"]
    return c


def _money_float(x: str | None) -> float | None:
    return None if x is None else float(x)


def history(conn: sqlite3.Connection, anomaly_id: int) -> list[dict]:
    """The anomaly's entries, oldest first, as recorded: seq, action, action_title,
    reviewer, note, amount (recovered), at, and what the entry decided on —
    ``anomaly_amount`` (the anomaly's amount at that moment, None when it had none),
    ``name``, ``legacy`` (True: written by an older release, which did not record name
    and amount; ``anomaly_amount_text`` then says so), ``previous_amount`` for
    金额已变化."""
    if not 0 < int(anomaly_id) <= MAX_ID:
        return []
    rows = read_entries(conn, "WHERE anomaly_id = ?", (int(anomaly_id),))
    seal = seal_content(conn) if any(r["body"] is None for r in rows) else None
    out = []
    for r in rows:
        c = recorded(r, seal)
        a = c.get("anomaly") or {}
        legacy = c["legacy"]
        out.append({
            "seq": r["seq"], "action": r["action"],
            "action_title": ACTION_TITLES.get(r["action"], r["action"]),
            "reviewer": r["reviewer"], "note": r["note"], "amount": r["amount"], "at": r["at"],
            "legacy": legacy, "system": r["reviewer"] == SYSTEM_REVIEWER,
            "anomaly_amount": None if legacy else _money_float(a.get("amount")),
            "anomaly_amount_text": NOT_RECORDED if legacy else (a.get("amount") or ""),
            "name": None if legacy else a.get("name"),
            "previous_amount": _money_float(c.get("previous_amount")),
        })
    return out


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
        nxt = next_state(st.state, action)
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
    return _replay(read_entries(conn, "WHERE anomaly_id = ?", (anomaly_id,)))


def _derive_many(conn: sqlite3.Connection, ids: list[int]) -> dict[int, ReviewState]:
    by_id: dict[int, list[dict]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r in read_entries(conn, f"WHERE anomaly_id IN ({marks})", chunk):
            by_id[r["anomaly_id"]].append(r)
    return {i: _replay(entries) for i, entries in by_id.items()}


def _anomalies(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict]:
    """The anomalies' rows (what an entry records) with ``data_status``."""
    found: dict[int, dict] = {}
    cols = ANOMALY_COLUMNS + ("data_status",)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(f"SELECT {', '.join(cols)} FROM anomalies WHERE id IN ({marks})", chunk):
            found[r[0]] = dict(zip(cols, r))
    return found


# --------------------------------------------------------------------------- writing

def _money(x: float) -> str:
    return f"{x:,.2f}"


def check_decision(action: str, reviewer: str | None, note: str | None,
                   amount: float | None) -> tuple[str, str | None, float | None]:
    """Checks that do not depend on the anomaly; returns the cleaned (reviewer, note, amount)."""
    if action not in ACTIONS:
        raise ReviewError(f"未知的操作「{action}」。可用的操作有："
                          + "、".join(f"{a}（{ACTION_TITLES[a]}）" for a in ACTIONS) + "。")
    reviewer = normalise_reviewer(reviewer)
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
        if amount > AMOUNT_LIMIT:
            raise ReviewError(f"追回金额「{amount:g}」超出合理范围：不能超过 1 万亿元，请核对是否多写了数位。")
        amount = round(amount, 2)
    elif amount is not None:
        raise ReviewError(f"只有「整改完成」（rectify）需要填写金额，「{ACTION_TITLES[action]}」不需要；"
                          "请去掉金额后重试。")
    return reviewer, note, amount


def _check_anomaly(cfg: Config, aid: int, row: dict | None, st: ReviewState, action: str,
                   reviewer: str, allow_cleared: bool) -> str | None:
    """Why ``action`` cannot be recorded on anomaly ``aid``, or None."""
    if row is None:
        return f"疑点 #{aid} 不存在，请核对疑点编号（station anomalies 可列出疑点）。"
    data_status, amount = row["data_status"], row["amount"]
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
                f"按“审核、支付分家”的要求，整改完成须由另一名复核人记录，不能是「{reviewer}」本人。")
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


def _write_head(conn: sqlite3.Connection, entries: int, head: str) -> None:
    """Record the log's head, in the transaction of the entries that made it."""
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     [(META_ENTRIES, str(entries)), (META_HEAD, head)])


def _append(conn: sqlite3.Connection, items: list[dict]) -> list[int]:
    """Append entries in the current format, inside the caller's write transaction.

    Each item: ``action``, ``reviewer``, ``note``, ``amount``, ``anomaly`` (the anomaly's
    row as :data:`ANOMALY_COLUMNS`, or None), optional ``extra`` (action-specific body
    keys) and, for an entry on an anomaly, ``state`` and ``recovered`` (the cache after
    it). The one place entries are written: the head in ``meta`` follows."""
    _, prev = chain_head(conn)
    seq = conn.execute("SELECT coalesce(max(seq), 0) FROM decisions").fetchone()[0]
    at = now_iso()
    seqs = []
    for it in items:
        seq += 1
        anomaly = fmt.snapshot(it.get("anomaly"))
        body = fmt.make_body(seq=seq, prev_hash=prev, at=at, action=it["action"], reviewer=it["reviewer"],
                             note=it.get("note"), amount=it.get("amount"), anomaly=anomaly,
                             **(it.get("extra") or {}))
        row = {"seq": seq, "anomaly_id": anomaly["id"] if anomaly else None, "action": it["action"],
               "reviewer": it["reviewer"], "note": it.get("note"), "amount": it.get("amount"),
               "at": at, "prev_hash": prev, "body": body}
        row["hash"] = prev = entry_hash(row)
        conn.execute(f"INSERT INTO decisions ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                     [row[c] for c in COLUMNS])
        if anomaly is not None:
            conn.execute("UPDATE anomalies SET review_status = ?, recovered = ? WHERE id = ?",
                         (it["state"], it["recovered"], anomaly["id"]))
        seqs.append(seq)
    _write_head(conn, seq, prev)
    return seqs


def _needs_seal(conn: sqlite3.Connection) -> bool:
    """Format-1 entries with no format-2 entry after them (formats never go back, so the
    first and the last entry tell)."""
    if not _has_body(conn):
        return False
    first = conn.execute("SELECT body IS NULL FROM decisions ORDER BY seq LIMIT 1").fetchone()
    last = conn.execute("SELECT body IS NULL FROM decisions ORDER BY seq DESC LIMIT 1").fetchone()
    return bool(first and first[0] and last[0])


def _write_seal(conn: sqlite3.Connection) -> int:
    """Seal the format-1 entries (inside the caller's write transaction): one entry that
    records, in hashed content, how many there are, the last one's hash, and the rule,
    subject, period and amount of every anomaly they are about, as the register holds
    them now. From then on verify checks those anomalies against it, and exports show
    them from it."""
    legacy = read_entries(conn, "WHERE body IS NULL")
    ids = sorted({r["anomaly_id"] for r in legacy})
    rows = _anomalies(conn, ids)
    subjects = {str(i): ([rows[i]["rule"], rows[i]["subject"], rows[i]["period"] or "",
                          fmt.money(rows[i]["amount"])] if i in rows else None) for i in ids}
    schema = dict(conn.execute("SELECT key, value FROM meta WHERE key IN "
                               "('schema_version', 'upgraded_from_schema')").fetchall())
    note = (f"登记库升级（本站 {__version__}）：此前的 {len(legacy)} 条复核记录为旧版格式，"
            f"未记录当时的姓名和金额；其所涉 {len(ids)} 条疑点的规则、对象和期间封存于此条。")
    extra = {"legacy": {"entries": len(legacy), "head": legacy[-1]["hash"], "subjects": subjects},
             "station_version": __version__,
             "schema": {"from": schema.get("upgraded_from_schema"), "to": schema.get("schema_version")}}
    [seq] = _append(conn, [{"action": "upgrade", "reviewer": SYSTEM_REVIEWER, "note": note,
                            "amount": None, "anomaly": None, "extra": extra}])
    _log.info("review log sealed: legacy entries=%d anomalies=%d seal seq=%d", len(legacy), len(ids), seq)
    return seq


def seal_legacy(conn: sqlite3.Connection) -> int | None:
    """Seal the entries written by an older release, once (after the upgrade to schema 7;
    :class:`station.services.station.Station` calls it when it opens a connection, and
    :func:`decide` before it appends). Returns the seal's seq, or None when nothing needed
    sealing or the log cannot be appended to now (read-only, or its head disagrees with
    ``meta`` — then verify says why)."""
    if not _needs_seal(conn):
        return None
    try:
        with write_transaction(conn):
            if not _needs_seal(conn):        # another process sealed it meanwhile
                return None
            _check_head(conn)
            seq = _write_seal(conn)
        head_file.record(conn, *chain_head(conn))
        return seq
    except (ReviewError, sqlite3.Error) as e:
        _log.warning("review log not sealed now: %s", type(e).__name__)
        return None


def _valid_ids(anomaly_ids: Iterable) -> list[int]:
    ids = []
    for i in anomaly_ids:
        try:
            n = int(i)
        except (TypeError, ValueError):
            raise ReviewError(f"疑点编号「{i}」不是数字，请核对疑点编号（station anomalies 可列出疑点）。") from None
        if not 0 < n <= MAX_ID:
            raise ReviewError(f"疑点 #{n} 不存在：疑点编号是不超过 19 位的正整数，请核对疑点编号"
                              "（station anomalies 可列出疑点）。")
        ids.append(n)
    return list(dict.fromkeys(ids))


def decide(conn: sqlite3.Connection, cfg: Config, anomaly_ids: list[int], action: str,
           reviewer: str, note: str | None = None, amount: float | None = None,
           allow_cleared: bool = False) -> list[int]:
    """Record ``action`` on every anomaly in ``anomaly_ids``, all or nothing.

    Returns the seqs of the new log entries (in the order of ``anomaly_ids``, duplicates
    dropped). Raises :class:`ReviewError` (nothing written) when any anomaly fails a check.
    The reviewer's name is stored normalised (:func:`normalise_reviewer`).
    """
    reviewer, note, amount = check_decision(action, reviewer, note, amount)
    ids = _valid_ids(anomaly_ids)
    if not ids:
        raise ReviewError("没有选中任何疑点：请给出疑点编号，或用筛选条件选择疑点。")
    with write_transaction(conn):
        _check_head(conn)
        if _needs_seal(conn):
            _write_seal(conn)
        found = _anomalies(conn, ids)
        states = _derive_many(conn, ids)
        failures = []
        for aid in ids:
            why = _check_anomaly(cfg, aid, found.get(aid), states[aid], action, reviewer, allow_cleared)
            if why:
                failures.append((aid, why))
        if failures:
            raise _bulk_error(failures, action, len(ids))
        items = []
        for aid in ids:
            st = states[aid]
            items.append({"action": action, "reviewer": reviewer, "note": note, "amount": amount,
                          "anomaly": found[aid], "state": next_state(st.state, action),
                          "recovered": amount if action == "rectify" else st.recovered})
        seqs = _append(conn, items)
    head_file.record(conn, *chain_head(conn))           # the head outside the database too (station.review.head)
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


# --------------------------------------------------------------------------- amounts

def _changed_amounts(conn: sqlite3.Connection, ids: list[int] | None = None) -> list[tuple[dict, str | None]]:
    """Every anomaly whose amount differs from the amount its last entry recorded, with
    that amount (for a format-1 last entry, the amount the seal recorded). The format-2
    comparison runs in SQL (amounts as two-decimal text, as hashed), so an evaluation
    pays for the changed anomalies only. ``ids``: only these anomalies."""
    if ids is not None and not ids:
        return []
    cols = ", ".join(f"a.{c}" for c in ANOMALY_COLUMNS)
    among = "" if ids is None else " AND anomaly_id IN (SELECT value FROM json_each(?))"
    args = () if ids is None else (json.dumps(ids),)
    last = (f"(SELECT anomaly_id, max(seq) AS seq FROM decisions WHERE anomaly_id IS NOT NULL{among}"
            " GROUP BY anomaly_id) m JOIN decisions d ON d.seq = m.seq JOIN anomalies a ON a.id = m.anomaly_id")
    out = []
    for r in conn.execute(
            f"SELECT {cols}, json_extract(d.body, '$.anomaly.amount') FROM {last}"
            " WHERE d.body IS NOT NULL AND json_valid(d.body)"
            "   AND json_extract(d.body, '$.anomaly.amount') IS NOT"
            "       (CASE WHEN a.amount IS NULL THEN NULL ELSE printf('%.2f', a.amount) END)"
            " ORDER BY a.id", args):
        out.append((dict(zip(ANOMALY_COLUMNS, r[:-1])), r[-1]))
    legacy = conn.execute(f"SELECT {cols} FROM {last} WHERE d.body IS NULL ORDER BY a.id", args).fetchall()
    if legacy:
        seal = seal_content(conn)
        for r in legacy:
            row = dict(zip(ANOMALY_COLUMNS, r))
            pinned = _pinned(seal, row["id"])
            if pinned is not None and fmt.money(row["amount"]) != pinned["amount"]:
                out.append((row, pinned["amount"]))    # not sealed yet: nothing to compare with
    return sorted(out, key=lambda x: x[0]["id"])


def flag_amount_changes(conn: sqlite3.Connection, *, incremental: bool = False) -> list[int]:
    """After an evaluation: every anomaly whose amount is no longer the amount its last
    entry recorded gets a 金额已变化 entry (old and new amount; a decided anomaly returns
    to 核查中). Idempotent: a second call finds nothing. Returns the anomalies flagged.

    ``incremental``: look only at anomalies with an ``amount`` or ``reopened`` event (the
    rules engine writes one whenever it changes an amount) since the last call, which
    ``meta`` remembers in the same transaction — so an evaluation whose flagging was cut
    short by a crash is caught up by the next; without it (or the first time), all."""
    if not _has_body(conn):
        return []
    with write_transaction(conn):
        if _needs_seal(conn):
            _check_head(conn)
            _write_seal(conn)
        top = conn.execute("SELECT coalesce(max(id), 0) FROM anomaly_events").fetchone()[0]
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_AMOUNTS_CHECKED,)).fetchone()
        ids = None
        if incremental and row and str(row[0]).isdigit():
            ids = [i for (i,) in conn.execute(
                "SELECT DISTINCT anomaly_id FROM anomaly_events WHERE id > ? AND event IN ('amount', 'reopened')",
                (int(row[0]),))]
        changed = [(r, old) for r, old in _changed_amounts(conn, ids) if fmt.money(r["amount"]) != old]
        if changed:
            _check_head(conn)
            states = _derive_many(conn, [r["id"] for r, _ in changed])
            items = []
            for r, old in changed:
                st = states[r["id"]]
                new = fmt.money(r["amount"])
                after = next_state(st.state, "amount_changed")
                items.append({"action": "amount_changed", "reviewer": SYSTEM_REVIEWER,
                              "note": f"金额由 {_shown(old)} 变为 {_shown(new)}"
                                      + ("，退回核查中，请重新核查。" if after != st.state else "。"),
                              "amount": None, "anomaly": r, "extra": {"previous_amount": old},
                              "state": after, "recovered": st.recovered})
            _append(conn, items)
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (META_AMOUNTS_CHECKED, str(top)))
    if changed:
        head_file.record(conn, *chain_head(conn))
        _log.info("amount changed after a decision: anomalies=%s", ids_text([r["id"] for r, _ in changed]))
    return [r["id"] for r, _ in changed]


def _shown(amount: str | None) -> str:
    return "（无金额）" if amount is None else f"{_money(float(amount))} 元"


# --------------------------------------------------------------------------- verifying

def verify_chain(conn: sqlite3.Connection) -> VerifyResult:
    """Recompute the whole chain, compare its head with ``meta``, check that what the
    entries recorded about their anomalies still names the anomalies' rows (identity:
    rule, subject, period), and that every anomaly's cached review state agrees with
    its log."""
    if conn.in_transaction:
        return _verify(conn)
    conn.execute("BEGIN")           # one consistent snapshot (read transaction)
    try:
        return _verify(conn)
    finally:
        conn.execute("COMMIT")


def _where(e: dict) -> str:
    aid = f"，疑点 #{e['anomaly_id']}" if e.get("anomaly_id") is not None else ""
    return f"第 {e['seq']} 条（{str(e['at']).replace('T', ' ')}{aid}）"


def _identity(a: dict | None) -> tuple | None:
    return None if a is None else (a.get("rule"), a.get("subject"), a.get("period") or "")


def _verify(conn: sqlite3.Connection) -> VerifyResult:
    prev, expected, entries = GENESIS, 1, 0
    legacy, seal = 0, None
    by_anomaly: dict[int, list[dict]] = {}
    claims: list[tuple[int, tuple | None, dict]] = []   # (anomaly, identity recorded, entry)
    legacy_first: dict[int, dict] = {}                   # anomaly -> its first format-1 entry

    def broken(seq: int | None, reason: str, e: dict | None = None) -> VerifyResult:
        count, head = chain_head(conn)
        return VerifyResult(False, count, head, seq, reason,
                            e["at"] if e else None, e["anomaly_id"] if e else None,
                            legacy_entries=legacy, sealed=seal is not None)

    for e in read_entries(conn):
        if e["seq"] != expected:
            if e["seq"] > expected:
                missing = (f"第 {expected} 条" if e["seq"] == expected + 1
                           else f"第 {expected}–{e['seq'] - 1} 条")
                return broken(expected, f"{missing}记录缺失（被删除）；其后的{_where(e)}无法与前面衔接。")
            return broken(e["seq"], f"{_where(e)}的序号不连续（应为第 {expected} 条）。", e)
        if e["prev_hash"] != prev:
            return broken(e["seq"], f"{_where(e)}与前一条记录不衔接：前面的记录被删除、插入、改动"
                                    "或调换了顺序。", e)
        version = fmt.format_of(e)
        if version not in fmt.KNOWN_FORMATS:
            return broken(e["seq"], f"{_where(e)}的格式无法识别（版本 {version}）：该记录被改动过，"
                                    "或由更新版本的本站写入。", e)
        if entry_hash(e) != e["hash"]:
            return broken(e["seq"], f"{_where(e)}的内容与其校验值不符：该记录被改动过"
                                    f"（现为：{e['reviewer']}，{ACTION_TITLES.get(e['action'], e['action'])}，"
                                    f"说明「{e['note'] or ''}」）。", e)
        if version == fmt.LEGACY:
            if entries > legacy:
                return broken(e["seq"], f"{_where(e)}是旧版格式的记录，却出现在新格式记录之后："
                                        "本站升级后不再写旧格式，该记录不是由本站写入的。", e)
            if e["anomaly_id"] is None:
                return broken(e["seq"], f"{_where(e)}没有疑点编号：该记录被改动过。", e)
            legacy += 1
            legacy_first.setdefault(e["anomaly_id"], e)
        else:
            body = fmt.content(e)
            differs = fmt.disagreement(e, body)
            if differs:
                return broken(e["seq"], f"{_where(e)}的{differs}：表中的内容被改动过。", e)
            if legacy and entries == legacy:        # the first format-2 entry after old ones
                lg = body.get("legacy") if body.get("action") == "upgrade" else None
                if not isinstance(lg, dict) or lg.get("entries") != legacy or lg.get("head") != prev:
                    return broken(e["seq"], f"{_where(e)}应为封存前 {legacy} 条旧版记录的升级记录，"
                                            "但内容不符：旧版记录被删除、插入或改动过。", e)
                seal = body
            if body.get("anomaly") is not None:
                claims.append((e["anomaly_id"], _identity(body["anomaly"]), e))
            elif e["action"] not in SYSTEM_ACTIONS:
                return broken(e["seq"], f"{_where(e)}没有记录所涉的疑点：该记录被改动过。", e)
        prev = e["hash"]
        expected += 1
        entries += 1
        if e["anomaly_id"] is not None:
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

    # Identity: the anomalies that entries are about must still be the rows they name.
    if seal is not None:
        subjects = seal["legacy"].get("subjects") or {}
        for aid, first in sorted(legacy_first.items()):
            if str(aid) not in subjects:
                return broken(first["seq"], f"{_where(first)}所涉的疑点不在升级时的封存记录中："
                                            "旧版记录被改动过。", first)
            pinned = subjects[str(aid)]
            ident = tuple(pinned[:3]) if isinstance(pinned, list) and len(pinned) == 4 else None
            claims.append((aid, ident, first))
    current = {r[0]: r[1:] for r in conn.execute(
        "SELECT id, rule, subject, coalesce(period, ''), review_status, recovered FROM anomalies")}
    for aid, ident, e in claims:
        row = current.get(aid)
        if row is None:
            return broken(e["seq"], f"疑点 #{aid} 已从疑点表中删除，但复核日志{_where(e)}记录了对它的决定："
                                    "疑点表被直接改动过。", e)
        if ident is None or tuple(row[:3]) != ident:
            was = mask_ids_in_text("、".join(str(x) for x in ident if x)) if ident else "（未知）"
            return broken(e["seq"], f"疑点 #{aid} 的规则、对象或期间与复核日志{_where(e)}记录的不符"
                                    f"（记录为 {was}）：疑点表被直接改动过，决定会被归到别的对象名下。", e)

    # The cache: every anomaly's review_status / recovered must agree with its log.
    mismatches = []
    for aid, (_, _, _, status, recovered) in sorted(current.items()):
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
                            "（疑点表中的复核状态或追回金额被直接改动过）。", cache_mismatches=mismatches,
                            legacy_entries=legacy, sealed=seal is not None)
    return VerifyResult(True, entries, head, legacy_entries=legacy, sealed=seal is not None)
