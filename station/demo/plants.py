"""The planted cases among register persons and their payroll: for each rule on the
register side the anomalies that must fire, and near-misses that must not. Each plant is a
:func:`special` person with a role; :mod:`.answer` checks that every role fires exactly
its rules."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

from . import ids as idl
from .model import (APPROVAL, GRACE, MAX_DEATH_DAYS, MIN_AGE, ONE, PENSION, SINCE, TERMINAL, Death, Person, add_years,
                    age_at)
from .world import County


def special(county: County, p: Person, role: str, rules: tuple = ()) -> Person:
    p.role = role
    county.roles.setdefault(role, set(rules))
    if p.id in county.special_ids:
        raise RuntimeError(f"duplicate special ID {p.id}")
    county.special_ids[p.id] = p
    county.specials.append(p)
    return p


def typo_id(county: County, pid: str) -> str:
    """``pid`` with one digit of its birth date or sequence code mistyped."""
    while True:
        j = county.rng.randint(6, 16)
        d = county.rng.choice([x for x in "0123456789" if x != pid[j]])
        t = pid[:j] + d + pid[j + 1:]
        if t not in county.special_ids:
            return t


def record_id(county: County, make, designed: set[str]) -> str:
    """A mistyped death-record ID from ``make()`` whose register neighbours (so far)
    are exactly ``designed``; persons allocated later are kept away by reserving
    its neighbourhood in ``forbidden``."""
    while True:
        rid = make()
        if rid in county.special_ids or rid in county.forbidden:
            continue
        near = {s for s in idl.neighbours(rid) if s in county.special_ids}
        if near <= designed:         # the target itself may not be registered yet
            county.forbidden |= idl.neighbours(rid)
            return rid


def plant_deaths(county: County) -> None:
    """DEATH_PAID, DEATH_NOT_STOPPED, DEATH_DATE_CONFLICT and their near-misses."""
    rng, M, near = county.rng, county.months, county.near
    # DEATH_PAID + DEATH_NOT_STOPPED: the register never learnt of the death.
    for i in range(county.c):
        p = county.person("退休", birth=county.birth_for_age(66, 92))
        death = county.rand_in_month(rng.randint(0, M - 3))
        p.died = death
        county.records(p, death, ("ps ca", "ps", "ca")[i % 3], blank_ps=i % 5 == 4)
        special(county, p, "DP_both", ("DEATH_PAID", "DEATH_NOT_STOPPED"))
    # DEATH_PAID only: status set to 死亡, but the payroll stopped months late.
    for i in range(county.half):
        dm = rng.randint(0, M - 4)
        death = county.rand_in_month(dm)
        p = county.person("死亡", birth=add_years(death, -rng.randint(66, 90)) - dt.timedelta(days=rng.randint(1, 300)),
                          death=death, ret_age=60)
        p.p_to = dm + rng.randint(1, min(3, M - 1 - dm))
        county.records(p, death, ("ps ca", "ca", "ps")[i % 3])
        special(county, p, "DP_only", ("DEATH_PAID",))
    # DEATH_NOT_STOPPED only: a contributor died; nothing was paid.
    for i in range(county.half):
        p = county.person("参保缴费" if i % 2 == 0 else "暂停缴费", unemployment=False)
        if i == 0 and county.cutoff - 2 * ONE >= county.m_first(M - 1):
            # died in the last month: lands in the GB18030 公安 list, rare-character name
            p.name = county.names.rare_name(p.male)
            death, src = county.rdate(county.m_first(M - 1), county.cutoff - 2 * ONE), "ps"
        else:
            death, src = county.rdate(county.win_start, county.cutoff - 3 * ONE), ("ps", "ca", "ps ca")[i % 3]
        p.died = death
        county.records(p, death, src)
        special(county, p, "DNS_only", ("DEATH_NOT_STOPPED",))
    # DEATH_DATE_CONFLICT: 公安 and 民政 disagree by more than a week.
    for i in range(county.rare + county.nm):
        d1 = county.rdate(county.win_start, county.cutoff - 60 * ONE)
        delta = rng.randint(8, 45) if i < county.rare else MAX_DEATH_DAYS
        d2 = d1 + dt.timedelta(days=delta * rng.choice((1, -1)))
        if d2 < county.win_start:
            d2 = d1 + dt.timedelta(days=delta)
        eff = min(d1, d2)
        p = county.person("死亡", birth=add_years(eff, -rng.randint(62, 90)), death=eff, ret_age=60)
        county.records(p, d1, "ps")
        county.records(p, eff, "ca", ca_death=d2)
        if i < county.rare:
            special(county, p, "DDC", ("DEATH_DATE_CONFLICT",))
        else:
            special(county, p, "DDC_nm")
            near["DEATH_DATE_CONFLICT"].append(f"{p.id}: 公安 and 民政 death dates exactly {MAX_DEATH_DAYS} days apart")
    # Near-misses of the death rules.
    for i in range(county.nm):
        # died inside the grace period, paid through the death month only
        p = county.person("退休", birth=county.birth_for_age(70, 95))
        if i == 0:
            p.name = county.names.rare_name(p.male)
        death = county.rdate(max(county.cutoff + ONE, county.m_first(M - 1)), county.as_of - ONE)
        p.died = death
        county.records(p, death, "ps ca")
        special(county, p, "grace_nm")
        near["DEATH_NOT_STOPPED"].append(f"{p.id}: died {death}, inside the {GRACE.days}-day grace period")
        # a properly stopped pension
        p = county.person("死亡", birth=county.birth_for_age(70, 95), ret_age=60,
                          death=county.rand_in_month(rng.randint(0, M - 2)))
        county.records(p, p.died, "ps ca")
        special(county, p, "stopped_nm")
        near["DEATH_PAID"].append(f"{p.id}: died {p.died}, pension paid through the death month only")
        # moved away (户籍迁出) is not a death
        p = county.person("退休", birth=county.birth_for_age(62, 85))
        county.deaths.append(Death("ps", p.id, p.name, p.male, p.birth, None,
                                   county.rdate(county.win_start, county.win_end), reason="迁出"))
        special(county, p, "moved_nm")
        near["DEATH_NOT_STOPPED"].append(f"{p.id}: 公安 cancellation for 迁出, not a death")


def plant_fuzzy_matches(county: County) -> None:
    """DEATH_FUZZY_MATCH: death records with a mistyped or missing ID, and near-misses."""
    rng, near = county.rng, county.near
    # DEATH_FUZZY_MATCH: the death record's ID is mistyped, or missing.
    for i in range(county.c):
        variant = ("digit", "swap", "noid")[i % 3]
        male = rng.random() < 0.5
        status = "退休" if rng.random() < 0.8 else "参保缴费"
        typo_name = None
        if variant == "swap":
            reg_name, typo_name = county.names.homophone_name(male)
            p = county.person(status, male=male, name=reg_name)
        else:
            p = county.person(status, male=male)
        death = county.rdate(county.win_start, county.cutoff - 3 * ONE)
        if variant == "digit":
            rid = record_id(county, lambda: typo_id(county, p.id), {p.id})
        elif variant == "swap":
            def swapped(pid=p.id):
                while True:
                    j = rng.randint(6, 15)
                    if pid[j] != pid[j + 1]:
                        return pid[:j] + pid[j + 1] + pid[j] + pid[j + 2:]
            rid = record_id(county, swapped, {p.id})
        else:
            rid = None
            county.name_birth_guard.add((p.name, p.birth))
        recs = county.records(p, death, "ca" if variant == "noid" or rng.random() < 0.65 else "ps",
                              rid=rid, name=typo_name)
        county.fuzzy_design.append((recs[0], [p.id]))
        special(county, p, "FUZZY_" + variant, ("DEATH_FUZZY_MATCH",))
    for i in range(county.nm):
        # two register persons fit the mistyped ID equally well: no single match
        male = rng.random() < 0.5
        a = county.person("退休", male=male, birth=county.birth_for_age(62, 85))
        while True:
            j = 15
            body = a.id[:j] + rng.choice([x for x in "0123456789" if x != a.id[j]]) + a.id[j + 1:17]
            b_id = body + idl.id_check(body)
            rid = a.id[:17] + b_id[17]
            if (b_id not in county.special_ids and b_id not in county.forbidden and rid not in county.forbidden
                    and {s for s in idl.neighbours(rid) if s in county.special_ids} <= {a.id}):
                break
        b = county.person("参保缴费" if rng.random() < 0.5 else "退休", male=male, birth=a.birth, name=a.name)
        b.id, b.birth = b_id, a.birth
        county.forbidden.add(b_id)
        county.forbidden |= idl.neighbours(rid)
        recs = county.records(a, county.rdate(county.win_start, county.cutoff - 3 * ONE), "ps", rid=rid)
        county.fuzzy_design.append((recs[0], [a.id, b.id]))
        special(county, a, "fuzzy_two_nm")
        special(county, b, "fuzzy_two_nm")
        near["DEATH_FUZZY_MATCH"].append(f"{rid}: death record fits both {a.id} and {b.id} ({a.name})")
        # one digit off, but somebody else's name
        t = county.person("参保缴费")
        rid = record_id(county, lambda: typo_id(county, t.id), {t.id})
        # another surname and another length: neither equal nor a homophone
        stranger = county.names.plain_name(t.male)
        while stranger[0] == t.name[0]:
            stranger = county.names.plain_name(t.male)
        if len(t.name) == len(stranger):
            stranger = stranger[:-1]
        recs = county.records(t, county.rdate(county.win_start, county.cutoff - 3 * ONE), "ca", rid=rid, name=stranger)
        county.fuzzy_design.append((recs[0], [t.id]))
        special(county, t, "fuzzy_name_nm")
        near["DEATH_FUZZY_MATCH"].append(f"{rid}: one digit from {t.id} but named {stranger}, not {t.name}")


def check_fuzzy_design(county: County) -> None:
    """Every death record whose ID is not a register ID must have exactly the
    designed register candidates among the planted persons (the background is kept
    out by ``forbidden`` and by the sequence-code ranges)."""
    designed = {id(rec): set(c) for rec, c in county.fuzzy_design}
    live = {pid: p for pid, p in county.special_ids.items() if p.in_register and p.status not in TERMINAL}
    by_name_birth = defaultdict(set)
    for p in live.values():
        by_name_birth[(p.name, p.birth)].add(p.id)
    for rec in county.deaths:
        if rec.source == "ps" and rec.reason != "死亡":
            continue
        if rec.id is None:
            got = by_name_birth.get((rec.name, rec.birth), set())
        elif rec.id in county.special_ids and county.special_ids[rec.id].in_register:
            continue
        else:
            got = {s for s in idl.neighbours(rec.id) if s in live}
        want = designed.get(id(rec), set())
        if got != want:
            raise RuntimeError(f"death record {rec.id or rec.name}: candidates {got}, designed {want}")


def plant_payments(county: County) -> None:
    """DUPLICATE_PAYMENT, CONFLICTING_BENEFITS, PAYMENT_UNREGISTERED and near-misses."""
    rng, M, near = county.rng, county.months, county.near
    # DUPLICATE_PAYMENT: one month paid twice (a payroll batch re-run or re-issue).
    for i in range(county.c):
        p = county.person("退休", birth=county.birth_for_age(63, 88))
        pm = rng.randint(0, M - 2)
        p.extra = [(pm, pm, PENSION, p.pension, 25, None) if i % 2 == 0
                   else (pm + 1, pm, PENSION, p.pension, 20, None)]
        special(county, p, "DUP", ("DUPLICATE_PAYMENT",))
    for i in range(county.nm):
        # arrears: a withheld month paid the month after — two periods, no duplicate
        p = county.person("退休", birth=county.birth_for_age(63, 88))
        pm = rng.randint(0, M - 2)
        p.skip = (pm,)
        p.extra = [(pm + 1, pm, PENSION, p.pension, 20, None)]
        special(county, p, "arrears_nm")
        near["DUPLICATE_PAYMENT"].append(f"{p.id}: {county.periods[pm]} withheld and paid as arrears in {county.periods[pm + 1]}")

    # CONFLICTING_BENEFITS: unemployment benefit not stopped when the pension began.
    for i in range(county.half + county.nm):
        male = rng.random() < 0.5
        ret_age = 60 if male else 50
        rm = rng.randint(1, M - 3)
        retire = county.rand_in_month(rm, 2, 25)
        p = county.person("退休", male=male, birth=add_years(retire, -ret_age), ret_age=ret_age)
        p.p_from = rm + 1
        p.ub_from = max(0, rm - rng.randint(2, 6))
        if i < county.half:
            p.ub_to = rm + rng.randint(1, min(2, M - 1 - rm))
            special(county, p, "CONF", ("CONFLICTING_BENEFITS",))
        else:
            p.ub_to = rm
            special(county, p, "conf_nm")
            near["CONFLICTING_BENEFITS"].append(f"{p.id}: 失业保险金 ends {county.periods[rm]}, "
                                                f"pension starts {county.periods[rm + 1]}")

    # PAYMENT_UNREGISTERED: payroll keyed with an ID the register does not know.
    for i in range(county.c):
        variant = ("transfer", "typo", "ub")[i % 3]
        if variant == "typo":
            t = county.person("退休", birth=county.birth_for_age(62, 85))
            wrong = typo_id(county, t.id)
            s = rng.randint(0, M - 2)
            t.pay_id = {m: wrong for m in range(s, min(M, s + rng.randint(1, 4)))}
            special(county, t, "unreg_typo_owner")
            # reserve the wrong ID: no later plant may reuse it
            county.special_ids[wrong] = Person(wrong, t.name, t.male, t.birth, role="UNREG_typo",
                                               in_register=False)
            continue
        else:
            pid, name, male, birth = county.outsider(62, 85) if variant == "transfer" else county.outsider(30, 55)
            g = Person(pid, name, male, birth, role="UNREG_" + variant, in_register=False)
            if variant == "transfer":
                g.pension = rng.randint(180000, 480000)
                g.p_from, g.p_to = rng.randint(0, M - 2), M - 1
            else:
                g.ub_from = rng.randint(0, M - 3)
                g.ub_to = min(M - 1, g.ub_from + rng.randint(2, 5))
        county.ghosts.append(g)
        county.roles.setdefault(g.role, {"PAYMENT_UNREGISTERED"})
    county.roles["unreg_typo_owner"] = set()


def plant_register_faults(county: County) -> None:
    """INVALID_ID, RETIREE_NO_APPROVAL, ARCHIVE_RETENTION, CENTENARIAN_CHECK and near-misses."""
    rng, M, near = county.rng, county.months, county.near
    # INVALID_ID: the register holds a mistyped ID (check character or birth date).
    # An invalid ID can sit one character from a valid one, so keep it clear of
    # every death record that matches nobody in the register.
    strangers = {r.id for r in county.deaths if r.id and r.id not in county.special_ids}
    for i in range(county.c):
        p = county.person(("参保缴费", "退休", "参保缴费")[i % 3])
        while True:
            if i % 3 == 2:
                mo, day = rng.choice(((2, 30), (4, 31), (6, 31), (9, 31), (11, 31)))
                body = f"{p.id[:6]}{p.birth.year:04d}{mo:02d}{day:02d}{rng.randrange(0, 450) * 2 + p.male:03d}"
                bad = body + idl.id_check(body)
            else:
                bad = p.id[:17] + rng.choice([x for x in idl.ID_CHARS if x != p.id[17]])
            if bad not in county.special_ids and not idl.neighbours(bad) & strangers:
                break
        p.id = bad
        special(county, p, "INVALID", ("INVALID_ID",))

    # RETIREE_NO_APPROVAL: a recent retirement without its approval form on file.
    hi = county.win_end - dt.timedelta(days=35)
    if SINCE <= hi:
        for i in range(county.c):
            male = rng.random() < 0.5
            ret_age = 60 if male else rng.choice((50, 55))
            retire = county.rdate(SINCE, hi)
            p = county.person("退休", male=male, birth=add_years(retire, -ret_age), ret_age=ret_age)
            special(county, p, "RNA", ("RETIREE_NO_APPROVAL",))
    for i in range(county.nm):
        male = rng.random() < 0.5
        retire = county.rdate(SINCE - dt.timedelta(days=90), SINCE - ONE)
        p = county.person("退休", male=male, birth=add_years(retire, -60), ret_age=60)
        p.docs = [d for d in county.std_docs(p) if d[1] != APPROVAL]
        special(county, p, "rna_nm")
        near["RETIREE_NO_APPROVAL"].append(f"{p.id}: retired {p.retire}, before {SINCE}, no approval form")

    # ARCHIVE_RETENTION: scanned documents filed under the wrong retention period.
    for i in range(county.c):
        v = i % 4
        if v == 0:        # the approval form is there (RETIREE_NO_APPROVAL satisfied) but 短期
            lo = max(SINCE, county.win_start)
            retire = county.rdate(lo, max(lo, county.win_end - dt.timedelta(days=35)))
            p = county.person("退休", male=True, birth=add_years(retire, -60), ret_age=60)
            p.docs = [d if d[1] != APPROVAL else d[:4] + ("短期",) for d in county.std_docs(p)]
            if not any(d[1] == APPROVAL for d in p.docs):
                p.docs.append(("SB", APPROVAL, p.retire - 10 * ONE, 3, "短期"))
            near["RETIREE_NO_APPROVAL"].append(f"{p.id}: approval form present, with the wrong retention")
        elif v == 1:
            p = county.person("死亡", death=county.rand_in_month(rng.randint(0, M - 2)))
            county.records(p, p.died, "ps ca")
            p.docs = county.std_docs(p) + [("SB", "死亡证明", p.died + 6 * ONE, 1, "永久")]
        elif v == 2:
            p = county.person("参保缴费")
            p.docs = [("SB", "参保登记表", p.insured, 2, "长期")] + county.std_docs(p)
        else:
            p = county.person("退休", birth=county.birth_for_age(65, 80))
            p.docs = county.std_docs(p) + [("SB", "待遇核定表", p.retire, 2, "")]
        special(county, p, "ARCH", ("ARCHIVE_RETENTION",))
    p = county.person("参保缴费")
    p.docs = [("SB", "参保登记表", p.insured, 2, "永久"), ("SB", "授权委托书", p.insured, 1, "短期")]
    special(county, p, "arch_nm")
    near["ARCHIVE_RETENTION"].append(f"{p.id}: 授权委托书 filed 短期, a material outside the retention map")

    # CENTENARIAN_CHECK: a pensioner aged 100 or more.
    hundred = add_years(county.as_of, -MIN_AGE)
    for i in range(county.cent):
        birth = hundred if i == 0 else county.rdate(add_years(county.as_of, -104), hundred - ONE)
        p = county.person("退休", birth=birth, ret_age=60 if i % 2 else 55, male=bool(i % 2))
        if age_at(p.birth, county.as_of) < MIN_AGE:
            raise RuntimeError("centenarian birth date moved")
        special(county, p, "CENT", ("CENTENARIAN_CHECK",))
    p = county.person("退休", birth=hundred + ONE)
    special(county, p, "cent_nm")
    near["CENTENARIAN_CHECK"].append(f"{p.id}: born {p.birth}, turns {MIN_AGE} the day after as_of")
    death = county.rand_in_month(rng.randint(0, M - 2))
    p = county.person("死亡", birth=add_years(death, -101), death=death, ret_age=60)
    county.records(p, death, "ps ca")
    special(county, p, "cent_dead_nm")
    near["CENTENARIAN_CHECK"].append(f"{p.id}: died aged 101 (status 死亡)")
