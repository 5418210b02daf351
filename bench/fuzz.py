"""Pipeline fuzzing: random and mutated CSV / XLSX / XLS / JSON deliveries through the
whole pipeline (read → recognise → map and normalise → apply → move), then the rules.

Every case must end as a ledger entry — applied (possibly with rejected rows), duplicate
or rejected with a reason — with the file moved out of the inbox: never an exception,
never a hang, never a crash of the process. Cases are made from (seed, index) alone, so
any failure is reproduced by ``--only INDEX``.

Seeds: the sample deliveries (tests/fixtures/samples) cut to a few dozen rows, written as
UTF-8, UTF-8 with BOM, GBK, UTF-16 CSV, as XLSX (openpyxl), XLS (xlwt) and JSON; the
Excel fixtures of tests/fixtures/formats. Mutations: random bytes behind a format's magic
number, byte flips / overwrites / insertions / deletions / truncation / block
duplication, CSV-level edits (quotes, delimiters, line breaks, NULs, rare and bidi
characters, very long cells, wide rows, Excel-mangled IDs, formula text), XML edits
inside the XLSX (tests/fixtures/formats/fuzz_excel.py) and random JSON documents. Each
case lands in a random department folder under a random (sometimes misleading) name.

Workers are child processes (their own home, a 2 GB address-space limit); a batch that
times out or dies is split until the culprit is found. After each batch the worker runs
every rule over the register that the junk built.

    python bench/fuzz.py [--cases 10000] [--seed 1] [--workers 2] [--batch 200]
                         [--only INDEX] [--json FILE]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "tests" / "fixtures" / "samples" / "inbox"
FORMAT_FIXTURES = ROOT / "tests" / "fixtures" / "formats"
DEPARTMENTS = ["agency", "public_security", "civil_affairs", "industry_commerce", "education",
               "disability", "archive", ""]
CASE_SECONDS = 10          # one case taking longer counts as a hang
ODD_TEXT = ["", " ", "\x00", "\u202e", "\u200f", "\ufeff", "𠀀", "㛃", "=1+1", "+86", "@SUM(A1)", "-",
            "\t", '"', '""', ",", ";", "\r", "\n", "\r\n", "合计", "1.10101199003E+17", "110101199003074518",
            "11010119900307451X", "2026-02-30", "99999999999999999999", "NaN", "inf", "-0", "1e308",
            "一级", "五级", "死亡", "\\", "'", "null", "[", "{", "<", "&lol;", "x" * 300]


# --------------------------------------------------------------------------- seeds

def _sample_tables(rows: int = 25) -> list[tuple[str, str, list[list[str]]]]:
    """(department, file name, rows) of every sample delivery, cut to ``rows`` rows."""
    out = []
    for p in sorted(SAMPLES.rglob("*.csv")):
        with open(p, encoding="utf-8-sig", newline="") as f:
            table = [r for _, r in zip(range(rows + 1), csv.reader(f))]
        out.append((p.parent.name, p.name, table))
    return out


def _csv(table, encoding: str, delimiter: str = ",") -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter).writerows(table)
    return buf.getvalue().encode(encoding, errors="replace")


def _excel_text(v: str) -> str:
    """What Excel can hold: at most 32,767 characters, no control characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    return ILLEGAL_CHARACTERS_RE.sub("", v)[:32767]


