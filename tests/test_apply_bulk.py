"""RowWriter's bulk paths (drop and rebuild the indexes of an empty table; plain inserts
in savepoints into a table with rows) leave exactly what row-by-row upserts leave."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from station.kinds.spec import KINDS
from station.register.apply import BATCH, RowWriter, upsert_sql
from station.register.db import connect, write_transaction
from station.kinds.spec import kind_columns

SPEC = KINDS["persons"]


def person(i: int, name: str = "", version: int = 0) -> list:
    cols = list(kind_columns(SPEC))
    row = dict.fromkeys(cols)
    row.update(nk=f"ID{i:06d}", id_number=f"ID{i:06d}", id_number_valid=1,
               name=name or f"人{i}", status="退休", monthly_pension=1000.0 + version)
    return [row[c] for c in cols]


def apply(conn, rows, delivery_id=1):
    with write_transaction(conn):
        w = RowWriter(conn, SPEC, delivery_id)
        for n, r in enumerate(rows, 2):
            w.add(n, list(r))
        w.finish()
    return w


def reference(path, deliveries):
    """The same deliveries applied one upsert at a time."""
    conn = connect(path)
    sql = upsert_sql(SPEC)
    for d, rows in enumerate(deliveries, 1):
        with write_transaction(conn):
            for n, r in enumerate(rows, 2):
                r = list(r)
                r[-2], r[-1] = d, n
                conn.execute(sql, r)
    return conn


def state(conn):
    rows = conn.execute("SELECT rowid, * FROM persons ORDER BY rowid").fetchall()
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'persons'"
                           " AND type = 'index' ORDER BY name").fetchall()
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return rows, indexes


@pytest.mark.parametrize("deliveries", [
    # into an empty table, keys unique
    [[person(i) for i in range(12000)]],
    # into an empty table, a key repeated within the file (first rowid, last values)
    [[person(1), person(2), person(1, version=1), person(3), person(1, version=2), person(2, "改名")]],
    # then a file with new keys only, then one that repeats old ones (upserts from there on)
    [[person(i) for i in range(100)], [person(i) for i in range(100, 7000)],
     [person(i) for i in range(6900, 6900 + BATCH + 50)] + [person(5, version=9)]],
    # a first batch of new keys, a conflict only in the second batch
    [[person(i) for i in range(10)], [person(i) for i in range(10, 10 + BATCH)] + [person(3, version=4)]
     + [person(i) for i in range(20000, 20010)]],
])
def test_same_register_as_row_by_row_upserts(tmp_path, deliveries):
    conn = connect(tmp_path / "bulk.db")
    for d, rows in enumerate(deliveries, 1):
        apply(conn, rows, d)
    ref = reference(tmp_path / "ref.db", deliveries)
    assert state(conn) == state(ref)
    assert conn.execute("PRAGMA cache_size").fetchone() == ref.execute("PRAGMA cache_size").fetchone()


def test_the_indexes_are_used_again_after_a_bulk_load(tmp_path):
    conn = connect(tmp_path / "s.db")
    apply(conn, [person(i) for i in range(3000)])
    plan = " ".join(r[3] for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM persons WHERE id_number = 'ID000007'"))
    assert "USING INDEX idx_persons_id_number" in plan


def test_an_error_mid_file_leaves_table_and_indexes_as_before(tmp_path):
    conn = connect(tmp_path / "s.db")
    before = state(conn)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with write_transaction(conn):
            w = RowWriter(conn, SPEC, 1)
            for i in range(3 * BATCH):
                w.add(i + 2, person(i))
            raise Boom
    assert state(conn) == before
    apply(conn, [person(1)])
    with pytest.raises(Boom):                  # the savepoint path, into a table with rows
        with write_transaction(conn):
            w = RowWriter(conn, SPEC, 2)
            for i in range(3 * BATCH):
                w.add(i + 2, person(i + 10))
            raise Boom
    assert conn.execute("SELECT count(*) FROM persons").fetchone() == (1,)


def test_sigkill_while_indexes_are_dropped(tmp_path):
    """Killed while an empty table's indexes are dropped: after restart the schema is whole."""
    from test_crash import make_persons
    home = tmp_path / "h"
    (home / "inbox" / "agency").mkdir(parents=True)
    make_persons(home / "inbox" / "agency" / "p.csv", rows=150_000)
    connect(tmp_path / "fresh.db").close()
    fresh = sqlite3.connect(tmp_path / "fresh.db")
    schema = fresh.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    proc = subprocess.Popen([sys.executable, "-m", "station", "--home", str(home), "ingest", "--no-evaluate"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wal = home / "station.db-wal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not wal.exists() or wal.stat().st_size < 2_000_000):
        assert proc.poll() is None, "ingest finished before it could be killed"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    conn = sqlite3.connect(home / "station.db")
    assert conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
    assert conn.execute("SELECT count(*) FROM persons").fetchone() == (0,)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_version_2_register_loses_the_unread_indexes(tmp_path):
    path = tmp_path / "old.db"
    conn = connect(path)
    conn.execute("CREATE INDEX idx_persons_delivery_id ON persons (delivery_id)")
    conn.execute("CREATE INDEX idx_payments_period ON payments (period)")
    conn.execute("DROP INDEX persons_unchecked_id")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    conn = connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "idx_persons_delivery_id" not in names and "idx_payments_period" not in names
    assert "persons_unchecked_id" in names and "idx_payments_id_number_period" in names


def apply_deferred(conn, rows, delivery_id):
    with write_transaction(conn):
        w = RowWriter(conn, SPEC, delivery_id, defer=True)
        for n, r in enumerate(rows, 2):
            w.add(n, list(r))
        w.finish()


def test_deferred_indexes_are_built_once_after_the_run(tmp_path):
    from station.register.apply import build_deferred_indexes, deferred_indexes
    conn = connect(tmp_path / "d.db")
    first = [person(i) for i in range(8000)]
    second = [person(i) for i in range(7990, 9000)] + [person(3, version=7)]
    apply_deferred(conn, first, 1)
    assert set(deferred_indexes(conn)) == {"idx_persons_id_number", "idx_persons_status", "idx_persons_name",
                                           "persons_unchecked_id"}
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'persons'")}
    assert "idx_persons_nk" in names and "idx_persons_id_number" not in names
    apply_deferred(conn, second, 2)              # upserts need only the natural-key index
    assert build_deferred_indexes(conn)
    assert deferred_indexes(conn) == {}
    assert build_deferred_indexes(conn) == []
    ref = reference(tmp_path / "ref.db", [first, second])
    assert state(conn) == state(ref)


def test_an_evaluation_builds_what_an_interrupted_run_deferred(tmp_path):
    from station.config import load_config
    from station.register.apply import deferred_indexes
    from station.rules.engine import evaluate
    conn = connect(tmp_path / "d.db")
    apply_deferred(conn, [person(i) for i in range(500)], 1)
    conn.close()                                 # killed before the run ended
    conn = connect(tmp_path / "d.db")
    assert deferred_indexes(conn)
    evaluate(conn, load_config(None))
    assert deferred_indexes(conn) == {}
    assert state(conn)[1] == state(reference(tmp_path / "ref.db", [[person(1)]]))[1]


def test_ingest_run_equals_file_by_file(tmp_path):
    """Files of one kind applied in one run (indexes deferred) or one run each."""
    from station.home import Home
    from station.services.station import Station
    from test_crash import make_persons
    homes = []
    for name in ("together", "apart"):
        home = Home(tmp_path / name).ensure()
        homes.append(home)
    src = tmp_path / "p.csv"
    make_persons(src, rows=3000)
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    parts = [lines[0] + "".join(lines[1:2000]), lines[0] + "".join(lines[1500:])]
    for home in homes:
        for k, text in enumerate(parts):
            (home.inbox / "agency" / f"p{k}.csv").write_text(text, encoding="utf-8")
    st = Station.open(homes[0])
    st.ingest(evaluate=False)
    together = state(st.conn)
    st = Station.open(homes[1])
    for path in sorted((homes[1].inbox / "agency").glob("p*.csv")):
        st.ingest([path], evaluate=False)
    assert together == state(st.conn)
    assert len(together[0]) == 3000
