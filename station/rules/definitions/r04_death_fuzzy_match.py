"""DEATH_FUZZY_MATCH 疑似死亡（证件号不符）: a death record whose ID equals no register
person's, where exactly one register person not in a terminal status qualifies — their
IDs (both 18 characters) differ in exactly one position or by one swap of adjacent
characters, and the names are equal or homophones; or, for a death record without an
ID, name and 出生日期 are equal. Subject: the register person's ID.

The candidate set is small (death records whose ID is in nobody's register entry), so
the search is done from their side: every ID one substitution (a digit or X) or one
adjacent swap away from theirs is generated in SQL and looked up through the persons ID
index (about 200 index probes per unmatched record; the register is never scanned).

A county's death lists hold thousands of people who were never insured, and 200 probes
each then cost seconds. The rule therefore searches the same neighbourhood in two parts
(:func:`fast_probe`): a register ID with a correct GB 11643 check character is one of the
at most 35 variants that have one (a substitution at one position leaves exactly one
digit that makes the check come right; a valid ID has none at all); the few register IDs
without one (``id_number_valid`` is not 1) are compared with the unmatched IDs in
Python. The hits are exactly PROBE_SQL's, in the same order: PROBE_SQL stays the
definition, and the tests hold fast_probe to it.
"""
from __future__ import annotations

from ..base import Context, Finding, Rule, register
from ..scope import Scope
from ..evidence import Evidence, build
from ...normalise import names_equal, names_homophone
from ._common import DEATH_CTES, SOURCE_TITLES, TERMINAL_SQL, as_json

ALPHABET = "0123456789X"

UNMATCHED_SQL = f"""
WITH {DEATH_CTES}
SELECT r.kind, r.rid, r.id_number, r.name, r.death_date
  FROM death_records AS r
 WHERE length(r.id_number) = 18
   AND NOT EXISTS (SELECT 1 FROM persons AS p WHERE p.id_number = r.id_number)
"""

# :ids is the JSON list of unmatched IDs; n is the position of the ID in that list.
PROBE_SQL = f"""
WITH rec(n, id) AS MATERIALIZED (SELECT key, value FROM json_each(:ids)),
pos(i) AS MATERIALIZED (SELECT value FROM json_each('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]')),
alpha(a) AS MATERIALIZED (SELECT value FROM json_each(:alphabet)),
variant(n, v) AS (
    SELECT n, substr(id, 1, i - 1) || a || substr(id, i + 1)
      FROM rec CROSS JOIN pos CROSS JOIN alpha
     WHERE a <> substr(id, i, 1)
    UNION ALL
    SELECT n, substr(id, 1, i - 1) || substr(id, i + 1, 1) || substr(id, i, 1) || substr(id, i + 2)
      FROM rec CROSS JOIN pos
     WHERE i < 18 AND substr(id, i, 1) <> substr(id, i + 1, 1))
SELECT variant.n, p.rowid, p.id_number, p.name, p.status
  FROM variant CROSS JOIN persons AS p ON p.id_number = variant.v
 WHERE p.status NOT IN {TERMINAL_SQL}
"""

# Death records without an ID (only cremations can lack one): name and birth date equal.
# The register person's 出生日期, or when empty the one in their ID.
NO_ID_SQL = f"""
SELECT c.rowid, c.name, c.death_date, p.rowid, p.id_number, p.name, p.status
  FROM cremations AS c
  JOIN persons AS p ON p.name = c.name
 WHERE c.id_number IS NULL AND c.birth_date IS NOT NULL
   AND p.status NOT IN {TERMINAL_SQL}
   AND coalesce(p.birth_date,
                CASE WHEN length(p.id_number) = 18 THEN substr(p.id_number, 7, 4) || '-' ||
                     substr(p.id_number, 11, 2) || '-' || substr(p.id_number, 13, 2) END)
       = c.birth_date
"""


def variants(id18: str) -> list[str]:
    """Every ID one substitution (a digit or X) or one adjacent swap away from ``id18``
    (the Python twin of PROBE_SQL's ``variant``, for tests and tools)."""
    out = [id18[:i] + a + id18[i + 1:] for i in range(18) for a in ALPHABET if a != id18[i]]
    out += [id18[:i] + id18[i + 1] + id18[i] + id18[i + 2:] for i in range(17) if id18[i] != id18[i + 1]]
    return out


