"""The review record says what was decided, at the time (issue 17, items 11–14 and 23).

11. every entry records what it decided on; an amount that changes afterwards is flagged
    金额已变化 and goes back to the reviewer; exports keep the amount of the time;
12. exports come from the hashed entries, and verify fails when the anomalies table no
    longer agrees with them (a deleted row, a re-pointed subject);
13. INSERT OR REPLACE cannot replace an entry, from any connection;
14. reviewer names are normalised before four-eyes compares them and before storing;
23. an anomaly number beyond SQLite's range is a clear message, not a traceback.
"""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3

import pytest

from conftest import SAMPLES_AS_OF, copy_samples
from station.cli import main
from station.export.review_log import export_review_log
from station.home import Home
from station.register.db import connect
from station.review.entry import SYSTEM_REVIEWER
from station.review.log import (ReviewError, decide, flag_amount_changes, history, normalise_reviewer,
                                verify_chain)
from station.services.station import Station
from test_review_helpers import add_anomaly, make_cfg, make_home, set_clock

ID_A = "440303193501279793"
ID_B = "420105198001010002"


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path, four_eyes=True, threshold=10000)


@pytest.fixture
def conn(home):
    c = connect(home.db_path)
    yield c
    c.close()


def cli(home, capsys, *args) -> tuple[int, str]:
    code = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def csv_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def state(conn, aid):
    return conn.execute("SELECT review_status FROM anomalies WHERE id = ?", (aid,)).fetchone()[0]


# --------------------------------------------------------------------------- 11

def test_entries_record_what_was_decided_and_a_later_amount_change_returns_it(conn, tmp_path, monkeypatch):
    cfg = make_cfg()
    aid = add_anomaly(conn, subject=ID_A, name="邹淑英", amount=42812.72)
    for at, action, who, amount in (("2026-10-05T09:00:00", "confirm", "张三", None),
                                    ("2026-10-06T09:00:00", "rectify", "李四", 42812.72)):
        set_clock(monkeypatch, at)
        decide(conn, cfg, [aid], action, who, amount=amount)
    # A later 公安 list with an earlier death date: the evaluation raises the amount.
    conn.execute("UPDATE anomalies SET amount = 48164.31, name = '邹淑英（更正）' WHERE id = ?", (aid,))
    set_clock(monkeypatch, "2026-10-20T08:00:00")
    assert flag_amount_changes(conn) == [aid]
    assert flag_amount_changes(conn) == []                   # once
    assert state(conn, aid) == "in_review"                   # back to the reviewer
    h = history(conn, aid)
    assert [e["action"] for e in h] == ["confirm", "rectify", "amount_changed"]
    assert [e["anomaly_amount"] for e in h] == [42812.72, 42812.72, 48164.31]
    assert h[-1]["previous_amount"] == 42812.72 and h[-1]["reviewer"] == SYSTEM_REVIEWER
    assert "42,812.72" in h[-1]["note"] and "48,164.31" in h[-1]["note"]
    assert verify_chain(conn).ok

    out = tmp_path / "log.csv"
    export_review_log(conn, out, fmt="csv")
    rows = csv_rows(out)[1:-1]
    assert [r[11] for r in rows] == ["42812.72", "42812.72", "48164.31"]     # 涉及金额 then, not now
    assert [r[8] for r in rows] == ["邹淑英", "邹淑英", "邹淑英（更正）"]
    assert rows[2][9] == "金额已变化" and rows[2][2] == SYSTEM_REVIEWER
    # the reviewer takes it up again from 核查中
    decide(conn, cfg, [aid], "confirm", "王五", note="按新的死亡日期重新核定")
    assert state(conn, aid) == "confirmed"


def test_an_undecided_anomaly_keeps_its_state_when_its_amount_changes(conn):
    aid = add_anomaly(conn, amount=100)
    decide(conn, make_cfg(), [aid], "note", "张三", note="待查")
    conn.execute("UPDATE anomalies SET amount = 200 WHERE id = ?", (aid,))
    assert flag_amount_changes(conn) == [aid]
    assert state(conn, aid) == "new"
    untouched = add_anomaly(conn, subject=ID_B, amount=5)            # no decision: nothing to flag
    conn.execute("UPDATE anomalies SET amount = 6 WHERE id = ?", (untouched,))
    assert flag_amount_changes(conn) == []


