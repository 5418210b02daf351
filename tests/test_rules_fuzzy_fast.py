"""DEATH_FUZZY_MATCH's fast neighbourhood search finds exactly what PROBE_SQL finds, in
the same order, and the rule's findings do not depend on which one ran."""
from __future__ import annotations

import json
import random

import pytest

from station.normalise import check_char
from station.register.db import connect, write_transaction
from station.rules.definitions import r04_death_fuzzy_match as fuzzy


def make_id(rnd: random.Random) -> str:
    body = f"44030{rnd.randrange(10)}19{rnd.randrange(30, 99)}0{rnd.randrange(1, 10)}1{rnd.randrange(10)}" \
           f"{rnd.randrange(1000):03d}"
    return body + check_char(body)


def mutate(rnd: random.Random, s: str) -> str:
    i = rnd.randrange(18)
    r = rnd.random()
    if r < 0.45:
        return s[:i] + rnd.choice("0123456789X") + s[i + 1:]
    if r < 0.8 and i < 17:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if r < 0.9:
        return s[:i] + rnd.choice("ABx?") + s[i + 1:]
    return s


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    rnd = random.Random(11)
    conn = connect(tmp_path_factory.mktemp("fz") / "s.db")
    persons = set()
    while len(persons) < 3000:
        pid = make_id(rnd)
        if rnd.random() < 0.15:                  # IDs that fail the check: typos, letters, X in the middle
            pid = mutate(rnd, pid)
        persons.add(pid)
    persons = sorted(persons)
    rows = []
    for n, pid in enumerate(persons):
        valid = int(fuzzy._checks(pid) and rnd.random() < 0.97)   # a few with a bad birth date
        status = rnd.choice(["退休", "参保缴费", "终止", "死亡", "暂停缴费"])
        rows.append((pid, pid, valid, f"人{n % 50}", status, 1, n + 2))
    with write_transaction(conn):
        conn.executemany("INSERT INTO persons (nk, id_number, id_number_valid, name, status, delivery_id, row_no)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    ids = set()
    while len(ids) < 1500:
        base = rnd.choice(persons)
        ids.add(mutate(rnd, mutate(rnd, base)) if rnd.random() < 0.2 else mutate(rnd, base))
    ids = sorted(i for i in ids if len(i) == 18)
    rnd.shuffle(ids)
    return conn, ids


def test_fast_probe_equals_probe_sql(register):
    conn, ids = register
    want = conn.execute(fuzzy.PROBE_SQL, {"ids": json.dumps(ids), "alphabet": json.dumps(list(fuzzy.ALPHABET))}
                        ).fetchall()
    got = fuzzy.fast_probe(conn, ids)
    assert len(want) > 300
    assert got == want


@pytest.mark.parametrize("id18", ["440303195501010011", "44030319550101001X", "111111111111111111",
                                  "4403031955010100A1", "44030319550101001x", "X40303195501010011"])
def test_checked_variants_are_the_variants_with_a_right_check_character(id18):
    got = sorted(v for _, _, v in fuzzy.checked_variants(id18))
    assert got == sorted(v for v in fuzzy.variants(id18) if fuzzy._checks(v))


def test_the_rule_gives_the_same_findings_either_way(loaded_station, monkeypatch):
    from station.rules.base import Context
    conn = loaded_station.conn
    ctx = Context(conn, __import__("datetime").date(2026, 11, 15), {}, {})
    fast = [(f.subject, f.evidence) for f in fuzzy.find(ctx)]
    monkeypatch.setattr(fuzzy, "fast_probe", lambda conn, ids: conn.execute(
        fuzzy.PROBE_SQL, {"ids": json.dumps(ids), "alphabet": json.dumps(list(fuzzy.ALPHABET))}).fetchall())
    slow = [(f.subject, f.evidence) for f in fuzzy.find(ctx)]
    assert slow and fast == slow
