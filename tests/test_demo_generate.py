"""Tests of the demo/benchmark county generator (station.demo.generate).

The heart of these tests is a small *reference* reader and rule evaluator written from
DOMAIN.md alone, independent of the generator's own bookkeeping. It is first checked
against the shared samples (``samples/expected_anomalies.json``), then used to show that
the anomalies the generator says it planted are exactly the ones that fire in the files
it wrote, in both clean and messy mode.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from station.demo import generate as gen
from station.demo.generate import generate_county
from station.demo.names import HOMOPHONES, RARE_CHARS
from station.kinds.spec import KINDS

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "fixtures" / "samples"
# The reference evaluator models the sixteen benefit-side rules; the money side (税务, 财政,
# 银行 and the agency's 社保费核定) has tests of its own.
MONEY_DEPARTMENTS = {"tax", "finance", "bank"}
MONEY_RULES = {"CONTRIBUTION_SHORT", "COLLECTION_UNMATCHED", "TRANSFER_SHORT",
               "BANK_RETURN_MISMATCH", "SHARED_ACCOUNT"}
AS_OF = dt.date(2026, 11, 15)


# -- independent GB 11643 ---------------------------------------------------------------

def check_char(body17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights)) % 11]


def valid_id(s: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return check_char(s[:17]) == s[17]


# -- reference reader --------------------------------------------------------------------

def _aliases() -> dict[str, str]:
    cfg = yaml.safe_load((ROOT / "rules.yaml").read_text(encoding="utf-8"))
    out = {f.header: f.header for k in KINDS.values() for f in k.fields}
    for canon, alts in cfg["aliases"].items():
        out[canon] = canon
        for a in alts:
            out[a] = canon
    return out


ALIASES = _aliases()


def clean_header(h) -> str:
    h = unicodedata.normalize("NFKC", str(h or "")).strip()
    h = re.sub(r"\s*\([^()]*\)\s*$", "", h)
    return h.strip().strip("*").strip()


class Rejected(Exception):
    pass


def norm_id(v, required: bool):
    s = unicodedata.normalize("NFKC", "" if v is None else str(v)).strip().upper()
    if not s:
        if required:
            raise Rejected("missing")
        return None
    if re.fullmatch(r"\d(\.\d+)?E\+\d+", s) or re.fullmatch(r"\d+\.\d+", s):
        raise Rejected("excel_number")
    if re.fullmatch(r"\d{15}", s):
        try:
            dt.date(int("19" + s[6:8]), int(s[8:10]), int(s[10:12]))
            body = s[:6] + "19" + s[6:]
            s = body + check_char(body)
        except ValueError:
            pass
    return s


def norm_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    s = unicodedata.normalize("NFKC", str(v or "")).strip()
    if not s:
        return None
    m = (re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", s) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
         or re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", s))
    assert m, f"unreadable date {s!r}"
    return dt.date(int(m[1]), int(m[2]), int(m[3]))


def norm_month(v):
    s = unicodedata.normalize("NFKC", str(v or "")).strip()
    if not s:
        return None
    m = re.fullmatch(r"(\d{4})[-/]?(\d{1,2})", s) or re.fullmatch(r"(\d{4})年(\d{1,2})月", s)
    assert m, f"unreadable month {s!r}"
    return f"{int(m[1]):04d}-{int(m[2]):02d}"


def norm_amount(v):
    s = unicodedata.normalize("NFKC", str(v or "")).strip().replace(",", "").lstrip("¥￥")
    return int((Decimal(s) * 100).to_integral_value()) if s else None


LEVEL = {}
for i, names in enumerate((("一级", "1级", "壹级", "1"), ("二级", "2级", "贰级", "2"),
                           ("三级", "3级", "叁级", "3"), ("四级", "4级", "肆级", "4"))):
    for n in names:
        LEVEL[n] = names[0]


def norm_cell(ftype: str, v, required: bool):
    if ftype == "id":
        return norm_id(v, required)
    if ftype == "date":
        return norm_date(v)
    if ftype == "month":
        return norm_month(v)
    if ftype == "year":
        s = unicodedata.normalize("NFKC", str(v or "")).strip().removesuffix("年度").removesuffix("年")
        return int(s) if s else None
    if ftype == "amount":
        return norm_amount(v)
    if ftype == "int":
        return int(v) if str(v or "").strip() else None
    if ftype == "level":
        s = unicodedata.normalize("NFKC", str(v or "")).strip()
        return LEVEL.get(s, s) or None
    s = unicodedata.normalize("NFKC", "" if v is None else str(v))
    if ftype == "name":
        return re.sub(r"\s+", "", s) or None
    s = s.strip()
    if ftype == "code":
        return s.upper() or None
    if ftype == "credit_code":
        return re.sub(r"[\s-]", "", s).upper() or None
    if ftype == "subject":
        return norm_id(s, False) if re.fullmatch(r"\d{15}|\d{17}[\dXx]", s) else s.upper()
    return s or None


def raw_rows(path: Path):
    """Yield (line number, cells) of a CSV (any encoding/delimiter) or XLSX file."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook
        wb = load_workbook(path, read_only=True)
        for i, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), 1):
            yield i, list(row)
        return
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
    first = text.splitlines()[:3]
    delim = "\t" if any("\t" in ln for ln in first) else ","
    for i, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delim), 1):
        yield i, row