def test_a_later_delivery_changing_the_amount_is_flagged_end_to_end(tmp_path, capsys):
    """The reproduction of item 11 through the CLI: confirmed and rectified at the amount of
    the time; a later 公安 list with an earlier death date raises it."""
    home = Home(tmp_path / "home").ensure()
    copy_samples(home)
    root = str(home.root)
    assert main(["--home", root, "ingest", "--as-of", SAMPLES_AS_OF.isoformat()]) == 0
    conn = sqlite3.connect(home.db_path)
    aid, before = conn.execute("SELECT id, amount FROM anomalies WHERE rule = 'DEATH_PAID' AND subject = ?",
                               (ID_A,)).fetchone()
    conn.close()
    for args in (("--action", "confirm", "--reviewer", "张三"),
                 ("--action", "rectify", "--amount", str(before), "--reviewer", "李四")):
        assert main(["--home", root, "decide", str(aid), *args]) == 0
    (home.inbox / "public_security" / "户籍注销人员_更正.csv").write_text(
        "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
        f"{ID_A},邹淑英,男,2026-01-15,2026-01-20,死亡\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["--home", root, "ingest", "--as-of", SAMPLES_AS_OF.isoformat()]) == 0
    conn = sqlite3.connect(home.db_path)
    after, status = conn.execute("SELECT amount, review_status FROM anomalies WHERE id = ?", (aid,)).fetchone()
    conn.close()
    assert after > before and status == "in_review"
    capsys.readouterr()
    code, out = cli(home, capsys, "history", str(aid))
    assert code == 0 and "金额已变化" in out and "重新核查" in out
    assert f"金额由{before:,.2f}元变为{after:,.2f}元" in re.sub(r"[\s│]", "", out)
    code, out = cli(home, capsys, "export", "review-log", "--format", "csv", "--out", str(tmp_path / "l.csv"))
    rows = csv_rows(tmp_path / "l.csv")[1:-1]
    assert [r[11] for r in rows] == [f"{before:.2f}", f"{before:.2f}", f"{after:.2f}"]
    code, out = cli(home, capsys, "verify")
    assert code == 0, out


# --------------------------------------------------------------------------- 12

@pytest.fixture
def decided(conn, monkeypatch):
    cfg = make_cfg()
    a = add_anomaly(conn, subject=ID_A, name="邹淑英", amount=800)
    b = add_anomaly(conn, subject=ID_B, name="李四")
    set_clock(monkeypatch, "2026-10-06T09:00:00")
    decide(conn, cfg, [a], "take", "张三")
    decide(conn, cfg, [a], "dismiss", "张三", note="已核实")
    decide(conn, cfg, [b], "take", "张三")
    return a, b


def raw_connection(home):
    """A plain sqlite3 connection, as someone with the file would open it (no pragmas: no
    foreign keys, no recursive triggers)."""
    return sqlite3.connect(home.db_path, isolation_level=None)


def test_deleting_an_anomaly_row_fails_verify_and_the_export_keeps_its_decisions(home, conn, decided,
                                                                                  tmp_path, capsys):
    a, _ = decided
    raw = raw_connection(home)
    raw.execute("DELETE FROM anomalies WHERE id = ?", (a,))
    raw.close()
    code, out = cli(home, capsys, "verify")
    assert code == 1 and f"疑点 #{a} 已从疑点表中删除" in out
    export_review_log(conn, tmp_path / "log.csv", fmt="csv")
    rows = csv_rows(tmp_path / "log.csv")[1:-1]
    assert [r[3] for r in rows] == [str(a), str(a), "2"]             # nothing dropped
    assert rows[1][6] == "440303********9793" and rows[1][10] == "已核实"


def test_re_pointing_a_subject_fails_verify_and_does_not_re_attribute_decisions(home, conn, decided,
                                                                                tmp_path, capsys):
    a, b = decided
    raw = raw_connection(home)
    raw.execute("UPDATE anomalies SET subject = ? WHERE id = ?", ("440303196305245442", a))
    raw.close()
    code, out = cli(home, capsys, "verify")
    assert code == 1 and f"疑点 #{a} 的规则、对象或期间" in out
    export_review_log(conn, tmp_path / "log.csv", fmt="csv", unmask=True)
    rows = csv_rows(tmp_path / "log.csv")[1:-1]
    assert {r[6] for r in rows if r[3] == str(a)} == {ID_A}           # as recorded, not re-pointed


def test_a_column_edited_without_its_body_fails_verify(home, conn, decided, capsys):
    raw = raw_connection(home)
    raw.execute("DROP TRIGGER decisions_no_update")
    raw.execute("UPDATE decisions SET anomaly_id = 2 WHERE seq = 2")
    raw.close()
    code, out = cli(home, capsys, "verify")
    assert code == 1 and "第 2 条" in out and "疑点编号" in out


# --------------------------------------------------------------------------- 13

def test_insert_or_replace_cannot_replace_an_entry_from_a_raw_connection(home, conn, decided, capsys):
    row = conn.execute("SELECT seq, anomaly_id, action, reviewer, note, amount, at, prev_hash, hash, body"
                       " FROM decisions WHERE seq = 2").fetchone()
    raw = raw_connection(home)
    assert raw.execute("PRAGMA recursive_triggers").fetchone() == (0,)
    forged = (2, row[1], "confirm", "张三", "改成确认", None, row[6], row[7], "0" * 64, None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("INSERT OR REPLACE INTO decisions (seq, anomaly_id, action, reviewer, note, amount, at,"
                    " prev_hash, hash, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", forged)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):      # nor skip ahead
        raw.execute("INSERT INTO decisions (seq, anomaly_id, action, reviewer, at, prev_hash, hash)"
                    " VALUES (9, 1, 'note', 'x', '2026-10-07', '0', '0')")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):      # nor upsert
        raw.execute("INSERT INTO decisions (seq, anomaly_id, action, reviewer, at, prev_hash, hash)"
                    " VALUES (2, 1, 'note', 'x', '2026-10-07', '0', '0')"
                    " ON CONFLICT(seq) DO UPDATE SET note = 'x'")
    raw.close()
    assert conn.execute("SELECT seq, anomaly_id, action, reviewer, note, amount, at, prev_hash, hash, body"
                        " FROM decisions WHERE seq = 2").fetchone() == row
    code, out = cli(home, capsys, "verify")
    assert code == 0


