"""Upgrades keep every decision (issue 19): a register written by an older release opens
with the current code, is upgraded in place after a backup beside it, verifies, keeps
every decision in `history` and the review-log export as recorded then, and evaluates to
the same anomalies. A failed upgrade leaves it untouched; a newer register is refused.

The registers under tests/fixtures/registers/ were made by the old releases' own code
(make_register.py says how); one per released schema.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import sqlite3
import stat
import zipfile
from pathlib import Path

import pytest

from station import __version__
from station.cli import main
from station.home import Home
from station.normalise import mask_ids_in_text
from station.register import schema
from station.register.db import RegisterError, connect
from station.review.entry import NOT_RECORDED
from station.review.log import ReviewError, decide, history, verify_chain
from station.services.station import Station

REGISTERS = Path(__file__).parent / "fixtures" / "registers"
FIXTURES = sorted(REGISTERS.glob("schema*.zip"))
SCHEMA3 = REGISTERS / "schema3-8f14cf6.zip"


def unpack(zip_path: Path, home: Home) -> dict:
    with zipfile.ZipFile(zip_path) as z:
        home.db_path.write_bytes(z.read("station.db"))
        return json.loads(z.read("made.json"))


@pytest.fixture
def old_home(tmp_path) -> tuple[Home, dict]:
    home = Home(tmp_path / "home").ensure()
    made = unpack(SCHEMA3, home)
    return home, made


def raw(db: Path, sql: str, args=()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def dump(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


OLD_DECISIONS = "SELECT seq, anomaly_id, action, reviewer, note, amount, at, prev_hash, hash FROM decisions ORDER BY seq"
ANOMALIES = ("SELECT id, rule, subject, period, amount, data_status, review_status, recovered"
             " FROM anomalies ORDER BY id")


def open_and_seal(home: Home) -> None:
    st = Station.open(home)
    st.conn                                          # the connection upgrades, then seals
    st.close()


def cli(home: Home, capsys, *args) -> tuple[int, str]:
    code = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_there_is_one_fixture_per_released_schema():
    versions = [int(p.name.split("-")[0].removeprefix("schema")) for p in FIXTURES]
    assert len(versions) == len(set(versions)) and 3 in versions
    assert max(versions) < schema.SCHEMA_VERSION      # the current schema has no fixture yet


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_old_register_opens_verifies_and_keeps_every_decision(fixture, tmp_path, capsys):
    home = Home(tmp_path / "home").ensure()
    made = unpack(fixture, home)
    old_version = int(fixture.name.split("-")[0].removeprefix("schema"))
    before = raw(home.db_path, OLD_DECISIONS)
    anomalies_before = raw(home.db_path, ANOMALIES)
    assert len(before) == made["entries"]

    code, out = cli(home, capsys, "verify")
    assert code == 0, out
    assert "复核日志完整" in out
    assert f"其中前 {len(before)} 条由旧版本写入" in out and f"已由第 {len(before) + 1} 条升级记录封存" in out
    # upgraded in place, after a backup beside it named with the old version
    assert raw(home.db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(schema.SCHEMA_VERSION),)]
    [backup] = home.db_path.parent.glob(f"station-schema{old_version}-before-upgrade-*.db")
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert raw(backup, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(old_version),)]
    assert raw(backup, OLD_DECISIONS) == before

    # every old entry is kept exactly as written: same columns, same hashes
    after = raw(home.db_path, OLD_DECISIONS + f" LIMIT {len(before)}")
    assert after == before
    # the seal follows them and the anomalies are what they were
    seal = raw(home.db_path, "SELECT action, anomaly_id, body FROM decisions WHERE seq = ?", (len(before) + 1,))
    assert seal[0][:2] == ("upgrade", None)
    assert json.loads(seal[0][2])["legacy"]["entries"] == len(before)
    assert raw(home.db_path, ANOMALIES) == anomalies_before

    # history: every decision on every anomaly, as recorded
    st = Station.open(home)
    for aid in sorted({r[1] for r in before}):
        mine = [r for r in before if r[1] == aid]
        h = history(st.conn, aid)
        assert [(e["seq"], aid, e["action"], e["reviewer"], e["note"], e["amount"], e["at"]) for e in h] \
            == [r[:7] for r in mine]
        assert all(e["legacy"] and e["anomaly_amount_text"] == NOT_RECORDED for e in h)
        code, out = cli(home, capsys, "history", str(aid))
        assert code == 0, out
        lines = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
        assert [int(x) for x in lines if x] == [r[0] for r in mine]
        assert "（旧版" in out.replace(" ", "") and "保存）" in out
    st.close()

    # the review-log export: every decision, with what was recorded then
    code, out = cli(home, capsys, "export", "review-log", "--format", "csv", "--out", str(tmp_path / "log.csv"))
    assert code == 0, out
    rows = csv_rows(tmp_path / "log.csv")
    body = {int(r[0]): r for r in rows[1:-1]}
    for seq, aid, action, reviewer, note, amount, at, *_ in before:
        r = body[seq]
        assert r[1] == at.replace("T", " ") and r[2] == reviewer and r[3] == str(aid)
        shown = mask_ids_in_text(note or "")
        assert r[10] in (shown, "'" + shown)                         # masked, formulas made inert
        assert r[12] == ("" if amount is None else f"{amount:.2f}")
        assert r[8] == NOT_RECORDED and r[11] == NOT_RECORDED       # name, amount involved: not kept then
    assert rows[-1][0].startswith(f"校验值：entries={len(before) + 1} ")


def test_the_same_anomalies_after_re_evaluation(old_home, capsys):
    home, made = old_home
    anomalies_before = raw(home.db_path, ANOMALIES)
    code, out = cli(home, capsys, "evaluate", "--as-of", made["as_of"])
    assert code == 0, out
    assert raw(home.db_path, ANOMALIES) == anomalies_before
    assert len({r[1] for r in anomalies_before}) == 16      # every rule of that release found some
    assert verify_chain(Station.open(home).conn).ok


def test_export_shows_old_entries_as_recorded_not_todays_values(old_home, tmp_path, capsys):
    home, _ = old_home
    st = Station.open(home)
    conn = st.conn                                   # upgrade + seal
    # today's values change (a later evaluation renames and re-prices): old rows do not follow
    conn.execute("UPDATE anomalies SET name = '今日姓名', amount = 99999.99 WHERE id = 1")
    code, out = cli(home, capsys, "export", "review-log", "--format", "csv", "--out", str(tmp_path / "log.csv"))
    assert code == 0
    text = (tmp_path / "log.csv").read_text("utf-8-sig")
    assert "今日姓名" not in text and "99999.99" not in text
    first = csv_rows(tmp_path / "log.csv")[1]
    assert first[4] == "死亡后继续领取待遇" and first[6] == "440303********9793"     # from the seal
    st.close()


def test_new_entries_record_what_was_decided_and_verify_checks_both_formats(old_home, capsys):
    home, _ = old_home
    st = Station.open(home)
    aid = raw(home.db_path, "SELECT id FROM anomalies WHERE rule = 'DEATH_DATE_CONFLICT'")[0][0]
    decide(st.conn, st.cfg, [aid], "take", "赵六")
    row = raw(home.db_path, "SELECT body FROM decisions ORDER BY seq DESC LIMIT 1")[0][0]
    body = json.loads(row)
    assert body["v"] == 2 and body["anomaly"]["rule"] == "DEATH_DATE_CONFLICT"
    assert body["anomaly"]["subject"] == "440303194601052646"
    code, out = cli(home, capsys, "verify")
    assert code == 0, out
    # tamper with an OLD entry: still caught, by its old-format hash
    st.conn.execute("DROP TRIGGER decisions_no_update")
    st.conn.execute("UPDATE decisions SET note = '改过' WHERE seq = 2")
    code, out = cli(home, capsys, "verify")
    assert code == 1 and "第 2 条" in out and "被改动" in out
    st.close()


def test_four_eyes_compares_old_names_normalised(old_home):
    """The old release stored 「张三\u200b」 as typed; the same person is refused the
    rectification of what they confirmed (threshold 5,000 in the fixture's office)."""
    home, made = old_home
    st = Station.open(home)
    st.cfg.review = dataclasses.replace(st.cfg.review, four_eyes=True,
                                        four_eyes_threshold=made["four_eyes_threshold"])
    aid = raw(home.db_path, "SELECT id FROM anomalies WHERE rule = 'PAYMENT_UNREGISTERED'")[0][0]
    assert raw(home.db_path, "SELECT reviewer FROM decisions WHERE anomaly_id = ? AND action = 'confirm'",
               (aid,)) == [("张三\u200b",)]
    with pytest.raises(ReviewError, match="另一名复核人"):
        decide(st.conn, st.cfg, [aid], "rectify", "张三", amount=8400)
    decide(st.conn, st.cfg, [aid], "rectify", "李四", amount=8400)
    assert verify_chain(st.conn).ok
    st.close()


def test_seal_is_written_once(old_home):
    home, _ = old_home
    for _ in range(2):
        st = Station.open(home)
        assert verify_chain(st.conn).ok
        st.close()
    assert raw(home.db_path, "SELECT count(*) FROM decisions WHERE action = 'upgrade'") == [(1,)]
    assert len(list(home.root.glob("station-schema3-before-upgrade-*.db"))) == 1


def test_failed_upgrade_leaves_the_register_untouched_and_says_so(old_home, monkeypatch, capsys):
    home, _ = old_home
    before = dump(home.db_path)
    real = schema._upgrade_decisions

    def half_then_fail(conn):
        real(conn)                                   # the rebuild is done…
        raise sqlite3.OperationalError("disk I/O error")   # …and then the disk fails

    monkeypatch.setattr(schema, "_upgrade_decisions", half_then_fail)
    with pytest.raises(RegisterError) as e:
        connect(home.db_path)
    msg = str(e.value)
    assert "升级" in msg and "未作任何改动" in msg and "版本 3" in msg
    assert dump(home.db_path) == before
    code, out = cli(home, capsys, "status")
    assert code != 0 and "未作任何改动" in out and "Traceback" not in out
    assert dump(home.db_path) == before
    monkeypatch.undo()
    conn = connect(home.db_path)                      # the cause gone, it upgrades
    assert schema.register_version(conn) == schema.SCHEMA_VERSION
    conn.close()


def test_a_register_from_a_newer_release_is_refused(tmp_path, capsys):
    home = Home(tmp_path / "home").ensure()
    conn = connect(home.db_path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(schema.SCHEMA_VERSION + 1),))
    conn.close()
    before = dump(home.db_path)
    with pytest.raises(schema.NewerRegisterError) as e:
        connect(home.db_path)
    assert "较新版本" in str(e.value) and "不会打开或降级" in str(e.value)
    code, out = cli(home, capsys, "verify")
    assert code == 2 and "较新版本" in out
    assert dump(home.db_path) == before
    assert not list(home.root.glob("station-schema*-before-upgrade-*.db"))


