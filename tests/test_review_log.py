"""The review log: state machine, checks, four-eyes, bulk all-or-nothing, hash chain."""
from __future__ import annotations

import pytest

from station.review import log
from station.review.log import (GENESIS, ReviewError, chain_head, decide, derive_state, entry_hash,
                                history, verify_chain)
from test_review_helpers import add_anomaly, drop_triggers, make_cfg, make_conn, set_clock


@pytest.fixture
def conn(tmp_path):
    c = make_conn(tmp_path)
    yield c
    c.close()


@pytest.fixture
def cfg():
    return make_cfg()


def status(conn, aid):
    return conn.execute("SELECT review_status, recovered FROM anomalies WHERE id = ?", (aid,)).fetchone()


def count(conn):
    return conn.execute("SELECT count(*) FROM decisions").fetchone()[0]


def test_full_workflow_updates_log_cache_and_meta(conn, cfg, monkeypatch):
    aid = add_anomaly(conn, amount=3000)
    set_clock(monkeypatch, "2026-10-06T09:00:00")
    assert decide(conn, cfg, [aid], "take", "张三") == [1]
    set_clock(monkeypatch, "2026-10-07T09:00:00")
    assert decide(conn, cfg, [aid], "confirm", "张三", note="核实属实") == [2]
    assert decide(conn, cfg, [aid], "note", "李四", note="已通知家属") == [3]
    assert decide(conn, cfg, [aid], "rectify", "张三", amount=2999.999) == [4]

    assert status(conn, aid) == ("rectified", 3000.0)
    st = derive_state(conn, aid)
    assert (st.state, st.recovered, st.confirmed_by, st.entries) == ("rectified", 3000.0, "张三", 4)
    h = history(conn, aid)
    assert [e["action"] for e in h] == ["take", "confirm", "note", "rectify"]
    assert h[1] | {} == {"seq": 2, "action": "confirm", "action_title": "确认违规", "reviewer": "张三",
                         "note": "核实属实", "amount": None, "at": "2026-10-07T09:00:00",
                         "legacy": False, "system": False, "anomaly_amount": 3000.0,
                         "anomaly_amount_text": "3000.00", "name": "张三", "previous_amount": None}

    rows = conn.execute("SELECT seq, prev_hash, hash FROM decisions ORDER BY seq").fetchall()
    assert rows[0][1] == GENESIS
    for (_, _, prev), (_, link, _) in zip(rows, rows[1:]):
        assert link == prev
    entries, head = chain_head(conn)
    assert (entries, head) == (4, rows[-1][2])
    meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'review_log_%'").fetchall())
    assert meta == {"review_log_entries": "4", "review_log_head": head}
    result = verify_chain(conn)
    assert result.ok and result.entries == 4 and result.head == head


def test_hash_is_sha256_of_the_body_which_records_what_was_decided_on(conn, cfg, monkeypatch):
    import hashlib
    import json
    aid = add_anomaly(conn, rule="DUPLICATE_PAYMENT", subject="420105198001011234", period="2026-04",
                      name="王芳", department="agency", amount=5351.08)
    set_clock(monkeypatch, "2026-10-06T09:00:00")
    decide(conn, cfg, [aid], "take", "张三", note="开始")
    row = dict(zip(log.COLUMNS, conn.execute(f"SELECT {', '.join(log.COLUMNS)} FROM decisions").fetchone()))
    payload = {"v": 2, "seq": 1, "action": "take", "reviewer": "张三", "note": "开始",
               "amount": None, "at": "2026-10-06T09:00:00", "prev_hash": GENESIS,
               "anomaly": {"id": aid, "rule": "DUPLICATE_PAYMENT", "subject": "420105198001011234",
                           "period": "2026-04", "name": "王芳", "department": "agency", "amount": "5351.08"}}
    body = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert row["body"] == body
    assert row["hash"] == hashlib.sha256(body.encode()).hexdigest() == entry_hash(row)


def test_illegal_transition_names_state_and_allowed_actions(conn, cfg):
    aid = add_anomaly(conn)
    with pytest.raises(ReviewError) as e:
        decide(conn, cfg, [aid], "rectify", "张三", amount=10)
    msg = str(e.value)
    assert "待核查" in msg and "整改完成" in msg
    assert "当前可执行" in msg and "confirm" in msg and "take" in msg
    decide(conn, cfg, [aid], "dismiss", "张三", note="误报")
    with pytest.raises(ReviewError, match="「排除」.*不能执行「确认违规」"):
        decide(conn, cfg, [aid], "confirm", "张三")
    with pytest.raises(ReviewError, match="不能执行「开始核查」"):
        decide(conn, cfg, [aid], "take", "张三")
    assert count(conn) == 1


def test_dismiss_needs_reason(conn, cfg):
    aid = add_anomaly(conn)
    for note in (None, "", "   "):
        with pytest.raises(ReviewError, match="排除疑点必须写明理由"):
            decide(conn, cfg, [aid], "dismiss", "张三", note=note)
    assert count(conn) == 0 and status(conn, aid)[0] == "new"


def test_rectify_needs_amount_not_negative(conn, cfg):
    aid = add_anomaly(conn)
    decide(conn, cfg, [aid], "confirm", "张三")
    with pytest.raises(ReviewError, match="必须填写追回金额"):
        decide(conn, cfg, [aid], "rectify", "李四")
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ReviewError, match="不小于 0"):
            decide(conn, cfg, [aid], "rectify", "李四", amount=bad)
    for absurd in (1e300, 1.7976931348623157e308, 1e12 + 1):     # bounded like delivered amounts
        with pytest.raises(ReviewError, match="超出合理范围"):
            decide(conn, cfg, [aid], "rectify", "李四", amount=absurd)
    decide(conn, cfg, [aid], "rectify", "李四", amount=0)
    assert status(conn, aid) == ("rectified", 0.0)