# --------------------------------------------------------------------------- 14

@pytest.mark.parametrize("confirmer, rectifier", [
    ("张三", "张三\u200b"),
    ("Ｚｈａｎｇ Ｓａｎ", "Zhang San"),
    ("Zhang San", "Zhang  San"),
    ("张三", "\u3000张\ufeff三 "),
    ("zhang san", "ZHANG SAN"),
])
def test_four_eyes_sees_through_look_alike_names(conn, confirmer, rectifier):
    cfg = make_cfg(four_eyes=True, threshold=10000)
    aid = add_anomaly(conn, amount=36166.2)
    decide(conn, cfg, [aid], "confirm", confirmer)
    with pytest.raises(ReviewError, match="另一名复核人"):
        decide(conn, cfg, [aid], "rectify", rectifier, amount=100)
    decide(conn, cfg, [aid], "rectify", "李四", amount=100)


def test_names_are_stored_normalised(conn):
    aid = add_anomaly(conn)
    decide(conn, make_cfg(), [aid], "take", "  Ｚｈａｎｇ\u200b   Ｓａｎ ")
    reviewer, body = conn.execute("SELECT reviewer, body FROM decisions").fetchone()
    assert reviewer == "Zhang San" and json.loads(body)["reviewer"] == "Zhang San"
    assert normalise_reviewer("张\u200d三\u00ad") == "张三"


@pytest.mark.parametrize("name", ["张三\x1b[31m", "张三\n李四", "张\x00三", "\x7f张三", "张三\x9b"])
def test_control_characters_are_refused_in_chinese(home, conn, name, capsys):
    aid = add_anomaly(conn)
    with pytest.raises(ReviewError, match="控制字符"):
        decide(conn, make_cfg(), [aid], "take", name)
    code, out = cli(home, capsys, "decide", str(aid), "--action", "take", "--reviewer", name)
    assert code == 2 and "控制字符" in out and "\x1b" not in out
    assert conn.execute("SELECT count(*) FROM decisions").fetchone() == (0,)


def test_the_stations_own_name_is_not_a_reviewer(conn):
    aid = add_anomaly(conn)
    for name in (SYSTEM_REVIEWER, "(系统)", "系统", "SYSTEM"):
        with pytest.raises(ReviewError, match="自动记录"):
            decide(conn, make_cfg(), [aid], "note", name, note="x")


# --------------------------------------------------------------------------- 23

@pytest.mark.parametrize("command", [("decide", "99999999999999999999", "--action", "take", "--reviewer", "张三"),
                                     ("history", "99999999999999999999"),
                                     ("decide", "1", "-99999999999999999999", "--action", "take",
                                      "--reviewer", "张三")])
def test_an_anomaly_number_beyond_range_is_a_clear_message(home, conn, capsys, command):
    add_anomaly(conn)
    code, out = cli(home, capsys, *command)
    assert code == 2, out
    assert "不存在" in out and "Traceback" not in out and "OverflowError" not in out
    assert conn.execute("SELECT count(*) FROM decisions").fetchone() == (0,)


def test_a_change_whose_flagging_was_cut_short_is_flagged_by_the_next_evaluation(tmp_path, monkeypatch):
    from station.review import log as review_log
    home = Home(tmp_path / "home").ensure()
    copy_samples(home)
    st = Station.open(home)
    st.ingest(as_of=SAMPLES_AS_OF)
    aid = st.conn.execute("SELECT id FROM anomalies WHERE rule = 'DEATH_PAID' AND subject = ?", (ID_A,)).fetchone()[0]
    decide(st.conn, st.cfg, [aid], "confirm", "张三")
    (home.inbox / "public_security" / "更正.csv").write_text(
        "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
        f"{ID_A},邹淑英,男,2026-01-15,2026-01-20,死亡\n", encoding="utf-8")

    def killed(conn, **kw):
        raise KeyboardInterrupt          # the process dies after the evaluation committed

    monkeypatch.setattr(review_log, "flag_amount_changes", killed)
    with pytest.raises(KeyboardInterrupt):
        st.ingest(as_of=SAMPLES_AS_OF)
    assert state(st.conn, aid) == "confirmed"              # the evaluation is in, the flag not
    monkeypatch.undo()
    st.evaluate(as_of=SAMPLES_AS_OF, kinds=["payments"])  # nothing changes this time…
    assert state(st.conn, aid) == "in_review"              # …and the missed change is flagged
    assert [e["action"] for e in history(st.conn, aid)][-1] == "amount_changed"
    st.close()
