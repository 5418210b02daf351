"""The station at county scale, measured side by side against baselines in the same run.

    python bench/run.py                      # 1M persons, 12 months (≈3.5M payments), 3 runs
    python bench/run.py --size 50000         # a quick run (a few minutes)
    python bench/run.py --runs 5 --data /var/tmp/station-bench

Everything the station does is measured through its real command line (``python -m
station --home H …`` as a subprocess), on the same generated files as the baselines, and
station and baseline runs alternate, so that the ratios hold on a shared machine even
when absolute times do not. Figures (medians over ``--runs``):

- full ingest of the county (every delivery, normalisation, validation, all 16 rules)
  against **the floor**: stdlib ``csv`` + ``sqlite3.executemany`` loading the same files
  into plain tables, one transaction per file, no validation, WAL, synchronous=NORMAL;
- the 1M-row persons file alone against the ``sqlite-utils insert --csv`` CLI;
- a full rule evaluation (``station evaluate``) on the loaded county against the floor;
- drop-to-anomaly latency: a 500-row 公安 death list put into the county's inbox, until
  its anomalies are listed (``station ingest`` + ``station anomalies``), and the same
  through ``station watch`` (whose settle time is 1 s by design);
- the money side (bench/money.py): the five money-side rules on the loaded county (their
  ``find``, median of 3), and a month's bank return (held out of the county's inbox)
  dropped until the bank's anomalies are listed;
- peak memory (ru_maxrss of the ingest process);
- the TUI, through ``bench/tui_scale.py``: first draw and filter/page changes with 100k
  anomalies, and first draw on the county itself.

The generated county is kept in ``--data`` (default ``$TMPDIR/station-bench``) and reused
by later runs. Results go to docs/BENCHMARKS.md for the default size (the section between
the ``results`` markers; the rest of the page is kept) and to bench/out/ otherwise.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

AS_OF = "2026-11-15"
MONTHS = 12
DROPS = 5                       # death lists per run and path (CLI, watcher)
DROP_ROWS = 500
SEED = 2026
RESULTS_START = "<!-- results: written by bench/run.py -->"
RESULTS_END = "<!-- /results -->"

TARGETS = {
    "ingest": ("≤ 2× the floor", lambda r: r <= 2.0),
    "persons": ("≥ 3× faster", lambda r: r >= 3.0),
    "evaluate": ("≤ 0.5× the floor", lambda r: r <= 0.5),
}


# ----------------------------------------------------------------------------- helpers

@dataclass
class Timed:
    seconds: float
    cpu: float = 0.0
    maxrss_mb: float = 0.0
    out: str = ""


def run(cmd: list[str], *, env: dict | None = None, check: bool = True) -> Timed:
    """Run ``cmd``; wall time, CPU time and peak memory of that process and its children.

    Peak memory is the larger of ru_maxrss (the largest single process) and the largest
    sum of the RSS of the process and its descendants seen by polling /proc every 50 ms (a
    worker process's memory counts too). CPU time is the larger of the process's own
    rusage (which counts the children it waited for) and the sum of the CPU time last
    seen of each process in its tree: the mapping workers are children of a forkserver,
    whose rusage the command never collects."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env or station_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    sampler = TreeRss(proc.pid)
    sampler.start()
    out_parts = []
    # Read while waiting so that a chatty command cannot block on a full pipe.
    for chunk in iter(lambda: proc.stdout.read(65536), b""):
        out_parts.append(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    out = b"".join(out_parts).decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{out[-3000:]}")
    return Timed(seconds, max(usage.ru_utime + usage.ru_stime, sampler.cpu_s),
                 max(usage.ru_maxrss / 1024, sampler.peak_mb), out)


class TreeRss(threading.Thread):
    """Polls the summed RSS, and each one's CPU time, of a process and its descendants
    (Linux /proc)."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._cpu: dict[int, float] = {}
        self._halt = threading.Event()

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu.values())

    def stop(self) -> None:
        self._halt.set()
        self.join(2)

    def run(self) -> None:
        while not self._halt.wait(0.05):
            total = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                total += int(line.split()[1])
                    with open(f"/proc/{pid}/stat") as f:
                        # utime and stime: fields 14 and 15, counted after the ")" that
                        # ends the command name (which may contain spaces)
                        fields = f.read().rsplit(")", 1)[1].split()
                    self._cpu[pid] = max(self._cpu.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / self.TICK)
                except (OSError, IndexError, ValueError):
                    pass
            self.peak_mb = max(self.peak_mb, total / 1024)

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as f:
                        todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        return pids


def station_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("STATION_REVIEWER", "bench")
    return env


def station(home: Path, *args: str, check: bool = True) -> Timed:
    return run([sys.executable, "-m", "station", "--home", str(home), *args], check=check)


def link_tree(src: Path, dest: Path) -> None:
    """``dest`` gets hard links of every file under ``src`` (ingest moves them away)."""
    for path in sorted(src.rglob("*")):
        if path.is_file():
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, target)


def fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------- data

def prepare(data: Path, size: int) -> tuple[Path, list[Path], Path]:
    """The county's inbox (generated once), the death lists to drop, the persons file."""
    county = data / f"county-{size}"
    inbox = county / "inbox"
    marker = county / "generated.json"
    wanted = {"persons": size, "months": MONTHS, "seed": SEED, "as_of": AS_OF, "drops": 2 * DROPS, "money": True}
    if not marker.exists() or json.loads(marker.read_text()) != wanted:
        log(f"generating a county of {size:,} persons into {county} …")
        fresh(county)
        from station.demo.generate import generate_county
        s = generate_county(inbox, persons=size, seed=SEED, messy=False,
                            as_of=dt.date.fromisoformat(AS_OF), months=MONTHS, money=True)
        from money import hold_out          # bench/money.py: the last bank return is dropped later
        held = hold_out(inbox, county / "money-drop")
        ym = held.stem.rsplit("_", 1)[1]          # its month's cases appear only once it is dropped
        s.expected["BANK_RETURN_MISMATCH"] = [e for e in s.expected["BANK_RETURN_MISMATCH"] if e[0][2:8] != ym]
        s.expected["SHARED_ACCOUNT"] = [e for e in s.expected["SHARED_ACCOUNT"] if e[1].replace("-", "") != ym]
        (county / "expected.json").write_text(json.dumps(s.expected_anomalies(), ensure_ascii=False))
        persons_file = next(inbox.glob("agency/参保人员*"))
        make_death_lists(persons_file, county / "drops", 2 * DROPS)
        marker.write_text(json.dumps(wanted))
        log(f"generated in {s.seconds:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in s.counts.items()))
    drops = sorted((county / "drops").glob("*.csv"))
    return inbox, drops, next(inbox.glob("agency/参保人员*"))


def make_death_lists(persons_file: Path, dest: Path, count: int) -> None:
    """``count`` 公安 death lists of DROP_ROWS rows each, in the county's own format:
    pensioners still paid (DEATH_PAID, DEATH_NOT_STOPPED), a few IDs with one digit
    mistyped (DEATH_FUZZY_MATCH), a few moved away (no death)."""
    rnd = random.Random(SEED)
    retirees = []
    with open(persons_file, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        i_id, i_name, i_sex, i_status = (header.index(h) for h in ("公民身份号码", "姓名", "性别", "参保状态"))
        for row in reader:
            if row[i_status] == "退休":
                retirees.append((row[i_id], row[i_name], row[i_sex]))
    picked = rnd.sample(retirees, min(len(retirees), count * DROP_ROWS))
    dest.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        rows = picked[n * DROP_ROWS:(n + 1) * DROP_ROWS]
        with open(dest / f"死亡人员名单_bench{n + 1:02d}.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["公民身份号码", "姓名", "性别", "死亡日期", "注销日期", "注销原因"])
            for k, (pid, name, sex) in enumerate(rows):
                died = dt.date(2026, 3, 1) + dt.timedelta(days=rnd.randrange(180))
                reason = "迁出" if k % 25 == 24 else "死亡"
                if k % 20 == 7:                       # one digit mistyped by the clerk
                    i = rnd.randrange(6, 17)
                    pid = pid[:i] + str((int(pid[i]) + 1) % 10) + pid[i + 1:]
                w.writerow([pid, name, sex, died.isoformat() if reason == "死亡" else "",
                            (died + dt.timedelta(days=rnd.randrange(3, 20))).isoformat(), reason])


# ------------------------------------------------------------------------------ floor

def floor_load(inbox: Path, db: Path) -> None:
    """The floor: csv.reader + executemany into plain TEXT tables, one transaction per
    file, no validation (WAL, synchronous=NORMAL). Files of one kind share a table."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    made = set()
    for path in sorted(inbox.rglob("*.csv")):
        table = path.stem.split("_")[0]
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            conn.execute("BEGIN")
            if table not in made:
                conn.execute(f"CREATE TABLE [{table}] ({', '.join(f'[{h}] TEXT' for h in header)})")
                made.add(table)
            first = next(reader, None)
            if first is None:
                conn.execute("COMMIT")
                continue
            # Rows may stop short of the header (payments' optional 银行账号 left off by the
            # clean payroll): insert into as many columns as the first row has.
            cols = ", ".join(f"[{h}]" for h in header[:len(first)])
            sql = f"INSERT INTO [{table}] ({cols}) VALUES ({', '.join('?' * len(first))})"
            conn.execute(sql, first)
            conn.executemany(sql, reader)
            conn.execute("COMMIT")
    conn.close()


# ------------------------------------------------------------------------ measurements

@dataclass
class Results:
    size: int
    runs: int
    floor: list[float] = field(default_factory=list)
    ingest: list[float] = field(default_factory=list)
    ingest_cpu: list[float] = field(default_factory=list)
    ingest_rss: list[float] = field(default_factory=list)
    ingest_eval: list[float] = field(default_factory=list)      # the engine's own figure
    sqlite_utils: list[float] = field(default_factory=list)
    persons: list[float] = field(default_factory=list)
    evaluate: list[float] = field(default_factory=list)
    drop_cli: list[float] = field(default_factory=list)
    drop_ingest: list[float] = field(default_factory=list)
    drop_list: list[float] = field(default_factory=list)
    drop_watch: list[float] = field(default_factory=list)
    drop_watch_processing: list[float] = field(default_factory=list)
    drop_new: list[int] = field(default_factory=list)
    money_rules: list[float] = field(default_factory=list)
    money_per_rule: list[dict] = field(default_factory=list)
    bank_drop: list[float] = field(default_factory=list)
    bank_drop_rows: int = 0
    anomalies: int = 0
    expected_ok: bool | None = None
    tui: dict = field(default_factory=dict)
    tui_county: dict = field(default_factory=dict)
    load: list[tuple[float, float, float]] = field(default_factory=list)
    files: int = 0
    started: str = ""
    seconds: float = 0.0


def measure_ingest(inbox: Path, work: Path, res: Results) -> Path:
    home = fresh(work / "county-home")
    link_tree(inbox, home / "inbox")
    t = station(home, "ingest", "--as-of", AS_OF)
    res.ingest.append(t.seconds)
    res.ingest_cpu.append(t.cpu)
    res.ingest_rss.append(t.maxrss_mb)
    m = re.search(r"用时 ([\d.]+) 秒", t.out)
    if m:
        res.ingest_eval.append(float(m.group(1)))
    if "已拒收" in t.out.split("共")[-1] and not re.search(r"已拒收 0", t.out):
        raise SystemExit("the county's ingest rejected files:\n" + t.out[-2000:])
    log(f"  station ingest {t.seconds:.1f} s (cpu {t.cpu:.1f} s, peak RSS {t.maxrss_mb:.0f} MB)")
    return home


def measure_floor(inbox: Path, work: Path, res: Results) -> None:
    db = work / "floor.db"
    t = run([sys.executable, __file__, "--floor", str(inbox), str(db)])
    res.floor.append(t.seconds)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    log(f"  floor {t.seconds:.1f} s")


def measure_persons(persons_file: Path, work: Path, res: Results) -> None:
    db = work / "sqlite-utils.db"
    db.unlink(missing_ok=True)
    t = run([str(Path(sys.executable).parent / "sqlite-utils"), "insert", str(db), "persons",
             str(persons_file), "--csv"])
    res.sqlite_utils.append(t.seconds)
    db.unlink(missing_ok=True)
    home = fresh(work / "persons-home")
    target = home / "inbox" / "agency" / persons_file.name
    target.parent.mkdir(parents=True)
    os.link(persons_file, target)
    s = station(home, "ingest", "--no-evaluate")
    res.persons.append(s.seconds)
    shutil.rmtree(home)
    log(f"  persons file: sqlite-utils {t.seconds:.1f} s, station {s.seconds:.1f} s")


def measure_evaluate(home: Path, res: Results) -> None:
    t = station(home, "evaluate", "--as-of", AS_OF)
    res.evaluate.append(t.seconds)
    log(f"  station evaluate {t.seconds:.1f} s")


def list_newest(home: Path) -> Timed:
    return station(home, "anomalies", "--sort", "first_seen", "--desc", "--limit", "50")


def new_anomalies(home: Path, since_eval: int) -> int:
    conn = sqlite3.connect(f"file:{home / 'station.db'}?mode=ro", uri=True)
    try:
        (n,) = conn.execute(
            "SELECT count(*) FROM anomaly_events WHERE event = 'found' AND at >= "
            "(SELECT started_at FROM evaluations WHERE id = ?)", (since_eval,)).fetchone()
        return n
    finally:
        conn.close()


def last_evaluation(home: Path) -> int:
    conn = sqlite3.connect(f"file:{home / 'station.db'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT coalesce(max(id), 0) FROM evaluations").fetchone()[0]
    finally:
        conn.close()


def drop(src: Path, home: Path) -> float:
    """Put ``src`` into the inbox the way a copy finishes (a rename); the moment it appears."""
    dest = home / "inbox" / "public_security" / src.name
    part = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, part)
    os.replace(part, dest)
    return time.perf_counter()


def measure_drops_cli(home: Path, drops: list[Path], res: Results) -> None:
    for src in drops:
        before = last_evaluation(home)
        t0 = drop(src, home)
        ing = station(home, "ingest", "--as-of", AS_OF)
        lst = list_newest(home)
        total = time.perf_counter() - t0
        res.drop_cli.append(total)
        res.drop_ingest.append(ing.seconds)
        res.drop_list.append(lst.seconds)
        res.drop_new.append(new_anomalies(home, before + 1))
    log(f"  drop (CLI): median {median(res.drop_cli[-len(drops):]):.2f} s "
        f"(ingest {median(res.drop_ingest[-len(drops):]):.2f} s, listing {median(res.drop_list[-len(drops):]):.2f} s)")


def measure_drops_watch(home: Path, drops: list[Path], res: Results) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "station", "--home", str(home), "watch", "--as-of", AS_OF],
                            cwd=ROOT, env=station_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        line = proc.stdout.readline().decode("utf-8", "replace")
        if "监视" not in line:
            raise SystemExit(f"station watch did not start: {line}")
        time.sleep(1.0)
        for src in drops:
            before = last_evaluation(home)
            t0 = drop(src, home)
            deadline = t0 + 120
            while last_evaluation(home) <= before:
                if time.perf_counter() > deadline or proc.poll() is not None:
                    raise SystemExit("station watch did not evaluate the dropped file")
                time.sleep(0.02)
            evaluated = time.perf_counter()
            list_newest(home)
            res.drop_watch.append(time.perf_counter() - t0)
            res.drop_watch_processing.append(evaluated - t0)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log(f"  drop (watch): median {median(res.drop_watch[-len(drops):]):.2f} s end to end")


def measure_money(home: Path, county: Path, res: Results) -> None:
    """The five money-side rules on the loaded county, then the held-out bank return dropped."""
    from money import drop_bank_return, time_rules
    t = time_rules(home, AS_OF)
    res.money_rules.append(t["total"])
    res.money_per_rule.append({r: v["seconds"] for r, v in t["per_rule"].items()})
    [held] = sorted((county / "money-drop").glob("*.csv"))
    d = drop_bank_return(held, home, AS_OF)
    res.bank_drop.append(d["seconds"])
    res.bank_drop_rows = d["rows"]
    log(f"  money rules {t['total']:.2f} s; bank return drop ({d['rows']:,} rows) {d['seconds']:.2f} s")


def check_expected(home: Path, county: Path) -> bool:
    """The county's anomalies are exactly the ones the generator planted."""
    expected = json.loads((county / "expected.json").read_text())
    want = {(rule, subject, period or "") for rule, found in expected["anomalies"].items()
            for subject, period, *_ in found}
    conn = sqlite3.connect(f"file:{home / 'station.db'}?mode=ro", uri=True)
    try:
        got = set(conn.execute("SELECT rule, subject, period FROM anomalies WHERE data_status = 'open'"))
    finally:
        conn.close()
    if got != want:
        log(f"  NOTE: anomalies differ from the generator's expected ones: "
            f"{len(got - want)} unexpected, {len(want - got)} missing")
    return got == want


def measure_tui(res: Results, county_home: Path) -> None:
    args = ["--anomalies", "100000", "--persons", "200000", "--repeat", "5"]
    t = run([sys.executable, str(ROOT / "bench" / "tui_scale.py"), *args], check=False)
    res.tui = _json_in(t.out)
    t = run([sys.executable, str(ROOT / "bench" / "tui_scale.py"), "--home", str(county_home),
             "--repeat", "3"], check=False)
    res.tui_county = _json_in(t.out)
    log(f"  TUI: {json.dumps(res.tui.get('tui', {}), ensure_ascii=False)[:300]}")


def _json_in(out: str) -> dict:
    start = out.find("{\n")
    end = out.rfind("\n}")
    if start < 0 or end < 0:
        return {"error": out[-1500:]}
    try:
        return json.loads(out[start:end + 2])
    except json.JSONDecodeError:
        return {"error": out[-1500:]}


# ------------------------------------------------------------------------------ report

def machine() -> dict:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "sqlite_utils": _version("sqlite_utils"),
            "os": platform.platform(), "commit": commit}


def _version(module: str) -> str:
    try:
        from importlib.metadata import version
        return version(module.replace("_", "-"))
    except Exception:
        return "?"


def report(res: Results, cmd: str) -> str:
    m = machine()
    fl, ing, su, per, ev = (median(x) for x in (res.floor, res.ingest, res.sqlite_utils, res.persons,
                                                  res.evaluate))
    rows = []

    def row(figure, station_s, baseline, ratio, target, met):
        rows.append(f"| {figure} | {station_s} | {baseline} | {ratio} | {target} | {'yes' if met else '**no**'} |")

    # Ratios: the median of each run's own ratio (station and baseline ran side by side).
    r = median([a / b for a, b in zip(res.ingest, res.floor)])
    row(f"full ingest of the county: all {res.files} deliveries, normalisation, validation, the 16 rules",
        f"{ing:.1f} s", f"floor {fl:.1f} s", f"{r:.2f}×", TARGETS["ingest"][0], TARGETS["ingest"][1](r))
    r = median([b / a for a, b in zip(res.persons, res.sqlite_utils)])
    row(f"the {res.size:,}-row persons CSV alone (into an empty register, no rule evaluation)",
        f"{per:.1f} s", f"`sqlite-utils insert --csv` {su:.1f} s",
        f"{r:.1f}× faster", TARGETS["persons"][0], TARGETS["persons"][1](r))
    r = median([a / b for a, b in zip(res.evaluate, res.floor)])
    row("full rule evaluation on the loaded county (`station evaluate`, all 16 rules)", f"{ev:.1f} s",
        f"floor {fl:.1f} s", f"{r:.2f}×", TARGETS["evaluate"][0], TARGETS["evaluate"][1](r))
    d = median(res.drop_cli)
    row(f"drop-to-anomaly, {DROP_ROWS}-row death list: `station ingest` + `station anomalies` "
        f"(median of {len(res.drop_cli)})", f"{d:.2f} s", "—", "—", "median ≤ 2 s", d <= 2.0)
    if res.drop_watch:
        w = median(res.drop_watch)
        p = median(res.drop_watch_processing)
        row(f"drop-to-anomaly through `station watch` (median of {len(res.drop_watch)}): end to end, "
            "including the watcher's 1 s settle", f"{w:.2f} s (until the evaluation is recorded {p:.2f} s, "
            f"of which ≈1 s settle; listing {w - p:.2f} s)", "—", "—", "(reported)", True)
    if res.money_rules:
        mr = median(res.money_rules)
        row(f"the five money-side rules on the loaded county (their SQL, median of {len(res.money_rules)})",
            f"{mr:.2f} s", "—", "—", "< 3 s", mr < 3.0)
        b = median(res.bank_drop)
        row(f"drop-to-anomaly, a month's bank return ({res.bank_drop_rows:,} rows): `station ingest` + "
            f"`station anomalies` (median of {len(res.bank_drop)})", f"{b:.2f} s", "—", "—", "≤ 2 s", b <= 2.0)
    rss = max(res.ingest_rss) if res.ingest_rss else float("nan")
    row("peak memory of the full ingest (RSS of `station ingest` and its worker process together, "
        "largest of the runs)", f"{rss:.0f} MB", "—", "—", "< 500 MB", rss < 500)
    tui = res.tui.get("tui", {})
    if tui:
        first = max(tui.get("dashboard_first_draw_s", 99), tui.get("queue_first_draw_s", 99))
        changes = {k: v["max_ms"] for k, v in tui.items() if isinstance(v, dict)}
        worst = max(changes.values()) if changes else float("nan")
        worst_k = max(changes, key=changes.get) if changes else ""
        med = max(v["median_ms"] for v in tui.values() if isinstance(v, dict)) if changes else float("nan")
        row(f"TUI, 100k anomalies ({tui.get('queue_total', 0):,} open) on 200k persons "
            "(bench/tui_scale.py): first draw (dashboard, queue)",
            f"{tui.get('dashboard_first_draw_s', 0):.2f} s, {tui.get('queue_first_draw_s', 0):.2f} s",
            "—", "—", "< 1.5 s", first < 1.5)
        row("TUI, 100k anomalies: filter / search / sort / page change (slowest of all, worst sample)",
            f"{worst:.0f} ms ({worst_k}; slowest median {med:.0f} ms)", "—", "—", "< 200 ms", worst < 200)
    else:
        row("TUI (bench/tui_scale.py)", "not measured", "—", "—", "< 1.5 s; < 200 ms", False)
    tc = res.tui_county.get("tui", {})
    if tc:
        first = max(tc.get("dashboard_first_draw_s", 99), tc.get("queue_first_draw_s", 99))
        row(f"TUI on the county itself ({tc.get('queue_total', 0):,} open anomalies): first draw",
            f"{tc.get('dashboard_first_draw_s', 0):.2f} s, {tc.get('queue_first_draw_s', 0):.2f} s",
            "—", "—", "< 1.5 s", first < 1.5)

    def fmt(xs, unit="s"):
        return ", ".join(f"{x:.1f}" for x in xs) + f" {unit}"

    lines = [
        RESULTS_START,
        f"Measured {res.started} on the county of {res.size:,} persons with {MONTHS} months of payroll "
        f"(`{cmd}`, {res.runs} runs, {res.seconds / 60:.0f} min in all).",
        "",
        "| figure | station | baseline in the same run | ratio | target | met? |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "Every run, in order (station and baselines alternate):",
        "",
        f"- floor: {fmt(res.floor)}; station ingest: {fmt(res.ingest)} (CPU {fmt(res.ingest_cpu)}; "
        f"the engine's first evaluation inside it: {fmt(res.ingest_eval)}; peak RSS {fmt(res.ingest_rss, 'MB')})",
        f"- persons file: sqlite-utils {fmt(res.sqlite_utils)}; station {fmt(res.persons)}",
        f"- station evaluate: {fmt(res.evaluate)}",
        f"- drops through the CLI: {fmt(res.drop_cli)} (of which `station ingest` {fmt(res.drop_ingest)}, "
        f"`station anomalies` {fmt(res.drop_list)}); new anomalies per drop: "
        f"{', '.join(map(str, res.drop_new))}",
    ]
    if res.money_rules:
        lines.append(f"- money-side rules: {fmt(res.money_rules)} (per rule: "
                     + "; ".join(json.dumps(p) for p in res.money_per_rule) + f"); bank return drops: {fmt(res.bank_drop)}")
    if res.drop_watch:
        lines.append(f"- drops through `station watch`: {fmt(res.drop_watch)} end to end; "
                     f"until its evaluation was recorded: {fmt(res.drop_watch_processing)}")
    lines += [
        f"- open anomalies after the county's ingest: {res.anomalies:,}; equal to the generator's "
        f"expected set: {'yes' if res.expected_ok else 'no'}",
        f"- load average (1, 5, 15 min) at the start of each run: "
        + "; ".join(f"{a:.1f} {b:.1f} {c:.1f}" for a, b, c in res.load),
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} memory, {m['os']}; Python {m['python']}, "
        f"SQLite {m['sqlite']}, sqlite-utils {m['sqlite_utils']}; commit {m['commit']}.",
        "",
        f"Rerun: `{cmd}` (quick: `python bench/run.py --size 50000`).",
    ]
    if res.tui:
        lines += ["", "<details><summary>TUI figures (bench/tui_scale.py)</summary>", "", "```json",
                  json.dumps({"100k anomalies": res.tui, "county": res.tui_county}, ensure_ascii=False, indent=1),
                  "```", "</details>"]
    lines.append(RESULTS_END)
    return "\n".join(lines) + "\n"


def write_report(text: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        old = out.read_text(encoding="utf-8")
        if RESULTS_START in old and RESULTS_END in old:
            head, rest = old.split(RESULTS_START, 1)
            tail = rest.split(RESULTS_END, 1)[1].lstrip("\n")
            out.write_text(head + text + ("\n" + tail if tail else ""), encoding="utf-8")
            return
    out.write_text("# Benchmarks\n\n" + text, encoding="utf-8")


# -------------------------------------------------------------------------------- main

def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--floor":
        floor_load(Path(sys.argv[2]), Path(sys.argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="insured persons in the county")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "station-bench",
                    help="where the generated county is kept between runs")
    ap.add_argument("--out", type=Path, help="report file (default: docs/BENCHMARKS.md for the "
                                              "default size, bench/out/BENCHMARKS-<size>.md otherwise)")
    ap.add_argument("--no-tui", action="store_true", help="skip the TUI figures")
    ap.add_argument("--no-watch", action="store_true", help="skip the drops through station watch")
    args = ap.parse_args()
    out = args.out or (ROOT / "docs" / "BENCHMARKS.md" if args.size == 1_000_000
                       else ROOT / "bench" / "out" / f"BENCHMARKS-{args.size}.md")
    cmd = "python bench/run.py" + ("" if args.size == 1_000_000 else f" --size {args.size}") + \
          ("" if args.runs == 3 else f" --runs {args.runs}")
    started = time.perf_counter()
    res = Results(args.size, args.runs, started=time.strftime("%Y-%m-%d %H:%M"))
    inbox, drops, persons_file = prepare(args.data, args.size)
    res.files = sum(1 for p in inbox.rglob("*") if p.is_file())
    work = fresh(args.data / "work")
    home = None
    for n in range(args.runs):
        res.load.append(os.getloadavg())
        log(f"run {n + 1} of {args.runs}")
        # Alternate the order so that neither side always runs first.
        if n % 2 == 0:
            measure_floor(inbox, work, res)
            home = measure_ingest(inbox, work, res)
        else:
            home = measure_ingest(inbox, work, res)
            measure_floor(inbox, work, res)
        if n == 0:
            res.expected_ok = check_expected(home, inbox.parent)
            conn = sqlite3.connect(f"file:{home / 'station.db'}?mode=ro", uri=True)
            res.anomalies = conn.execute("SELECT count(*) FROM anomalies WHERE data_status = 'open'").fetchone()[0]
            conn.close()
        measure_evaluate(home, res)
        measure_persons(persons_file, work, res)
        measure_drops_cli(home, drops[:DROPS], res)
        if not args.no_watch:
            measure_drops_watch(home, drops[DROPS:2 * DROPS], res)
        measure_money(home, inbox.parent, res)
    if not args.no_tui and home is not None:
        measure_tui(res, home)
    res.seconds = time.perf_counter() - started
    text = report(res, cmd)
    write_report(text, out)
    print(text)
    log(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