def _xlsx(table) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    for r in table:
        ws.append([_excel_text(v) for v in r[:16384]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xls(table) -> bytes:
    import xlwt
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1")
    for i, r in enumerate(table[:1000]):
        for j, v in enumerate(r[:250]):
            ws.write(i, j, _excel_text(v))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _json(table) -> bytes:
    header, *body = table
    return json.dumps([dict(zip(header, r)) for r in body], ensure_ascii=False).encode("utf-8")


_SEEDS: list[tuple[str, str, bytes]] | None = None


def seeds() -> list[tuple[str, str, bytes]]:
    """(department, file name, bytes) of every seed, built once per process."""
    global _SEEDS
    if _SEEDS is None:
        out = []
        for dept, name, table in _sample_tables():
            stem = name.rsplit(".", 1)[0]
            out += [(dept, name, _csv(table, "utf-8")), (dept, name, _csv(table, "utf-8-sig")),
                    (dept, name, _csv(table, "gb18030")), (dept, stem + ".txt", _csv(table, "utf-16", "\t")),
                    (dept, stem + ".xlsx", _xlsx(table)), (dept, stem + ".xls", _xls(table)),
                    (dept, stem + ".json", _json(table))]
        for p in sorted(FORMAT_FIXTURES.glob("*.xls*")):
            out.append(("", p.name, p.read_bytes()))
        _SEEDS = out
    return _SEEDS


# --------------------------------------------------------------------------- mutations

def _excel_mutators():
    sys.path.insert(0, str(FORMAT_FIXTURES))
    import fuzz_excel                       # tests/fixtures/formats/fuzz_excel.py
    return fuzz_excel.mutate_bytes, fuzz_excel.mutate_xlsx


def mutate_raw(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.choice([1, 1, 2, 3, 8, 32])):
        if not b:
            b += bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 64)))
            continue
        i = rnd.randrange(len(b))
        how = rnd.random()
        if how < 0.3:
            b[i] ^= 1 << rnd.randrange(8)
        elif how < 0.45:
            b[i] = rnd.choice([0, 0x0A, 0x0D, 0x22, 0x2C, 0x80, 0xFF, rnd.randrange(256)])
        elif how < 0.6:
            b[i:i] = bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 40)))
        elif how < 0.72:
            del b[i:i + rnd.randrange(1, 200)]
        elif how < 0.82:
            del b[i:]
        elif how < 0.92:
            j = rnd.randrange(i, min(len(b), i + 2000) + 1)
            b[j:j] = b[i:j] * rnd.randrange(1, 20)
        else:
            b[i:i + 4] = rnd.choice([0, 0xFFFFFFFF, 0x7FFFFFFF, rnd.getrandbits(32)]).to_bytes(4, "little")
    return bytes(b)


def mutate_table(table: list[list[str]], rnd: random.Random) -> list[list[str]]:
    t = [list(r) for r in table]
    for _ in range(rnd.choice([1, 2, 4, 10])):
        if not t:
            t.append([rnd.choice(ODD_TEXT)])
            continue
        r = rnd.randrange(len(t))
        how = rnd.random()
        if how < 0.35 and t[r]:
            c = rnd.randrange(len(t[r]))
            t[r][c] = rnd.choice([rnd.choice(ODD_TEXT), t[r][c] + rnd.choice(ODD_TEXT),
                                  rnd.choice(ODD_TEXT) * rnd.randrange(1, 50000)])
        elif how < 0.45:
            t[r] = t[r] + [rnd.choice(ODD_TEXT)] * rnd.choice([1, 10, 600])
        elif how < 0.55:
            t[r] = t[r][:rnd.randrange(len(t[r]) + 1)]
        elif how < 0.65:
            t.insert(r, list(t[0]))                    # a repeated header
        elif how < 0.72:
            t.insert(r, ["合计", "", "", "123.45"])
        elif how < 0.8:
            del t[r]
        elif how < 0.88 and t[r]:
            rnd.shuffle(t[r])
        elif how < 0.94:
            t.insert(rnd.randrange(len(t) + 1), [])
        else:
            t[r] = [c.replace("0", "０") for c in t[r]]   # full-width digits
    return t


def random_json(rnd: random.Random, depth: int = 0):
    how = rnd.random()
    if depth > 3 or how < 0.35:
        return rnd.choice([None, True, False, 0, -1, 2 ** 70, 1.5, float("1e308"), rnd.choice(ODD_TEXT),
                           "110101199003074518", "2026-11-15", ""])
    if how < 0.65:
        return {rnd.choice(["公民身份号码", "姓名", "死亡日期", "注销日期", "注销原因", "金额", "", "x", "𠀀"]):
                random_json(rnd, depth + 1) for _ in range(rnd.randrange(0, 8))}
    return [random_json(rnd, depth + 1) for _ in range(rnd.randrange(0, 6))]


MAGIC = [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"[", b"{", b"\xef\xbb\xbf", b"\xff\xfe",
         b"%PDF-1.7\n", b"<html>", b"Rar!\x1a\x07\x00", b"\x1f\x8b"]
EXTENSIONS = [".csv", ".xlsx", ".xls", ".json", ".txt", ".CSV", ".XLSX", "", ".xlsx.csv"]


