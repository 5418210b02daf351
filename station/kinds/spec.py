"""The data contract: every delivery kind, its fields, their types and its natural key.

This module is the single source of truth for what a kind *is* (DOMAIN.md § Sources and
file kinds). What an office may change — aliases, department folders, file-name hints —
lives in ``rules.yaml`` and is merged in by :mod:`station.kinds.recognise`.

Field types (the normaliser applied to each cell, see :mod:`station.normalise`):

- ``id``      a citizen ID number (GB 11643); stored normalised, plus ``<column>_valid``
- ``name``    a person's or unit's name (whitespace removed, NFKC)
- ``text``    free text, trimmed and NFKC-folded
- ``code``    an identifier compared upper-case (unit numbers, person numbers)
- ``credit_code`` a unified social credit code (GB 32100), checked; a mistyped one is refused
- ``subject`` an archive subject: an ID number when it looks like one, else a code
- ``date``    ``YYYY-MM-DD``
- ``month``   ``YYYY-MM``
- ``year``    an integer year
- ``amount``  a decimal amount (stored as REAL, rounded to cents)
- ``int``     a whole number
- ``level``   a disability level, stored as 一级 … 四级
- ``account`` a bank account number, spaces and dashes removed (masked when shown)
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    column: str          # SQLite column name (English)
    header: str          # canonical Chinese header
    type: str            # see module docstring
    required: bool = False


@dataclass(frozen=True)
class KindSpec:
    name: str                    # e.g. "persons"
    title: str                   # Chinese title, e.g. 参保人员
    department: str              # default department folder
    fields: tuple[Field, ...]
    key: tuple[str, ...]         # natural key columns (see ``key_of`` for exceptions)
    table: str = ""              # register table; defaults to the kind name
    # Columns of which a row must fill at least one (none of them required on its own):
    # a tax collection names its unit by 单位编号 or by 统一社会信用代码.
    one_of: tuple[str, ...] = ()

    @property
    def table_name(self) -> str:
        return self.table or self.name

    @property
    def required(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    def field_by_header(self) -> dict[str, Field]:
        return {f.header: f for f in self.fields}

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)


F = Field

KINDS: dict[str, KindSpec] = {}


def _kind(spec: KindSpec) -> KindSpec:
    KINDS[spec.name] = spec
    return spec


_kind(KindSpec("persons", "参保人员", "agency", (
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name", True),
    F("sex", "性别", "text"),
    F("birth_date", "出生日期", "date"),
    F("person_no", "个人编号", "code"),
    F("unit_no", "单位编号", "code"),
    F("status", "参保状态", "text", True),
    F("insured_date", "参保日期", "date"),
    F("retire_date", "退休日期", "date"),
    F("monthly_pension", "月养老金", "amount"),
), key=("id_number",)))

_kind(KindSpec("units", "参保单位", "agency", (
    F("unit_no", "单位编号", "code", True),
    F("credit_code", "统一社会信用代码", "credit_code", True),
    F("unit_name", "单位名称", "name", True),
    F("reg_date", "登记日期", "date"),
    F("unit_status", "单位状态", "text"),
), key=("unit_no",)))

_kind(KindSpec("payments", "待遇发放", "agency", (
    F("serial_no", "发放流水号", "text", True),
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name"),
    F("period", "发放年月", "month", True),
    F("benefit_type", "待遇类型", "text", True),
    F("amount", "金额", "amount", True),
    F("pay_date", "发放日期", "date"),
    F("account_no", "银行账号", "account"),
), key=("serial_no",)))

_kind(KindSpec("subsidies", "残疾人参保补助", "agency", (
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name"),
    F("subsidy_type", "补助类型", "text"),
    F("subsidy_amount", "补助金额", "amount"),
    F("start_month", "起始年月", "month", True),
    F("end_month", "终止年月", "month"),
), key=("id_number", "subsidy_type", "start_month")))

_kind(KindSpec("resident_medical", "城乡居民医保参保", "agency", (
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name"),
    F("year", "参保年度", "year", True),
    F("category", "人员类别", "text"),
    F("enrol_date", "参保日期", "date"),
), key=("id_number", "year")))

_kind(KindSpec("household_deaths", "户籍注销人员", "public_security", (
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name", True),
    F("sex", "性别", "text"),
    F("death_date", "死亡日期", "date"),
    F("cancel_date", "注销日期", "date", True),
    F("cancel_reason", "注销原因", "text", True),
), key=("id_number", "cancel_date")))

# Natural key: ID (or name + birth date when the ID is missing) + death date.
_kind(KindSpec("cremations", "殡葬火化记录", "civil_affairs", (
    F("id_number", "公民身份号码", "id"),
    F("name", "姓名", "name", True),
    F("sex", "性别", "text"),
    F("birth_date", "出生日期", "date"),
    F("death_date", "死亡日期", "date", True),
    F("cremation_date", "火化日期", "date"),
    F("funeral_home", "殡仪馆", "text"),
), key=("id_number", "name", "birth_date", "death_date")))

_kind(KindSpec("enterprises", "企业登记信息", "industry_commerce", (
    F("credit_code", "统一社会信用代码", "credit_code", True),
    F("enterprise_name", "企业名称", "name", True),
    F("legal_rep", "法定代表人", "name"),
    F("reg_type", "登记类型", "text", True),
    F("approval_date", "核准日期", "date", True),
    F("address", "住所", "text"),
), key=("credit_code", "reg_type", "approval_date")))

_kind(KindSpec("new_students", "新生名册", "education", (
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name", True),
    F("school", "学校名称", "text", True),
    F("grade", "年级", "text"),
    F("enrol_date", "入学日期", "date", True),
), key=("id_number", "enrol_date")))

_kind(KindSpec("disability_changes", "残疾人变动信息", "disability", (
    F("id_number", "公民身份号码", "id", True),
    F("name", "姓名", "name", True),
    F("category", "残疾类别", "text"),
    F("level", "残疾等级", "level"),
    F("change_type", "变动类型", "text", True),
    F("change_date", "变动日期", "date", True),
), key=("id_number", "change_date", "change_type")))

_kind(KindSpec("scan_index", "档案扫描索引", "archive", (
    F("file_no", "档号", "text", True),
    F("item_no", "件号", "text", True),
    F("subject", "档案对象", "subject", True),
    F("material", "材料名称", "text", True),
    F("formed_date", "形成日期", "date"),
    F("pages", "页数", "int"),
    F("retention", "保管期限", "text"),
    F("scan_file", "扫描文件", "text"),
), key=("file_no", "item_no")))

# The money side (DOMAIN.md § The money side): what the agency assessed, what the tax
# bureau collected, what reached the fund's special account, and the bank's results.
_kind(KindSpec("contributions_due", "社保费核定", "agency", (
    F("unit_no", "单位编号", "code", True),
    F("period", "费款所属期", "month", True),
    F("insurance", "险种", "text", True),
    F("amount_due", "应缴金额", "amount", True),
), key=("unit_no", "period", "insurance")))

_kind(KindSpec("tax_collections", "社保费征收明细", "tax", (
    F("receipt_no", "票证号", "text", True),
    F("credit_code", "统一社会信用代码", "code"),
    F("unit_no", "单位编号", "code"),
    F("unit_name", "单位名称", "name"),
    F("period", "费款所属期", "month", True),
    F("insurance", "险种", "text", True),
    F("amount_paid", "实缴金额", "amount", True),
    F("paid_date", "入库日期", "date", True),
), key=("receipt_no",), one_of=("unit_no", "credit_code")))

_kind(KindSpec("fund_account_entries", "财政专户入账", "finance", (
    F("voucher_no", "凭证号", "text", True),
    F("entry_date", "入账日期", "date", True),
    F("insurance", "险种", "text", True),
    F("income_type", "收入类型", "text", True),
    F("amount", "金额", "amount", True),
    F("month", "所属月份", "month"),
), key=("voucher_no",)))

_kind(KindSpec("bank_returns", "银行代发回盘", "bank", (
    F("serial_no", "发放流水号", "text", True),
    F("id_number", "公民身份号码", "id"),
    F("account_name", "户名", "name", True),
    F("account_no", "银行账号", "account", True),
    F("amount", "金额", "amount", True),
    F("result", "处理结果", "text", True),
    F("process_date", "处理日期", "date"),
), key=("serial_no",)))

DEPARTMENTS: dict[str, str] = {
    "agency": "经办机构",
    "public_security": "公安",
    "civil_affairs": "民政",
    "industry_commerce": "市场监管",
    "education": "教育",
    "disability": "残联",
    "archive": "档案室",
    "tax": "税务",
    "finance": "财政",
    "bank": "银行",
}


def get(kind: str) -> KindSpec:
    return KINDS[kind]


# The register's columns of a kind's table (station/register/schema.py creates them;
# kinds/mapping.py fills them, in this order).
SQL_TYPES = {
    "id": str, "name": str, "text": str, "code": str, "subject": str, "date": str,
    "month": str, "level": str, "year": int, "int": int, "amount": float, "account": str,
    "credit_code": str,
}


def kind_columns(spec: KindSpec) -> dict[str, type]:
    cols: dict[str, type] = {"nk": str}
    for f in spec.fields:
        cols[f.column] = SQL_TYPES[f.type]
        if f.type == "id":
            cols[f.column + "_valid"] = int
    cols["delivery_id"] = int
    cols["row_no"] = int
    return cols
