"""RETIREE_NO_APPROVAL 新增退休人员无审批材料: a register person with 参保状态 退休 and
退休日期 on or after ``since`` has no scan-index document with their ID as 档案对象 and a
材料名称 in ``required_documents``."""
from __future__ import annotations

import datetime as dt

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._common import as_json

SQL = """
SELECT p.rowid, p.id_number, p.name, p.retire_date
  FROM persons AS p
 WHERE p.status = '退休' AND p.retire_date >= :since
   AND NOT EXISTS (SELECT 1 FROM scan_index AS s
                    WHERE s.subject = p.id_number
                      AND s.material IN (SELECT value FROM json_each(:docs)))
"""

DOCS_SQL = """
SELECT subject, rowid FROM scan_index
 WHERE subject IN (SELECT value FROM json_each(?)) ORDER BY subject, file_no, item_no
"""


def find(ctx: Context):
    conn = ctx.conn
    docs = [str(d) for d in ctx.params["required_documents"]]
    rows = sorted(conn.execute(SQL, {"since": ctx.params["since"].isoformat(),
                                     "docs": as_json(docs)}), key=lambda r: r[1])
    if not rows:
        return
    have: dict[str, list[int]] = {}
    for subject, rid in conn.execute(DOCS_SQL, (as_json(r[1] for r in rows),)):
        have.setdefault(subject, []).append(rid)
    ev = Evidence(conn)
    ev.load("persons", [r[0] for r in rows])
    ev.load("scan_index", [i for ids in have.values() for i in ids[:20]])
    for rid, id_number, name, retire_date in rows:
        scans = ev.records("scan_index", have.get(id_number, []), limit=20)
        present = "、".join(dict.fromkeys(s["fields"]["材料名称"] for s in scans))
        summary = (f"{name}于 {retire_date} 退休，档案扫描索引中没有其{'或'.join(docs)}"
                   + (f"（已扫描的材料：{present}）。" if scans else "（没有任何扫描材料）。"))
        yield Finding(subject=id_number, name=name, evidence=build(
            summary, [ev.record("persons", rid, "登记库参保人员")] + scans,
            required_documents=docs, retire_date=retire_date))


register(Rule(
    id="RETIREE_NO_APPROVAL",
    title="新增退休人员无审批材料",
    department="archive",
    kinds=frozenset({"persons", "scan_index"}),
    explanation=("此人近期办理了退休，但档案扫描索引中找不到其退休审批材料。"
                 "没有审批材料的退休可能是违规办理。请调阅纸质档案核实退休审批手续，"
                 "材料齐全的督促档案室补扫，缺失的查明原因。"),
    find=find,
    defaults={"since": dt.date(2025, 1, 1), "required_documents": ["退休审批表"]},
    severity="medium",
    per_id=True,
))
