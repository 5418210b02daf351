"""STUDENT_UNENROLLED 新生未参加居民医保: a new student whose 入学日期 is on or before
as_of − grace_days has no resident medical enrolment whose 参保年度 is the calendar year
of 入学日期 or later."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build, rowids
from ._common import as_json

SQL = """
SELECT s.id_number, group_concat(s.rowid), max(s.name),
       min(CAST(substr(s.enrol_date, 1, 4) AS INTEGER))
  FROM new_students AS s
 WHERE s.enrol_date <= :cutoff
   AND NOT EXISTS (SELECT 1 FROM resident_medical AS m
                    WHERE m.id_number = s.id_number
                      AND m.year >= CAST(substr(s.enrol_date, 1, 4) AS INTEGER))
 GROUP BY s.id_number
 ORDER BY s.id_number
"""

MEDICAL_SQL = """
SELECT id_number, rowid, year FROM resident_medical
 WHERE id_number IN (SELECT value FROM json_each(?)) ORDER BY id_number, year
"""


def find(ctx: Context):
    conn = ctx.conn
    rows = conn.execute(SQL, {"cutoff": ctx.cutoff()}).fetchall()
    if not rows:
        return
    medical: dict[str, list[tuple[int, int]]] = {}
    for id_number, rid, year in conn.execute(MEDICAL_SQL, (as_json(r[0] for r in rows),)):
        medical.setdefault(id_number, []).append((rid, year))
    ev = Evidence(conn)
    ev.load("new_students", [i for r in rows for i in rowids(r[1])])
    ev.load("resident_medical", [m[0] for ms in medical.values() for m in ms[:20]])
    for id_number, s_ids, name, year in rows:
        recs = [ev.record("new_students", i) for i in rowids(s_ids)]
        first = recs[0]["fields"]
        had = medical.get(id_number, [])
        years = "、".join(f"{y} 年度" for _, y in had)
        summary = (f"{first['入学日期']} 入学（{first['学校名称']}），已超过 {ctx.params['grace_days']} 天，"
                   f"没有 {year} 年度及以后的城乡居民医保参保记录"
                   + (f"（已有的参保记录：{years}）。" if had else "（没有任何居民医保参保记录）。"))
        recs += ev.records("resident_medical", [m[0] for m in had], limit=20)
        yield Finding(subject=id_number, name=name, evidence=build(
            summary, recs, required_year=year, enrolled_years=[y for _, y in had]))


register(Rule(
    id="STUDENT_UNENROLLED",
    title="新生未参加居民医保",
    department="education",
    kinds=frozenset({"new_students", "resident_medical"}),
    explanation=("教育部门报送的新生名册中有这名学生，但城乡居民医保中没有其入学当年或以后年度的参保记录。"
                 "请通过学校核实学生是否已在外地或以其他身份参保，未参保的督促其办理居民医保参保。"),
    find=find,
    defaults={"grace_days": 30},
    severity="low",
    per_id=True,
))