def read_file(path: Path, department: str):
    """-> (kind, rows as dicts of column -> value, rejected [(line, reason)], layout)."""
    it = raw_rows(path)
    layout = {"title": False, "totals": False}
    for line, cells in it:
        mapped = [ALIASES.get(clean_header(c)) for c in cells]
        if sum(m is not None for m in mapped) >= 3:
            break
        layout["title"] = True
    else:
        raise AssertionError(f"no header in {path}")
    present = {m for m in mapped if m}
    candidates = [k for k in KINDS.values() if k.department == department
                  and all(f.header in present for f in k.required)]
    assert candidates, f"{path}: no kind fits {present}"
    spec = max(candidates, key=lambda k: len(present & {f.header for f in k.fields}))
    by_header = spec.field_by_header()
    rows, rejected = [], []
    for line, cells in it:
        if not any(str(c or "").strip() for c in cells):
            continue
        if str(cells[0] or "").strip().startswith("合计"):
            layout["totals"] = True
            continue
        rec = {}
        try:
            for h, v in zip(mapped, cells):
                if h in by_header:
                    f = by_header[h]
                    rec[f.column] = norm_cell(f.type, v, f.required)
            for f in spec.required:
                if rec.get(f.column) in (None, ""):
                    raise Rejected("missing")
        except Rejected as e:
            rejected.append((line, str(e)))
            continue
        rows.append(rec)
    return spec.name, rows, rejected, layout


def read_inbox(inbox: Path):
    data = defaultdict(list)
    files = {}
    for dep in sorted(p for p in inbox.iterdir() if p.is_dir() and p.name not in MONEY_DEPARTMENTS):
        for f in sorted(dep.iterdir()):
            if "社保费核定" in f.name:
                continue
            kind, rows, rejected, layout = read_file(f, dep.name)
            data[kind].extend(rows)
            files[f.relative_to(inbox).as_posix()] = (kind, len(rows), rejected, layout)
    return data, files


# -- reference rule evaluator ------------------------------------------------------------

def _pinyin(name: str):
    from pypinyin import lazy_pinyin
    return lazy_pinyin(name)


def one_edit(a: str, b: str) -> bool:
    if len(a) != len(b) or a == b:
        return False
    d = [i for i in range(len(a)) if a[i] != b[i]]
    return len(d) == 1 or (len(d) == 2 and d[1] == d[0] + 1 and a[d[0]] == b[d[1]] and a[d[1]] == b[d[0]])