# GB 11643 weights: an ID is valid when sum(value * weight) % 11 == 1, X counting as 10.
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2, 1)
_INVERSE = {w: pow(w, -1, 11) for w in set(_W)}
_VALUE = {str(d): d for d in range(10)}

FAST_PROBE_SQL = f"""
SELECT j.key, p.rowid, p.id_number, p.name, p.status
  FROM json_each(:variants) AS j
 CROSS JOIN persons AS p ON p.id_number = j.value
 WHERE p.status NOT IN {TERMINAL_SQL}
"""

# Register persons whose ID lacks a correct check character are among these.
UNCHECKED_SQL = f"""
SELECT rowid, id_number, name, status FROM persons
 WHERE id_number_valid IS NOT 1 AND length(id_number) = 18 AND status NOT IN {TERMINAL_SQL}
"""


def _checks(s: str) -> bool:
    """Whether ``s`` has 17 digits, a digit or X, and the right check character."""
    return (len(s) == 18 and s.isascii() and s[:17].isdigit() and (s[17].isdigit() or s[17] == "X")
            and int(s[:17] + ("A" if s[17] == "X" else s[17]), 13) % 11 == 1)


def checked_variants(id18: str) -> list[tuple[int, int, str]]:
    """The variants of :func:`variants` that have a correct check character, as
    (0 for a substitution or 1 for a swap, position, variant)."""
    values = [_VALUE.get(c, 10 if c == "X" and j == 17 else None) for j, c in enumerate(id18)]
    bad = [j for j, v in enumerate(values) if v is None]
    out = []
    total = sum(v * w for v, w in zip(values, _W) if v is not None)
    if not bad and total % 11 == 1:
        # A valid ID: any one substitution breaks its check, and so does any swap (it
        # changes the sum by (a_i - a_i+1)(w_i+1 - w_i), and neighbouring weights differ).
        return out
    if len(bad) <= 1:                 # a substitution repairs at most one bad character
        for i in bad or range(18):
            rest = total - (values[i] * _W[i] if values[i] is not None else 0)
            d = (1 - rest) * _INVERSE[_W[i]] % 11
            if d == 10 and i != 17:
                continue
            c = "X" if d == 10 else str(d)
            if c != id18[i]:
                out.append((0, i, id18[:i] + c + id18[i + 1:]))
    if not bad:
        # Swapping i and i+1 changes the weighted sum by (a_i - a_i+1)(w_i+1 - w_i); the
        # check character (position 17) never swaps into the body validly unless a digit.
        for i in range(17):
            a, b = values[i], values[i + 1]
            if a != b and (total + (a - b) * (_W[i + 1] - _W[i])) % 11 == 1 and (i < 16 or b != 10):
                out.append((1, i, id18[:i] + id18[i + 1] + id18[i] + id18[i + 2:]))
    else:
        for i in range(17):
            if id18[i] != id18[i + 1]:
                v = id18[:i] + id18[i + 1] + id18[i] + id18[i + 2:]
                if _checks(v):
                    out.append((1, i, v))
    return out


def fast_probe(conn, ids: list[str]) -> list[tuple]:
    """What PROBE_SQL returns for ``ids``, in its order: (index in ``ids``, person rowid,
    ID, name, status) for every non-terminal register person one substitution (of a digit
    or X) or one adjacent swap away."""
    keyed, flat = [], []
    for n, id18 in enumerate(ids):
        for kind, i, v in checked_variants(id18):
            keyed.append((kind, n, i))
            flat.append(v)
    hits = {}
    for j, prow, pid, pname, status in conn.execute(FAST_PROBE_SQL, {"variants": as_json(flat)}):
        kind, n, i = keyed[j]
        hits[(n, prow)] = ((kind, n, i), (n, prow, pid, pname, status))
    # Register IDs without a correct check character: compared in Python. One edit away
    # means sharing the first 10 characters (an edit at 10 or later) or the last 7 (an
    # edit before 11); the first 10 are a region and a birth year, few people share both.
    by_head: dict[str, list[tuple]] = {}
    by_tail: dict[str, list[tuple]] = {}
    for person in conn.execute(UNCHECKED_SQL):
        by_head.setdefault(person[1][:10], []).append(person)
        by_tail.setdefault(person[1][11:], []).append(person)
    if by_head:
        for n, id18 in enumerate(ids):
            for prow, pid, pname, status in by_head.get(id18[:10], []) + by_tail.get(id18[11:], []):
                diff = [i for i in range(18) if id18[i] != pid[i]]
                if len(diff) == 1 and pid[diff[0]] in ALPHABET:
                    hits.setdefault((n, prow), ((0, n, diff[0]), (n, prow, pid, pname, status)))
                elif (len(diff) == 2 and diff[1] == diff[0] + 1 and id18[diff[0]] == pid[diff[1]]
                      and id18[diff[1]] == pid[diff[0]]):
                    hits.setdefault((n, prow), ((1, n, diff[0]), (n, prow, pid, pname, status)))
    return [row for _, row in sorted(hits.values(), key=lambda h: h[0])]


