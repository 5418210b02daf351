"""The monthly payroll files (待遇发放): rows go straight to the open file of their month as
each person is generated, so nothing proportional to the payroll is held in memory."""
from __future__ import annotations

from .habits import kind_headers, mess_id, open_csv
from .model import PENSION, UNEMPLOYMENT, BadRow, Person, money, money_commas
from .names import HOMOPHONES
from .output import CsvOut, FileInfo
from .world import County


def emit_payments(county: County, p: Person) -> None:
    """Every payment of ``p`` into the open file of its month."""
    pay = county.pay
    pid, name = p.id, p.name
    if p.p_from >= 0:
        amt, skip, alt = p.pension, p.skip, p.pay_id
        text = money(amt)
        if not county.messy and not skip and not alt:
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
        std = county.ub_std
        for m in range(p.ub_from, p.ub_to + 1):
            pay[m].pay(pid, name, m, UNEMPLOYMENT, std[m], 15, p)
    if p.extra:
        for fm, pm, btype, amt, day, idw in p.extra:
            pay[fm].pay(idw or pid, name, pm, btype, amt, day, p)


class PayOut:
    """One month's payroll file. Serial numbers are FF<yyyymm><7 digits>, increasing in
    file order, so the original of a duplicate always has the lower serial."""

    def __init__(self, gen: County, m: int):
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
            headers = kind_headers("payments")
            self.out = open_csv(gen, rel, "payments", headers, crlf=True)
            self.bad_done = False
        elif gen.messy and m == M - 5:
            self.style = "legacy"          # an older system: GB18030, other headers and formats
            self.out = open_csv(gen, rel, "payments", ["待遇所属期", "业务流水号", "姓名", "身份证号码", "待遇项目",
                                                       "实发金额", "支付日期"], encoding="gb18030", crlf=True)
        else:
            self.out = open_csv(gen, rel, "payments", kind_headers("payments"), crlf=gen.messy)
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
                pid = mess_id(self.gen, pid, 0.1, 0.002)
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
            shown = p.shown if p.shown and pid == p.id else mess_id(self.gen, pid, 0.5, 0.03)
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