def evaluate(data, as_of: dt.date) -> dict[str, list]:
    cfg = yaml.safe_load((ROOT / "rules.yaml").read_text(encoding="utf-8"))["rules"]
    cutoff = as_of - dt.timedelta(days=30)
    out = defaultdict(list)

    def fire(rule, subject, period=None, cents=None):
        out[rule].append([subject, period, None if cents is None else round(cents / 100, 2)])

    persons = {p["id_number"]: p for p in data["persons"]}
    live = {k: p for k, p in persons.items() if p["status"] not in ("终止", "死亡")}
    pays = data["payments"]
    ps = [r for r in data["household_deaths"] if r["cancel_reason"] == "死亡"]
    records = [("ps", r["id_number"], r["name"], None, r.get("death_date") or r["cancel_date"]) for r in ps]
    records += [("ca", r.get("id_number"), r["name"], r.get("birth_date"), r["death_date"])
                for r in data["cremations"]]
    death = {}
    for src, pid, name, birth, d in records:
        if pid:
            death[pid] = min(death.get(pid, d), d)
    by_id = defaultdict(list)
    for p in pays:
        by_id[p["id_number"]].append(p)
    for pid, d in sorted(death.items()):
        after = sum(p["amount"] for p in by_id.get(pid, ()) if p["period"] > d.strftime("%Y-%m"))
        if after:
            fire("DEATH_PAID", pid, cents=after)
        if pid in live and d <= cutoff:
            fire("DEATH_NOT_STOPPED", pid)
    for pid in sorted(death):
        a = [d for s, i, _, _, d in records if i == pid and s == "ps"]
        b = [d for s, i, _, _, d in records if i == pid and s == "ca"]
        if any(abs((x - y).days) > 7 for x in a for y in b):
            fire("DEATH_DATE_CONFLICT", pid)
    fuzzy = set()
    for src, pid, name, birth, d in records:
        if pid and pid in persons:
            continue
        if pid:
            near = {pid[:i] + c + pid[i + 1:] for i in range(len(pid)) for c in "0123456789X"}
            near |= {pid[:i] + pid[i + 1] + pid[i] + pid[i + 2:] for i in range(len(pid) - 1)}
            cands = [k for k in sorted(near & live.keys()) if len(k) == 18 and len(pid) == 18 and one_edit(k, pid)
                     and (live[k]["name"] == name or _pinyin(live[k]["name"]) == _pinyin(name))]
        else:
            cands = [k for k, p in live.items() if p["name"] == name and p.get("birth_date") == birth]
        if len(cands) == 1:
            fuzzy.add(cands[0])
    for k in sorted(fuzzy):
        fire("DEATH_FUZZY_MATCH", k)

    units = defaultdict(list)
    for u in data["units"]:
        units[u["credit_code"]].append(u)
    unreg, closed = set(), set()
    for e in data["enterprises"]:
        if e["reg_type"] == "设立" and e["approval_date"] <= cutoff and e["credit_code"] not in units:
            unreg.add(e["credit_code"])
        if e["reg_type"] == "注销" and any((u.get("unit_status") or "正常") == "正常" for u in units.get(e["credit_code"], ())):
            closed.add(e["credit_code"])
    for c in sorted(unreg):
        fire("ENTERPRISE_UNREGISTERED", c)
    for c in sorted(closed):
        fire("ENTERPRISE_CLOSED_ACTIVE", c)

    med = defaultdict(set)
    for r in data["resident_medical"]:
        med[r["id_number"]].add(r["year"])
    unenrolled = {s["id_number"] for s in data["new_students"]
                  if s["enrol_date"] <= cutoff and not any(y >= s["enrol_date"].year for y in med[s["id_number"]])}
    for s in sorted(unenrolled):
        fire("STUDENT_UNENROLLED", s)

    latest = {}
    for k, c in enumerate(data["disability_changes"]):
        key = (c["change_date"], k)
        if c["id_number"] not in latest or key >= latest[c["id_number"]][0]:
            latest[c["id_number"]] = (key, c)
    subs = defaultdict(list)
    for s in data["subsidies"]:
        subs[s["id_number"]].append(s)
    eligible = cfg["SUBSIDY_MISSING"]["eligible_levels"]
    for pid, (_, c) in sorted(latest.items()):
        if c["change_date"] > cutoff:
            continue
        m = c["change_date"].strftime("%Y-%m")
        if c["change_type"] in ("注销", "死亡") or c.get("level") not in eligible:
            if any(not s.get("end_month") or s["end_month"] > m for s in subs[pid]):
                fire("SUBSIDY_NOT_STOPPED", pid)
        elif not any(not s.get("end_month") or s["end_month"] >= m for s in subs[pid]):
            fire("SUBSIDY_MISSING", pid)

    groups = defaultdict(list)
    types = defaultdict(set)
    for p in pays:
        groups[(p["id_number"], p["period"], p["benefit_type"])].append(p)
        types[(p["id_number"], p["period"])].add(p["benefit_type"])
    dup = defaultdict(int)
    for (pid, period, _), ps_ in groups.items():
        if len({p["serial_no"] for p in ps_}) > 1:
            ps_ = sorted(ps_, key=lambda p: p["serial_no"])
            dup[(pid, period)] += sum(p["amount"] for p in ps_[1:])
    for (pid, period), cents in sorted(dup.items()):
        fire("DUPLICATE_PAYMENT", pid, period, cents)
    for (pid, period), ts in sorted(types.items()):
        if {"基本养老金", "失业保险金"} <= ts:
            fire("CONFLICTING_BENEFITS", pid, period)
    for pid in sorted(by_id):
        if pid not in persons:
            fire("PAYMENT_UNREGISTERED", pid, cents=sum(p["amount"] for p in by_id[pid]))
    for pid in sorted(persons):
        if not valid_id(pid):
            fire("INVALID_ID", pid)
    approved = {d["subject"] for d in data["scan_index"] if d["material"] == "退休审批表"}
    for pid, p in sorted(persons.items()):
        if p["status"] == "退休" and p.get("retire_date") and p["retire_date"] >= dt.date(2025, 1, 1) \
                and pid not in approved:
            fire("RETIREE_NO_APPROVAL", pid)
    retention = cfg["ARCHIVE_RETENTION"]["retention"]
    for d in data["scan_index"]:
        if d["material"] in retention and (d.get("retention") or "") != retention[d["material"]]:
            fire("ARCHIVE_RETENTION", f"{d['file_no']}#{d['item_no']}")
    for pid, p in sorted(persons.items()):
        b = p.get("birth_date")
        if p["status"] == "退休" and b and as_of.year - b.year - ((as_of.month, as_of.day) < (b.month, b.day)) >= 100:
            fire("CENTENARIAN_CHECK", pid)
    return {r: sorted(v, key=lambda e: (e[0], e[1] or "")) for r, v in out.items()}


