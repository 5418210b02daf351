"""The demo county's vocabulary: rule parameters as shipped, regions, the result types
and the model records (persons, death records, units, students, disabled residents)."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .output import FileInfo

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
REGION_IX = {r: i for i, r in enumerate(REGIONS)}
ORD0 = D(1900, 1, 1).toordinal()

LEVELS = ("一级", "二级", "三级", "四级")
LEVEL_SPELLINGS = {"一级": ("一级", "1级", "壹级", "1"), "二级": ("二级", "2级", "贰级", "2"),
                   "三级": ("三级", "3级", "叁级", "3"), "四级": ("四级", "4级", "肆级", "4")}
DISABILITY_CATEGORIES = ("视力", "听力", "言语", "肢体", "智力", "精神", "多重")
SUBSIDY_TYPES = ("城乡居民养老保险费补助", "城乡居民医疗保险费补助")
FULLWIDTH = {ord("0") + i: 0xFF10 + i for i in range(10)}


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
