"""Writing the county out: one file per delivery, as each partner department writes it
(``messy``: their headers, encodings, date and money formats, stray spaces, a copy made
in Explorer, rows the station must reject). The payroll is written by :mod:`.payroll`
while the register is streamed."""
from __future__ import annotations

import datetime as dt

from . import ids as idl
from .habits import kind_headers, mess_id, open_csv
from .model import COUNTY, FULLWIDTH, LEVEL_SPELLINGS, D, BadRow, cn_date, money, month_str, slash_date
from .output import FileInfo, write_xlsx
from .payroll import PayOut, emit_payments
from .world import County


def write_units(county: County) -> None:
    h = kind_headers("units")
    if county.messy:
        h = [" 单位编号", "统一社会信用代码 ", "单位名称", "登记日期", "单位状态 "]
    out = open_csv(county, "agency/参保单位.csv", "units", h)
    for u in county.units:
        status = u.status
        if county.messy and (u.blank_status or (status == "正常" and county.mrng.random() < 0.05)):
            status = ""
        out.row((u.no, u.code, u.name, u.reg.isoformat(), status))
    county.files.append(out.close())


def write_enterprises(county: County) -> None:
    if county.messy:
        out = open_csv(county, f"industry_commerce/企业登记信息_{county.as_of.year}.csv", "enterprises",
                       ["统一社会信用代码（必填）", "企业名称（必填）", "法人代表", "*登记类型",
                        "核准日期(必填)", "注册地址"], delimiter="\t", crlf=True)
    else:
        out = open_csv(county, f"industry_commerce/企业登记信息_{county.as_of.year}.csv", "enterprises",
                       kind_headers("enterprises"))
    for c, n, rep, t, d, addr in county.enterprises:
        if county.messy and county.mrng.random() < 0.4:
            c = c.lower()
        out.row((c, n, rep, t, d.isoformat(), addr))
    county.files.append(out.close())


