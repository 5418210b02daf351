"""STUDENT_UNENROLLED."""
from __future__ import annotations

from test_rules_support import delivered_empty, anomalies, deliver, events, make_id, subjects

S1 = make_id("20180107", 1)
S2 = make_id("20180108", 2)
S3 = make_id("20180109", 3)
S4 = make_id("20180110", 4)


def test_students_without_an_enrolment_for_the_year_of_entry_or_later(station):
    deliver(station, "resident_medical", [f"{S1},甲,2026,学生,2026-09-13",
                                          f"{S2},乙,2027,学生,2026-09-13",
                                          f"{S3},丙,2025,学生,2025-09-13"])
    deliver(station, "new_students", [f"{S1},甲,一小,一年级,2026-09-01",    # same year: ok
                                      f"{S2},乙,一小,一年级,2026-09-01",    # later year: ok
                                      f"{S3},丙,一小,一年级,2026-09-01",    # earlier year only
                                      f"{S4},丁,一小,一年级,2026-09-01"])   # nothing
    assert subjects(station, "STUDENT_UNENROLLED") == {S3, S4}


def test_inside_the_grace_period(station):
    delivered_empty(station, "resident_medical")
    deliver(station, "new_students", [f"{S1},甲,一小,一年级,2026-10-16",    # as_of − 30
                                      f"{S2},乙,一小,一年级,2026-10-17"])
    assert subjects(station, "STUDENT_UNENROLLED") == {S1}


def test_clears_when_the_enrolment_arrives(station):
    delivered_empty(station, "resident_medical")
    deliver(station, "new_students", [f"{S1},甲,一小,一年级,2026-09-01"])
    aid = anomalies(station, "STUDENT_UNENROLLED")[(S1, None)]["id"]
    deliver(station, "resident_medical", [f"{S1},甲,2026年度,学生,2026-11-01"])
    assert anomalies(station, "STUDENT_UNENROLLED") == {}
    assert events(station, aid) == ["found", "cleared"]
