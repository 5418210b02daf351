"""The county as it is: the population model (register persons, their payroll and
scanned files, units and enterprises, schoolchildren, residents, disabled residents, death
records) and the random draws that build it. :mod:`.plants` and :mod:`.plants_outside`
add the planted cases to it; :mod:`.writers` writes it out; :mod:`.answer` says what the
rules must find. The order of the random draws is the county: keep it."""
from __future__ import annotations

import datetime as dt
import random
from array import array
from collections import defaultdict
from pathlib import Path

from . import ids as idl
from .model import (APPROVAL, COUNTY, DISABILITY_CATEGORIES, ELIGIBLE, GRACE, LEVELS, MIN_AGE, ONE, ORD0,
                    OTHER_REGIONS, REGION_IX, REGIONS, RULE_IDS, SINCE, SUBSIDY_TYPES, D, BadRow, Death, Disabled,
                    Person, Student, Unit, abs_month, add_years, age_at, month_str)
from .names import (FUNERAL_HOMES, INDUSTRIES, ROADS, SCHOOLS, STREETS, UNIT_SUFFIXES, UNIT_WORDS,
                    NameMaker)
from .output import FileInfo

SCHOOL_AGES = {"一年级": 6, "七年级": 12, "高一": 15}


class County:
    """One county being generated: its calendar, random streams, population and files.

    Everything proportional to the register is streamed by :func:`.writers.stream_register`;
    what lives here is the planted ("special") persons, the partner departments' records
    and the units."""

    def __init__(self, dest: Path, persons: int, seed: int, messy: bool, as_of: D, months: int):
        if persons < 300:
            raise ValueError("persons must be at least 300 (room for the planted cases)")
        if not 4 <= months <= 36:
            raise ValueError("months must be between 4 and 36")
        self.dest = Path(dest)
        self.n = persons
        self.seed = seed
        self.messy = messy
        self.as_of = as_of
        self.months = months
        self.rng = random.Random(seed)
        # Messiness draws from its own stream: the county is the same in both modes.
        self.mrng = random.Random(f"station-demo-messy-{seed}")
        self.rand = self.rng.random
        self.names = NameMaker(self.rng)
        self._age_ranges: dict[tuple[int, int], tuple[int, int]] = {}

        last = as_of.year * 12 + as_of.month - 2
        self.first_abs = last - months + 1
        self.periods = [month_str(a) for a in range(self.first_abs, last + 1)]
        self.win_start = self.m_first(0)
        self.win_end = self.m_last(months - 1)
        self.cutoff = as_of - GRACE
        y = (as_of - dt.timedelta(days=45)).year
        self.intake = D(y, 9, 1) if D(y, 9, 1) <= as_of - dt.timedelta(days=45) else D(y - 1, 9, 1)
        self.o_as_of = as_of.toordinal()
        self.o_win_start = self.win_start.toordinal()
        self.o_2012 = D(2012, 1, 1).toordinal()
        self.o_1992 = D(1992, 1, 1).toordinal()
        oldest = (add_years(as_of, -MIN_AGE) + ONE).toordinal()      # under 100 at as_of
        self._retiree_births = {a: (oldest, add_years(self.win_end, -a).toordinal()) for a in (50, 55, 60)}
        self.ub_std = [192000 if p >= f"{as_of.year}-07" else 185000 for p in self.periods]

        self.c = max(3, persons // 1000)        # common plants
        self.half = max(2, self.c // 2)
        self.rare = max(2, persons // 2500)
        self.cent = max(2, persons // 5000)
        self.nm = max(1, self.c // 3)           # near-misses per kind

        days = as_of.toordinal() - ORD0 + 800
        self.k_reg = array("H", [0]) * (days * len(REGIONS) * 2)
        self.k_out = array("H", [0]) * (days * len(REGIONS) * 2)
        self.forbidden: set[str] = set()        # IDs the background may not take
        self.name_birth_guard: set[tuple[str, D]] = set()

        self.specials: list[Person] = []
        self.special_ids: dict[str, Person] = {}
        self.ghosts: list[Person] = []
        self.deaths: list[Death] = []
        self.fuzzy_design: list[tuple[Death, list[str]]] = []
        self.units: list[Unit] = []
        self.enterprises: list[tuple] = []      # (code, name, rep, type, date, address)
        self.students: list[Student] = []
        self.residents: list[tuple] = []        # (id, name, year, category, date)
        self.disabled: list[Disabled] = []
        self.near: dict[str, list[str]] = {r: [] for r in RULE_IDS}
        self.roles: dict[str, set[str]] = {}    # role -> rules a special of that role fires
        self.files: list[FileInfo] = []
        self.bad_rows: list[BadRow] = []
        self._codes: set[str] = set()
        self._unit_names: set[str] = set()

    # -- calendar ----------------------------------------------------------------------
    def m_first(self, m: int) -> D:
        a = self.first_abs + m
        return D(a // 12, a % 12 + 1, 1)

    def m_last(self, m: int) -> D:
        return self.m_first(m + 1) - ONE

    def m_of(self, d: D) -> int:
        return abs_month(d) - self.first_abs

    # The hot paths draw integers as ``lo + int(random() * n)``: random() is a C call,
    # randint() several Python frames; a million persons notice the difference.
    def rint(self, lo: int, hi: int) -> int:
        return lo + int(self.rand() * (hi - lo + 1))

    def rdate(self, lo: D, hi: D) -> D:
        lo_o, hi_o = lo.toordinal(), hi.toordinal()
        if hi_o < lo_o:
            hi_o = lo_o
        return D.fromordinal(lo_o + int(self.rand() * (hi_o - lo_o + 1)))

    def age_range(self, lo_age: int, hi_age: int) -> tuple[int, int]:
        """Ordinals of the birth dates giving an age in [lo_age, hi_age] at as_of."""
        key = (lo_age, hi_age)
        r = self._age_ranges.get(key)
        if r is None:
            r = self._age_ranges[key] = ((add_years(self.as_of, -(hi_age + 1)) + ONE).toordinal(),
                                         add_years(self.as_of, -lo_age).toordinal())
        return r

    def birth_for_age(self, lo_age: int, hi_age: int) -> D:
        lo, hi = self.age_range(lo_age, hi_age)
        return D.fromordinal(lo + int(self.rand() * (hi - lo + 1)))

    # -- identities --------------------------------------------------------------------
    def alloc(self, region: str, birth: D, male: bool, outside: bool = False) -> tuple[str, D]:
        """A fresh valid ID. Register persons get sequence codes 000-899, outsiders
        900-999; a full (region, date, sex) slot moves the birth date on by a day."""
        ri = REGION_IX[region]
        counts, span = (self.k_out, 50) if outside else (self.k_reg, 450)
        o = birth.toordinal()
        while True:
            slot = ((o - ORD0) * len(REGIONS) + ri) * 2 + male
            k = counts[slot]
            if k >= span:
                o += 1
                continue
            counts[slot] = k + 1
            base = (o * 37 + ri * 11 + male * 5) % span
            seq = (900 + 2 * ((base + k * 7) % 50) if outside
                   else 2 * ((base + k * 173) % 450)) + male
            b = D.fromordinal(o) if o != birth.toordinal() else birth
            body = f"{region}{b.year:04d}{b.month:02d}{b.day:02d}{seq:03d}"
            pid = body + idl.id_check(body)
            if pid not in self.forbidden:
                return pid, b

    def region(self) -> str:
        x = self.rand()
        return COUNTY if x < 0.82 else OTHER_REGIONS[int((x - 0.82) / 0.18 * len(OTHER_REGIONS))]

    def outsider(self, lo_age: int, hi_age: int, *, birth: D | None = None, male=None):
        male = self.rng.random() < 0.5 if male is None else male
        birth = birth or self.birth_for_age(lo_age, hi_age)
        pid, birth = self.alloc(self.region(), birth, male, outside=True)
        return pid, self.names.name(male, birth.year), male, birth

    # -- register persons --------------------------------------------------------------
    def person(self, status: str, *, male: bool | None = None, birth: D | None = None,
               ret_age: int | None = None, death: D | None = None, name: str | None = None,
               unemployment: bool = True) -> Person:
        rand = self.rand
        if male is None:
            male = rand() < 0.5
        if ret_age is None:
            ret_age = 60 if male else (50 if rand() < 0.6 else 55)
        if status == "死亡" and death is None:
            death = D.fromordinal(self.rint(self.o_win_start, self.o_as_of - 3) if rand() < 0.25
                                  else self.rint(self.o_2012, self.o_win_start - 1))
        if birth is None:
            if status == "参保缴费":
                birth = self.birth_for_age(18, ret_age - 1)
            elif status == "暂停缴费":
                birth = self.birth_for_age(20, ret_age - 1)
            elif status == "终止":
                birth = self.birth_for_age(20, 75)
            elif status == "退休":
                lo, hi = self._retiree_births[ret_age]
                birth = D.fromordinal(hi - int((hi - lo) * rand() ** 1.7))
            else:                                              # 死亡
                birth = D.fromordinal(death.toordinal() - self.rint(50 * 365 + 13, 97 * 365 + 340))
        pid, birth = self.alloc(self.region(), birth, male)
        p = Person(pid, name or self.names.name(male, birth.year), male, birth, status)
        b_o = birth.toordinal()
        if status == "死亡":
            p.died = death
            retired = age_at(birth, death) >= ret_age
        else:
            retired = status == "退休"
        if retired:
            p.retire = add_years(birth, ret_age)
            p.pension = self.rint(160000, 560000)
        # insured since: adult, not before the 1992 scheme, a year before leaving
        lo = max(b_o + 6575, self.o_1992)
        end = (p.retire or death or self.as_of).toordinal() - 365
        if status == "终止":
            end = min(end, self.o_as_of - 765)
        p.insured = D.fromordinal(self.rint(lo, end) if end > lo else min(lo, self.o_as_of - 1))
        if status == "参保缴费":
            p.unit = self.open_unit_nos[int(rand() * len(self.open_unit_nos))]
        elif status == "暂停缴费":
            p.unit = self.open_unit_nos[int(rand() * len(self.open_unit_nos))] if rand() < 0.6 else ""
        elif rand() < 0.6:
            p.unit = self.unit_nos[int(rand() * len(self.unit_nos))]
        # payroll inside the window
        if retired:
            M = self.months
            p.p_from = max(0, abs_month(p.retire) - self.first_abs + 1)
            p.p_to = M - 1 if status == "退休" else (
                min(M - 1, abs_month(death) - self.first_abs) if death >= self.win_start else -1)
            if p.p_to < p.p_from:
                p.p_from = p.p_to = -1
        if unemployment and status == "暂停缴费" and rand() < 0.2:
            start = self.rint(-8, self.months - 1)
            p.ub_from, p.ub_to = max(0, start), min(self.months - 1, start + self.rint(3, 12) - 1)
            if p.ub_from > p.ub_to:
                p.ub_from = p.ub_to = -1
        return p

    def std_docs(self, p: Person) -> list:
        """Scanned paper files of one person, with the right retention."""
        r = self.rng.random
        docs = []
        if r() < 0.12:
            docs.append(("SB", "参保登记表", p.insured, 2, "永久"))
        if p.retire is not None and p.status == "退休":
            if p.retire >= SINCE:
                if p.role != "RNA":
                    docs.append(("SB", APPROVAL, max(p.retire - dt.timedelta(days=self.rng.randint(5, 40)), p.insured), 3, "长期"))
                docs.append(("SB", "待遇核定表", min(p.retire + dt.timedelta(days=self.rng.randint(0, 20)), self.as_of - ONE), 2, "长期"))
            elif r() < 0.05:
                docs.append(("SB", "待遇核定表", p.retire, 2, "长期"))
        if r() < 0.02:
            docs.append(("SB", "人员信息变更表", self.rdate(p.insured, self.as_of - ONE), 1, "长期"))
        if p.status == "死亡" and p.died >= self.win_start and r() < 0.3:
            docs.append(("SB", "死亡证明", min(p.died + dt.timedelta(days=5), self.as_of - ONE), 1, "短期"))
        if r() < 0.01:
            docs.append(("JH", "稽核记录", self.rdate(self.win_start, self.as_of - ONE), 2, "短期"))
        if r() < 0.004:      # material outside the retention map: never checked
            docs.append(("SB", self.rng.choice(("临时说明", "授权委托书")), self.rdate(p.insured, self.as_of - ONE),
                         1, self.rng.choice(("短期", "永久", "长期", ""))))
        return docs

    @staticmethod
    def doc_rows(owner_no: str, docs: list):
        """(档号, 件号, material, formed, pages, retention) with items numbered per 档号."""
        items: dict[str, int] = {}
        for prefix, material, formed, pages, retention in docs:
            file_no = f"{prefix}-{owner_no}"
            items[file_no] = items.get(file_no, 0) + 1
            yield file_no, items[file_no], material, formed, pages, retention

    # -- death records ----------------------------------------------------------------
    def records(self, p: Person, death: D, sources: str, *, blank_ps: bool = False,
                rid: str | None | bool = False, name: str | None = None,
                ca_death: D | None = None) -> list[Death]:
        """公安 ("ps") and/or 民政 ("ca") death records for ``p``. A 公安 record needs its
        cancellation inside the payroll window (the 公安 lists end there)."""
        rng = self.rng
        out = []
        rec_id = p.id if rid is False else rid
        nm = name or p.name
        if "ps" in sources:
            cancel = death + dt.timedelta(days=rng.randint(1, 7))
            if cancel > self.win_end and death <= self.win_end:
                cancel = self.win_end
            if cancel <= self.win_end:
                out.append(Death("ps", rec_id, nm, p.male, p.birth, None if blank_ps else death, cancel))
        if "ca" in sources or not out:
            d = ca_death or death
            crem = d + dt.timedelta(days=rng.randint(1, 4))
            out.append(Death("ca", rec_id, nm, p.male, p.birth, d, cremation=crem if crem <= self.as_of else None,
                             home=rng.choice(FUNERAL_HOMES)))
        self.deaths.extend(out)
        return out

    def background_records(self, p: Person) -> None:
        if p.status == "死亡" and p.died >= self.win_start:
            x = self.rng.random()
            sources = "ps ca" if x < 0.65 else "ps" if x < 0.85 else "ca"
            self.records(p, p.died, sources, blank_ps=self.rng.random() < 0.1)
        elif p.status == "终止" and self.rng.random() < 0.03:
            self.deaths.append(Death("ps", p.id, p.name, p.male, p.birth, None,
                                     self.rdate(self.win_start, self.win_end), reason="迁出"))

    def rand_in_month(self, m: int, lo_day: int = 1, hi_day: int = 31) -> D:
        first, last = self.m_first(m), self.m_last(m)
        return self.rdate(first.replace(day=min(lo_day, last.day)), last.replace(day=min(hi_day, last.day)))

    # -- credit codes, unit names, addresses, schoolchildren ---------------------------
    def credit_code(self) -> str:
        while True:
            c = idl.make_credit_code(self.rng, COUNTY if self.rng.random() < 0.9 else self.rng.choice(OTHER_REGIONS))
            if c not in self._codes:
                self._codes.add(c)
                return c

    def unit_name(self) -> str:
        rng = self.rng
        while True:
            s = rng.choices([s for s, _ in UNIT_SUFFIXES], [w for _, w in UNIT_SUFFIXES])[0]
            n = "深圳市" + rng.choice(UNIT_WORDS) + rng.choice(UNIT_WORDS) + rng.choice(INDUSTRIES) + s
            if n not in self._unit_names:
                self._unit_names.add(n)
                return n

    def address(self) -> str:
        rng = self.rng
        return f"深圳市罗湖区{rng.choice(STREETS)}{rng.choice(ROADS)}{rng.randint(1, 388)}号"

    def student(self, grade: str | None = None, enrol: D | None = None) -> Student:
        """A schoolchild of this year's intake (an outsider: not in the register)."""
        rng, Y = self.rng, self.intake.year
        grade = grade or rng.choice(("一年级", "一年级", "七年级", "七年级", "高一"))
        a = SCHOOL_AGES[grade]
        birth = self.rdate(D(Y - a - 1, 9, 1), D(Y - a, 8, 31))
        pid, name, male, birth = self.outsider(0, 0, birth=birth)
        return Student(pid, name, male, rng.choice(SCHOOLS[grade]), grade, enrol or self.intake)

    # -- the background: units, schoolchildren, residents, the disabled, deaths ------
    def plan_units(self) -> None:
        """Register units, and the 工商 events of those set up or closed lately."""
        rng = self.rng
        lo, hi = D(1992, 1, 1).toordinal(), (self.as_of - 60 * ONE).toordinal()
        for i in range(max(12, self.n // 40)):
            reg = D.fromordinal(hi - int((hi - lo) * rng.random() ** 1.3))
            x = rng.random()
            status = "正常" if x < 0.88 else "注销" if x < 0.96 else "暂停"
            u = Unit(f"U{i + 1:07d}", self.credit_code(), self.unit_name(), reg, status)
            if status == "注销":
                u.closed = self.rdate(reg + 180 * ONE, self.as_of - 40 * ONE)
            if rng.random() < 0.3:
                u.docs.append(("DW", "单位参保登记表", reg, 3, "永久"))
            if u.closed and rng.random() < 0.5:
                u.docs.append(("DW", "清算单", u.closed, 2, "短期"))
            self.units.append(u)
        self.open_units = [u for u in self.units if u.status == "正常"]
        self.open_unit_nos = [u.no for u in self.open_units]
        self.unit_nos = [u.no for u in self.units]

        since = D(self.as_of.year - 7, 1, 1)
        ent = self.enterprises
        for u in self.units:
            if u.reg >= since:
                ent.append((u.code, u.name, self.names.name(rng.random() < 0.7, 1975), "设立",
                            u.reg - dt.timedelta(days=rng.randint(3, 60)), self.address()))
            if u.closed and u.closed >= since:
                ent.append((u.code, u.name, self.names.name(True, 1970), "注销", u.closed, self.address()))
            if rng.random() < 0.08:
                ent.append((u.code, u.name, self.names.name(True, 1975), "变更",
                            self.rdate(max(u.reg, since), self.as_of - ONE), self.address()))

    def plan_students(self) -> None:
        """This year's intake and the resident medical years they are in."""
        rng, Y = self.rng, self.intake.year
        for i in range(max(12, self.n // 80)):
            s = self.student()
            if rng.random() < 0.03:      # transferred in after term began (same school year)
                s.enrol = self.rdate(self.intake + ONE, min(self.as_of - ONE, D(Y, 12, 31)))
            x = rng.random()
            s.med_years = (Y,) if x < 0.9 else (Y - 1, Y) if x < 0.97 else (Y + 1,)
            self.students.append(s)

    def plan_residents(self) -> None:
        """Adults in the resident medical scheme, and the schoolchildren's years."""
        rng, Y = self.rng, self.intake.year
        for i in range(max(5, self.n // 100)):
            pid, name, male, birth = self.outsider(18, 85)
            cat = "老年居民" if age_at(birth, self.as_of) >= 60 else "成年居民"
            year = self.as_of.year if rng.random() < 0.8 else self.as_of.year - 1
            self.residents.append((pid, name, year, cat, self.rdate(D(year - 1, 9, 1), D(year, 6, 30))))
        for s in self.students:
            for y in s.med_years:
                self.residents.append((s.id, s.name, y, "学生", self.rdate(D(y - 1, 9, 1), D(y, 6, 30))
                                       if y <= Y else self.rdate(self.intake, self.as_of - ONE)))

    def plan_disabled(self) -> None:
        """Disabled residents whose subsidies agree with their changes."""
        rng = self.rng
        for i in range(max(10, self.n // 150)):
            dis = self.disabled_person()
            d0 = self.rdate(D(2016, 1, 1), self.as_of - ONE)
            level = rng.choices(LEVELS, (15, 30, 30, 25))[0]
            dis.changes.append((d0, "新增", level))
            if d0 < self.as_of - dt.timedelta(days=120) and rng.random() < 0.3:
                d1 = self.rdate(d0 + dt.timedelta(days=90), self.as_of - ONE)
                ctype = rng.choice(("等级变更", "等级变更", "注销", "死亡"))
                new = rng.choice([lv for lv in LEVELS if lv != level]) if ctype == "等级变更" else level
                dis.changes.append((d1, ctype, new))
            self.derive_subsidies(dis)
            self.disabled.append(dis)

    def plan_outsider_deaths(self) -> None:
        """Uninsured locals who died (公安 / 民政 records matching nobody in the register), and some who moved away."""
        rng = self.rng
        # uninsured locals who died: 公安 / 民政 records matching nobody in the register
        for i in range(max(5, self.n // 300)):
            pid, name, male, birth = self.outsider(60, 99)
            p = Person(pid, name, male, birth)
            death = self.rdate(self.win_start, self.as_of - ONE)
            x = rng.random()
            if i == 0:              # lands in the GB18030 公安 list of the last month
                p.name = self.names.rare_name(male)
                death, x = self.rand_in_month(self.months - 1, 1, 20), 0.5
            if x < 0.12:            # no ID card at hand: 民政 records name and birth date only
                # born before every register person, centenarians included
                birth = self.rdate(D(1916, 1, 1), D(1921, 12, 31))
                q = Person("", self.names.name(male, birth.year), male, birth)
                self.records(q, death, "ca", rid=None)
                self.name_birth_guard.add((q.name, q.birth))
            else:
                self.records(p, death, "ps ca" if x < 0.6 else "ps" if x < 0.85 else "ca", blank_ps=x > 0.95)
        for i in range(max(3, self.n // 500)):
            pid, name, male, birth = self.outsider(20, 70)
            self.deaths.append(Death("ps", pid, name, male, birth, None, self.rdate(self.win_start, self.win_end),
                                     reason="迁出"))

    def disabled_person(self) -> Disabled:
        pid, name, male, birth = self.outsider(16, 85)
        return Disabled(pid, name, male, self.rng.choice(DISABILITY_CATEGORIES), [], [])

    def outsider_death(self, dis: Disabled, death: D) -> None:
        p = Person(dis.id, dis.name, dis.male, D(1950, 1, 1))
        if self.win_start <= death <= self.win_end - 8 * ONE:
            self.records(p, death, "ps")

    def derive_subsidies(self, dis: Disabled) -> None:
        """Subsidies that agree with the change history (no rule fires)."""
        rng = self.rng
        open_start = None
        two = rng.random() < 0.3
        for d, ctype, level in dis.changes:
            eligible = ctype in ("新增", "等级变更") and level in ELIGIBLE
            if eligible and open_start is None:
                if d <= self.cutoff or rng.random() < 0.5:
                    open_start = abs_month(d)
            elif not eligible and open_start is not None:
                stopped = d <= self.cutoff or rng.random() < 0.5
                end = abs_month(d) if stopped else None
                for t in SUBSIDY_TYPES[:1 + two]:
                    dis.subsidies.append((t, 20000 if t == SUBSIDY_TYPES[0] else 38000, open_start, end))
                open_start = None
                if end is None:
                    return
        if open_start is not None:
            for t in SUBSIDY_TYPES[:1 + two]:
                dis.subsidies.append((t, 20000 if t == SUBSIDY_TYPES[0] else 38000, open_start, None))

    def assign_positions(self) -> None:
        """Where the planted persons stand in the streamed register, and where the payroll's
        ghosts (paid, never registered) are written among them."""
        slots = self.rng.sample(range(self.n), len(self.specials))
        self.special_at = dict(zip(slots, self.specials))
        for i, p in zip(slots, self.specials):
            p.idx = i
            if p.docs is None:
                p.docs = self.std_docs(p)
        self.ghost_at = defaultdict(list)
        for g in self.ghosts:
            self.ghost_at[self.rng.randrange(self.n)].append(g)
