"""The person-view query behind the 人员 screen: everything about one ID, and search."""
from __future__ import annotations

from station.register.person import looks_like_id, person_view, search_persons

DEAD = "440303193501279793"         # 邹淑英: register, payments, death records, anomalies


def test_person_view_gathers_every_source(loaded_station):
    view = person_view(loaded_station.conn, DEAD)
    assert view["found"] and view["id"] == DEAD
    assert view["register"]["name"] == "邹淑英" and view["register"]["status"]
    assert view["register"]["file"]                          # where the record came from
    periods = [p["period"] for p in view["payments_by_month"]]
    assert periods == sorted(periods, reverse=True) and len(periods) >= 7
    assert sum(p["count"] for p in view["payments_by_month"]) == len(view["payments"]["rows"])
    kinds = {s["kind"] for s in view["partner"]}
    assert "household_deaths" in kinds
    assert {a["rule"] for a in view["anomalies"]} >= {"DEATH_PAID", "DEATH_NOT_STOPPED"}
    assert view["decisions"] == []


def test_person_view_includes_decisions_and_documents(loaded_station):
    from station.review.log import decide
    conn = loaded_station.conn
    aid = conn.execute("SELECT id FROM anomalies WHERE rule = 'DEATH_PAID' AND subject = ?",
                       (DEAD,)).fetchone()[0]
    decide(conn, loaded_station.cfg, [aid], "take", "张三")
    view = person_view(conn, DEAD)
    assert [(d["action"], d["reviewer"]) for d in view["decisions"]] == [("take", "张三")]
    # someone with scanned documents
    subject = conn.execute("SELECT subject FROM scan_index WHERE length(subject) = 18 LIMIT 1").fetchone()[0]
    assert person_view(conn, subject)["documents"]["rows"]


def test_unknown_id_is_not_found(loaded_station):
    view = person_view(loaded_station.conn, "110101190001010000")
    assert not view["found"] and view["register"] is None


def test_search_by_id_prefix_and_name(loaded_station):
    conn = loaded_station.conn
    hits = search_persons(conn, DEAD)
    assert [h["id_number"] for h in hits] == [DEAD] and hits[0]["in_register"]
    assert DEAD in {h["id_number"] for h in search_persons(conn, DEAD[:14])}
    assert DEAD in {h["id_number"] for h in search_persons(conn, " 邹淑英 ")}
    assert DEAD in {h["id_number"] for h in search_persons(conn, "邹淑")}      # register name prefix
    assert search_persons(conn, "") == []
    assert search_persons(conn, "没有这个人") == []


def test_search_finds_people_outside_the_register(loaded_station):
    conn = loaded_station.conn
    outside = conn.execute("SELECT id_number, name FROM household_deaths WHERE id_number NOT IN"
                           " (SELECT id_number FROM persons) LIMIT 1").fetchone()
    if outside:
        hits = search_persons(conn, outside[1])
        match = [h for h in hits if h["id_number"] == outside[0]]
        assert match and not match[0]["in_register"] and "户籍注销人员" in match[0]["sources"]


def test_looks_like_id():
    assert looks_like_id("44030319350127979x".upper())
    assert looks_like_id("４４０３０３")                   # full-width digits fold
    assert not looks_like_id("张三")
