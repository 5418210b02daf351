"""A large CSV mapped in a second process (station.inbox.worker) leaves exactly what
mapping in process leaves: the same rows, rejected rows, counts and reasons."""
from __future__ import annotations

import shutil

import pytest

from station.demo.generate import generate_county
from station.home import Home
from station.inbox import pipeline
from station.register.db import StorageError
from station.services.station import Station


def register_state(st):
    conn = st.conn
    tables = [r[0] for r in conn.execute("SELECT DISTINCT kind FROM deliveries WHERE kind IS NOT NULL")]
    rows = {t: conn.execute(f"SELECT rowid, * FROM [{t}] ORDER BY rowid").fetchall() for t in tables}
    ledger = conn.execute("SELECT original_name, kind, status, rows_total, rows_applied, rows_rejected,"
                          " rows_skipped, reason FROM deliveries ORDER BY id").fetchall()
    rejected = conn.execute("SELECT d.original_name, r.row_no, r.reason, r.raw FROM rejected_rows r"
                            " JOIN deliveries d ON d.id = r.delivery_id ORDER BY r.id").fetchall()
    return rows, ledger, rejected


def ingest_both(tmp_path, monkeypatch, fill):
    states = []
    for name, threshold in (("worker", 0), ("here", 1 << 62)):
        home = Home(tmp_path / name).ensure()
        fill(home.inbox)
        monkeypatch.setattr(pipeline, "WORKER_MIN_BYTES", threshold)
        monkeypatch.setattr(pipeline, "spare_core", lambda: True)
        st = Station.open(home)
        report = st.ingest(evaluate=False)
        states.append((register_state(st), [(r.name, r.status, r.reason, r.rows_applied) for r in report.results]))
        st.close()
    return states


def test_messy_county_same_either_way(tmp_path, monkeypatch):
    src = tmp_path / "src"
    generate_county(src, persons=800, seed=4, messy=True)
    worker, here = ingest_both(tmp_path, monkeypatch, lambda inbox: shutil.copytree(src, inbox, dirs_exist_ok=True))
    assert worker == here
    assert any(row[5] for row in here[0][1])                 # some rows were rejected
    assert sum(1 for r in here[1] if r[1] == "applied") > 10


def test_a_file_unreadable_half_way_is_rejected_with_the_same_reason(tmp_path, monkeypatch):
    data = "\ufeff公民身份号码,姓名,参保状态\n".encode() + "440303196106231371,张三,退休\n".encode() * 120_000 + b"\xff\n"

    def fill(inbox):
        (inbox / "agency" / "p.csv").write_bytes(data)
    worker, here = ingest_both(tmp_path, monkeypatch, fill)
    assert worker == here
    [(name, status, reason, applied)] = here[1]
    assert status == "rejected" and "无法识别的字符" in reason
    assert here[0][0].get("persons", []) == []


def roster_for_the_worker(tmp_path, monkeypatch, rows: int):
    """A station whose inbox holds a roster of ``rows`` rows that will go to the worker."""
    monkeypatch.setattr(pipeline, "WORKER_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "spare_core", lambda: True)
    home = Home(tmp_path / "h").ensure()
    (home.inbox / "agency" / "p.csv").write_text(
        "公民身份号码,姓名,参保状态\n" + "440303196106231371,张三,退休\n" * rows, encoding="utf-8")
    return Station.open(home), home


def test_a_worker_killed_from_outside_leaves_the_file_in_the_inbox(tmp_path, monkeypatch):
    import os
    import signal

    real = pipeline.mapped_batches

    def killed(*args, **kwargs):
        it = real(*args, **kwargs)
        yield next(it)
        for child in __import__("multiprocessing").active_children():
            if child.name == "station-map":
                os.kill(child.pid, signal.SIGKILL)
        yield from it
    monkeypatch.setattr(pipeline, "mapped_batches", killed)
    st, home = roster_for_the_worker(tmp_path, monkeypatch, 200_000)
    with pytest.raises(StorageError) as e:
        st.ingest(evaluate=False)
    assert "读取进程意外退出" in str(e.value) and "未保存任何内容" in str(e.value)
    assert (home.inbox / "agency" / "p.csv").exists()
    assert st.conn.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    assert st.conn.execute("SELECT count(*) FROM persons").fetchone() == (0,)


def test_a_worker_that_cannot_start_means_mapping_here(tmp_path, monkeypatch, caplog):
    import os

    from station.inbox import worker
    # The child runs os._exit with the wrong arguments: it dies before its first batch.
    monkeypatch.setattr(worker, "_work", os._exit)
    st, _ = roster_for_the_worker(tmp_path, monkeypatch, 3000)
    with caplog.at_level("WARNING", logger="station"):
        [r] = st.ingest(evaluate=False).results
    assert r.status == "applied" and r.rows_applied == 3000
    assert st.conn.execute("SELECT count(*) FROM persons").fetchone() == (1,)
    assert any("mapping in this process" in m for m in caplog.messages)


def _dies_in_the_middle_of_a_message(sender, *args):
    """A child that announces a message of 1000 bytes, sends 10 of them and dies: what
    the caller sees when the child is killed while sending a batch."""
    import os
    import struct
    os.write(sender.fileno(), struct.pack("!i", 1000) + b"x" * 10)
    os._exit(9)


def test_a_worker_that_dies_in_the_middle_of_a_message_is_a_worker_that_died(tmp_path, monkeypatch, caplog):
    from station.inbox import worker
    monkeypatch.setattr(worker, "_work", _dies_in_the_middle_of_a_message)
    st, _ = roster_for_the_worker(tmp_path, monkeypatch, 3000)
    with caplog.at_level("WARNING", logger="station"):
        [r] = st.ingest(evaluate=False).results
    # Before its first batch, so the file is mapped here instead and nothing is lost.
    assert r.status == "applied" and r.rows_applied == 3000
    assert any("mapping in this process" in m for m in caplog.messages)


def test_the_collector_runs_less_often_only_while_a_file_is_applied(tmp_path, monkeypatch):
    import gc

    from station.inbox import worker
    seen = []
    home = Home(tmp_path / "h").ensure()
    (home.inbox / "agency" / "p.csv").write_text(
        "公民身份号码,姓名,参保状态\n" + "440303196106231371,张三,退休\n" * 50_000, encoding="utf-8")
    st = Station.open(home)
    before = gc.get_threshold()
    [r] = st.ingest(evaluate=False, on_progress=lambda name, rows: seen.append(gc.get_threshold()[0])).results
    assert r.status == "applied"
    assert seen and set(seen) == {worker.BULK_GC_THRESHOLD}
    assert gc.get_threshold() == before
