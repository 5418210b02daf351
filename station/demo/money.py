"""The money side of the demo county (DOMAIN.md § The money side): the agency's monthly
assessments (社保费核定) of every open unit, the tax bureau's collections (征收明细), the
fund special account's entries (财政专户入账) and the bank's results (代发回盘) of the
last ``returned`` payroll months — with planted cases for the five money-side rules and
near-misses that must not fire.

It runs after the county is written (:func:`add_money_side`), from its own random stream,
so the county's other files are byte-identical with or without it. The bank returns are
made by reading the payroll files back (the payroll is streamed, never held in memory).

Background, free of accidental findings: every assessment is collected in full the next
month; every month's collections are transferred to the special account as one 征收划入
entry per 险种 (plus quarterly 利息, which the rules ignore); every payment of a returned
month has a 成功 return with its amount, its name and the person's own account (derived
from the ID, so one person keeps one account and two people never share one).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from collections import defaultdict

from .habits import kind_headers, open_csv
from .model import ONE, D, GenerationSummary, money
from .world import County

INSURANCES = (("企业职工基本养老保险", 1600), ("失业保险", 50), ("工伤保险", 40))   # rate in 1/10000
MONEY_RULES = ("CONTRIBUTION_SHORT", "COLLECTION_UNMATCHED", "TRANSFER_SHORT",
               "BANK_RETURN_MISMATCH", "SHARED_ACCOUNT")
CONTRIBUTION_GRACE = 30
TRANSFER_GRACE = 15
PAYROLL_ALIASES = {"业务流水号": "发放流水号", "身份证号码": "公民身份号码", "实发金额": "金额",
                   "待遇所属期": "发放年月", "待遇项目": "待遇类型", "支付日期": "发放日期"}


def _last_day(period: str) -> D:
    y, m = int(period[:4]), int(period[5:7])
    return D(y + (m == 12), m % 12 + 1, 1) - ONE


def _due(period: str, grace: int, as_of: D) -> bool:
    return _last_day(period) + dt.timedelta(days=grace) <= as_of


class MoneySide:
    def __init__(self, county: County, returned: int = 3):
        self.c = county
        self.rng = random.Random(f"money-{county.seed}")
        self.returned = min(returned, county.months)
        self.expected: dict[str, list] = {r: [] for r in MONEY_RULES}
        self.near: dict[str, list[str]] = {r: [] for r in MONEY_RULES}
        units = len(county.open_units)
        self.k = max(2, units // 2500)          # plants per rule: 10 at 25,000 units
        self.year = county.periods[-1][:4]

    def fire(self, rule: str, subject: str, period: str | None, cents: int | None) -> None:
        self.expected[rule].append([subject, period, None if cents is None else round(cents / 100, 2)])

    # ------------------------------------------------------------------ 核定 and 征收

    def contributions(self) -> None:
        c, rng, as_of = self.c, self.rng, self.c.as_of
        periods = c.periods
        due_rows = open_csv(c, f"agency/社保费核定_{self.year}.csv", "contributions_due",
                            kind_headers("contributions_due"), crlf=c.messy)
        tax = open_csv(c, f"tax/社保费征收明细_{self.year}.csv", "tax_collections",
                       kind_headers("tax_collections"), crlf=c.messy)
        self.paid_in: dict[tuple[str, str], int] = defaultdict(int)     # (险种, 入库 month) -> cents
        due_periods = [p for p in periods if _due(p, CONTRIBUTION_GRACE, as_of)]
        units = list(c.open_units)
        picks = rng.sample(range(len(units)), min(len(units), 3 * self.k)) if due_periods else []
        short = {(picks[i], rng.choice(due_periods)): "short" for i in range(0, len(picks), 3)}
        short.update({(picks[i], rng.choice(due_periods)): "exact" for i in range(1, len(picks), 3)})
        by_code = {(picks[i], rng.choice(due_periods)): "code" for i in range(2, len(picks), 3)}
        receipt = 0
        n_due = n_tax = 0
        for ui, u in enumerate(units):
            head = rng.randint(3, 120)
            wage = rng.randint(4000, 9000) * 100
            first = max(u.reg.strftime("%Y-%m"), periods[0])
            for period in periods:
                if period < first:
                    continue
                head = max(1, head + rng.randint(-2, 2))
                paid_day = _last_day(period) + rng.randint(4, 24) * ONE
                plant = short.get((ui, period)) or by_code.get((ui, period))
                for ins, rate in INSURANCES:
                    due = head * wage * rate // 10000
                    due_rows.writerow((u.no, period, ins, money(due)))
                    n_due += 1
                    paid = due
                    if plant == "short" and rate == 1600:
                        gap = min(due, rng.randint(100, 5000) * 100)
                        paid -= gap
                        self.fire("CONTRIBUTION_SHORT", u.no, period, gap)
                    elif plant == "exact" and rate == 40:
                        paid -= min(due, 100)                   # exactly 1.00 short: no finding
                        self.near["CONTRIBUTION_SHORT"].append(f"{u.no} {period}: 工伤保险 short by 1.00")
                    if paid_day > as_of:
                        continue                                # not collected yet
                    receipt += 1
                    no, code = u.no, u.code
                    if plant == "code":                         # the unit named by its credit code only
                        no = ""
                        code = code.lower()
                        self.near["COLLECTION_UNMATCHED"].append(f"{u.code} {period}: credit code of {u.no}")
                    tax.writerow((f"344{period.replace('-', '')}{receipt:09d}", code, no, u.name, period, ins,
                                  money(paid), paid_day.isoformat()))
                    n_tax += 1
                    self.paid_in[(ins, paid_day.strftime("%Y-%m"))] += paid
        # Collections of units the register does not know: by credit code only.
        for i in range(self.k):
            code = c.credit_code()
            period = rng.choice(periods)
            paid_day = min(as_of, _last_day(period) + rng.randint(4, 24) * ONE)
            total = 0
            for ins, rate in INSURANCES[: 1 + i % 3]:
                cents = rng.randint(500, 20000) * 100 * rate // 1600 + 100
                receipt += 1
                tax.writerow((f"344{period.replace('-', '')}{receipt:09d}", code, "", c.unit_name(), period, ins,
                              money(cents), paid_day.isoformat()))
                n_tax += 1
                total += cents
                self.paid_in[(ins, paid_day.strftime("%Y-%m"))] += cents
            self.fire("COLLECTION_UNMATCHED", code, period, total)
        c.files.append(due_rows.close(extra_rows=n_due))
        c.files.append(tax.close(extra_rows=n_tax))

    # ------------------------------------------------------------------ 财政专户

    def fund_account(self) -> None:
        c, rng, as_of = self.c, self.rng, self.c.as_of
        out = open_csv(c, f"finance/财政专户入账_{self.year}.csv", "fund_account_entries",
                       kind_headers("fund_account_entries"), crlf=c.messy)
        keys = sorted(k for k in self.paid_in if _due(k[1], TRANSFER_GRACE, as_of))
        picks = rng.sample(keys, min(len(keys), self.k + 1)) if keys else []
        short = set(picks[:-1])
        exact = set(picks[-1:])
        n = 0
        for ins, month in sorted(self.paid_in):
            cents = self.paid_in[(ins, month)]
            entry_day = _last_day(month) + rng.randint(3, 8) * ONE
            if entry_day > as_of:
                continue
            if (ins, month) in short:
                gap = min(cents, rng.randint(2000, 50000) * 100)
                cents -= gap
                self.fire("TRANSFER_SHORT", ins, month, gap)
            elif (ins, month) in exact:
                cents -= 100                                     # exactly 1.00: no finding
                self.near["TRANSFER_SHORT"].append(f"{ins} {month}: 1.00 less transferred")
            n += 1
            out.writerow((f"ZH{month.replace('-', '')}{n:05d}", entry_day.isoformat(), ins, "征收划入",
                          money(cents), month))
            if month.endswith(("-03", "-06", "-09", "-12")):
                n += 1
                out.writerow((f"ZH{month.replace('-', '')}{n:05d}", entry_day.isoformat(), ins, "利息",
                              money(cents // 400), ""))
        c.files.append(out.close(extra_rows=n))

    # ------------------------------------------------------------------ 银行回盘

    def account(self, id_number: str) -> str:
        h = hashlib.sha256(f"{self.c.seed}:{id_number}".encode()).hexdigest()
        return "6217" + str(int(h[:16], 16))[-15:].zfill(15)

    def _payroll(self, period: str) -> list[tuple]:
        """(serial, ID, name, 发放年月, cents) of the payroll file of ``period`` whose
        发放年月 is among the returned months."""
        path = self.c.dest / "agency" / f"待遇发放_{period.replace('-', '')}.csv"
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        rows = csv.reader(text.splitlines())
        header = [PAYROLL_ALIASES.get(h.strip(), h.strip()) for h in next(rows)]
        at = {h: i for i, h in enumerate(header)}
        out = []
        for r in rows:
            if len(r) < len(at) - 1 or not r[at["发放流水号"]].startswith("FF"):
                continue                                         # totals line
            pid = r[at["公民身份号码"]].strip().upper()
            if "." in pid:
                continue                                         # an ID Excel ruined: rejected
            pm = r[at["发放年月"]].strip()
            pm = pm if "-" in pm else f"{pm[:4]}-{pm[4:]}"
            out.append((r[at["发放流水号"]], pid, r[at["姓名"]], pm,
                        int(round(float(r[at["金额"]].replace(",", "")) * 100))))
        return out

    def bank_returns(self) -> None:
        c, rng = self.c, self.rng
        months = c.periods[-self.returned:]
        pays = [row for m in months for row in self._payroll(m) if row[3] in months]
        by_month: dict[str, list[tuple]] = defaultdict(list)
        for row in pays:
            by_month[row[3]].append(row)
        # Plants only on payments the rule checks at as_of (dated by month end + grace).
        checked = {m for m in months if _last_day(m) + TRANSFER_GRACE * ONE <= c.as_of}
        ids_of: dict[str, set] = defaultdict(set)
        for serial, pid, _, pm, _ in pays:
            ids_of[pm].add(pid)
        # Plants, on distinct people of distinct months.
        used: set[str] = set()
        mismatch: dict[str, str] = {}          # serial -> missing | amount | name | near-*
        shared: dict[tuple[str, str], str] = {}     # (period, ID) -> the account they use
        for i in range(3 * self.k + 3 * self.k + 2 * self.k):
            pm = months[i % len(months)]
            candidates = by_month[pm]
            serial, pid, name, _, cents = candidates[rng.randrange(len(candidates))]
            if pid in used:
                continue
            used.add(pid)
            if i < 6 * self.k and pm not in checked:
                continue
            if i < 3 * self.k:
                mismatch[serial] = ("missing", "amount", "name")[i % 3]
            elif i < 6 * self.k:
                mismatch[serial] = ("near-cent", "near-failed", "near-space")[i % 3]
            else:
                others = sorted(ids_of[pm] - used)
                if not others:
                    continue
                other = others[rng.randrange(len(others))]
                used.add(other)
                shared[(pm, other)] = self.account(pid)
        names = [row[2] for row in pays[:200]]
        totals: dict[tuple[str, str], int] = defaultdict(int)
        ids_in: dict[tuple[str, str], set] = defaultdict(set)
        for m in months:
            out = open_csv(c, f"bank/银行代发回盘_{m.replace('-', '')}.csv", "bank_returns",
                           kind_headers("bank_returns"), crlf=c.messy)
            n = 0
            day = (_last_day(m) - ONE * 18).isoformat()
            for serial, pid, name, pm, cents in by_month[m]:
                plant = mismatch.get(serial)
                account = shared.get((pm, pid)) or self.account(pid)
                result, shown_name, shown_cents = "成功", name, cents
                if plant == "missing":
                    self.fire("BANK_RETURN_MISMATCH", serial, None, cents)
                    continue
                if plant == "amount":
                    shown_cents = max(0, cents - rng.randint(50, 10000))
                    self.fire("BANK_RETURN_MISMATCH", serial, None, cents)
                elif plant == "name":
                    shown_name = next(x for x in names if x != name)
                    self.fire("BANK_RETURN_MISMATCH", serial, None, cents)
                elif plant == "near-cent":
                    shown_cents = cents + 1
                    self.near["BANK_RETURN_MISMATCH"].append(f"{serial}: return 0.01 more")
                elif plant == "near-failed":
                    result = "失败"
                    self.near["BANK_RETURN_MISMATCH"].append(f"{serial}: failed, still a return")
                elif plant == "near-space":
                    shown_name = name[:1] + " " + name[1:]
                    self.near["BANK_RETURN_MISMATCH"].append(f"{serial}: 户名 with a space")
                if result == "成功":
                    totals[(account, pm)] += cents
                    ids_in[(account, pm)].add(pid)
                if c.messy and rng.random() < 0.1:
                    account = " ".join(account[i:i + 4] for i in range(0, len(account), 4))
                out.writerow((serial, pid, shown_name, account, money(shown_cents), result, day))
                n += 1
            c.files.append(out.close(extra_rows=n))
        for (account, pm), ids in sorted(ids_in.items()):
            if len(ids) >= 2:
                self.fire("SHARED_ACCOUNT", account, pm, totals[(account, pm)])


def add_money_side(county: County, summary: GenerationSummary, *, returned: int = 3) -> GenerationSummary:
    """Write the money side of ``county`` (already generated) and add its files, row
    counts, planted cases and expected anomalies to ``summary``."""
    side = MoneySide(county, returned)
    before = len(county.files)
    side.contributions()
    side.fund_account()
    side.bank_returns()
    for f in county.files[before:]:
        summary.files.append(f)
        summary.counts[f.kind] = summary.counts.get(f.kind, 0) + f.rows
    for rule in MONEY_RULES:
        found = sorted(side.expected[rule], key=lambda e: (e[0], e[1] or ""))
        summary.expected[rule] = found
        summary.planted[rule] = sorted({e[0] for e in found})
        summary.near_misses[rule] = side.near[rule]
    return summary


__all__ = ["MONEY_RULES", "add_money_side"]
