"""`station verify`: tampering behind the station's back is found and named.

Each test records four decisions through the log, drops the append-only triggers, tampers
with direct SQL, and runs the CLI.
"""
from __future__ import annotations

import re

import pytest

from station.cli import main
from station.register.db import connect
from station.review.log import chain_head, decide, entry_hash, verify_chain
from test_review_helpers import add_anomaly, drop_triggers, make_cfg, make_home, set_clock

TIMES = ["2026-10-06T09:00:00", "2026-10-07T10:30:00", "2026-10-08T11:00:00", "2026-10-09T15:45:00"]


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path)


@pytest.fixture
def conn(home, monkeypatch):
    c = connect(home.db_path)
    cfg = make_cfg()
    a = add_anomaly(c, subject="420105198001010001", amount=800)
    b = add_anomaly(c, subject="420105198001010002")
    steps = [(a, "take", None, None), (b, "confirm", "核实属实", None),
             (a, "dismiss", "已核实无误", None), (b, "rectify", "已追回", 1500.0)]
    for at, (aid, action, note, amount) in zip(TIMES, steps):
        set_clock(monkeypatch, at)
        decide(c, cfg, [aid], action, "张三", note=note, amount=amount)
    yield c
    c.close()


def run(home, capsys, *args):
    code = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_intact_log_prints_entries_and_head(home, conn, capsys):
    code, out = run(home, capsys, "verify")
    entries, head = chain_head(conn)
    assert code == 0
    assert "复核日志完整：共 4 条记录" in out
    assert f"校验值：entries=4 head={head}" in out and re.fullmatch(r"[0-9a-f]{64}", head)


def test_edited_note_is_named(home, conn, capsys):
    drop_triggers(conn)
    conn.execute("UPDATE decisions SET note = '无问题' WHERE seq = 2")
    code, out = run(home, capsys, "verify")
    assert code != 0
    assert "第 2 条" in out and "2026-10-07 10:30:00" in out and "疑点 #2" in out
    assert "被改动" in out


def test_edited_amount_and_reviewer_are_named(home, conn, capsys):
    drop_triggers(conn)
    conn.execute("UPDATE decisions SET amount = 15000 WHERE seq = 4")
    code, out = run(home, capsys, "verify")
    assert code != 0 and "第 4 条" in out


def test_deleted_middle_entry_is_named(home, conn, capsys):
    drop_triggers(conn)
    conn.execute("DELETE FROM decisions WHERE seq = 2")
    code, out = run(home, capsys, "verify")
    assert code != 0
    assert "第 2 条记录缺失" in out and "第 3 条" in out
    assert verify_chain(conn).first_broken_seq == 2


def test_deleted_last_entry_is_detected(home, conn, capsys):
    drop_triggers(conn)
    conn.execute("DELETE FROM decisions WHERE seq = 4")
    code, out = run(home, capsys, "verify")
    assert code != 0
    assert "第 4 条（最后一条）已被删除" in out and "第一处问题：第 4 条记录" in out
    # …and the station will not append behind it (that would hide the deletion).
    code, out = run(home, capsys, "decide", "1", "--action", "note", "--note", "x", "--reviewer", "李四")
    assert code == 2 and "station verify" in out


def test_reordered_entries_are_named(home, conn, capsys):
    drop_triggers(conn)
    conn.execute("UPDATE decisions SET seq = -1 WHERE seq = 2")
    conn.execute("UPDATE decisions SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE decisions SET seq = 3 WHERE seq = -1")
    code, out = run(home, capsys, "verify")
    assert code != 0
    assert "第 2 条" in out and "不衔接" in out


def test_swapped_contents_are_named(home, conn, capsys):
    drop_triggers(conn)
    rows = {r[0]: r[1:] for r in conn.execute(
        "SELECT seq, anomaly_id, action, reviewer, note, amount, at FROM decisions WHERE seq IN (2, 3)")}
    for seq, other in ((2, 3), (3, 2)):
        conn.execute("UPDATE decisions SET anomaly_id=?, action=?, reviewer=?, note=?, amount=?, at=?"
                     " WHERE seq=?", (*rows[other], seq))
    code, out = run(home, capsys, "verify")
    assert code != 0 and "第 2 条" in out