def test_amount_only_for_rectify_and_note_needs_text(conn, cfg):
    aid = add_anomaly(conn)
    with pytest.raises(ReviewError, match="只有「整改完成」"):
        decide(conn, cfg, [aid], "confirm", "张三", amount=5)
    with pytest.raises(ReviewError, match="备注内容为空"):
        decide(conn, cfg, [aid], "note", "张三")


def test_reviewer_required_and_unknown_action(conn, cfg):
    aid = add_anomaly(conn)
    for who in ("", "  ", None):
        with pytest.raises(ReviewError, match="没有填写复核人"):
            decide(conn, cfg, [aid], "take", who)
    with pytest.raises(ReviewError, match="未知的操作「approve」"):
        decide(conn, cfg, [aid], "approve", "张三")
    with pytest.raises(ReviewError, match="疑点 #999 不存在"):
        decide(conn, cfg, [999], "take", "张三")
    with pytest.raises(ReviewError, match="没有选中任何疑点"):
        decide(conn, cfg, [], "take", "张三")


def test_cleared_anomaly_needs_allow_cleared(conn, cfg):
    aid = add_anomaly(conn, data_status="cleared", cleared_at="2026-10-09T00:00:00")
    with pytest.raises(ReviewError) as e:
        decide(conn, cfg, [aid], "dismiss", "张三", note="数据已更正")
    assert "该疑点" in str(e.value) and "已因数据变化消除" in str(e.value) and "--cleared" in str(e.value)
    assert count(conn) == 0
    decide(conn, cfg, [aid], "dismiss", "张三", note="数据已更正", allow_cleared=True)
    assert status(conn, aid)[0] == "dismissed"


def test_four_eyes_needs_a_second_reviewer_above_threshold(conn):
    cfg = make_cfg(four_eyes=True, threshold=10000)
    big = add_anomaly(conn, amount=12000.0)
    small = add_anomaly(conn, subject="420105198001015678", amount=10000.0)   # not above
    decide(conn, cfg, [big, small], "confirm", "张三")
    with pytest.raises(ReviewError) as e:
        decide(conn, cfg, [big], "rectify", " 张三 ", amount=12000)
    msg = str(e.value)
    assert "12,000.00" in msg and "10,000.00" in msg and "由「张三」确认违规" in msg and "另一名复核人" in msg
    assert status(conn, big)[0] == "confirmed"
    decide(conn, cfg, [big], "rectify", "李四", amount=12000)
    assert status(conn, big) == ("rectified", 12000.0)
    decide(conn, cfg, [small], "rectify", "张三", amount=100)     # at the threshold: one person is enough
    assert status(conn, small)[0] == "rectified"


def test_four_eyes_off_allows_same_reviewer(conn, cfg):
    aid = add_anomaly(conn, amount=50000.0)
    decide(conn, cfg, [aid], "confirm", "张三")
    decide(conn, cfg, [aid], "rectify", "张三", amount=1)
    assert status(conn, aid)[0] == "rectified"


def test_bulk_is_all_or_nothing(conn, cfg):
    a = add_anomaly(conn, subject="420105198001010001")
    b = add_anomaly(conn, subject="420105198001010002")
    c = add_anomaly(conn, subject="420105198001010003", data_status="cleared")
    d = add_anomaly(conn, subject="420105198001010004")
    decide(conn, cfg, [b], "dismiss", "张三", note="误报")
    before = (count(conn), chain_head(conn))
    with pytest.raises(ReviewError) as e:
        decide(conn, cfg, [a, b, c, d], "take", "李四")
    msg = str(e.value)
    assert f"#{b}" in msg and f"#{c}" in msg and f"#{a}、" not in msg
    assert "没有记录任何决定" in msg
    assert [f[0] for f in e.value.failures] == [b, c]
    assert (count(conn), chain_head(conn)) == before
    assert [status(conn, x)[0] for x in (a, b, c, d)] == ["new", "dismissed", "new", "new"]

    seqs = decide(conn, cfg, [a, d, a], "take", "李四")       # duplicates dropped
    assert seqs == [2, 3]
    assert verify_chain(conn).ok


def test_bulk_failure_during_write_rolls_back(conn, cfg, monkeypatch):
    ids = [add_anomaly(conn, subject=f"42010519800101{i:04d}") for i in range(3)]
    real = log.entry_hash
    calls = []

    def flaky(entry):
        calls.append(entry["seq"])
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return real(entry)

    monkeypatch.setattr(log, "entry_hash", flaky)
    with pytest.raises(RuntimeError):
        decide(conn, cfg, ids, "take", "张三")
    assert count(conn) == 0
    assert {status(conn, i)[0] for i in ids} == {"new"}
    assert conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'review_log_%'").fetchone()[0] == 0


def test_decide_refuses_to_append_behind_a_deleted_last_entry(conn, cfg):
    aid = add_anomaly(conn)
    decide(conn, cfg, [aid], "take", "张三")
    decide(conn, cfg, [aid], "confirm", "张三")
    drop_triggers(conn)
    conn.execute("DELETE FROM decisions WHERE seq = 2")
    with pytest.raises(ReviewError, match="station verify"):
        decide(conn, cfg, [aid], "note", "张三", note="x")
    assert count(conn) == 1


def test_log_rejects_update_and_delete_while_triggers_stand(conn, cfg):
    import sqlite3
    aid = add_anomaly(conn)
    decide(conn, cfg, [aid], "take", "张三")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE decisions SET note = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM decisions")
