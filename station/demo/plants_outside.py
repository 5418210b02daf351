"""The planted cases outside the register: new enterprises never registered and closed
ones still open (工商), schoolchildren without resident medical insurance (教育), and
disabled residents whose subsidy runs on or is missing (残联), with their near-misses."""
from __future__ import annotations

import datetime as dt

from .model import ELIGIBLE, ONE, SUBSIDY_TYPES, D, abs_month
from .world import County


def plant_enterprises(county: County) -> None:
    """ENTERPRISE_UNREGISTERED, ENTERPRISE_CLOSED_ACTIVE, and unit files with the wrong retention."""
    rng, near = county.rng, county.near
    since = D(county.as_of.year - 7, 1, 1)
    ent = county.enterprises
    # planted: set up more than grace_days ago, never registered with the agency
    county.planted_enterprises = []
    for i in range(county.c):
        c, n = county.credit_code(), county.unit_name()
        d = county.rdate(county.win_start, county.cutoff - 3 * ONE)
        ent.append((c, n, county.names.name(True, 1980), "设立", d, county.address()))
        if i % 3 == 1:
            ent.append((c, n, county.names.name(False, 1985), "变更", county.rdate(d + ONE, county.as_of - ONE),
                        county.address()))
        county.planted_enterprises.append(c)
    # planted: closed at 工商, still 正常 in the register
    county.planted_closed = []
    for u in rng.sample([u for u in county.open_units if u.reg < since], county.rare):
        ent.append((u.code, u.name, county.names.name(True, 1970), "注销",
                    county.rdate(county.win_start, county.as_of - ONE), county.address()))
        county.planted_closed.append(u.code)
    if county.planted_closed:
        next(u for u in county.units if u.code == county.planted_closed[0]).blank_status = True
    for i in range(county.nm):
        c, n = county.credit_code(), county.unit_name()
        ent.append((c, n, county.names.name(True, 1980), "设立", county.rdate(county.cutoff + ONE, county.as_of - ONE),
                    county.address()))
        near["ENTERPRISE_UNREGISTERED"].append(f"{c}: set up inside the grace period")
        c, n = county.credit_code(), county.unit_name()
        ent.append((c, n, county.names.name(True, 1960), "注销", county.rdate(county.win_start, county.as_of - ONE),
                    county.address()))
        near["ENTERPRISE_CLOSED_ACTIVE"].append(f"{c}: closed, but never a register unit")
    closed = [u for u in county.units if u.closed and u.closed >= since]
    if closed:
        near["ENTERPRISE_CLOSED_ACTIVE"].append(f"{closed[0].code}: closed and 注销 in the register too")
    ent.sort(key=lambda e: (e[4], e[3], e[0]))
    # unit documents with the wrong retention
    county.planted_unit_docs = []
    for u in rng.sample(county.units, max(1, county.c // 3)):
        material, wrong = rng.choice((("单位参保登记表", "长期"), ("清算单", "永久"), ("单位参保登记表", "")))
        u.docs.append(("DW", material, u.closed or u.reg, 2, wrong))
        county.planted_unit_docs.append(u.no)


def plant_students(county: County) -> None:
    """STUDENT_UNENROLLED: schoolchildren without resident medical insurance."""
    near = county.near
    Y = county.intake.year
    county.planted_students = []
    for i in range(county.c):
        s = county.student(enrol=county.intake if i % 4 else county.rdate(county.intake, county.cutoff - 3 * ONE))
        s.med_years = () if i % 3 else (Y - 1,)
        county.students.append(s)
        county.planted_students.append(s.id)
    for i in range(county.nm):
        s = county.student(enrol=county.rdate(max(county.cutoff + ONE, county.intake), county.as_of - ONE))
        county.students.append(s)
        near["STUDENT_UNENROLLED"].append(f"{s.id}: enrolled {s.enrol}, inside the grace period")
        s = county.student()
        s.med_years = (Y + 1,)
        county.students.append(s)
        near["STUDENT_UNENROLLED"].append(f"{s.id}: resident medical for {Y + 1} counts")


def plant_subsidies(county: County) -> None:
    """SUBSIDY_NOT_STOPPED and SUBSIDY_MISSING."""
    rng, near = county.rng, county.near
    cutoff = county.cutoff
    # planted: subsidy runs on after the certificate was cancelled, the person died,
    # or the level dropped out of the eligible range
    for i in range(county.c):
        dis = county.disabled_person()
        d0 = county.rdate(D(2018, 1, 1), D(2024, 6, 30))
        d1 = county.rdate(county.win_start, cutoff - 3 * ONE)
        v = i % 3
        lv = rng.choice(ELIGIBLE)
        dis.changes.append((d0, "新增", lv))
        end = None
        if v == 0:
            dis.changes.append((d1, "注销", lv))
        elif v == 1:
            dis.changes.append((d1, "死亡", lv))
            county.outsider_death(dis, d1 - dt.timedelta(days=rng.randint(0, 10)))
        else:
            dis.changes.append((d1, "等级变更", rng.choice(("三级", "四级"))))
            end = abs_month(d1) + rng.randint(1, 4) if rng.random() < 0.5 else None
        dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), end))
        dis.role = "SUB_NS"
        county.disabled.append(dis)
    # planted: eligible, but no subsidy
    for i in range(county.c):
        dis = county.disabled_person()
        d1 = county.rdate(county.win_start, cutoff - 3 * ONE)
        v = i % 3
        if v == 0:
            dis.changes.append((d1, "新增", rng.choice(ELIGIBLE)))
        elif v == 1:
            dis.changes.append((county.rdate(D(2017, 1, 1), D(2023, 12, 31)), "新增", rng.choice(("三级", "四级"))))
            dis.changes.append((d1, "等级变更", rng.choice(ELIGIBLE)))
        else:
            d0 = county.rdate(D(2019, 1, 1), D(2022, 12, 31))
            dis.changes.append((d0, "新增", "二级"))
            dis.changes.append((d0 + dt.timedelta(days=400), "等级变更", "三级"))
            dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), abs_month(d0) + 13))
            dis.changes.append((d1, "等级变更", "一级"))
        dis.role = "SUB_MISS"
        county.disabled.append(dis)
    for i in range(county.nm):
        dis = county.disabled_person()
        d0 = county.rdate(D(2018, 1, 1), D(2023, 12, 31))
        dis.changes += [(d0, "新增", "二级"), (county.rdate(cutoff + ONE, county.as_of - ONE), "注销", "二级")]
        dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), None))
        county.disabled.append(dis)
        near["SUBSIDY_NOT_STOPPED"].append(f"{dis.id}: cancelled inside the grace period")
        dis = county.disabled_person()
        d1 = county.rdate(county.win_start, cutoff - 3 * ONE)
        dis.changes += [(d0, "新增", "一级"), (d1, "注销", "一级")]
        dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), abs_month(d1)))
        county.disabled.append(dis)
        near["SUBSIDY_NOT_STOPPED"].append(f"{dis.id}: subsidy ends in the month of the cancellation")
        dis = county.disabled_person()
        dis.changes.append((county.rdate(cutoff + ONE, county.as_of - ONE), "新增", "一级"))
        county.disabled.append(dis)
        near["SUBSIDY_MISSING"].append(f"{dis.id}: newly certified inside the grace period")