# Rows of the death tables by ID (the scope's candidates, see scope()): the IDs in
# :near, and every ID with a character that no variant has (a short scan). More rows than
# are death records do no harm: the rule picks the death records among them.
NEAR_SQL = """
SELECT 'household_deaths', h.rowid, h.id_number
  FROM json_each(:near) AS j CROSS JOIN household_deaths AS h ON h.id_number = j.value
UNION ALL
SELECT 'cremations', c.rowid, c.id_number
  FROM json_each(:near) AS j CROSS JOIN cremations AS c ON c.id_number = j.value
UNION ALL
SELECT 'household_deaths', rowid, id_number FROM household_deaths
 WHERE length(id_number) = 18 AND id_number GLOB '*[^0-9X]*'
UNION ALL
SELECT 'cremations', rowid, id_number FROM cremations
 WHERE length(id_number) = 18 AND id_number GLOB '*[^0-9X]*'
"""


def scope(conn, kinds: set[str], ids: list[str]) -> Scope | None:
    """When only death records came (``ids`` their IDs; the register is unchanged): the
    register persons one edit away from a new unmatched ID are the only ones whose
    finding can change — a new record changes no other record's candidates. Their
    findings depend on the unmatched records one edit away from them and the ID-less
    cremations of their name; those rows are all the rule needs to see."""
    if not kinds <= {"household_deaths", "cremations"}:
        return None
    new = [r[0] for r in conn.execute(
        "SELECT value FROM json_each(?) WHERE length(value) = 18"
        " AND NOT EXISTS (SELECT 1 FROM persons WHERE id_number = value)", (as_json(ids),))]
    people: dict[str, str] = {}                       # ID -> name
    if new:
        people = {pid: pname for _, _, pid, pname, _ in fast_probe(conn, new)}
    rows: dict[str, list[int]] = {"household_deaths": [], "cremations": []}
    if people:
        # The death records one edit away from them: those whose ID is a variant of
        # theirs, and those with a character outside ALPHABET (no variant has one).
        by_head: dict[str, list[str]] = {}
        by_tail: dict[str, list[str]] = {}
        for pid in people:                # one edit away: same first 10 or same last 7
            by_head.setdefault(pid[:10], []).append(pid)
            by_tail.setdefault(pid[11:], []).append(pid)
        near = [v for pid in people for v in variants(pid)]
        for kind, rid, rec_id in conn.execute(NEAR_SQL, {"near": as_json(near)}):
            if any(difference(rec_id, pid) for pid in by_head.get(rec_id[:10], []) + by_tail.get(rec_id[11:], [])):
                rows[kind].append(rid)
        rows["cremations"] += [r[0] for r in conn.execute(
            "SELECT rowid FROM cremations WHERE id_number IS NULL"
            " AND name IN (SELECT value FROM json_each(?))", (as_json(set(people.values())),))]
    return Scope(sorted(people), rows)


def difference(record_id: str, person_id: str) -> str | None:
    """How two 18-character IDs differ, in words, when it is one substitution or one adjacent
    swap; None otherwise."""
    diff = [i for i in range(18) if record_id[i] != person_id[i]]
    if len(diff) == 1:
        i = diff[0]
        return f"证件号仅第 {i + 1} 位不同（死亡记录为「{record_id[i]}」，登记库为「{person_id[i]}」）"
    if (len(diff) == 2 and diff[1] == diff[0] + 1
            and record_id[diff[0]] == person_id[diff[1]] and record_id[diff[1]] == person_id[diff[0]]):
        return f"证件号第 {diff[0] + 1}、{diff[1] + 1} 位前后颠倒"
    return None


