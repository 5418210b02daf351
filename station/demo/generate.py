"""Demo and benchmark county generator.

``generate_county(dest)`` writes one county's deliveries into an inbox folder
(``dest/<department>/...``): every file kind of DOMAIN.md, with anomalies planted for all
16 comparison rules, near-misses that must *not* fire, and (``messy=True``) the file
habits of real partner departments. It returns a :class:`GenerationSummary` whose
``planted`` / ``expected`` say exactly which anomalies the default ``rules.yaml`` must
find at ``as_of`` — the generator keeps the background population free of accidental
anomalies, so ``expected`` is the complete answer, not a subset.

How it stays fast and small at a million persons: persons are streamed; each person's
payroll rows go straight to the open monthly payment files as the person is generated,
so nothing proportional to the payroll is held in memory. Only the few thousand planted
("special") persons, partner-department records and units live in memory.

Population model (register persons):
    30 % 退休 pensioners paid 基本养老金 monthly from the month after retirement;
    50 % 参保缴费; 8 % 暂停缴费 (a fifth of them on 失业保险金 for a stretch);
    8 % 终止; 4 % 死亡 (those who died inside the payroll window are paid through their
    death month and appear in the 公安 and/or 民政 death lists).
Partner-department people who are not in the register (schoolchildren, disabled
residents, uninsured locals who died) get ID sequence codes 900-999; register persons get
000-899. Two *valid* IDs are never one substitution or one adjacent swap apart (the check
character catches both), so with disjoint sequence ranges no death record of an outsider
can become an accidental DEATH_FUZZY_MATCH candidate; the few deliberately mistyped IDs
have their neighbourhoods reserved.

Run ``python -m station.demo.generate DEST --persons 1000000 --clean`` for the benchmark.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from array import array
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from station.kinds.spec import KINDS

from . import ids as idl
from .names import (FUNERAL_HOMES, HOMOPHONES, INDUSTRIES, ROADS, SCHOOLS, STREETS,
                    UNIT_SUFFIXES, UNIT_WORDS, NameMaker)
from .output import CsvOut, FileInfo, write_xlsx

D = dt.date
ONE = dt.timedelta(days=1)

RULE_IDS = (
    "DEATH_PAID", "DEATH_NOT_STOPPED", "DEATH_DATE_CONFLICT", "DEATH_FUZZY_MATCH",
    "ENTERPRISE_UNREGISTERED", "ENTERPRISE_CLOSED_ACTIVE", "STUDENT_UNENROLLED",
    "SUBSIDY_NOT_STOPPED", "SUBSIDY_MISSING", "DUPLICATE_PAYMENT", "CONFLICTING_BENEFITS",
    "PAYMENT_UNREGISTERED", "INVALID_ID", "RETIREE_NO_APPROVAL", "ARCHIVE_RETENTION",
    "CENTENARIAN_CHECK",
)
DEPARTMENTS = ("agency", "public_security", "civil_affairs", "industry_commerce",
               "education", "disability", "archive")

# Rule parameters as shipped in rules.yaml (DOMAIN.md § Anomaly rules).
GRACE = dt.timedelta(days=30)
MAX_DEATH_DAYS = 7
MIN_AGE = 100
SINCE = D(2025, 1, 1)
APPROVAL = "退休审批表"
ELIGIBLE = ("一级", "二级")
RETENTION = {
    "参保登记表": "永久", "单位参保登记表": "永久", "参保变更登记表": "永久",
    "人员信息变更表": "长期", "个人账户对账单": "长期", "退休审批表": "长期", "待遇核定表": "长期",
    "医疗费用审核表": "长期", "工伤认定决定书": "长期",
    "稽核记录": "短期", "清算单": "短期", "死亡证明": "短期",
}
TERMINAL = ("终止", "死亡")
PENSION, UNEMPLOYMENT = "基本养老金", "失业保险金"

COUNTY = "440303"
OTHER_REGIONS = ("440304", "440306", "441424", "441481", "445281", "430524", "360732", "452122")
REGIONS = (COUNTY,) + OTHER_REGIONS
_REGION_IX = {r: i for i, r in enumerate(REGIONS)}
_ORD0 = D(1900, 1, 1).toordinal()

LEVELS = ("一级", "二级", "三级", "四级")
LEVEL_SPELLINGS = {"一级": ("一级", "1级", "壹级", "1"), "二级": ("二级", "2级", "贰级", "2"),
                   "三级": ("三级", "3级", "叁级", "3"), "四级": ("四级", "4级", "肆级", "4")}
DISABILITY_CATEGORIES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
SUBSIDY_TYPES = ("城乡居民养老保险费补助", "城乡居民医疗保险费补助")
_FULLWIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}


# -- public result types --------------------------------------------------------------

@dataclass
class BadRow:
    """A row the station must reject (with a reason naming ``field``)."""
    path: str        # file, relative to the inbox
    line: int        # 1-based line (CSV) or sheet row (XLSX)
    field: str       # canonical header of the offending field
    reason: str      # "missing" or "excel_number"
    value: str       # the cell as written


@dataclass
class GenerationSummary:
    dest: Path
    persons: int
    seed: int
    messy: bool
    as_of: D
    months: int
    periods: list[str]
    files: list[FileInfo]
    counts: dict[str, int]                 # kind -> data rows (bad rows included)
    planted: dict[str, list[str]]          # rule -> subjects that must fire
    expected: dict[str, list[list]]        # rule -> [subject, period|None, amount|None]
    near_misses: dict[str, list[str]]      # rule -> "subject: why it must not fire"
    bad_rows: list[BadRow]
    seconds: float = 0.0

    def expected_anomalies(self) -> dict:
        """The same shape as ``samples/expected_anomalies.json``."""
        return {"as_of": self.as_of.isoformat(),
                "note": (f"Planted anomalies of the demo county (seed {self.seed}, "
                         f"{self.persons} persons, messy={self.messy}); default rules.yaml."),
                "anomalies": self.expected}

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dest"] = str(self.dest)
        d["as_of"] = self.as_of.isoformat()
        return d


# -- small helpers ---------------------------------------------------------------------

def add_years(d: D, n: int) -> D:
    try:
        return d.replace(year=d.year + n)
    except ValueError:                      # 29 February
        return d.replace(year=d.year + n, day=28)


def age_at(birth: D, ref: D) -> int:
    return ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def money_commas(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


def cn_date(d: D) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def slash_date(d: D) -> str:
    return f"{d.year}/{d.month}/{d.day}"


def month_str(abs_month: int) -> str:
    return f"{abs_month // 12:04d}-{abs_month % 12 + 1:02d}"


def abs_month(d: D) -> int:
    return d.year * 12 + d.month - 1


# -- model -----------------------------------------------------------------------------

@dataclass(slots=True)
class Person:
    id: str                       # the ID as the station stores it (normalised)
    name: str
    male: bool
    birth: D
    status: str = ""
    idx: int = -1                 # register position (个人编号 P<idx+1>); -1: not in register
    unit: str = ""
    insured: D | None = None
    retire: D | None = None
    pension: int = 0              # cents a month
    p_from: int = -1              # pension paid for window months p_from..p_to
    p_to: int = -1
    ub_from: int = -1             # 失业保险金 for window months ub_from..ub_to
    ub_to: int = -1
    skip: tuple = ()              # pension months withheld
    extra: list | None = None     # (file month, period month, type, cents, day, ID written)
    pay_id: dict | None = None    # month -> ID the payroll used instead (a typo)
    docs: list | None = None      # (prefix, material, formed, pages, retention)
    died: D | None = None         # true date of death (model only)
    role: str = ""                # "" for background persons
    in_register: bool = True
    shown: str | None = None      # messy: the 15-digit form the register file shows


@dataclass(slots=True)
class Death:
    source: str                   # "ps" 公安 household cancellation / "ca" 民政 cremation
    id: str | None
    name: str
    male: bool
    birth: D
    death: D | None               # ps: None = left blank (注销日期 stands in)
    cancel: D | None = None       # ps
    reason: str = "死亡"          # ps
    cremation: D | None = None    # ca
    home: str = ""                # ca

    @property
    def effective(self) -> D:
        return self.death or self.cancel


@dataclass(slots=True)
class Unit:
    no: str
    code: str
    name: str
    reg: D
    status: str
    closed: D | None = None
    docs: list = field(default_factory=list)
    blank_status: bool = False


@dataclass(slots=True)
class Student:
    id: str
    name: str
    male: bool
    school: str
    grade: str
    enrol: D
    med_years: tuple = ()


@dataclass(slots=True)
class Disabled:
    id: str
    name: str
    male: bool
    category: str
    changes: list                 # (date, type, level)
    subsidies: list               # (type, cents, start abs month, end abs month | None)
    role: str = ""


# -- the generator ---------------------------------------------------------------------

class _County:
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

        days = as_of.toordinal() - _ORD0 + 800
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
        ri = _REGION_IX[region]
        counts, span = (self.k_out, 50) if outside else (self.k_reg, 450)
        o = birth.toordinal()
        while True:
            slot = ((o - _ORD0) * len(REGIONS) + ri) * 2 + male
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

    # -- special (planted) persons -----------------------------------------------------
    def special(self, p: Person, role: str, rules: tuple = ()) -> Person:
        p.role = role
        self.roles.setdefault(role, set(rules))
        if p.id in self.special_ids:
            raise RuntimeError(f"duplicate special ID {p.id}")
        self.special_ids[p.id] = p
        self.specials.append(p)
        return p

    def rand_in_month(self, m: int, lo_day: int = 1, hi_day: int = 31) -> D:
        first, last = self.m_first(m), self.m_last(m)
        return self.rdate(first.replace(day=min(lo_day, last.day)), last.replace(day=min(hi_day, last.day)))

    def typo_id(self, pid: str) -> str:
        """``pid`` with one digit of its birth date or sequence code mistyped."""
        while True:
            j = self.rng.randint(6, 16)
            d = self.rng.choice([x for x in "0123456789" if x != pid[j]])
            t = pid[:j] + d + pid[j + 1:]
            if t not in self.special_ids:
                return t

    def record_id(self, make, designed: set[str]) -> str:
        """A mistyped death-record ID from ``make()`` whose register neighbours (so far)
        are exactly ``designed``; persons allocated later are kept away by reserving
        its neighbourhood in ``forbidden``."""
        while True:
            rid = make()
            if rid in self.special_ids or rid in self.forbidden:
                continue
            near = {s for s in idl.neighbours(rid) if s in self.special_ids}
            if near <= designed:         # the target itself may not be registered yet
                self.forbidden |= idl.neighbours(rid)
                return rid

    def plan_register_specials(self) -> None:
        rng, M = self.rng, self.months
        near = self.near

        # DEATH_PAID + DEATH_NOT_STOPPED: the register never learnt of the death.
        for i in range(self.c):
            p = self.person("退休", birth=self.birth_for_age(66, 92))
            death = self.rand_in_month(rng.randint(0, M - 3))
            p.died = death
            self.records(p, death, ("ps ca", "ps", "ca")[i % 3], blank_ps=i % 5 == 4)
            self.special(p, "DP_both", ("DEATH_PAID", "DEATH_NOT_STOPPED"))
        # DEATH_PAID only: status set to 死亡, but the payroll stopped months late.
        for i in range(self.half):
            dm = rng.randint(0, M - 4)
            death = self.rand_in_month(dm)
            p = self.person("死亡", birth=add_years(death, -rng.randint(66, 90)) - dt.timedelta(days=rng.randint(1, 300)),
                            death=death, ret_age=60)
            p.p_to = dm + rng.randint(1, min(3, M - 1 - dm))
            self.records(p, death, ("ps ca", "ca", "ps")[i % 3])
            self.special(p, "DP_only", ("DEATH_PAID",))
        # DEATH_NOT_STOPPED only: a contributor died; nothing was paid.
        for i in range(self.half):
            p = self.person("参保缴费" if i % 2 == 0 else "暂停缴费", unemployment=False)
            if i == 0 and self.cutoff - 2 * ONE >= self.m_first(M - 1):
                # died in the last month: lands in the GB18030 公安 list, rare-character name
                p.name = self.names.rare_name(p.male)
                death, src = self.rdate(self.m_first(M - 1), self.cutoff - 2 * ONE), "ps"
            else:
                death, src = self.rdate(self.win_start, self.cutoff - 3 * ONE), ("ps", "ca", "ps ca")[i % 3]
            p.died = death
            self.records(p, death, src)
            self.special(p, "DNS_only", ("DEATH_NOT_STOPPED",))
        # DEATH_DATE_CONFLICT: 公安 and 民政 disagree by more than a week.
        for i in range(self.rare + self.nm):
            d1 = self.rdate(self.win_start, self.cutoff - 60 * ONE)
            delta = rng.randint(8, 45) if i < self.rare else MAX_DEATH_DAYS
            d2 = d1 + dt.timedelta(days=delta * rng.choice((1, -1)))
            if d2 < self.win_start:
                d2 = d1 + dt.timedelta(days=delta)
            eff = min(d1, d2)
            p = self.person("死亡", birth=add_years(eff, -rng.randint(62, 90)), death=eff, ret_age=60)
            self.records(p, d1, "ps")
            self.records(p, eff, "ca", ca_death=d2)
            if i < self.rare:
                self.special(p, "DDC", ("DEATH_DATE_CONFLICT",))
            else:
                self.special(p, "DDC_nm")
                near["DEATH_DATE_CONFLICT"].append(f"{p.id}: 公安 and 民政 death dates exactly {MAX_DEATH_DAYS} days apart")
        # Near-misses of the death rules.
        for i in range(self.nm):
            # died inside the grace period, paid through the death month only
            p = self.person("退休", birth=self.birth_for_age(70, 95))
            if i == 0:
                p.name = self.names.rare_name(p.male)
            death = self.rdate(max(self.cutoff + ONE, self.m_first(M - 1)), self.as_of - ONE)
            p.died = death
            self.records(p, death, "ps ca")
            self.special(p, "grace_nm")
            near["DEATH_NOT_STOPPED"].append(f"{p.id}: died {death}, inside the {GRACE.days}-day grace period")
            # a properly stopped pension
            p = self.person("死亡", birth=self.birth_for_age(70, 95), ret_age=60,
                            death=self.rand_in_month(rng.randint(0, M - 2)))
            self.records(p, p.died, "ps ca")
            self.special(p, "stopped_nm")
            near["DEATH_PAID"].append(f"{p.id}: died {p.died}, pension paid through the death month only")
            # moved away (户籍迁出) is not a death
            p = self.person("退休", birth=self.birth_for_age(62, 85))
            self.deaths.append(Death("ps", p.id, p.name, p.male, p.birth, None,
                                     self.rdate(self.win_start, self.win_end), reason="迁出"))
            self.special(p, "moved_nm")
            near["DEATH_NOT_STOPPED"].append(f"{p.id}: 公安 cancellation for 迁出, not a death")

        # DEATH_FUZZY_MATCH: the death record's ID is mistyped, or missing.
        for i in range(self.c):
            variant = ("digit", "swap", "noid")[i % 3]
            male = rng.random() < 0.5
            status = "退休" if rng.random() < 0.8 else "参保缴费"
            typo_name = None
            if variant == "swap":
                reg_name, typo_name = self.names.homophone_name(male)
                p = self.person(status, male=male, name=reg_name)
            else:
                p = self.person(status, male=male)
            death = self.rdate(self.win_start, self.cutoff - 3 * ONE)
            if variant == "digit":
                rid = self.record_id(lambda: self.typo_id(p.id), {p.id})
            elif variant == "swap":
                def swapped(pid=p.id):
                    while True:
                        j = rng.randint(6, 15)
                        if pid[j] != pid[j + 1]:
                            return pid[:j] + pid[j + 1] + pid[j] + pid[j + 2:]
                rid = self.record_id(swapped, {p.id})
            else:
                rid = None
                self.name_birth_guard.add((p.name, p.birth))
            recs = self.records(p, death, "ca" if variant == "noid" or rng.random() < 0.65 else "ps",
                                rid=rid, name=typo_name)
            self.fuzzy_design.append((recs[0], [p.id]))
            self.special(p, "FUZZY_" + variant, ("DEATH_FUZZY_MATCH",))
        for i in range(self.nm):
            # two register persons fit the mistyped ID equally well: no single match
            male = rng.random() < 0.5
            a = self.person("退休", male=male, birth=self.birth_for_age(62, 85))
            while True:
                j = 15
                body = a.id[:j] + rng.choice([x for x in "0123456789" if x != a.id[j]]) + a.id[j + 1:17]
                b_id = body + idl.id_check(body)
                rid = a.id[:17] + b_id[17]
                if (b_id not in self.special_ids and b_id not in self.forbidden and rid not in self.forbidden
                        and {s for s in idl.neighbours(rid) if s in self.special_ids} <= {a.id}):
                    break
            b = self.person("参保缴费" if rng.random() < 0.5 else "退休", male=male, birth=a.birth, name=a.name)
            b.id, b.birth = b_id, a.birth
            self.forbidden.add(b_id)
            self.forbidden |= idl.neighbours(rid)
            recs = self.records(a, self.rdate(self.win_start, self.cutoff - 3 * ONE), "ps", rid=rid)
            self.fuzzy_design.append((recs[0], [a.id, b.id]))
            self.special(a, "fuzzy_two_nm")
            self.special(b, "fuzzy_two_nm")
            near["DEATH_FUZZY_MATCH"].append(f"{rid}: death record fits both {a.id} and {b.id} ({a.name})")
            # one digit off, but somebody else's name
            t = self.person("参保缴费")
            rid = self.record_id(lambda: self.typo_id(t.id), {t.id})
            # another surname and another length: neither equal nor a homophone
            stranger = self.names.plain_name(t.male)
            while stranger[0] == t.name[0]:
                stranger = self.names.plain_name(t.male)
            if len(t.name) == len(stranger):
                stranger = stranger[:-1]
            recs = self.records(t, self.rdate(self.win_start, self.cutoff - 3 * ONE), "ca", rid=rid, name=stranger)
            self.fuzzy_design.append((recs[0], [t.id]))
            self.special(t, "fuzzy_name_nm")
            near["DEATH_FUZZY_MATCH"].append(f"{rid}: one digit from {t.id} but named {stranger}, not {t.name}")

        # DUPLICATE_PAYMENT: one month paid twice (a payroll batch re-run or re-issue).
        for i in range(self.c):
            p = self.person("退休", birth=self.birth_for_age(63, 88))
            pm = rng.randint(0, M - 2)
            p.extra = [(pm, pm, PENSION, p.pension, 25, None) if i % 2 == 0
                       else (pm + 1, pm, PENSION, p.pension, 20, None)]
            self.special(p, "DUP", ("DUPLICATE_PAYMENT",))
        for i in range(self.nm):
            # arrears: a withheld month paid the month after — two periods, no duplicate
            p = self.person("退休", birth=self.birth_for_age(63, 88))
            pm = rng.randint(0, M - 2)
            p.skip = (pm,)
            p.extra = [(pm + 1, pm, PENSION, p.pension, 20, None)]
            self.special(p, "arrears_nm")
            near["DUPLICATE_PAYMENT"].append(f"{p.id}: {self.periods[pm]} withheld and paid as arrears in {self.periods[pm + 1]}")

        # CONFLICTING_BENEFITS: unemployment benefit not stopped when the pension began.
        for i in range(self.half + self.nm):
            male = rng.random() < 0.5
            ret_age = 60 if male else 50
            rm = rng.randint(1, M - 3)
            retire = self.rand_in_month(rm, 2, 25)
            p = self.person("退休", male=male, birth=add_years(retire, -ret_age), ret_age=ret_age)
            p.p_from = rm + 1
            p.ub_from = max(0, rm - rng.randint(2, 6))
            if i < self.half:
                p.ub_to = rm + rng.randint(1, min(2, M - 1 - rm))
                self.special(p, "CONF", ("CONFLICTING_BENEFITS",))
            else:
                p.ub_to = rm
                self.special(p, "conf_nm")
                near["CONFLICTING_BENEFITS"].append(f"{p.id}: 失业保险金 ends {self.periods[rm]}, pension starts {self.periods[rm + 1]}")

        # PAYMENT_UNREGISTERED: payroll keyed with an ID the register does not know.
        for i in range(self.c):
            variant = ("transfer", "typo", "ub")[i % 3]
            if variant == "typo":
                t = self.person("退休", birth=self.birth_for_age(62, 85))
                wrong = self.typo_id(t.id)
                s = rng.randint(0, M - 2)
                t.pay_id = {m: wrong for m in range(s, min(M, s + rng.randint(1, 4)))}
                self.special(t, "unreg_typo_owner")
                # reserve the wrong ID: no later plant may reuse it
                self.special_ids[wrong] = Person(wrong, t.name, t.male, t.birth, role="UNREG_typo",
                                                 in_register=False)
                continue
            else:
                pid, name, male, birth = self.outsider(62, 85) if variant == "transfer" else self.outsider(30, 55)
                g = Person(pid, name, male, birth, role="UNREG_" + variant, in_register=False)
                if variant == "transfer":
                    g.pension = rng.randint(180000, 480000)
                    g.p_from, g.p_to = rng.randint(0, M - 2), M - 1
                else:
                    g.ub_from = rng.randint(0, M - 3)
                    g.ub_to = min(M - 1, g.ub_from + rng.randint(2, 5))
            self.ghosts.append(g)
            self.roles.setdefault(g.role, {"PAYMENT_UNREGISTERED"})
        self.roles["unreg_typo_owner"] = set()

        # INVALID_ID: the register holds a mistyped ID (check character or birth date).
        # An invalid ID can sit one character from a valid one, so keep it clear of
        # every death record that matches nobody in the register.
        strangers = {r.id for r in self.deaths if r.id and r.id not in self.special_ids}
        for i in range(self.c):
            p = self.person(("参保缴费", "退休", "参保缴费")[i % 3])
            while True:
                if i % 3 == 2:
                    mo, day = rng.choice(((2, 30), (4, 31), (6, 31), (9, 31), (11, 31)))
                    body = f"{p.id[:6]}{p.birth.year:04d}{mo:02d}{day:02d}{rng.randrange(0, 450) * 2 + p.male:03d}"
                    bad = body + idl.id_check(body)
                else:
                    bad = p.id[:17] + rng.choice([x for x in idl.ID_CHARS if x != p.id[17]])
                if bad not in self.special_ids and not idl.neighbours(bad) & strangers:
                    break
            p.id = bad
            self.special(p, "INVALID", ("INVALID_ID",))

        # RETIREE_NO_APPROVAL: a recent retirement without its approval form on file.
        hi = self.win_end - dt.timedelta(days=35)
        if SINCE <= hi:
            for i in range(self.c):
                male = rng.random() < 0.5
                ret_age = 60 if male else rng.choice((50, 55))
                retire = self.rdate(SINCE, hi)
                p = self.person("退休", male=male, birth=add_years(retire, -ret_age), ret_age=ret_age)
                self.special(p, "RNA", ("RETIREE_NO_APPROVAL",))
        for i in range(self.nm):
            male = rng.random() < 0.5
            retire = self.rdate(SINCE - dt.timedelta(days=90), SINCE - ONE)
            p = self.person("退休", male=male, birth=add_years(retire, -60), ret_age=60)
            p.docs = [d for d in self.std_docs(p) if d[1] != APPROVAL]
            self.special(p, "rna_nm")
            near["RETIREE_NO_APPROVAL"].append(f"{p.id}: retired {p.retire}, before {SINCE}, no approval form")

        # ARCHIVE_RETENTION: scanned documents filed under the wrong retention period.
        for i in range(self.c):
            v = i % 4
            if v == 0:        # the approval form is there (RETIREE_NO_APPROVAL satisfied) but 短期
                lo = max(SINCE, self.win_start)
                retire = self.rdate(lo, max(lo, self.win_end - dt.timedelta(days=35)))
                p = self.person("退休", male=True, birth=add_years(retire, -60), ret_age=60)
                p.docs = [d if d[1] != APPROVAL else d[:4] + ("短期",) for d in self.std_docs(p)]
                if not any(d[1] == APPROVAL for d in p.docs):
                    p.docs.append(("SB", APPROVAL, p.retire - 10 * ONE, 3, "短期"))
                near["RETIREE_NO_APPROVAL"].append(f"{p.id}: approval form present, with the wrong retention")
            elif v == 1:
                p = self.person("死亡", death=self.rand_in_month(rng.randint(0, M - 2)))
                self.records(p, p.died, "ps ca")
                p.docs = self.std_docs(p) + [("SB", "死亡证明", p.died + 6 * ONE, 1, "永久")]
            elif v == 2:
                p = self.person("参保缴费")
                p.docs = [("SB", "参保登记表", p.insured, 2, "长期")] + self.std_docs(p)
            else:
                p = self.person("退休", birth=self.birth_for_age(65, 80))
                p.docs = self.std_docs(p) + [("SB", "待遇核定表", p.retire, 2, "")]
            self.special(p, "ARCH", ("ARCHIVE_RETENTION",))
        p = self.person("参保缴费")
        p.docs = [("SB", "参保登记表", p.insured, 2, "永久"), ("SB", "授权委托书", p.insured, 1, "短期")]
        self.special(p, "arch_nm")
        near["ARCHIVE_RETENTION"].append(f"{p.id}: 授权委托书 filed 短期, a material outside the retention map")

        # CENTENARIAN_CHECK: a pensioner aged 100 or more.
        hundred = add_years(self.as_of, -MIN_AGE)
        for i in range(self.cent):
            birth = hundred if i == 0 else self.rdate(add_years(self.as_of, -104), hundred - ONE)
            p = self.person("退休", birth=birth, ret_age=60 if i % 2 else 55, male=bool(i % 2))
            if age_at(p.birth, self.as_of) < MIN_AGE:
                raise RuntimeError("centenarian birth date moved")
            self.special(p, "CENT", ("CENTENARIAN_CHECK",))
        p = self.person("退休", birth=hundred + ONE)
        self.special(p, "cent_nm")
        near["CENTENARIAN_CHECK"].append(f"{p.id}: born {p.birth}, turns {MIN_AGE} the day after as_of")
        death = self.rand_in_month(rng.randint(0, M - 2))
        p = self.person("死亡", birth=add_years(death, -101), death=death, ret_age=60)
        self.records(p, death, "ps ca")
        self.special(p, "cent_dead_nm")
        near["CENTENARIAN_CHECK"].append(f"{p.id}: died aged 101 (status 死亡)")

    # -- people outside the register ---------------------------------------------------
    def plan_outsiders(self) -> None:
        rng, near = self.rng, self.near
        Y = self.intake.year
        ages = {"一年级": 6, "七年级": 12, "高一": 15}

        def student(grade=None, enrol=None):
            grade = grade or rng.choice(("一年级", "一年级", "七年级", "七年级", "高一"))
            a = ages[grade]
            birth = self.rdate(D(Y - a - 1, 9, 1), D(Y - a, 8, 31))
            pid, name, male, birth = self.outsider(0, 0, birth=birth)
            return Student(pid, name, male, rng.choice(SCHOOLS[grade]), grade, enrol or self.intake)

        for i in range(max(12, self.n // 80)):
            s = student()
            if rng.random() < 0.03:      # transferred in after term began (same school year)
                s.enrol = self.rdate(self.intake + ONE, min(self.as_of - ONE, D(Y, 12, 31)))
            x = rng.random()
            s.med_years = (Y,) if x < 0.9 else (Y - 1, Y) if x < 0.97 else (Y + 1,)
            self.students.append(s)
        self.planted_students = []
        for i in range(self.c):
            s = student(enrol=self.intake if i % 4 else self.rdate(self.intake, self.cutoff - 3 * ONE))
            s.med_years = () if i % 3 else (Y - 1,)
            self.students.append(s)
            self.planted_students.append(s.id)
        for i in range(self.nm):
            s = student(enrol=self.rdate(max(self.cutoff + ONE, self.intake), self.as_of - ONE))
            self.students.append(s)
            near["STUDENT_UNENROLLED"].append(f"{s.id}: enrolled {s.enrol}, inside the grace period")
            s = student()
            s.med_years = (Y + 1,)
            self.students.append(s)
            near["STUDENT_UNENROLLED"].append(f"{s.id}: resident medical for {Y + 1} counts")

        # adults in the resident medical scheme
        for i in range(max(5, self.n // 100)):
            pid, name, male, birth = self.outsider(18, 85)
            cat = "老年居民" if age_at(birth, self.as_of) >= 60 else "成年居民"
            year = self.as_of.year if rng.random() < 0.8 else self.as_of.year - 1
            self.residents.append((pid, name, year, cat, self.rdate(D(year - 1, 9, 1), D(year, 6, 30))))
        for s in self.students:
            for y in s.med_years:
                self.residents.append((s.id, s.name, y, "学生", self.rdate(D(y - 1, 9, 1), D(y, 6, 30))
                                       if y <= Y else self.rdate(self.intake, self.as_of - ONE)))

        # disabled residents: changes and insurance-fee subsidies
        cutoff = self.cutoff
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
        # planted: subsidy runs on after the certificate was cancelled, the person died,
        # or the level dropped out of the eligible range
        for i in range(self.c):
            dis = self.disabled_person()
            d0 = self.rdate(D(2018, 1, 1), D(2024, 6, 30))
            d1 = self.rdate(self.win_start, cutoff - 3 * ONE)
            v = i % 3
            lv = rng.choice(ELIGIBLE)
            dis.changes.append((d0, "新增", lv))
            end = None
            if v == 0:
                dis.changes.append((d1, "注销", lv))
            elif v == 1:
                dis.changes.append((d1, "死亡", lv))
                self.outsider_death(dis, d1 - dt.timedelta(days=rng.randint(0, 10)))
            else:
                dis.changes.append((d1, "等级变更", rng.choice(("三级", "四级"))))
                end = abs_month(d1) + rng.randint(1, 4) if rng.random() < 0.5 else None
            dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), end))
            dis.role = "SUB_NS"
            self.disabled.append(dis)
        # planted: eligible, but no subsidy
        for i in range(self.c):
            dis = self.disabled_person()
            d1 = self.rdate(self.win_start, cutoff - 3 * ONE)
            v = i % 3
            if v == 0:
                dis.changes.append((d1, "新增", rng.choice(ELIGIBLE)))
            elif v == 1:
                dis.changes.append((self.rdate(D(2017, 1, 1), D(2023, 12, 31)), "新增", rng.choice(("三级", "四级"))))
                dis.changes.append((d1, "等级变更", rng.choice(ELIGIBLE)))
            else:
                d0 = self.rdate(D(2019, 1, 1), D(2022, 12, 31))
                dis.changes.append((d0, "新增", "二级"))
                dis.changes.append((d0 + dt.timedelta(days=400), "等级变更", "三级"))
                dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), abs_month(d0) + 13))
                dis.changes.append((d1, "等级变更", "一级"))
            dis.role = "SUB_MISS"
            self.disabled.append(dis)
        for i in range(self.nm):
            dis = self.disabled_person()
            d0 = self.rdate(D(2018, 1, 1), D(2023, 12, 31))
            dis.changes += [(d0, "新增", "二级"), (self.rdate(cutoff + ONE, self.as_of - ONE), "注销", "二级")]
            dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), None))
            self.disabled.append(dis)
            near["SUBSIDY_NOT_STOPPED"].append(f"{dis.id}: cancelled inside the grace period")
            dis = self.disabled_person()
            d1 = self.rdate(self.win_start, cutoff - 3 * ONE)
            dis.changes += [(d0, "新增", "一级"), (d1, "注销", "一级")]
            dis.subsidies.append((SUBSIDY_TYPES[0], 20000, abs_month(d0), abs_month(d1)))
            self.disabled.append(dis)
            near["SUBSIDY_NOT_STOPPED"].append(f"{dis.id}: subsidy ends in the month of the cancellation")
            dis = self.disabled_person()
            dis.changes.append((self.rdate(cutoff + ONE, self.as_of - ONE), "新增", "一级"))
            self.disabled.append(dis)
            near["SUBSIDY_MISSING"].append(f"{dis.id}: newly certified inside the grace period")

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

    # -- units and enterprises ---------------------------------------------------------
    def plan_units(self) -> None:
        rng, near = self.rng, self.near
        codes: set[str] = set()
        unit_names: set[str] = set()

        def code():
            while True:
                c = idl.make_credit_code(rng, COUNTY if rng.random() < 0.9 else rng.choice(OTHER_REGIONS))
                if c not in codes:
                    codes.add(c)
                    return c

        def uname():
            while True:
                s = rng.choices([s for s, _ in UNIT_SUFFIXES], [w for _, w in UNIT_SUFFIXES])[0]
                n = "深圳市" + rng.choice(UNIT_WORDS) + rng.choice(UNIT_WORDS) + rng.choice(INDUSTRIES) + s
                if n not in unit_names:
                    unit_names.add(n)
                    return n

        def address():
            return f"深圳市罗湖区{rng.choice(STREETS)}{rng.choice(ROADS)}{rng.randint(1, 388)}号"

        lo, hi = D(1992, 1, 1).toordinal(), (self.as_of - 60 * ONE).toordinal()
        for i in range(max(12, self.n // 40)):
            reg = D.fromordinal(hi - int((hi - lo) * rng.random() ** 1.3))
            x = rng.random()
            status = "正常" if x < 0.88 else "注销" if x < 0.96 else "暂停"
            u = Unit(f"U{i + 1:07d}", code(), uname(), reg, status)
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
                            u.reg - dt.timedelta(days=rng.randint(3, 60)), address()))
            if u.closed and u.closed >= since:
                ent.append((u.code, u.name, self.names.name(True, 1970), "注销", u.closed, address()))
            if rng.random() < 0.08:
                ent.append((u.code, u.name, self.names.name(True, 1975), "变更",
                            self.rdate(max(u.reg, since), self.as_of - ONE), address()))
        # planted: set up more than grace_days ago, never registered with the agency
        self.planted_enterprises = []
        for i in range(self.c):
            c, n = code(), uname()
            d = self.rdate(self.win_start, self.cutoff - 3 * ONE)
            ent.append((c, n, self.names.name(True, 1980), "设立", d, address()))
            if i % 3 == 1:
                ent.append((c, n, self.names.name(False, 1985), "变更", self.rdate(d + ONE, self.as_of - ONE), address()))
            self.planted_enterprises.append(c)
        # planted: closed at 工商, still 正常 in the register
        self.planted_closed = []
        for u in rng.sample([u for u in self.open_units if u.reg < since], self.rare):
            ent.append((u.code, u.name, self.names.name(True, 1970), "注销",
                        self.rdate(self.win_start, self.as_of - ONE), address()))
            self.planted_closed.append(u.code)
        if self.planted_closed:
            next(u for u in self.units if u.code == self.planted_closed[0]).blank_status = True
        for i in range(self.nm):
            c, n = code(), uname()
            ent.append((c, n, self.names.name(True, 1980), "设立", self.rdate(self.cutoff + ONE, self.as_of - ONE), address()))
            near["ENTERPRISE_UNREGISTERED"].append(f"{c}: set up inside the grace period")
            c, n = code(), uname()
            ent.append((c, n, self.names.name(True, 1960), "注销", self.rdate(self.win_start, self.as_of - ONE), address()))
            near["ENTERPRISE_CLOSED_ACTIVE"].append(f"{c}: closed, but never a register unit")
        closed = [u for u in self.units if u.closed and u.closed >= since]
        if closed:
            near["ENTERPRISE_CLOSED_ACTIVE"].append(f"{closed[0].code}: closed and 注销 in the register too")
        ent.sort(key=lambda e: (e[4], e[3], e[0]))
        # unit documents with the wrong retention
        self.planted_unit_docs = []
        for u in rng.sample(self.units, max(1, self.c // 3)):
            material, wrong = rng.choice((("单位参保登记表", "长期"), ("清算单", "永久"), ("单位参保登记表", "")))
            u.docs.append(("DW", material, u.closed or u.reg, 2, wrong))
            self.planted_unit_docs.append(u.no)

    # -- checks ------------------------------------------------------------------------
    def check_fuzzy_design(self) -> None:
        """Every death record whose ID is not a register ID must have exactly the
        designed register candidates among the planted persons (the background is kept
        out by ``forbidden`` and by the sequence-code ranges)."""
        designed = {id(rec): set(c) for rec, c in self.fuzzy_design}
        live = {pid: p for pid, p in self.special_ids.items() if p.in_register and p.status not in TERMINAL}
        by_name_birth = defaultdict(set)
        for p in live.values():
            by_name_birth[(p.name, p.birth)].add(p.id)
        for rec in self.deaths:
            if rec.source == "ps" and rec.reason != "死亡":
                continue
            if rec.id is None:
                got = by_name_birth.get((rec.name, rec.birth), set())
            elif rec.id in self.special_ids and self.special_ids[rec.id].in_register:
                continue
            else:
                got = {s for s in idl.neighbours(rec.id) if s in live}
            want = designed.get(id(rec), set())
            if got != want:
                raise RuntimeError(f"death record {rec.id or rec.name}: candidates {got}, designed {want}")

    # -- writing -----------------------------------------------------------------------
    def generate(self) -> GenerationSummary:
        t0 = time.perf_counter()
        self.plan_units()
        self.plan_outsiders()
        self.plan_register_specials()
        self.check_fuzzy_design()
        self.assign_positions()
        self.write_units()
        self.write_enterprises()
        self.stream_register()
        self.write_deaths()
        self.write_students_and_medical()
        self.write_disability()
        summary = self.summarise()
        summary.seconds = round(time.perf_counter() - t0, 3)
        return summary

    def assign_positions(self) -> None:
        slots = self.rng.sample(range(self.n), len(self.specials))
        self.special_at = dict(zip(slots, self.specials))
        for i, p in zip(slots, self.specials):
            p.idx = i
            if p.docs is None:
                p.docs = self.std_docs(p)
        self.ghost_at = defaultdict(list)
        for g in self.ghosts:
            self.ghost_at[self.rng.randrange(self.n)].append(g)

    def csv(self, rel: str, kind: str, headers, **kw) -> CsvOut:
        return CsvOut(self.dest, rel, kind, headers, fast=not self.messy, **kw)

    def headers(self, kind: str) -> list[str]:
        return [f.header for f in KINDS[kind].fields]

    def mess_id(self, pid: str, lower: float = 0.3, space: float = 0.01) -> str:
        r = self.mrng.random
        if pid.endswith("X") and r() < lower:
            pid = pid[:-1] + "x"
        if r() < space:
            pid = " " + pid + " " if r() < 0.5 else pid + "  "
        return pid

    def write_units(self) -> None:
        h = self.headers("units")
        if self.messy:
            h = [" 单位编号", "统一社会信用代码 ", "单位名称", "登记日期", "单位状态 "]
        out = self.csv("agency/参保单位.csv", "units", h)
        for u in self.units:
            status = u.status
            if self.messy and (u.blank_status or (status == "正常" and self.mrng.random() < 0.05)):
                status = ""
            out.row((u.no, u.code, u.name, u.reg.isoformat(), status))
        self.files.append(out.close())

    def write_enterprises(self) -> None:
        if self.messy:
            out = self.csv(f"industry_commerce/企业登记信息_{self.as_of.year}.csv", "enterprises",
                           ["统一社会信用代码（必填）", "企业名称（必填）", "法人代表", "*登记类型",
                            "核准日期(必填)", "注册地址"], delimiter="\t", crlf=True)
        else:
            out = self.csv(f"industry_commerce/企业登记信息_{self.as_of.year}.csv", "enterprises",
                           self.headers("enterprises"))
        for c, n, rep, t, d, addr in self.enterprises:
            if self.messy and self.mrng.random() < 0.4:
                c = c.lower()
            out.row((c, n, rep, t, d.isoformat(), addr))
        self.files.append(out.close())

    # payroll, register and archive, streamed together
    def stream_register(self) -> None:
        messy, mrng, M = self.messy, self.mrng, self.months
        last_ym = self.periods[-1].replace("-", "")
        if messy:
            persons = self.csv(f"agency/参保人员信息_{last_ym}.csv", "persons",
                               ["个人编号", "身份证号码", "姓名", "性别", "出生日期", "参保单位编号",
                                "人员状态", "首次参保日期", "离退休日期", "月基本养老金"],
                               encoding="utf-8-sig", crlf=True)
            scan = self.csv("archive/档案扫描索引.csv", "scan_index",
                            ["档案号", "文件序号", "归档对象", "文件名称", "文件日期", "页数", "保存期限", "影像文件"],
                            encoding="utf-8-sig", crlf=True)
        else:
            persons = self.csv(f"agency/参保人员信息_{last_ym}.csv", "persons", self.headers("persons"))
            scan = self.csv("archive/档案扫描索引.csv", "scan_index", self.headers("scan_index"))
        self.pay = [_PayOut(self, m) for m in range(M)]
        self.legacy_written = []
        scan_rows = 0

        def scan_docs(owner_no, subject, docs):
            nonlocal scan_rows
            for file_no, item, material, formed, pages, retention in self.doc_rows(owner_no, docs):
                f = formed.isoformat() if not messy else slash_date(formed)
                scan.writerow((file_no, str(item), subject, material, f, str(pages), retention,
                               f"scans/{file_no}/{item:03d}.pdf"))
                scan_rows += 1

        for u in self.units:
            if u.docs:
                scan_docs(u.no, u.no, u.docs)

        special_at, ghost_at = self.special_at, self.ghost_at
        person, background_records, std_docs = self.person, self.background_records, self.std_docs
        guard = self.name_birth_guard
        rnd = self.rng.random
        prow = persons.writerow
        bad_at = mrng.randrange(self.n // 4, self.n // 2) if messy else -1
        legacy_rate = 0.004
        for i in range(self.n):
            for g in ghost_at.get(i, ()):
                self.emit_payments(g)
            p = special_at.get(i)
            if p is None:
                x = rnd()
                status = ("退休" if x < 0.30 else "参保缴费" if x < 0.80 else "暂停缴费" if x < 0.88
                          else "终止" if x < 0.96 else "死亡")
                p = person(status)
                while (p.name, p.birth) in guard:
                    p.name = self.names.name(p.male, p.birth.year)
                p.idx = i
                background_records(p)
                p.docs = std_docs(p)
            pno = f"P{i + 1:09d}"
            pid = p.id
            retire = p.retire.isoformat() if p.retire else ""
            pension = money(p.pension) if p.pension else ""
            if not messy:
                prow((pid, p.name, "男" if p.male else "女", p.birth.isoformat(), pno, p.unit, p.status,
                      p.insured.isoformat() if p.insured else "", retire, pension))
            else:
                shown = pid
                if (not p.role and "1900" <= pid[6:10] <= "1999" and
                        (mrng.random() < legacy_rate or (len(self.legacy_written) < 2 and i > self.n // 2))):
                    shown = idl.to_legacy15(pid)
                    self.legacy_written.append(pid)
                else:
                    shown = self.mess_id(pid, 0.3, 0.01)
                name = p.name
                if mrng.random() < 0.003:
                    name = name[:1] + "\u3000" + name[1:]
                if i == bad_at:        # a clerk's row without an ID number
                    clerk = mrng.choice(("张", "黄", "林")) + mrng.choice(("志强", "建华", "伟"))
                    line = persons.row((f"P{self.n + 1:09d}", "", clerk, "男", "19800101", "",
                                        "参保缴费", "20050301", "", ""))
                    persons.info.bad_rows += 1
                    self.bad_rows.append(BadRow(persons.info.path, line, "公民身份号码", "missing", ""))
                prow((pno, shown, name, "男" if p.male else "女", p.birth.strftime("%Y%m%d"), p.unit,
                      p.status, p.insured.strftime("%Y%m%d") if p.insured else "",
                      retire.replace("-", ""), pension))
                persons.line += 1
                p.shown = shown if len(shown) == 15 else None
            if p.p_from >= 0 or p.ub_from >= 0 or p.extra:
                self.emit_payments(p)
            if p.docs:
                scan_docs(pno, self.mess_id(pid, 0.2, 0.0) if messy else pid, p.docs)
        self.files.append(persons.close(extra_rows=self.n))
        self.files.append(scan.close(extra_rows=scan_rows))
        for w in self.pay:
            self.files.append(w.close())

    def emit_payments(self, p: Person) -> None:
        pay = self.pay
        pid, name = p.id, p.name
        if p.p_from >= 0:
            amt, skip, alt = p.pension, p.skip, p.pay_id
            text = money(amt)
            if not self.messy and not skip and not alt:
                # benchmark fast path: the monthly pension is the bulk of all rows
                mid, tail = f",{pid},{name},", f",{PENSION},{text},"
                for m in range(p.p_from, p.p_to + 1):
                    w = pay[m]
                    w.n += 1
                    w.total += amt
                    w.lines.append(f"{w.prefix}{w.n:07d}{mid}{w.period}{tail}{w.date10}")
                    if len(w.lines) >= CsvOut.BATCH:
                        w.out._flush()
            else:
                for m in range(p.p_from, p.p_to + 1):
                    if m not in skip:
                        pay[m].pay(alt.get(m, pid) if alt else pid, name, m, PENSION, amt, 10, p, text)
        if p.ub_from >= 0:
            std = self.ub_std
            for m in range(p.ub_from, p.ub_to + 1):
                pay[m].pay(pid, name, m, UNEMPLOYMENT, std[m], 15, p)
        if p.extra:
            for fm, pm, btype, amt, day, idw in p.extra:
                pay[fm].pay(idw or pid, name, pm, btype, amt, day, p)

    def payments_of(self, p: Person):
        """(file month, period month, type, cents, ID written) of every payment of p."""
        out = []
        if p.p_from >= 0:
            for m in range(p.p_from, p.p_to + 1):
                if m not in p.skip:
                    out.append((m, m, PENSION, p.pension, (p.pay_id or {}).get(m, p.id)))
        if p.ub_from >= 0:
            for m in range(p.ub_from, p.ub_to + 1):
                out.append((m, m, UNEMPLOYMENT, self.ub_std[m], p.id))
        for fm, pm, btype, amt, day, idw in p.extra or ():
            out.append((fm, pm, btype, amt, idw or p.id))
        return out

    def write_deaths(self) -> None:
        messy, M = self.messy, self.months
        ps = sorted((r for r in self.deaths if r.source == "ps"), key=lambda r: r.cancel)
        ca = sorted((r for r in self.deaths if r.source == "ca"), key=lambda r: r.death)
        last = self.m_first(M - 1)
        first_part = [r for r in ps if not (r.reason == "死亡" and r.cancel >= last)]
        last_part = [r for r in ps if r.reason == "死亡" and r.cancel >= last]
        p0, p1 = self.periods[0].replace("-", ""), self.periods[-1].replace("-", "")
        h = self.headers("household_deaths")
        out = self.csv(f"public_security/户籍注销人员_{p0}-{self.periods[-2].replace('-', '')}.csv",
                       "household_deaths", h, crlf=messy)
        fmt = (lambda d: d.strftime("%Y.%m.%d")) if messy else D.isoformat
        for r in first_part:
            out.row((self.mess_id(r.id, 0.3, 0.02) if messy else r.id, r.name, "男" if r.male else "女",
                     fmt(r.death) if r.death else "", fmt(r.cancel), r.reason))
        first = out.close()
        self.files.append(first)
        if messy:
            # delivered twice: somebody copied it in Explorer (Windows names the copy "- 副本")
            src = self.dest / first.path
            copy = src.with_name(src.stem + " - 副本" + src.suffix)
            copy.write_bytes(src.read_bytes())
            self.files.append(FileInfo(copy.relative_to(self.dest).as_posix(), first.kind, first.rows,
                                       first.encoding, first.delimiter, copy_of=first.path))
        y, mo = last.year, last.month
        if messy:
            out = self.csv(f"public_security/死亡人员名单_{p1}.csv", "household_deaths",
                           ["身份证号", "死者姓名", "性别", "死亡日期", "户籍注销日期", "销户原因"],
                           encoding="gb18030", title=f"{y}年{mo}月死亡人员名单", crlf=True)
        else:
            out = self.csv(f"public_security/死亡人员名单_{p1}.csv", "household_deaths", h)
        for r in last_part:
            out.row((self.mess_id(r.id, 0.5, 0.05) if messy else r.id, r.name, "男" if r.male else "女",
                     r.death.isoformat() if r.death else "", r.cancel.isoformat(), r.reason))
        self.files.append(out.close())

        rel = f"civil_affairs/火化信息_{self.as_of.year}"
        if messy:
            rows = [(r.id, r.name, "男" if r.male else "女", r.birth, r.death, r.cremation, r.home) for r in ca]
            self.files.append(write_xlsx(self.dest, rel + ".xlsx", "cremations",
                                         ["身份证号码", "姓名", "性别", "出生日期", "死亡日期", "火化时间", "火化地点"],
                                         rows, sheet_title="火化信息",
                                         stamp=dt.datetime.combine(self.as_of, dt.time(9, 0))))
        else:
            out = self.csv(rel + ".csv", "cremations", self.headers("cremations"))
            for r in ca:
                out.row((r.id or "", r.name, "男" if r.male else "女", r.birth.isoformat(), r.death.isoformat(),
                         r.cremation.isoformat() if r.cremation else "", r.home))
            self.files.append(out.close())

    def write_students_and_medical(self) -> None:
        messy, mrng = self.messy, self.mrng
        rel = f"education/{self.intake.year}级新生名册.csv"
        if messy:
            out = self.csv(rel, "new_students", ["公民身份号码", "学生姓名", "就读学校", "年级", "入学时间"], crlf=True)
        else:
            out = self.csv(rel, "new_students", self.headers("new_students"))
        order = list(self.students)
        self.rng.shuffle(order)
        order.sort(key=lambda s: (s.school, s.grade))
        bad_at = mrng.randrange(len(order)) if messy else -1
        fullwidth = 0
        for k, s in enumerate(order):
            if k == bad_at:         # the roster went through Excel: the ID became a number
                body = f"{COUNTY}{self.intake.year - 6}0{mrng.randint(1, 9)}1{mrng.randint(0, 9)}9{mrng.randint(10, 99)}"
                val = f"{float(body + idl.id_check(body).replace('X', '0')):.13E}"
                name = mrng.choice(("李", "王", "陈")) + mrng.choice(("梓涵", "子轩", "一诺"))
                line = out.row((val, name, s.school, s.grade, cn_date(self.intake)))
                out.info.bad_rows += 1
                self.bad_rows.append(BadRow(out.info.path, line, "公民身份号码", "excel_number", val))
            pid = s.id
            if messy:
                if mrng.random() < 0.03 or fullwidth < 2 and k > len(order) // 2:
                    pid = pid.translate(_FULLWIDTH)
                    fullwidth += 1
                else:
                    pid = self.mess_id(pid, 0.5, 0.02)
            out.row((pid, s.name, s.school, s.grade, cn_date(s.enrol) if messy else s.enrol.isoformat()))
        self.files.append(out.close())

        rel = f"agency/城乡居民医保参保_{self.as_of.year}.csv"
        if messy:
            out = self.csv(rel, "resident_medical", ["身份证号码", "姓名", "缴费年度", "参保人员类别", "参保日期"])
        else:
            out = self.csv(rel, "resident_medical", self.headers("resident_medical"))
        for pid, name, year, cat, d in self.residents:
            out.row((self.mess_id(pid) if messy else pid, name, f"{year}年度" if messy else str(year), cat,
                     d.isoformat()))
        self.files.append(out.close())

    def write_disability(self) -> None:
        messy, mrng = self.messy, self.mrng
        if messy:
            out = self.csv("disability/残疾人变动信息.csv", "disability_changes",
                           ["身份证号码", "姓名", "残疾类型", "等级", "变更类型", "变更日期"])
        else:
            out = self.csv("disability/残疾人变动信息.csv", "disability_changes", self.headers("disability_changes"))
        rows = []
        for dis in self.disabled:
            for k, (d, ctype, level) in enumerate(dis.changes):
                rows.append((d, dis, ctype, level, k))
        rows.sort(key=lambda r: (r[0], r[4]))
        for d, dis, ctype, level, k in rows:
            lv = mrng.choice(LEVEL_SPELLINGS[level]) if messy else level
            out.row((self.mess_id(dis.id) if messy else dis.id, dis.name, dis.category if k == 0 else "",
                     lv, ctype, slash_date(d) if messy else d.isoformat()))
        self.files.append(out.close())

        if messy:
            out = self.csv("agency/残疾人参保补助.csv", "subsidies",
                           ["公民身份号码", "姓名", "补助项目", "补助金额", "补助开始年月", "补助终止年月"])
        else:
            out = self.csv("agency/残疾人参保补助.csv", "subsidies", self.headers("subsidies"))

        def ym(a):
            if a is None:
                return ""
            return f"{a // 12}年{a % 12 + 1}月" if messy else month_str(a)
        for dis in self.disabled:
            for t, cents, start, end in dis.subsidies:
                out.row((dis.id, dis.name, t, f"￥{money(cents)}" if messy else money(cents), ym(start), ym(end)))
        self.files.append(out.close())

    # -- the answer --------------------------------------------------------------------
    def summarise(self) -> GenerationSummary:
        exp: dict[str, list] = {r: [] for r in RULE_IDS}
        per_person: dict[str, set] = defaultdict(set)

        def fire(rule, subject, period=None, amount=None, owner=None):
            exp[rule].append([subject, period, None if amount is None else round(amount / 100, 2)])
            if owner is not None:
                per_person[owner].add(rule)

        recs = defaultdict(list)
        for r in self.deaths:
            if r.id and (r.source == "ca" or r.reason == "死亡"):
                recs[r.id].append(r)
        people = [p for p in self.specials if p.in_register] + self.ghosts
        foreign: dict[str, int] = defaultdict(int)     # payroll typos: ID written -> cents
        for p in people:
            pays = self.payments_of(p)
            own = [x for x in pays if x[4] == p.id]
            for x in pays:
                if x[4] != p.id:
                    foreign[x[4]] += x[3]
            rs = recs.get(p.id, ())
            if rs:
                eff = min(r.effective for r in rs)
                after = sum(x[3] for x in own if x[1] > self.m_of(eff))
                if after:
                    fire("DEATH_PAID", p.id, amount=after, owner=p.id)
                if p.in_register and p.status not in TERMINAL and eff <= self.cutoff:
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
                    fire("DUPLICATE_PAYMENT", p.id, self.periods[pm], sum(x[3] for x in xs[1:]), owner=p.id)
            types = defaultdict(set)
            for x in own:
                types[x[1]].add(x[2])
            for pm in sorted(types):
                if {PENSION, UNEMPLOYMENT} <= types[pm]:
                    fire("CONFLICTING_BENEFITS", p.id, self.periods[pm], owner=p.id)
            if not p.in_register:
                fire("PAYMENT_UNREGISTERED", p.id, amount=sum(x[3] for x in pays), owner=p.id)
                continue
            if not idl.is_valid_id(p.id):
                fire("INVALID_ID", p.id, owner=p.id)
            docs = list(self.doc_rows(f"P{p.idx + 1:09d}", p.docs or ()))
            if p.status == "退休" and p.retire >= SINCE and not any(d[2] == APPROVAL for d in docs):
                fire("RETIREE_NO_APPROVAL", p.id, owner=p.id)
            for file_no, item, material, *_, retention in docs:
                if material in RETENTION and RETENTION[material] != retention:
                    fire("ARCHIVE_RETENTION", f"{file_no}#{item}", owner=p.id)
            if p.status == "退休" and age_at(p.birth, self.as_of) >= MIN_AGE:
                fire("CENTENARIAN_CHECK", p.id, owner=p.id)
        for pid, cents in foreign.items():
            if pid in self.special_ids and self.special_ids[pid].in_register:
                raise RuntimeError(f"payroll typo {pid} is a register ID")
            fire("PAYMENT_UNREGISTERED", pid, amount=cents)
        for rec, cands in self.fuzzy_design:
            if len(cands) == 1 and self.special_ids[cands[0]].role.startswith("FUZZY_"):
                fire("DEATH_FUZZY_MATCH", cands[0], owner=cands[0])
        for u in self.units:
            for file_no, item, material, *_, retention in self.doc_rows(u.no, u.docs):
                if material in RETENTION and RETENTION[material] != retention:
                    fire("ARCHIVE_RETENTION", f"{file_no}#{item}")
        # enterprises, students and subsidies are all in memory: evaluate them in full
        reg_units = {u.code: u for u in self.units}
        for c, n, rep, t, d, addr in self.enterprises:
            if t == "设立" and d <= self.cutoff and c not in reg_units:
                fire("ENTERPRISE_UNREGISTERED", c)
            if t == "注销" and c in reg_units and reg_units[c].status == "正常":
                fire("ENTERPRISE_CLOSED_ACTIVE", c)
        for s in self.students:
            if s.enrol <= self.cutoff and not any(y >= s.enrol.year for y in s.med_years):
                fire("STUDENT_UNENROLLED", s.id)
        for dis in self.disabled:
            d, ctype, level = max(dis.changes, key=lambda c: c[0])
            if d > self.cutoff:
                continue
            m = abs_month(d)
            if ctype in ("注销", "死亡") or level not in ELIGIBLE:
                if any(end is None or end > m for _, _, _, end in dis.subsidies):
                    fire("SUBSIDY_NOT_STOPPED", dis.id)
            elif not any(end is None or end >= m for _, _, _, end in dis.subsidies):
                fire("SUBSIDY_MISSING", dis.id)

        # self-check: every planted role fires exactly its rules, near-misses nothing
        for p in people:
            want = self.roles.get(p.role, set())
            got = per_person.get(p.id, set())
            if p.role and got != want:
                raise RuntimeError(f"{p.role} {p.id}: fires {sorted(got)}, designed {sorted(want)}")
        for rule, subjects in (("ENTERPRISE_UNREGISTERED", self.planted_enterprises),
                               ("ENTERPRISE_CLOSED_ACTIVE", self.planted_closed),
                               ("STUDENT_UNENROLLED", self.planted_students),
                               ("SUBSIDY_NOT_STOPPED", [d.id for d in self.disabled if d.role == "SUB_NS"]),
                               ("SUBSIDY_MISSING", [d.id for d in self.disabled if d.role == "SUB_MISS"])):
            if sorted(subjects) != sorted({e[0] for e in exp[rule]}):
                raise RuntimeError(f"{rule}: planted {sorted(subjects)}, fires {sorted({e[0] for e in exp[rule]})}")

        for rule in exp:
            exp[rule].sort(key=lambda e: (e[0], e[1] or ""))
        planted = {r: sorted({e[0] for e in exp[r]}) for r in RULE_IDS}
        near = {r: v[:10] for r, v in self.near.items()}
        if self.messy:
            near["INVALID_ID"] += [f"{pid}: written in the 15-digit legacy form" for pid in self.legacy_written[:5]]
        counts: dict[str, int] = defaultdict(int)
        for f in self.files:
            if not f.copy_of:
                counts[f.kind] += f.rows
        return GenerationSummary(self.dest, self.n, self.seed, self.messy, self.as_of, self.months,
                                 list(self.periods), self.files, dict(counts), planted, exp, near,
                                 self.bad_rows)


class _PayOut:
    """One month's payroll file. Serial numbers are FF<yyyymm><7 digits>, increasing in
    file order, so the original of a duplicate always has the lower serial."""

    def __init__(self, gen: _County, m: int):
        self.gen = gen
        self.m = m
        self.period = gen.periods[m]
        self.ym = self.period.replace("-", "")
        self.n = 0
        self.total = 0
        M = gen.months
        self.style = "clean"
        rel = f"agency/待遇发放_{self.ym}.csv"
        if gen.messy and m == M - 3:
            self.style = "totals"          # amounts with thousands separators, totals line
            headers = gen.headers("payments")
            self.out = gen.csv(rel, "payments", headers, crlf=True)
            self.bad_done = False
        elif gen.messy and m == M - 5:
            self.style = "legacy"          # an older system: GB18030, other headers and formats
            self.out = gen.csv(rel, "payments", ["待遇所属期", "业务流水号", "姓名", "身份证号码", "待遇项目",
                                                 "实发金额", "支付日期"], encoding="gb18030", crlf=True)
        else:
            self.out = gen.csv(rel, "payments", gen.headers("payments"), crlf=gen.messy)
        self.w = self.out.writerow
        self.prefix = f"FF{self.ym}"
        self.messy = gen.messy
        self.pay_dates = {d: f"{self.period}-{d:02d}" for d in range(1, 29)}
        self.date10 = self.pay_dates[10]
        self.lines = self.out._lines if self.out.fast else None

    def pay(self, pid: str, name: str, pm: int, btype: str, cents: int, day: int, p: Person,
            text: str | None = None) -> None:
        """One payment row; ``text`` is ``money(cents)`` when the caller has it already."""
        self.n += 1
        self.total += cents
        serial = f"{self.prefix}{self.n:07d}"
        style = self.style
        if style == "clean":
            if self.messy:
                pid = self.gen.mess_id(pid, 0.1, 0.002)
            self.w((serial, pid, name, self.period if pm == self.m else self.gen.periods[pm], btype,
                    text or money(cents), self.pay_dates[day]))
        elif style == "totals":
            if (not self.bad_done and not p.role and pid.isdigit() and self.n > 20
                    and self.gen.mrng.random() < 0.05):
                # the payroll went through Excel on the way: one ID came back as a float
                pid = f"{float(pid):.1f}"
                self.bad_done = True
                self.out.info.bad_rows += 1
                self.gen.bad_rows.append(BadRow(self.out.info.path, self.n + 1, "公民身份号码", "excel_number", pid))
            self.w((serial, pid, name, self.gen.periods[pm], btype, money_commas(cents), f"{self.period}-{day:02d}"))
        else:
            mrng = self.gen.mrng
            shown = p.shown if p.shown and pid == p.id else self.gen.mess_id(pid, 0.5, 0.03)
            x = mrng.random()
            if x < 0.02:                               # typed from a paper form
                name = name[:1] + " " + name[1:]
            elif x < 0.03 and any(c in HOMOPHONES for c in name[1:]):
                c = next(c for c in name[1:] if c in HOMOPHONES)
                name = name[0] + name[1:].replace(c, HOMOPHONES[c])
            a = self.gen.first_abs + pm
            self.w((f"{a // 12}{a % 12 + 1:02d}", serial, name, shown, btype, money(cents),
                    f"{self.period[:4]}/{int(self.period[5:])}/{day}"))

    def close(self) -> FileInfo:
        if self.style == "totals":
            self.out.totals(("合计", "", "", "", "", money(self.total), ""))
        return self.out.close(extra_rows=self.n)


def generate_county(dest: Path, *, persons: int = 3000, seed: int = 2026, messy: bool = True,
                    as_of: D = D(2026, 11, 15), months: int = 10) -> GenerationSummary:
    """Write one county's deliveries into the inbox folder ``dest``; see the module doc.

    Payroll covers ``months`` months ending the month before ``as_of``. The same seed
    gives the same bytes; ``messy`` changes only how files are written, not the county
    (same persons, same ``expected``). Files of the same name are replaced, others are
    left alone. Files appear complete: each is written as ``*.part`` and renamed.
    """
    return _County(Path(dest), persons, seed, messy, as_of, months).generate()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m station.demo.generate",
                                 description="Write a demo (messy) or benchmark (--clean) county into an inbox folder.")
    ap.add_argument("dest", type=Path, help="inbox folder to write into (department sub-folders are created)")
    ap.add_argument("--persons", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--clean", action="store_true", help="plain UTF-8 CSV, canonical headers (benchmark)")
    ap.add_argument("--as-of", type=D.fromisoformat, default=D(2026, 11, 15))
    ap.add_argument("--months", type=int, default=10)
    ap.add_argument("--expected", type=Path, help="also write the expected anomalies as JSON here")
    ap.add_argument("--force", action="store_true", help="write even if department folders hold files")
    a = ap.parse_args(argv)
    if a.expected and a.expected.resolve().is_relative_to(a.dest.resolve()):
        ap.error("--expected must not point inside the inbox")
    if not a.force and any(f.is_file() for d in DEPARTMENTS if (a.dest / d).is_dir() for f in (a.dest / d).iterdir()):
        ap.error(f"{a.dest} already holds deliveries; two counties would mix (use --force to write anyway)")
    s = generate_county(a.dest, persons=a.persons, seed=a.seed, messy=not a.clean, as_of=a.as_of, months=a.months)
    if a.expected:
        a.expected.write_text(json.dumps(s.expected_anomalies(), ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {len(s.files)} files into {s.dest} in {s.seconds:.1f} s")
    for kind, n in s.counts.items():
        print(f"  {kind:20s} {n:>10,d} rows")
    print("planted: " + ", ".join(f"{r} {len(v)}" for r, v in s.planted.items()))
    if s.bad_rows:
        print(f"bad rows (must be rejected): {len(s.bad_rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