def stream_register(county: County) -> None:
    """The register, the payroll and the archive index, streamed together: each
    background person is generated, written and forgotten."""
    messy, mrng, M = county.messy, county.mrng, county.months
    last_ym = county.periods[-1].replace("-", "")
    if messy:
        persons = open_csv(county, f"agency/参保人员信息_{last_ym}.csv", "persons",
                           ["个人编号", "身份证号码", "姓名", "性别", "出生日期", "参保单位编号",
                            "人员状态", "首次参保日期", "离退休日期", "月基本养老金"],
                           encoding="utf-8-sig", crlf=True)
        scan = open_csv(county, "archive/档案扫描索引.csv", "scan_index",
                        ["档案号", "文件序号", "归档对象", "文件名称", "文件日期", "页数", "保存期限", "影像文件"],
                        encoding="utf-8-sig", crlf=True)
    else:
        persons = open_csv(county, f"agency/参保人员信息_{last_ym}.csv", "persons", kind_headers("persons"))
        scan = open_csv(county, "archive/档案扫描索引.csv", "scan_index", kind_headers("scan_index"))
    county.pay = [PayOut(county, m) for m in range(M)]
    county.legacy_written = []
    scan_rows = 0

    def scan_docs(owner_no, subject, docs):
        nonlocal scan_rows
        for file_no, item, material, formed, pages, retention in county.doc_rows(owner_no, docs):
            f = formed.isoformat() if not messy else slash_date(formed)
            scan.writerow((file_no, str(item), subject, material, f, str(pages), retention,
                           f"scans/{file_no}/{item:03d}.pdf"))
            scan_rows += 1

    for u in county.units:
        if u.docs:
            scan_docs(u.no, u.no, u.docs)

    special_at, ghost_at = county.special_at, county.ghost_at
    person, background_records, std_docs = county.person, county.background_records, county.std_docs
    guard = county.name_birth_guard
    rnd = county.rng.random
    prow = persons.writerow
    bad_at = mrng.randrange(county.n // 4, county.n // 2) if messy else -1
    legacy_rate = 0.004
    for i in range(county.n):
        for g in ghost_at.get(i, ()):
            emit_payments(county, g)
        p = special_at.get(i)
        if p is None:
            x = rnd()
            status = ("退休" if x < 0.30 else "参保缴费" if x < 0.80 else "暂停缴费" if x < 0.88
                      else "终止" if x < 0.96 else "死亡")
            p = person(status)
            while (p.name, p.birth) in guard:
                p.name = county.names.name(p.male, p.birth.year)
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
                    (mrng.random() < legacy_rate or (len(county.legacy_written) < 2 and i > county.n // 2))):
                shown = idl.to_legacy15(pid)
                county.legacy_written.append(pid)
            else:
                shown = mess_id(county, pid, 0.3, 0.01)
            name = p.name
            if mrng.random() < 0.003:
                name = name[:1] + "\u3000" + name[1:]
            if i == bad_at:        # a clerk's row without an ID number
                clerk = mrng.choice(("张", "黄", "林")) + mrng.choice(("志强", "建华", "伟"))
                line = persons.row((f"P{county.n + 1:09d}", "", clerk, "男", "19800101", "",
                                    "参保缴费", "20050301", "", ""))
                persons.info.bad_rows += 1
                county.bad_rows.append(BadRow(persons.info.path, line, "公民身份号码", "missing", ""))
            prow((pno, shown, name, "男" if p.male else "女", p.birth.strftime("%Y%m%d"), p.unit,
                  p.status, p.insured.strftime("%Y%m%d") if p.insured else "",
                  retire.replace("-", ""), pension))
            persons.line += 1
            p.shown = shown if len(shown) == 15 else None
        if p.p_from >= 0 or p.ub_from >= 0 or p.extra:
            emit_payments(county, p)
        if p.docs:
            scan_docs(pno, mess_id(county, pid, 0.2, 0.0) if messy else pid, p.docs)
    county.files.append(persons.close(extra_rows=county.n))
    county.files.append(scan.close(extra_rows=scan_rows))
    for w in county.pay:
        county.files.append(w.close())


def write_deaths(county: County) -> None:
    messy, M = county.messy, county.months
    ps = sorted((r for r in county.deaths if r.source == "ps"), key=lambda r: r.cancel)
    ca = sorted((r for r in county.deaths if r.source == "ca"), key=lambda r: r.death)
    last = county.m_first(M - 1)
    first_part = [r for r in ps if not (r.reason == "死亡" and r.cancel >= last)]
    last_part = [r for r in ps if r.reason == "死亡" and r.cancel >= last]
    p0, p1 = county.periods[0].replace("-", ""), county.periods[-1].replace("-", "")
    h = kind_headers("household_deaths")
    out = open_csv(county, f"public_security/户籍注销人员_{p0}-{county.periods[-2].replace('-', '')}.csv",
                   "household_deaths", h, crlf=messy)
    fmt = (lambda d: d.strftime("%Y.%m.%d")) if messy else D.isoformat
    for r in first_part:
        out.row((mess_id(county, r.id, 0.3, 0.02) if messy else r.id, r.name, "男" if r.male else "女",
                 fmt(r.death) if r.death else "", fmt(r.cancel), r.reason))
    first = out.close()
    county.files.append(first)
    if messy:
        # delivered twice: somebody copied it in Explorer (Windows names the copy "- 副本")
        src = county.dest / first.path
        copy = src.with_name(src.stem + " - 副本" + src.suffix)
        copy.write_bytes(src.read_bytes())
        county.files.append(FileInfo(copy.relative_to(county.dest).as_posix(), first.kind, first.rows,
                                     first.encoding, first.delimiter, copy_of=first.path))
    y, mo = last.year, last.month
    if messy:
        out = open_csv(county, f"public_security/死亡人员名单_{p1}.csv", "household_deaths",
                       ["身份证号", "死者姓名", "性别", "死亡日期", "户籍注销日期", "销户原因"],
                       encoding="gb18030", title=f"{y}年{mo}月死亡人员名单", crlf=True)
    else:
        out = open_csv(county, f"public_security/死亡人员名单_{p1}.csv", "household_deaths", h)
    for r in last_part:
        out.row((mess_id(county, r.id, 0.5, 0.05) if messy else r.id, r.name, "男" if r.male else "女",
                 r.death.isoformat() if r.death else "", r.cancel.isoformat(), r.reason))
    county.files.append(out.close())

    rel = f"civil_affairs/火化信息_{county.as_of.year}"
    if messy:
        rows = [(r.id, r.name, "男" if r.male else "女", r.birth, r.death, r.cremation, r.home) for r in ca]
        county.files.append(write_xlsx(county.dest, rel + ".xlsx", "cremations",
                                       ["身份证号码", "姓名", "性别", "出生日期", "死亡日期", "火化时间", "火化地点"],
                                       rows, sheet_title="火化信息",
                                       stamp=dt.datetime.combine(county.as_of, dt.time(9, 0))))
    else:
        out = open_csv(county, rel + ".csv", "cremations", kind_headers("cremations"))
        for r in ca:
            out.row((r.id or "", r.name, "男" if r.male else "女", r.birth.isoformat(), r.death.isoformat(),
                     r.cremation.isoformat() if r.cremation else "", r.home))
        county.files.append(out.close())


def write_students_and_medical(county: County) -> None:
    messy, mrng = county.messy, county.mrng
    rel = f"education/{county.intake.year}级新生名册.csv"
    if messy:
        out = open_csv(county, rel, "new_students", ["公民身份号码", "学生姓名", "就读学校", "年级", "入学时间"], crlf=True)
    else:
        out = open_csv(county, rel, "new_students", kind_headers("new_students"))
    order = list(county.students)
    county.rng.shuffle(order)
    order.sort(key=lambda s: (s.school, s.grade))
    bad_at = mrng.randrange(len(order)) if messy else -1
    fullwidth = 0
    for k, s in enumerate(order):
        if k == bad_at:         # the roster went through Excel: the ID became a number
            body = f"{COUNTY}{county.intake.year - 6}0{mrng.randint(1, 9)}1{mrng.randint(0, 9)}9{mrng.randint(10, 99)}"
            val = f"{float(body + idl.id_check(body).replace('X', '0')):.13E}"
            name = mrng.choice(("李", "王", "陈")) + mrng.choice(("梓涵", "子轩", "一诺"))
            line = out.row((val, name, s.school, s.grade, cn_date(county.intake)))
            out.info.bad_rows += 1
            county.bad_rows.append(BadRow(out.info.path, line, "公民身份号码", "excel_number", val))
        pid = s.id
        if messy:
            if mrng.random() < 0.03 or fullwidth < 2 and k > len(order) // 2:
                pid = pid.translate(FULLWIDTH)
                fullwidth += 1
            else:
                pid = mess_id(county, pid, 0.5, 0.02)
        out.row((pid, s.name, s.school, s.grade, cn_date(s.enrol) if messy else s.enrol.isoformat()))
    county.files.append(out.close())

    rel = f"agency/城乡居民医保参保_{county.as_of.year}.csv"
    if messy:
        out = open_csv(county, rel, "resident_medical", ["身份证号码", "姓名", "缴费年度", "参保人员类别", "参保日期"])
    else:
        out = open_csv(county, rel, "resident_medical", kind_headers("resident_medical"))
    for pid, name, year, cat, d in county.residents:
        out.row((mess_id(county, pid) if messy else pid, name, f"{year}年度" if messy else str(year), cat,
                 d.isoformat()))
    county.files.append(out.close())


def write_disability(county: County) -> None:
    messy, mrng = county.messy, county.mrng
    if messy:
        out = open_csv(county, "disability/残疾人变动信息.csv", "disability_changes",
                       ["身份证号码", "姓名", "残疾类型", "等级", "变更类型", "变更日期"])
    else:
        out = open_csv(county, "disability/残疾人变动信息.csv", "disability_changes",
                       kind_headers("disability_changes"))
    rows = []
    for dis in county.disabled:
        for k, (d, ctype, level) in enumerate(dis.changes):
            rows.append((d, dis, ctype, level, k))
    rows.sort(key=lambda r: (r[0], r[4]))
    for d, dis, ctype, level, k in rows:
        lv = mrng.choice(LEVEL_SPELLINGS[level]) if messy else level
        out.row((mess_id(county, dis.id) if messy else dis.id, dis.name, dis.category if k == 0 else "",
                 lv, ctype, slash_date(d) if messy else d.isoformat()))
    county.files.append(out.close())

    if messy:
        out = open_csv(county, "agency/残疾人参保补助.csv", "subsidies",
                       ["公民身份号码", "姓名", "补助项目", "补助金额", "补助开始年月", "补助终止年月"])
    else:
        out = open_csv(county, "agency/残疾人参保补助.csv", "subsidies", kind_headers("subsidies"))

    def ym(a):
        if a is None:
            return ""
        return f"{a // 12}年{a % 12 + 1}月" if messy else month_str(a)
    for dis in county.disabled:
        for t, cents, start, end in dis.subsidies:
            out.row((dis.id, dis.name, t, f"￥{money(cents)}" if messy else money(cents), ym(start), ym(end)))
    county.files.append(out.close())