def forge_from(conn, seq: int, change) -> str:
    """Rewrite entry ``seq`` with ``change(body)`` the way a careful forger would: body,
    columns and every later hash recomputed. Returns the new head."""
    import json
    from station.review.entry import dumps
    prev = conn.execute("SELECT hash FROM decisions WHERE seq = ?", (seq - 1,)).fetchone()[0]
    for s, body in conn.execute("SELECT seq, body FROM decisions WHERE seq >= ? ORDER BY seq", (seq,)).fetchall():
        b = json.loads(body)
        b["prev_hash"] = prev
        if s == seq:
            change(b)
        text = dumps(b)
        prev = entry_hash({"body": text})
        conn.execute("UPDATE decisions SET note = ?, body = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                     (b["note"], text, b["prev_hash"], prev, s))
    return prev


def test_rewritten_chain_is_caught_by_the_head(home, conn, capsys):
    _, before = chain_head(conn)
    drop_triggers(conn)
    # A careful forger edits seq 2 and recomputes every hash after it…
    prev = forge_from(conn, 2, lambda b: b.update(note="无问题"))
    code, out = run(home, capsys, "verify")
    assert code != 0 and "整体改写" in out
    # …and if meta is forged too, the head kept outside the database (review-log.head,
    # station.review.head) no longer matches, nor does the head printed on earlier exports.
    conn.execute("UPDATE meta SET value = ? WHERE key = 'review_log_head'", (prev,))
    code, out = run(home, capsys, "verify")
    assert code != 0 and "不一致" in out and prev in out


def test_column_changed_without_its_body_is_named(home, conn, capsys):
    drop_triggers(conn)
    conn.execute("UPDATE decisions SET reviewer = '李四' WHERE seq = 3")
    code, out = run(home, capsys, "verify")
    assert code != 0 and "第 3 条" in out and "复核人" in out


def test_forged_extra_entry_is_detected(home, conn, capsys):
    _, prev = chain_head(conn)
    e = {"seq": 5, "anomaly_id": 1, "action": "note", "reviewer": "王五", "note": "补记",
         "amount": None, "at": "2026-10-10T09:00:00", "prev_hash": prev}
    e["hash"] = entry_hash(e)
    conn.execute("INSERT INTO decisions (seq, anomaly_id, action, reviewer, note, amount, at, prev_hash, hash)"
                 " VALUES (:seq, :anomaly_id, :action, :reviewer, :note, :amount, :at, :prev_hash, :hash)", e)
    code, out = run(home, capsys, "verify")
    assert code != 0 and "第 5 条" in out and "不是由本站写入的" in out


def test_deleted_meta_is_detected(home, conn, capsys):
    conn.execute("DELETE FROM meta WHERE key LIKE 'review_log_%'")
    code, out = run(home, capsys, "verify")
    assert code != 0 and "meta" in out


def test_cache_edit_is_detected(home, conn, capsys):
    conn.execute("UPDATE anomalies SET review_status = 'dismissed' WHERE id = 2")
    code, out = run(home, capsys, "verify")
    assert code != 0 and "疑点 #2" in out and "状态与日志推算结果不符" in out
    assert verify_chain(conn).cache_mismatches == [2]
    conn.execute("UPDATE anomalies SET review_status = 'rectified', recovered = 1.0 WHERE id = 2")
    assert verify_chain(conn).cache_mismatches == [2]


def test_empty_log_verifies(tmp_path, capsys):
    home = make_home(tmp_path / "empty")
    code, out = run(home, capsys, "verify")
    assert code == 0 and "共 0 条记录" in out and "head=" + "0" * 64 in out