def find(ctx: Context):
    conn = ctx.conn
    matches: dict[int, list[tuple]] = {}          # person rowid -> the death records matched
    persons: dict[int, tuple[str, str, str]] = {}  # person rowid -> (ID, name, status)

    # Death records with an 18-character ID that is nobody's: who is one edit away?
    records = conn.execute(UNMATCHED_SQL).fetchall()
    by_id: dict[str, list[int]] = {}              # unmatched ID -> its records (公安 and 民政)
    for n, record in enumerate(records):
        by_id.setdefault(record[2], []).append(n)
    ids = list(by_id)
    qualifying: dict[int, dict[int, str]] = {}    # record index -> {person rowid: difference}
    if ids:
        for k, prow, pid, pname, status in fast_probe(conn, ids):
            for n in by_id[ids[k]]:
                kind, rrow, rid_id, rname, death_date = records[n]
                if names_equal(rname, pname) or names_homophone(rname, pname):
                    persons[prow] = (pid, pname, status)
                    qualifying.setdefault(n, {})[prow] = difference(rid_id, pid)
    for n, found in qualifying.items():
        if len(found) == 1:                       # two or more candidates: never a match
            (prow, diff), = found.items()
            kind, rrow, rid_id, rname, death_date = records[n]
            pname = persons[prow][1]
            name_note = "姓名相同" if names_equal(rname, pname) else f"姓名同音（{rname} / {pname}）"
            matches.setdefault(prow, []).append(
                (kind, rrow, rname, death_date, f"{diff}，{name_note}", rid_id))

    # Death records without an ID: name and birth date.
    no_id: dict[int, list[tuple]] = {}
    for crow, cname, death_date, prow, pid, pname, status in conn.execute(NO_ID_SQL):
        persons[prow] = (pid, pname, status)
        no_id.setdefault(crow, []).append((prow, cname, death_date))
    for crow, found in no_id.items():
        if len(found) == 1:
            prow, cname, death_date = found[0]
            matches.setdefault(prow, []).append(
                ("cremations", crow, cname, death_date, "死亡记录无证件号，姓名和出生日期相同", None))

    if not matches:
        return
    ev = Evidence(conn)
    ev.load("persons", matches)
    for kind in ("household_deaths", "cremations"):
        ev.load(kind, [m[1] for ms in matches.values() for m in ms if m[0] == kind])
    for prow, ms in sorted(matches.items(), key=lambda kv: persons[kv[0]][0]):
        pid, pname, status = persons[prow]
        parts = []
        for kind, rrow, rname, death_date, diff, rid_id in ms:
            shown = f"证件号 {rid_id}，" if rid_id else ""
            parts.append(f"{SOURCE_TITLES[kind]}死亡记录（{shown}{rname}，死亡日期 {death_date}）{diff}")
        summary = ("；".join(parts) + f"。登记库中只有 {pname}（{pid}）一人符合，疑为同一人且已死亡；"
                   f"其参保状态为「{status}」。")
        records_ev = [ev.record(kind, rrow) for kind, rrow, *_ in ms]
        records_ev.append(ev.record("persons", prow, "登记库参保人员（疑似同一人）"))
        yield Finding(subject=pid, name=pname, evidence=build(
            summary, records_ev, matches=[{"death_record": {"kind": m[0], "id_number": m[5],
                                                            "name": m[2], "death_date": m[3]},
                                           "difference": m[4]} for m in ms],
            status=status))


register(Rule(
    id="DEATH_FUZZY_MATCH",
    title="疑似死亡（证件号不符）",
    department="public_security",       # 公安 and 民政 death records together; 公安 leads
    kinds=frozenset({"household_deaths", "cremations", "persons"}),
    explanation=("一条死亡记录的证件号在登记库中查无此人，但登记库中恰有一名未停保人员与之"
                 "证件号只差一位（或相邻两位颠倒）且姓名相同或同音，或在死亡记录无证件号时"
                 "姓名和出生日期相同。可能是录入错误导致死亡信息没有对上。请核对死亡证明和"
                 "身份证件，确认是否同一人；如是，按死亡人员办理停保并检查待遇发放。"),
    find=find,
    severity="medium",
    scope=scope,
))
