"""INVALID_ID 身份证号码无效: a register person whose ID fails GB 11643 (length,
characters, province, birth date, check character) — the ``id_number_valid`` flag that the
normaliser stored with the ID."""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..evidence import Evidence, build
from ...normalise import birth_date_from_id, check_char, id_region_known

# No ORDER BY: sorting by the indexed ID would make the planner walk the ID index and
# read every row through it, ten times slower than one scan.
SQL = """
SELECT rowid, id_number, name FROM persons
 WHERE id_number_valid = 0 OR id_number_valid IS NULL
"""


def problems(s: str) -> list[str]:
    """Why ``s`` fails GB 11643, in words a clerk can act on."""
    out = []
    if len(s) != 18:
        out.append(f"长度为 {len(s)} 位，应为 18 位")
    if not (s[:17].isascii() and s[:17].isdigit()) or (len(s) >= 18 and s[17] not in "0123456789X"):
        out.append("含有数字和末位 X 以外的字符")
    if len(s) == 18 and not out:
        region_ok = id_region_known(s)
        if not region_ok:
            out.append(f"前两位「{s[:2]}」不是省级行政区划代码")
        born = birth_date_from_id(s)
        if born is None:
            out.append(f"出生日期部分「{s[6:14]}」不是有效日期")
        expected = check_char(s[:17])
        if expected != s[17]:
            out.append(f"校验位应为「{expected}」，实为「{s[17]}」")
        if born is not None and expected == s[17] and region_ok:
            out.append(f"出生日期部分「{s[6:14]}」不在合理范围内")
    return out or ["不符合 GB 11643 编码规则"]


def find(ctx: Context):
    rows = sorted(ctx.conn.execute(SQL), key=lambda r: r[1])
    ev = Evidence(ctx.conn)
    ev.load("persons", [r[0] for r in rows])
    for rid, id_number, name in rows:
        why = problems(id_number)
        summary = f"登记库中 {name} 的公民身份号码 {id_number} 无效：{'；'.join(why)}。"
        yield Finding(subject=id_number, name=name, evidence=build(
            summary, [ev.record("persons", rid, "登记库参保人员")], problems=why))


register(Rule(
    id="INVALID_ID",
    title="身份证号码无效",
    department="agency",
    kinds=frozenset({"persons"}),
    explanation=("登记库中此人的公民身份号码不符合国家标准（位数、字符、出生日期或校验位有误）。"
                 "号码错误会使死亡、残联等比对漏掉此人，也可能是虚构身份。"
                 "请调阅身份证件或户籍信息核对，更正登记库中的号码。"),
    find=find,
    severity="low",
    per_id=True,
))
