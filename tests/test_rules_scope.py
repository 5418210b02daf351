"""Re-evaluating only the IDs that small deliveries wrote (station.rules.scope) gives the
same anomalies, amounts, evidence and events as re-evaluating everything."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest

from station.demo.generate import generate_county
from station.home import Home
from station.services.station import Station

AS_OF = dt.date(2026, 11, 15)
HELD_BACK = ("agency/参保人员", "agency/残疾人参保补助", "agency/城乡居民医保参保", "public_security/",
             "civil_affairs/", "education/", "disability/")


def split_county(src, main, tails):
    """Everything into ``main``, except every 7th row of the ID-keyed files, which go
    into small tail files (one per source file)."""
    made = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = path.relative_to(src)
        lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        target = main / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not any(str(rel).startswith(h) for h in HELD_BACK):
            shutil.copyfile(path, target)
            continue
        head, body = lines[0], lines[1:]
        target.write_text(head + "".join(r for i, r in enumerate(body) if i % 7), encoding="utf-8")
        tail = tails / rel.parent / f"{rel.stem}_补报{rel.suffix}"
        tail.parent.mkdir(parents=True, exist_ok=True)
        tail.write_text(head + "".join(r for i, r in enumerate(body) if i % 7 == 0), encoding="utf-8")
        made.append(tail.relative_to(tails))
    return made


def _typo(pid: str, i: int = 9) -> str:
    return pid[:i] + str((int(pid[i]) + 3) % 10) + pid[i + 1:]


def state(st):
    anomalies = st.conn.execute(
        "SELECT rule, subject, period, department, severity, name, amount, evidence, data_status,"
        " review_status FROM anomalies ORDER BY rule, subject, period").fetchall()
    events = st.conn.execute(
        "SELECT a.rule, a.subject, a.period, e.event, e.detail FROM anomaly_events e"
        " JOIN anomalies a ON a.id = e.anomaly_id ORDER BY a.rule, a.subject, a.period, e.id").fetchall()
    return anomalies, events


def test_scoped_equals_full(tmp_path, monkeypatch):
    src = tmp_path / "county"
    generate_county(src, persons=2500, seed=9, messy=False, as_of=AS_OF)
    main, tails = tmp_path / "main", tmp_path / "tails"
    held = split_county(src, main, tails)
    assert len(held) >= 6
    # Later deliveries that change people already known: a status change, deaths of
    # pensioners who are being paid, a re-delivered death record with a new date.
    persons = next(main.glob("agency/参保人员*")).read_text(encoding="utf-8").splitlines()
    header, rows = persons[0], persons[1:]
    retirees = [r for r in rows if ",退休," in r][:50]
    extra = tmp_path / "extra"
    (extra / "agency").mkdir(parents=True)
    (extra / "agency" / "参保人员_状态变更.csv").write_text(
        header + "\n" + "\n".join(r.replace(",退休,", ",死亡,") for r in retirees[:10]) + "\n", encoding="utf-8")
    (extra / "public_security").mkdir()
    (extra / "public_security" / "死亡人员名单_补.csv").write_text(
        "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n" + "".join(
            f"{r.split(',')[0]},{r.split(',')[1]},{r.split(',')[2]},2026-0{1 + i % 8}-11,2026-09-30,死亡\n"
            for i, r in enumerate(retirees[10:40]))
        # one digit mistyped by the clerk: DEATH_FUZZY_MATCH, about another ID than written
        + "".join(f"{_typo(r.split(',')[0])},{r.split(',')[1]},男,2026-05-05,2026-05-20,死亡\n"
                  for r in retirees[40:50]), encoding="utf-8")
    # later, the same people again under another typo: their findings must show both records
    (extra / "public_security" / "死亡人员名单_补2.csv").write_text(
        "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n" + "".join(
            f"{_typo(r.split(',')[0], 12)},{r.split(',')[1]},男,2026-05-06,2026-06-01,死亡\n"
            for r in retirees[40:45])
        # and a letter where a digit was: no variant of the register ID has it
        + "".join(f"{r.split(',')[0][:12]}A{r.split(',')[0][13:]},{r.split(',')[1]},男,2026-05-07,2026-06-02,死亡\n"
                  for r in retirees[45:48]), encoding="utf-8")
    held += [p.relative_to(extra) for p in sorted(extra.rglob("*.csv"))]

    stations = []
    for name in ("scoped", "full"):
        home = Home(tmp_path / name).ensure()
        shutil.copytree(main, home.inbox, dirs_exist_ok=True)
        st = Station.open(home)
        st.ingest(as_of=AS_OF)
        stations.append(st)
    scoped, full = stations
    assert state(scoped) == state(full)

    calls = []
    real = Station._evaluate_logged

    def spy(self, as_of, kinds, through=None, ids=None):
        calls.append((self is scoped, ids is not None))
        return real(self, as_of, kinds, through, ids=ids if self is scoped else None)
    monkeypatch.setattr(Station, "_evaluate_logged", spy)
    for rel in held:
        for st in stations:
            source = (tails if (tails / rel).exists() else extra) / rel
            dest = st.home.inbox / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            [r] = st.ingest([dest], as_of=AS_OF).results
            assert r.status == "applied", r.reason
        assert state(scoped) == state(full), rel
    assert (True, True) in calls                       # the scoped path really ran
    a, e = state(scoped)
    assert {x[8] for x in a} == {"open", "cleared"}    # deliveries both raised and cleared anomalies


def test_a_new_day_evaluates_whole_before_scoping(tmp_path):
    """Findings depend on the day too: on the first delivery of a new day the rules are
    run whole, so a pensioner who turned 100 since yesterday is found even though the
    delivery is about someone else; later that day small deliveries are scoped again."""
    from test_rules_support import anomalies, deliver, make_id, person

    st = Station.open(Home(tmp_path / "h").ensure())
    old = make_id("19261120", 1)                      # 100 on 2026-11-20
    other = make_id("19500101", 2)
    day1, day2 = dt.date(2026, 11, 15), dt.date(2026, 11, 25)
    deliver(st, "persons", [person(old, "甲", birth="1926-11-20"), person(other, "乙")], as_of=day1)
    assert old not in anomalies(st, "CENTENARIAN_CHECK")

    newer = make_id("19270101", 3)                    # not 100 yet on day 2
    deliver(st, "persons", [person(other, "乙"), person(newer, "丙", birth="1927-01-01")], as_of=day2)
    assert old in {s for s, _ in anomalies(st, "CENTENARIAN_CHECK")}

    # The same day again: only the delivery's IDs are re-evaluated (the whole-run day is
    # recorded), and the earlier finding stays.
    import station.rules.engine as engine
    seen = []
    real = engine.id_scope

    def spy(conn, ids, kinds=None):
        seen.append(set(ids))
        return real(conn, ids, kinds)
    engine.id_scope = spy
    try:
        deliver(st, "persons", [person(other, "乙")], as_of=day2)
    finally:
        engine.id_scope = real
    assert seen == [{other}]
    assert old in {s for s, _ in anomalies(st, "CENTENARIAN_CHECK")}