def test_version_and_register_version_are_shown(old_home, capsys):
    home, _ = old_home
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out
    code, out = cli(home, capsys, "status")
    assert code == 0
    assert f"程序版本：station {__version__}" in out
    assert f"登记库版本：{schema.SCHEMA_VERSION}" in out and "由版本 3 升级" in out
    assert "station-schema3-before-upgrade-" in out


def test_a_fresh_register_records_who_created_it(tmp_path):
    conn = connect(tmp_path / "station.db")
    info = schema.register_info(conn)
    assert info["schema_version"] == schema.SCHEMA_VERSION and info["created_by"] == __version__
    assert info["upgraded_from_schema"] is None
    assert not list(tmp_path.glob("station-schema*"))
    conn.close()


def test_old_entries_are_pinned_to_their_anomalies_by_the_seal(old_home, capsys):
    """Old entries did not name their subject; the seal did, so re-pointing or deleting an
    anomaly that only old entries are about is caught too."""
    home, _ = old_home
    open_and_seal(home)
    aid = raw(home.db_path, "SELECT id FROM anomalies WHERE rule = 'ENTERPRISE_UNREGISTERED' ORDER BY subject")[0][0]
    conn = sqlite3.connect(home.db_path, isolation_level=None)
    conn.execute("UPDATE anomalies SET subject = '91440300MA5FXXXX1K' WHERE id = ?", (aid,))
    conn.close()
    code, out = cli(home, capsys, "verify")
    assert code == 1 and f"疑点 #{aid} 的规则、对象或期间" in out
    conn = sqlite3.connect(home.db_path, isolation_level=None)
    conn.execute("DELETE FROM anomalies WHERE id = ?", (aid,))
    conn.close()
    code, out = cli(home, capsys, "verify")
    assert code == 1 and f"疑点 #{aid} 已从疑点表中删除" in out


