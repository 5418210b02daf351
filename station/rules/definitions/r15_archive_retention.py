"""ARCHIVE_RETENTION 档案保管期限不符: a scan-index document whose 材料名称 is in ``retention``
and whose 保管期限 differs from it (an empty one differs). Subject: 档号#件号."""
from __future__ import annotations

import json

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ._common import as_json

# The seed's proposal (DOMAIN.md); rules.yaml ships the same map.
DEFAULT_RETENTION = {
    "参保登记表": "永久", "单位参保登记表": "永久", "参保变更登记表": "永久",
    "人员信息变更表": "长期", "个人账户对账单": "长期", "退休审批表": "长期", "待遇核定表": "长期",
    "医疗费用审核表": "长期", "工伤认定决定书": "长期",
    "稽核记录": "短期", "清算单": "短期", "死亡证明": "短期",
}

# One scan of scan_index (材料名称 has no index) with the small map as the inner side
# (CROSS JOIN fixes that order; SQLite builds an automatic index on the CTE).
SQL = """
WITH r(material, expected) AS MATERIALIZED (SELECT key, value FROM json_each(:retention))
SELECT s.rowid, s.file_no, s.item_no, s.subject, s.material, s.retention, r.expected
  FROM scan_index AS s
 CROSS JOIN r ON r.material = s.material
 WHERE s.retention IS NULL OR s.retention <> r.expected
"""

NAMES_SQL = """
SELECT id_number, name FROM persons WHERE id_number IN (SELECT value FROM json_each(:s))
UNION ALL
SELECT unit_no, unit_name FROM units WHERE unit_no IN (SELECT value FROM json_each(:s))
"""


def find(ctx: Context):
    conn = ctx.conn
    retention = {str(k): str(v) for k, v in (ctx.params["retention"] or {}).items()}
    if not retention:
        return
    rows = sorted(conn.execute(SQL, {"retention": json.dumps(retention, ensure_ascii=False)}),
                  key=lambda r: (r[1], r[2]))
    if not rows:
        return
    names = dict(conn.execute(NAMES_SQL, {"s": as_json({r[3] for r in rows})}).fetchall())
    ev = Evidence(conn)
    ev.load("scan_index", [r[0] for r in rows])
    for rid, file_no, item_no, subject, material, actual, expected in rows:
        summary = (f"档号 {file_no} 第 {item_no} 件「{material}」的保管期限"
                   + (f"为「{actual}」" if actual else "未填写")
                   + f"，按规定应为「{expected}」。")
        yield Finding(subject=f"{file_no}#{item_no}", name=names.get(subject), evidence=build(
            summary, [ev.record("scan_index", rid)], expected=expected, actual=actual,
            archive_subject=subject))


register(Rule(
    id="ARCHIVE_RETENTION",
    title="档案保管期限不符",
    department="archive",
    kinds=frozenset({"scan_index", "persons", "units"}),
    explanation=("档案扫描索引中这件材料的保管期限与规定不符（登记类材料永久，个人信息、账户、"
                 "审批和待遇类材料长期，稽核、清算和证明类材料短期）。"
                 "请档案室核对纸质档案的保管期限标注并更正。"),
    find=find,
    defaults={"retention": DEFAULT_RETENTION},
    severity="low",
))
