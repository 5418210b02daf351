"""CENTENARIAN_CHECK 高龄领取待遇核查: a register person with 参保状态 退休 aged ``min_age``
or more at as_of (age from 出生日期, else from the ID)."""
from __future__ import annotations

import datetime as dt

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ...normalise import birth_date_from_id
from ._common import as_json

# A cheap text filter first (ISO dates sort); the exact age is checked in Python.
SQL = """
SELECT rowid, id_number, name, birth_date FROM persons
 WHERE status = '退休'
   AND coalesce(birth_date,
                CASE WHEN length(id_number) = 18 THEN substr(id_number, 7, 4) || '-' ||
                     substr(id_number, 11, 2) || '-' || substr(id_number, 13, 2) END) <= :cutoff
"""

PAYMENTS_SQL = """
SELECT id_number, rowid FROM (
    SELECT id_number, rowid, row_number() OVER (PARTITION BY id_number ORDER BY period DESC) AS k
      FROM payments WHERE id_number IN (SELECT value FROM json_each(?)))
 WHERE k <= 3 ORDER BY id_number, k
"""


def age_at(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def birthday_cutoff(on: dt.date, years: int) -> dt.date:
    """The latest birth date of someone aged ``years`` or more on ``on``."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:                     # 29 February in a non-leap year
        return on.replace(year=on.year - years, day=28)


def find(ctx: Context):
    conn = ctx.conn
    min_age = int(ctx.params["min_age"])
    rows = sorted(conn.execute(SQL, {"cutoff": birthday_cutoff(ctx.as_of, min_age).isoformat()}),
                  key=lambda r: r[1])
    hits = []
    for rid, id_number, name, birth in rows:
        if birth:
            born, source = dt.date.fromisoformat(birth), "出生日期"
        else:
            born, source = birth_date_from_id(id_number), "身份证号码"
        if born is not None and age_at(born, ctx.as_of) >= min_age:
            hits.append((rid, id_number, name, born, source))
    if not hits:
        return
    pays: dict[str, list[int]] = {}
    for id_number, prid in conn.execute(PAYMENTS_SQL, (as_json(h[1] for h in hits),)):
        pays.setdefault(id_number, []).append(prid)
    ev = Evidence(conn)
    ev.load("persons", [h[0] for h in hits])
    ev.load("payments", [i for ids in pays.values() for i in ids])
    for rid, id_number, name, born, source in hits:
        age = age_at(born, ctx.as_of)
        recent = ev.records("payments", pays.get(id_number, []))
        summary = (f"按{source}，{name}生于 {born.isoformat()}，到 {ctx.as_of.isoformat()} 已满 {age} 周岁，"
                   f"参保状态为退休" + ("，仍在领取待遇" if recent else "") + "。请核实本人是否健在。")
        yield Finding(subject=id_number, name=name, evidence=build(
            summary, [ev.record("persons", rid, "登记库参保人员")] + recent,
            birth_date=born.isoformat(), age=age, age_from=source))


register(Rule(
    id="CENTENARIAN_CHECK",
    title="高龄领取待遇核查",
    department="agency",
    kinds=frozenset({"persons", "payments"}),
    explanation=("此人已达高龄（默认 100 周岁及以上）仍在册领取养老待遇。高龄人员死亡未报、"
                 "家属冒领的风险较高。请通过入户走访、视频或人脸认证等方式核实本人是否健在。"),
    find=find,
    defaults={"min_age": 100},
    severity="low",
    per_id=True,
))
