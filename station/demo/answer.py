"""The answer: which anomalies the default rules.yaml must find in the county, worked
out from the model (not from the files), and the self-check that every planted role fires
exactly its rules and every near-miss nothing."""
from __future__ import annotations

from collections import defaultdict

from . import ids as idl
from .model import (APPROVAL, ELIGIBLE, MAX_DEATH_DAYS, MIN_AGE, PENSION, RETENTION, RULE_IDS, SINCE, TERMINAL,
                    UNEMPLOYMENT, GenerationSummary, Person, abs_month, age_at)
from .world import County


def payments_of(county: County, p: Person):
    """(file month, period month, type, cents, ID written) of every payment of p."""
    out = []
    if p.p_from >= 0:
        for m in range(p.p_from, p.p_to + 1):
            if m not in p.skip:
                out.append((m, m, PENSION, p.pension, (p.pay_id or {}).get(m, p.id)))
    if p.ub_from >= 0:
        for m in range(p.ub_from, p.ub_to + 1):
            out.append((m, m, UNEMPLOYMENT, county.ub_std[m], p.id))
    for fm, pm, btype, amt, day, idw in p.extra or ():
        out.append((fm, pm, btype, amt, idw or p.id))
    return out


def summarise(county: County) -> GenerationSummary:
    """The expected anomalies, checked against the design of every plant."""
    exp: dict[str, list] = {r: [] for r in RULE_IDS}
    per_person: dict[str, set] = defaultdict(set)

    def fire(rule, subject, period=None, amount=None, owner=None):
        exp[rule].append([subject, period, None if amount is None else round(amount / 100, 2)])
        if owner is not None:
            per_person[owner].add(rule)

    recs = defaultdict(list)
    for r in county.deaths:
        if r.id and (r.source == "ca" or r.reason == "死亡"):
            recs[r.id].append(r)
    people = [p for p in county.specials if p.in_register] + county.ghosts
    foreign: dict[str, int] = defaultdict(int)     # payroll typos: ID written -> cents
    for p in people:
        pays = payments_of(county, p)
        own = [x for x in pays if x[4] == p.id]
        for x in pays:
            if x[4] != p.id:
                foreign[x[4]] += x[3]
        rs = recs.get(p.id, ())
        if rs:
            eff = min(r.effective for r in rs)
            after = sum(x[3] for x in own if x[1] > county.m_of(eff))
            if after:
                fire("DEATH_PAID", p.id, amount=after, owner=p.id)
            if p.in_register and p.status not in TERMINAL and eff <= county.cutoff:
                fire("DEATH_NOT_STOPPED", p.id, owner=p.id)
            ps_d = [r.effective for r in rs if r.source == "ps"]
            ca_d = [r.death for r in rs if r.source == "ca"]
            if any(abs((a - b).days) > MAX_DEATH_DAYS for a in ps_d for b in ca_d):
                fire("DEATH_DATE_CONFLICT", p.id, owner=p.id)
        by_key = defaultdict(list)
        for x in own:
            by_key[(x[1], x[2])].append(x)
        for (pm, btype), xs in sorted(by_key.items()):
            if len(xs) > 1:
                fire("DUPLICATE_PAYMENT", p.id, county.periods[pm], sum(x[3] for x in xs[1:]), owner=p.id)
        types = defaultdict(set)
        for x in own:
            types[x[1]].add(x[2])
        for pm in sorted(types):
            if {PENSION, UNEMPLOYMENT} <= types[pm]:
                fire("CONFLICTING_BENEFITS", p.id, county.periods[pm], owner=p.id)
        if not p.in_register:
            fire("PAYMENT_UNREGISTERED", p.id, amount=sum(x[3] for x in pays), owner=p.id)
            continue
        if not idl.is_valid_id(p.id):
            fire("INVALID_ID", p.id, owner=p.id)
        docs = list(county.doc_rows(f"P{p.idx + 1:09d}", p.docs or ()))
        if p.status == "退休" and p.retire >= SINCE and not any(d[2] == APPROVAL for d in docs):
            fire("RETIREE_NO_APPROVAL", p.id, owner=p.id)
        for file_no, item, material, *_, retention in docs:
            if material in RETENTION and RETENTION[material] != retention:
                fire("ARCHIVE_RETENTION", f"{file_no}#{item}", owner=p.id)
        if p.status == "退休" and age_at(p.birth, county.as_of) >= MIN_AGE:
            fire("CENTENARIAN_CHECK", p.id, owner=p.id)
    for pid, cents in foreign.items():
        if pid in county.special_ids and county.special_ids[pid].in_register:
            raise RuntimeError(f"payroll typo {pid} is a register ID")
        fire("PAYMENT_UNREGISTERED", pid, amount=cents)
    for rec, cands in county.fuzzy_design:
        if len(cands) == 1 and county.special_ids[cands[0]].role.startswith("FUZZY_"):
            fire("DEATH_FUZZY_MATCH", cands[0], owner=cands[0])
    for u in county.units:
        for file_no, item, material, *_, retention in county.doc_rows(u.no, u.docs):
            if material in RETENTION and RETENTION[material] != retention:
                fire("ARCHIVE_RETENTION", f"{file_no}#{item}")
    # enterprises, students and subsidies are all in memory: evaluate them in full
    reg_units = {u.code: u for u in county.units}
    for c, n, rep, t, d, addr in county.enterprises:
        if t == "设立" and d <= county.cutoff and c not in reg_units:
            fire("ENTERPRISE_UNREGISTERED", c)
        if t == "注销" and c in reg_units and reg_units[c].status == "正常":
            fire("ENTERPRISE_CLOSED_ACTIVE", c)
    for s in county.students:
        if s.enrol <= county.cutoff and not any(y >= s.enrol.year for y in s.med_years):
            fire("STUDENT_UNENROLLED", s.id)
    for dis in county.disabled:
        d, ctype, level = max(dis.changes, key=lambda c: c[0])
        if d > county.cutoff:
            continue
        m = abs_month(d)
        if ctype in ("注销", "死亡") or level not in ELIGIBLE:
            if any(end is None or end > m for _, _, _, end in dis.subsidies):
                fire("SUBSIDY_NOT_STOPPED", dis.id)
        elif not any(end is None or end >= m for _, _, _, end in dis.subsidies):
            fire("SUBSIDY_MISSING", dis.id)

    # county-check: every planted role fires exactly its rules, near-misses nothing
    for p in people:
        want = county.roles.get(p.role, set())
        got = per_person.get(p.id, set())
        if p.role and got != want:
            raise RuntimeError(f"{p.role} {p.id}: fires {sorted(got)}, designed {sorted(want)}")
    for rule, subjects in (("ENTERPRISE_UNREGISTERED", county.planted_enterprises),
                           ("ENTERPRISE_CLOSED_ACTIVE", county.planted_closed),
                           ("STUDENT_UNENROLLED", county.planted_students),
                           ("SUBSIDY_NOT_STOPPED", [d.id for d in county.disabled if d.role == "SUB_NS"]),
                           ("SUBSIDY_MISSING", [d.id for d in county.disabled if d.role == "SUB_MISS"])):
        if sorted(subjects) != sorted({e[0] for e in exp[rule]}):
            raise RuntimeError(f"{rule}: planted {sorted(subjects)}, fires {sorted({e[0] for e in exp[rule]})}")

    for rule in exp:
        exp[rule].sort(key=lambda e: (e[0], e[1] or ""))
    planted = {r: sorted({e[0] for e in exp[r]}) for r in RULE_IDS}
    near = {r: v[:10] for r, v in county.near.items()}
    if county.messy:
        near["INVALID_ID"] += [f"{pid}: written in the 15-digit legacy form" for pid in county.legacy_written[:5]]
    counts: dict[str, int] = defaultdict(int)
    for f in county.files:
        if not f.copy_of:
            counts[f.kind] += f.rows
    return GenerationSummary(county.dest, county.n, county.seed, county.messy, county.as_of, county.months,
                             list(county.periods), county.files, dict(counts), planted, exp, near,
                             county.bad_rows)