def make_case(seed: int, index: int) -> tuple[str, str, bytes, str]:
    """(department folder, file name, bytes, how it was made) of case ``index``."""
    rnd = random.Random(seed * 1_000_003 + index)
    dept, name, data = rnd.choice(seeds())
    how = rnd.random()
    mutate_bytes, mutate_xlsx = _excel_mutators()
    if how < 0.12:
        data = rnd.choice(MAGIC) + bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 4096)))
        made = "random bytes"
    elif how < 0.2:
        data = json.dumps(random_json(rnd), ensure_ascii=rnd.random() < 0.5).encode(
            rnd.choice(["utf-8", "utf-8-sig", "utf-16"]))
        made = "random JSON"
    elif how < 0.5:
        tables = _sample_tables()
        d, n, table = rnd.choice(tables)
        table = mutate_table(table, rnd)
        fmt = rnd.random()
        if fmt < 0.55:
            data = _csv(table, rnd.choice(["utf-8", "utf-8-sig", "gb18030"]), rnd.choice([",", ",", "\t", ";"]))
            name = n
        elif fmt < 0.75:
            data, name = _xlsx(table), n.rsplit(".", 1)[0] + ".xlsx"
        elif fmt < 0.9:
            data, name = _xls(table), n.rsplit(".", 1)[0] + ".xls"
        else:
            data, name = _json(table) if table and table[0] else b"[]", n.rsplit(".", 1)[0] + ".json"
        dept = d
        made = "mutated table"
    elif how < 0.65 and name.endswith(".xlsx") and data.startswith(b"PK"):
        data = mutate_xlsx(data, rnd)
        made = "mutated xlsx xml"
    elif how < 0.72 and name.endswith((".xls", ".xlsx")):
        data = mutate_bytes(data, rnd)
        made = "mutated excel bytes"
    else:
        data = mutate_raw(data, rnd)
        made = "mutated bytes"
    if rnd.random() < 0.15:
        name = name.rsplit(".", 1)[0] + rnd.choice(EXTENSIONS)
    if rnd.random() < 0.2:
        dept = rnd.choice(DEPARTMENTS)
    return dept, f"{index:06d}_{name}", data, made


# --------------------------------------------------------------------------- worker

def _vm_hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker(seed: int, indexes: list[int], home_dir: str) -> dict:
    """Run cases in this process on the home ``home_dir``; returns a summary."""
    from station.home import Home
    from station.inbox.pipeline import Pipeline
    from station.services.station import Station
    home = Home(Path(home_dir)).ensure()
    station = Station.open(home)
    pipeline = Pipeline(home, station.cfg, station.conn)
    out = {"statuses": Counter(), "reasons": Counter(), "made": Counter(), "failures": [],
           "slowest": 0.0, "rows_applied": 0, "rows_rejected": 0}
    for i in indexes:
        dept, name, data, made = make_case(seed, i)
        folder = home.inbox / dept if dept else home.inbox
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        t = time.perf_counter()
        try:
            r = pipeline.process(path)
        except BaseException as e:       # noqa: BLE001 - that is what we are looking for
            out["failures"].append((i, f"{type(e).__name__}: {str(e)[:300]}"))
            continue
        finally:
            seconds = time.perf_counter() - t
            out["slowest"] = max(out["slowest"], seconds)
        out["made"][made] += 1
        out["statuses"][r.status] += 1
        if seconds > CASE_SECONDS:
            out["failures"].append((i, f"took {seconds:.1f} s"))
        if r.status in ("rejected", "held"):
            if not r.reason:
                out["failures"].append((i, f"{r.status} without a reason"))
            out["reasons"][(r.reason or "")[:14]] += 1
        if r.status not in ("applied", "duplicate", "rejected", "held"):
            out["failures"].append((i, f"status {r.status}"))
        if path.exists():
            out["failures"].append((i, "file left in the inbox"))
        out["rows_applied"] += r.rows_applied
        out["rows_rejected"] += r.rows_rejected
    try:
        ev = station.evaluate()
        out["evaluation"] = {"rules": len(ev.rules), "open": ev.open_count}
    except BaseException as e:           # noqa: BLE001
        out["failures"].append((-1, f"evaluation: {type(e).__name__}: {e}"))
    out["integrity"] = station.conn.execute("PRAGMA integrity_check").fetchone()[0]
    if out["integrity"] != "ok":
        out["failures"].append((-1, "integrity_check: " + out["integrity"]))
    station.close()
    out["vm_hwm_mb"] = _vm_hwm_mb()
    return out


