"""Helpers for the rule tests (no tests here): hand-made deliveries written as CSV text
into a station's inbox, valid ID numbers, and reading anomalies back."""
from __future__ import annotations

import datetime as dt
import itertools

from station.normalise import check_char
from station.services.station import Station

AS_OF = dt.date(2026, 11, 15)

HEADERS = {
    "persons": ("agency", "公民身份号码,姓名,性别,出生日期,个人编号,单位编号,参保状态,参保日期,退休日期,月养老金"),
    "units": ("agency", "单位编号,统一社会信用代码,单位名称,登记日期,单位状态"),
    "payments": ("agency", "发放流水号,公民身份号码,姓名,发放年月,待遇类型,金额,发放日期"),
    "subsidies": ("agency", "公民身份号码,姓名,补助类型,补助金额,起始年月,终止年月"),
    "resident_medical": ("agency", "公民身份号码,姓名,参保年度,人员类别,参保日期"),
    "household_deaths": ("public_security", "公民身份号码,姓名,性别,死亡日期,注销日期,注销原因"),
    "cremations": ("civil_affairs", "公民身份号码,姓名,性别,出生日期,死亡日期,火化日期,殡仪馆"),
    "enterprises": ("industry_commerce", "统一社会信用代码,企业名称,法定代表人,登记类型,核准日期,住所"),
    "new_students": ("education", "公民身份号码,姓名,学校名称,年级,入学日期"),
    "disability_changes": ("disability", "公民身份号码,姓名,残疾类别,残疾等级,变动类型,变动日期"),
    "scan_index": ("archive", "档号,件号,档案对象,材料名称,形成日期,页数,保管期限,扫描文件"),
    "payments_account": ("agency", "发放流水号,公民身份号码,姓名,发放年月,待遇类型,金额,发放日期,银行账号"),
    "contributions_due": ("agency", "单位编号,费款所属期,险种,应缴金额"),
    "tax_collections": ("tax", "票证号,统一社会信用代码,单位编号,单位名称,费款所属期,险种,实缴金额,入库日期"),
    "fund_account_entries": ("finance", "凭证号,入账日期,险种,收入类型,金额,所属月份"),
    "bank_returns": ("bank", "发放流水号,公民身份号码,户名,银行账号,金额,处理结果,处理日期"),
}
FILE_NAMES = {
    "persons": "参保人员", "units": "参保单位", "payments": "待遇发放", "subsidies": "残疾人参保补助",
    "resident_medical": "城乡居民医保参保", "household_deaths": "户籍注销人员",
    "cremations": "火化信息", "enterprises": "企业登记信息", "new_students": "新生名册",
    "disability_changes": "残疾人变动信息", "scan_index": "档案扫描索引",
    "payments_account": "养老金补发", "contributions_due": "社保费核定",
    "tax_collections": "社保费征收明细", "fund_account_entries": "财政专户入账",
    "bank_returns": "银行代发回盘",
}

_counter = itertools.count(1)


def make_id(birth: str = "19500101", seq: int = 1, region: str = "440303") -> str:
    """A valid 18-character ID: region, birth date YYYYMMDD, 3-digit sequence, check char."""
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_char(first17)


def bad_check(id18: str) -> str:
    """The same ID with a wrong check character."""
    wrong = "0" if id18[17] != "0" else "1"
    return id18[:17] + wrong


def deliver(station: Station, kind: str, rows: list[str], *, as_of: dt.date = AS_OF,
            evaluate: bool = True):
    """Write one CSV delivery of ``kind`` (header + ``rows``) into the inbox and apply it."""
    folder, header = HEADERS[kind]
    n = next(_counter)
    path = station.home.inbox / folder / f"{FILE_NAMES[kind]}_{n}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    report = station.ingest([path], as_of=as_of, evaluate=evaluate)
    for r in report.results:
        assert r.status == "applied" and not r.rows_rejected, (r.name, r.reason, r.rows_rejected)
    return report


def delivered_empty(station: Station, *kinds: str, as_of: dt.date = AS_OF) -> None:
    """A delivery of each kind with a header and no rows: the partner sent its list and
    it was empty (station.rules.completeness runs a rule only once such a kind arrived)."""
    for kind in kinds:
        deliver(station, kind, [], as_of=as_of, evaluate=False)


def person(id_number: str, name: str, status: str = "退休", *, birth: str = "",
           retire: str = "", sex: str = "男") -> str:
    return f"{id_number},{name},{sex},{birth},,U0000001,{status},2000-01-01,{retire},3000"


def payment(serial: str, id_number: str, name: str, period: str, amount: float,
            benefit: str = "基本养老金") -> str:
    return f"{serial},{id_number},{name},{period},{benefit},{amount},{period}-10"


def anomalies(station: Station, rule: str, *, data_status: str | None = "open") -> dict:
    """(subject, period or None) → anomaly row (dict) for ``rule``."""
    sql = ("SELECT id, subject, period, amount, name, evidence, data_status, review_status"
           " FROM anomalies WHERE rule = ?")
    args: list = [rule]
    if data_status:
        sql += " AND data_status = ?"
        args.append(data_status)
    cols = ("id", "subject", "period", "amount", "name", "evidence", "data_status", "review_status")
    return {(r[1], r[2] or None): dict(zip(cols, r)) for r in station.conn.execute(sql, args)}


def subjects(station: Station, rule: str) -> set[str]:
    return {k[0] for k in anomalies(station, rule)}


def events(station: Station, anomaly_id: int) -> list[str]:
    return [r[0] for r in station.conn.execute(
        "SELECT event FROM anomaly_events WHERE anomaly_id = ? ORDER BY id", (anomaly_id,))]


def with_rules_yaml(station: Station, edit) -> Station:
    """A new Station on the same home whose rules.yaml is the default passed through ``edit``
    (a function of the YAML text)."""
    from station.config import default_rules_text
    station.home.rules_path.write_text(edit(default_rules_text()), encoding="utf-8")
    station.close()
    return Station.open(station.home)


def set_param(rule: str, key: str, value: str):
    """An ``edit`` for :func:`with_rules_yaml`: set ``rules.<rule>.<key>: value``."""
    def edit(text: str) -> str:
        lines = text.splitlines()
        start = lines.index(f"  {rule}:")
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith("  ") and not lines[i].startswith("    ")), len(lines))
        for i in range(start + 1, end):
            if lines[i].strip().startswith(f"{key}:"):
                lines[i] = f"    {key}: {value}"
                while i + 1 < len(lines) and lines[i + 1].startswith("      "):
                    del lines[i + 1]          # the old value's block lines
                break
        else:
            lines.insert(start + 1, f"    {key}: {value}")
        return "\n".join(lines) + "\n"
    return edit