# -- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("messy") / "inbox"
    return dest, generate_county(dest, persons=1000, seed=7, messy=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    dest = tmp_path_factory.mktemp("clean") / "inbox"
    return dest, generate_county(dest, persons=1000, seed=7, messy=False)


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def nonempty(d):
    return {k: v for k, v in d.items() if v}


# -- the reference evaluator itself ------------------------------------------------------

def test_reference_evaluator_reproduces_the_samples():
    expected = json.loads((SAMPLES / "expected_anomalies.json").read_text(encoding="utf-8"))
    data, _ = read_inbox(SAMPLES / "inbox")
    got = evaluate(data, dt.date.fromisoformat(expected["as_of"]))
    benefit_side = {r: v for r, v in expected["anomalies"].items() if r not in MONEY_RULES}
    assert got == nonempty(benefit_side)


# -- determinism -------------------------------------------------------------------------

def test_same_seed_same_bytes(tmp_path, messy):
    dest, summary = messy
    again = generate_county(tmp_path / "again", persons=1000, seed=7, messy=True)
    assert tree_digest(dest) == tree_digest(tmp_path / "again")
    assert again.expected == summary.expected


def test_other_seed_other_county(tmp_path, messy):
    dest, summary = messy
    other = generate_county(tmp_path / "other", persons=1000, seed=8, messy=True)
    a, b = tree_digest(dest), tree_digest(tmp_path / "other")
    assert a.keys() == b.keys()
    assert all(a[k] != b[k] for k in a)
    assert other.planted != summary.planted


def test_cli_in_another_process_same_bytes(tmp_path, messy):
    """A fresh interpreter with another hash seed writes the same bytes (no reliance
    on set/dict-of-str iteration order), and the CLI writes the expected JSON."""
    dest, summary = messy
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(ROOT))
    out = tmp_path / "cli"
    res = subprocess.run([sys.executable, "-m", "station.demo.generate", str(out), "--persons", "1000",
                          "--seed", "7", "--expected", str(tmp_path / "expected.json")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "planted:" in res.stdout
    assert tree_digest(out) == tree_digest(dest)
    exp = json.loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    assert exp["as_of"] == "2026-11-15"
    assert exp["anomalies"] == json.loads(json.dumps(summary.expected))


def test_same_county_in_both_modes(messy, clean):
    assert messy[1].expected == clean[1].expected
    assert messy[1].counts["payments"] == clean[1].counts["payments"]


# -- completeness ------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["clean", "messy"])
def test_every_kind_and_department_written(mode, request):
    dest, summary = request.getfixturevalue(mode)
    # The money side's kinds and departments join the demo county with its own generator.
    money_kinds = {"contributions_due", "tax_collections", "fund_account_entries", "bank_returns"}
    assert {f.kind for f in summary.files} == set(KINDS) - money_kinds
    assert {p.name for p in dest.iterdir()} == set(gen.DEPARTMENTS)
    _, files = read_inbox(dest)
    assert set(files) == {f.path for f in summary.files}
    for f in summary.files:
        kind, nrows, rejected, _ = files[f.path]
        assert kind == f.kind, f.path
        assert nrows + len(rejected) == f.rows, f.path
    payments = sorted(f.path for f in summary.files if f.kind == "payments")
    assert payments == [f"agency/待遇发放_2026{m:02d}.csv" for m in range(1, 11)]
    assert len([f for f in summary.files if f.kind == "household_deaths" and not f.copy_of]) == 2
    copies = [f for f in summary.files if f.copy_of]
    assert len(copies) == (mode == "messy")
    for f in copies:
        assert (dest / f.path).read_bytes() == (dest / f.copy_of).read_bytes() and f.path != f.copy_of
    assert not list(dest.rglob("*.part"))


@pytest.mark.parametrize("mode", ["clean", "messy"])
def test_planted_anomalies_are_exactly_what_fires(mode, request):
    """Read the files back, run the 16 rules: the result is summary.expected — nothing
    planted is missing, nothing unplanned (background noise, near-misses) fires."""
    dest, summary = request.getfixturevalue(mode)
    data, _ = read_inbox(dest)
    got = evaluate(data, AS_OF)
    assert got == nonempty(summary.expected)
    assert set(summary.planted) == set(gen.RULE_IDS)
    for rule, subjects in summary.planted.items():
        assert len(subjects) >= (1 if rule == "CONFLICTING_BENEFITS" else 2), rule
        assert subjects == sorted({e[0] for e in summary.expected[rule]})


def test_population_is_realistic(clean):
    dest, summary = clean
    data, _ = read_inbox(dest)
    persons = data["persons"]
    status = defaultdict(int)
    for p in persons:
        status[p["status"]] += 1
    assert 0.25 < status["退休"] / len(persons) < 0.36
    invalid = set(summary.planted["INVALID_ID"])
    for p in persons:
        pid = p["id_number"]
        if pid in invalid:
            assert not valid_id(pid)
            continue
        assert valid_id(pid), pid
        assert pid[6:14] == p["birth_date"].strftime("%Y%m%d")
        assert int(pid[16]) % 2 == (p["sex"] == "男")
        if p["status"] == "退休":
            assert p["retire_date"] and p["monthly_pension"] and p["retire_date"] > p["birth_date"]
            age = (p["retire_date"] - p["birth_date"]).days / 365.25
            assert 49.9 < age < 60.1
        if p["status"] == "参保缴费":
            assert 18 <= (AS_OF - p["birth_date"]).days / 365.25 < 60
    assert len({p["id_number"] for p in persons}) == len(persons)
    assert len({p["person_no"] for p in persons}) == len(persons)
    serials = [p["serial_no"] for p in data["payments"]]
    assert len(set(serials)) == len(serials)
    assert all(p["amount"] > 0 for p in data["payments"])
    assert any(p["amount"] % 100 for p in data["payments"])          # cents
    for u in data["units"]:
        c = u["credit_code"]
        assert re.fullmatch(r"[0-9A-Z]{18}", c) and gen.idl.is_valid_uscc(c)
    names = "".join(p["name"] for p in persons)
    assert any(ch in names for ch in RARE_CHARS)
    assert len({p["name"][0] for p in persons}) > 40                 # many surnames


def test_planted_evidence_is_in_the_right_files(clean):
    dest, summary = clean
    data, _ = read_inbox(dest)
    persons = {p["id_number"]: p for p in data["persons"]}
    deaths = defaultdict(list)
    for r in data["household_deaths"]:
        if r["cancel_reason"] == "死亡":
            deaths[r["id_number"]].append(r.get("death_date") or r["cancel_date"])
    for r in data["cremations"]:
        if r.get("id_number"):
            deaths[r["id_number"]].append(r["death_date"])
    pays = defaultdict(list)
    for p in data["payments"]:
        pays[p["id_number"]].append(p)
    for pid in summary.planted["DEATH_PAID"]:
        month = min(deaths[pid]).strftime("%Y-%m")
        assert any(p["period"] > month for p in pays[pid])
    for pid in summary.planted["DEATH_NOT_STOPPED"]:
        assert persons[pid]["status"] not in ("死亡", "终止") and min(deaths[pid]) <= AS_OF - dt.timedelta(30)
    # the realistic case: register still says 退休, pension paid to the end of the window
    both = set(summary.planted["DEATH_PAID"]) & set(summary.planted["DEATH_NOT_STOPPED"])
    assert both and all(persons[p]["status"] == "退休" and max(x["period"] for x in pays[p]) == "2026-10" for p in both)
    for pid in summary.planted["DEATH_FUZZY_MATCH"]:
        assert pid in persons and pid not in deaths
    for pid in summary.planted["PAYMENT_UNREGISTERED"]:
        assert pid not in persons and pays[pid]
    for pid in summary.planted["CENTENARIAN_CHECK"]:
        assert persons[pid]["birth_date"] <= dt.date(1926, 11, 15)
    codes = {u["credit_code"] for u in data["units"]}
    for c in summary.planted["ENTERPRISE_UNREGISTERED"]:
        assert c not in codes and any(e["credit_code"] == c and e["reg_type"] == "设立" for e in data["enterprises"])
    students = {s["id_number"] for s in data["new_students"]}
    assert set(summary.planted["STUDENT_UNENROLLED"]) <= students
    dis = {c["id_number"] for c in data["disability_changes"]}
    assert set(summary.planted["SUBSIDY_MISSING"]) | set(summary.planted["SUBSIDY_NOT_STOPPED"]) <= dis


def test_near_misses_are_present_and_silent(messy):
    dest, summary = messy
    data, _ = read_inbox(dest)
    got = evaluate(data, AS_OF)
    fired = {e[0] for v in got.values() for e in v}
    for rule in ("DEATH_NOT_STOPPED", "DEATH_PAID", "DEATH_DATE_CONFLICT", "DEATH_FUZZY_MATCH",
                 "ENTERPRISE_UNREGISTERED", "STUDENT_UNENROLLED", "SUBSIDY_NOT_STOPPED",
                 "SUBSIDY_MISSING", "DUPLICATE_PAYMENT", "CONFLICTING_BENEFITS", "INVALID_ID",
                 "RETIREE_NO_APPROVAL", "CENTENARIAN_CHECK"):
        assert summary.near_misses[rule], rule
        for note in summary.near_misses[rule]:
            subject = note.split(":")[0]
            assert subject not in {e[0] for e in got.get(rule, ())}, (rule, note)
    # the two-candidate fuzzy record and the 15-digit legacy IDs are really there
    assert any("fits both" in n for n in summary.near_misses["DEATH_FUZZY_MATCH"])
    legacy = [n.split(":")[0] for n in summary.near_misses["INVALID_ID"] if "15-digit" in n]
    assert legacy and not set(legacy) & fired


# -- messy and clean formats -------------------------------------------------------------

def test_messy_formats(messy):
    dest, summary = messy
    info = {f.path: f for f in summary.files}
    _, files = read_inbox(dest)

    gbk = [p for p, f in info.items() if f.encoding == "gb18030"]
    assert gbk
    rare_in_gbk = False
    for p in gbk:
        raw = (dest / p).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        text = raw.decode("gb18030")
        if any(c in text for c in RARE_CHARS):
            rare_in_gbk = True
            with pytest.raises(UnicodeDecodeError):
                raw.decode("gbk")
    assert rare_in_gbk, "a GB18030-only character must make the gbk codec fail"

    title = [p for p, f in info.items() if f.title_line]
    assert title and all(files[p][3]["title"] for p in title)
    first = (dest / title[0]).read_bytes().decode("gb18030").splitlines()[0]
    assert re.fullmatch(r"\d{4}年\d{1,2}月死亡人员名单", first)

    totals = [p for p, f in info.items() if f.totals_line]
    assert totals and all(files[p][3]["totals"] for p in totals)
    last = (dest / totals[0]).read_text(encoding="utf-8").splitlines()[-1]
    assert re.fullmatch(r"合计,,,,,\d+\.\d\d,", last)
    body = (dest / totals[0]).read_text(encoding="utf-8")
    assert re.search(r'"\d{1,3},\d{3}\.\d\d"', body)                      # 1,234.50
    rows = list(csv.reader(io.StringIO(body)))[1:-1]
    total = sum(Decimal(r[5].replace(",", "")) for r in rows)
    assert f"{total:.2f}" == last.split(",")[5]

    from openpyxl import load_workbook
    xlsx = [p for p, f in info.items() if f.encoding == "xlsx"]
    assert xlsx
    ws = load_workbook(dest / xlsx[0]).worksheets[0]
    header = [c.value for c in ws[1]]
    assert "火化时间" in header and "火化地点" in header
    assert any(isinstance(c.value, dt.datetime) and c.is_date for row in ws.iter_rows(min_row=2) for c in row)

    assert any((dest / p).read_bytes().startswith(b"\xef\xbb\xbf") for p in info)
    tabbed = [p for p, f in info.items() if f.delimiter == "\t"]
    assert tabbed
    text = (dest / tabbed[0]).read_text(encoding="utf-8")
    assert "（必填）" in text.splitlines()[0] and re.search(r"\t91[0-9a-z]{16}\t|^91[0-9a-z]*[a-z][0-9a-z]*\t", text, re.M)

    persons_raw = (dest / next(p for p, f in info.items() if f.kind == "persons")).read_text(encoding="utf-8-sig")
    assert re.search(r",\d{15},", persons_raw)                             # legacy IDs
    assert re.search(r",\s+\d{17}[\dXx]\s*,|,\d{17}[\dXx]\s+,", persons_raw) or "x," in persons_raw
    students_raw = (dest / next(p for p, f in info.items() if f.kind == "new_students")).read_text(encoding="utf-8")
    assert re.search(r"[\uff10-\uff19]{18}|[\uff10-\uff19]{17}X", students_raw)
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", students_raw)
    levels_raw = (dest / "disability/残疾人变动信息.csv").read_text(encoding="utf-8")
    assert {"1级", "壹级"} & set(re.findall(r",([^,]*级|\d),", levels_raw))


def test_bad_rows_are_listed_and_rejected(messy):
    dest, summary = messy
    assert {b.reason for b in summary.bad_rows} == {"missing", "excel_number"}
    _, files = read_inbox(dest)
    rejected = {(p, line, why) for p, (_, _, rej, _) in files.items() for line, why in rej}
    assert rejected == {(b.path, b.line, b.reason) for b in summary.bad_rows}
    for b in summary.bad_rows:
        assert sum(f.bad_rows for f in summary.files if f.path == b.path) >= 1
        if b.reason == "excel_number":
            assert re.fullmatch(r"\d\.\d+E\+17|\d{18}\.\d", b.value)


def test_clean_mode_is_plain_canonical_csv(clean):
    dest, summary = clean
    assert not summary.bad_rows
    for f in summary.files:
        raw = (dest / f.path).read_bytes()
        assert f.path.endswith(".csv") and not raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8")
        header = text.split("\n", 1)[0]
        assert header == ",".join(fl.header for fl in KINDS[f.kind].fields), f.path
        assert "\r" not in text and "合计" not in text
        assert not f.title_line and not f.totals_line


def test_homophone_pairs_really_are_homophones():
    from pypinyin import lazy_pinyin
    for a, b in HOMOPHONES.items():
        assert a != b and lazy_pinyin(a) == lazy_pinyin(b), (a, b)


def test_scales_with_size(tmp_path):
    small = generate_county(tmp_path / "s", persons=400, seed=3, messy=False)
    big = generate_county(tmp_path / "b", persons=6000, seed=3, messy=False)
    assert len(big.planted["DEATH_FUZZY_MATCH"]) == 6 > len(small.planted["DEATH_FUZZY_MATCH"]) == 3
    assert big.counts["payments"] > 5 * small.counts["payments"]
    data, _ = read_inbox(tmp_path / "b")
    assert evaluate(data, AS_OF) == nonempty(big.expected)


def test_other_as_of_and_window(tmp_path):
    as_of = dt.date(2026, 3, 1)
    s = generate_county(tmp_path / "x", persons=800, seed=11, messy=True, as_of=as_of, months=12)
    assert s.periods[0] == "2025-03" and s.periods[-1] == "2026-02"
    data, _ = read_inbox(tmp_path / "x")
    assert evaluate(data, as_of) == nonempty(s.expected)


def test_rejects_unusable_parameters(tmp_path):
    with pytest.raises(ValueError):
        generate_county(tmp_path, persons=50)
    with pytest.raises(ValueError):
        generate_county(tmp_path, months=2)


def test_cli_refuses_to_mix_two_counties(messy, capsys):
    dest, _ = messy
    with pytest.raises(SystemExit):
        gen.main([str(dest), "--persons", "300"])
    assert "already holds deliveries" in capsys.readouterr().err