def test_a_deleted_old_entry_is_caught_by_the_seal_even_with_meta_forged(old_home, capsys):
    home, _ = old_home
    open_and_seal(home)
    conn = sqlite3.connect(home.db_path, isolation_level=None)
    conn.execute("DROP TRIGGER decisions_no_delete")
    conn.execute("DELETE FROM decisions WHERE seq = 5")
    conn.close()
    code, out = cli(home, capsys, "verify")
    assert code == 1 and "第 5 条" in out


def test_an_upgrade_killed_half_way_leaves_the_old_register(old_home, tmp_path):
    """SIGKILL after the review log's table was rebuilt, before the commit: the next open
    finds the old register (nothing half-upgraded) and upgrades it."""
    import signal
    import subprocess
    import sys
    home, _ = old_home
    before = dump(home.db_path)
    child = tmp_path / "child.py"
    child.write_text(
        "import os, signal, sys\n"
        "from station.register import schema\n"
        "from station.register.db import connect\n"
        "real = schema._upgrade_decisions\n"
        "def die(conn):\n"
        "    real(conn)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "schema._upgrade_decisions = die\n"
        "connect(sys.argv[1])\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(child), str(home.db_path)], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert dump(home.db_path) == before
    assert raw(home.db_path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("3",)]
    conn = connect(home.db_path)
    assert schema.register_version(conn) == schema.SCHEMA_VERSION and verify_chain(conn).ok
    conn.close()
