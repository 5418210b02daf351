"""`station decide` and `station history`: selection, confirmation, reviewer, errors."""
from __future__ import annotations

import io

import pytest

from station.cli import main
from station.register.db import connect
from test_review_helpers import add_anomaly, make_home


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path, four_eyes=True, threshold=10000)


@pytest.fixture
def conn(home):
    c = connect(home.db_path)
    add_anomaly(c, id=1, rule="DEATH_PAID", subject="420105198001010001", amount=20000)
    add_anomaly(c, id=2, rule="DEATH_PAID", subject="420105198001010002", amount=500)
    add_anomaly(c, id=3, rule="INVALID_ID", subject="420105198001010003", department="agency")
    add_anomaly(c, id=4, rule="DEATH_PAID", subject="420105198001010004", data_status="cleared")
    yield c
    c.close()


def run(home, capsys, *args):
    code = main(["--home", str(home.root), *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def states(conn):
    return dict(conn.execute("SELECT id, review_status FROM anomalies").fetchall())


def count(conn):
    return conn.execute("SELECT count(*) FROM decisions").fetchone()[0]


def test_decide_by_ids(home, conn, capsys):
    code, out = run(home, capsys, "decide", "1", "2", "--action", "take", "--reviewer", "张三")
    assert code == 0
    assert "已记录 2 条决定（复核日志第 1–2 条）" in out and "#1、#2" in out and "「核查中」" in out
    assert "校验值：entries=2 head=" in out
    assert states(conn)[1] == states(conn)[2] == "in_review"


def test_reviewer_from_environment_or_error(home, conn, capsys, monkeypatch):
    monkeypatch.delenv("STATION_REVIEWER", raising=False)
    code, out = run(home, capsys, "decide", "1", "--action", "take")
    assert code == 2 and "没有指定复核人" in out and "STATION_REVIEWER" in out
    monkeypatch.setenv("STATION_REVIEWER", "李四")
    code, out = run(home, capsys, "decide", "1", "--action", "take")
    assert code == 0 and "李四「开始核查」" in out
    assert conn.execute("SELECT reviewer FROM decisions").fetchone()[0] == "李四"


def test_review_errors_are_reported_in_chinese(home, conn, capsys):
    code, out = run(home, capsys, "decide", "1", "--action", "dismiss", "--reviewer", "张三")
    assert code == 2 and out.startswith("错误：排除疑点必须写明理由")
    code, out = run(home, capsys, "decide", "4", "--action", "take", "--reviewer", "张三")
    assert code == 2 and "已因数据变化消除" in out and "--cleared" in out
    code, out = run(home, capsys, "decide", "4", "--action", "take", "--reviewer", "张三", "--cleared")
    assert code == 0


def test_four_eyes_through_the_cli(home, conn, capsys):
    run(home, capsys, "decide", "1", "--action", "confirm", "--reviewer", "张三", "--note", "属实")
    code, out = run(home, capsys, "decide", "1", "--action", "rectify", "--amount", "20000",
                    "--reviewer", "张三")
    assert code == 2 and "由「张三」确认违规" in out and "20,000.00" in out
    code, out = run(home, capsys, "decide", "1", "--action", "rectify", "--amount", "20000",
                    "--reviewer", "李四")
    assert code == 0 and "「已整改」" in out


def test_filter_with_yes(home, conn, capsys):
    code, out = run(home, capsys, "decide", "--rule", "death_paid", "--action", "take",
                    "--reviewer", "张三", "--yes")
    assert code == 0 and "已记录 2 条决定" in out          # #4 is cleared by data: not selected
    assert states(conn) == {1: "in_review", 2: "in_review", 3: "new", 4: "new"}
    code, out = run(home, capsys, "decide", "--status", "核查中", "--action", "confirm",
                    "--reviewer", "张三", "--yes")
    assert code == 0 and states(conn)[1] == "confirmed"


def test_filter_without_stdin_refuses(home, conn, capsys):
    # pytest's captured stdin cannot be read: like a script with no terminal.
    code, out = run(home, capsys, "decide", "--rule", "DEATH_PAID", "--action", "take", "--reviewer", "张三")
    assert code == 2
    assert "将对 2 条疑点" in out and "确认？[y/N]" in out and "--yes" in out
    assert count(conn) == 0


def test_filter_confirmation_prompt(home, conn, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out = run(home, capsys, "decide", "--rule", "DEATH_PAID", "--action", "take", "--reviewer", "张三")
    assert code == 1 and "已取消" in out and count(conn) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out = run(home, capsys, "decide", "--rule", "DEATH_PAID", "--action", "take", "--reviewer", "张三")
    assert code == 2 and count(conn) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    code, out = run(home, capsys, "decide", "--rule", "DEATH_PAID", "--action", "take", "--reviewer", "张三")
    assert code == 0 and count(conn) == 2


def test_bulk_filter_is_all_or_nothing(home, conn, capsys):
    run(home, capsys, "decide", "2", "--action", "dismiss", "--note", "误报", "--reviewer", "张三")
    code, out = run(home, capsys, "decide", "--rule", "DEATH_PAID", "--action", "take",
                    "--reviewer", "张三", "--yes")
    assert code == 2 and "#2" in out and "没有记录任何决定" in out
    assert count(conn) == 1 and states(conn)[1] == "new"


def test_selection_errors(home, conn, capsys):
    code, out = run(home, capsys, "decide", "--action", "take", "--reviewer", "张三")
    assert code == 2 and "没有选择疑点" in out
    code, out = run(home, capsys, "decide", "1", "--rule", "DEATH_PAID", "--action", "take", "--reviewer", "张三")
    assert code == 2 and "只用一种方式" in out
    code, out = run(home, capsys, "decide", "--status", "whatever", "--action", "take", "--reviewer", "张三")
    assert code == 2 and "未知的复核状态「whatever」" in out
    code, out = run(home, capsys, "decide", "--rule", "NO_SUCH_RULE", "--action", "take",
                    "--reviewer", "张三", "--yes")
    assert code == 2 and "未知的规则「NO_SUCH_RULE」" in out
    code, out = run(home, capsys, "decide", "--rule", "CENTENARIAN_CHECK", "--action", "take",
                    "--reviewer", "张三", "--yes")
    assert code == 2 and "没有符合条件" in out


def test_history(home, conn, capsys):
    run(home, capsys, "decide", "3", "--action", "take", "--reviewer", "张三")
    run(home, capsys, "decide", "3", "--action", "dismiss", "--note", "号码已更正", "--reviewer", "李四")
    code, out = run(home, capsys, "history", "3")
    assert code == 0
    assert "疑点 #3" in out and "420105********0003" in out and "420105198001010003" not in out
    assert "开始核查" in out and "号码已更正" in out and "李四" in out
    code, out = run(home, capsys, "history", "99")
    assert code == 2 and "疑点 #99 不存在" in out