WORKER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from bench.fuzz import worker
seed, home = int(sys.argv[2]), sys.argv[3]
indexes = [int(x) for x in sys.argv[4].split(",")]
print(json.dumps(worker(seed, indexes, home), default=list))
"""


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_batch(seed: int, indexes: list[int], work: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="fuzz-", dir=work))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([sys.executable, "-c", WORKER, str(ROOT), str(seed), str(home),
                               ",".join(map(str, indexes))], capture_output=True, text=True, env=env,
                              timeout=60 + CASE_SECONDS * len(indexes), preexec_fn=_limit)
    except subprocess.TimeoutExpired:
        proc = None
    if proc is not None and proc.returncode == 0:
        import shutil
        shutil.rmtree(home, ignore_errors=True)
        return json.loads(proc.stdout)
    if len(indexes) == 1:
        why = "hang (timeout)" if proc is None else f"process died (exit {proc.returncode}): {proc.stderr[-500:]}"
        return {"failures": [(indexes[0], why)], "statuses": {}, "reasons": {}, "made": {}}
    mid = len(indexes) // 2
    a, b = run_batch(seed, indexes[:mid], work), run_batch(seed, indexes[mid:], work)
    return merge([a, b])


def merge(parts: list[dict]) -> dict:
    out = {"statuses": Counter(), "reasons": Counter(), "made": Counter(), "failures": [], "slowest": 0.0,
           "vm_hwm_mb": 0.0, "rows_applied": 0, "rows_rejected": 0, "batches": 0}
    for p in parts:
        for k in ("statuses", "reasons", "made"):
            out[k].update(p.get(k) or {})
        out["failures"] += [tuple(f) for f in p.get("failures", [])]
        out["slowest"] = max(out["slowest"], p.get("slowest", 0.0))
        out["vm_hwm_mb"] = max(out["vm_hwm_mb"], p.get("vm_hwm_mb", 0.0))
        out["rows_applied"] += p.get("rows_applied", 0)
        out["rows_rejected"] += p.get("rows_rejected", 0)
        out["batches"] += p.get("batches", 1)
    return out


def run(cases: int, seed: int = 1, workers: int = 2, batch: int = 200, log=print) -> dict:
    from concurrent.futures import ThreadPoolExecutor
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="station-fuzz-"))
    batches = [list(range(i, min(cases, i + batch))) for i in range(0, cases, batch)]
    parts = []
    with ThreadPoolExecutor(workers) as pool:
        for k, part in enumerate(pool.map(lambda ix: run_batch(seed, ix, work), batches), 1):
            parts.append(part)
            done = sum(sum(p["statuses"].values()) for p in parts)
            log(f"  batch {k}/{len(batches)}: {done} cases, {sum(len(p['failures']) for p in parts)} failures")
    out = merge(parts)
    out["cases"] = cases
    out["seed"] = seed
    out["seconds"] = round(time.perf_counter() - started, 1)
    import shutil
    shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--only", type=int, help="run one case in this process (reproduce a failure)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    if a.only is not None:
        dept, name, data, made = make_case(a.seed, a.only)
        print(f"case {a.only}: {made}, {dept}/{name!r}, {len(data)} bytes")
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(worker(a.seed, [a.only], tmp), default=list, ensure_ascii=False, indent=1))
        return 0
    out = run(a.cases, a.seed, a.workers, a.batch)
    print(f"{out['cases']} cases in {out['seconds']} s: " + ", ".join(f"{k} {v}" for k, v in out["statuses"].items())
          + f"; rows applied {out['rows_applied']}, rejected {out['rows_rejected']}")
    print("made: " + ", ".join(f"{k} {v}" for k, v in out["made"].most_common()))
    print("top rejection reasons: " + "; ".join(f"{k}… {v}" for k, v in out["reasons"].most_common(12)))
    print(f"slowest case {out['slowest']:.2f} s; worker peak memory {out['vm_hwm_mb']:.0f} MB")
    print(f"failures: {len(out['failures'])}")
    for i, why in out["failures"][:50]:
        print(f"  case {i}: {why}   (python bench/fuzz.py --seed {a.seed} --only {i})")
    if a.json:
        a.json.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=list), encoding="utf-8")
    return 1 if out["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
