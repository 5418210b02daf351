"""The money side at county scale: the five money-side rules' evaluation time, and a
month's bank return dropped into the inbox until its anomalies are listed.

    python bench/money.py --size 200000            # a modest county (a few minutes)
    python bench/money.py --size 1000000           # the benchmark county (≈25,000 units)

The county is the demo generator's (``--money``: about one unit per 40 persons, 10 months
× 3 险种 assessed and collected, bank returns of the last three payroll months). The last
bank return is held out of the inbox; after the ingest, the five rules are timed on the
loaded register (their ``find``, the SQL the engine runs, three times, median), then the
held-out return is dropped and ``station ingest`` + ``station anomalies`` timed. bench/run.py
calls :func:`hold_out`, :func:`time_rules` and :func:`drop_bank_return` for its report.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MONEY_RULES = ("CONTRIBUTION_SHORT", "COLLECTION_UNMATCHED", "TRANSFER_SHORT", "BANK_RETURN_MISMATCH",
               "SHARED_ACCOUNT")


def hold_out(inbox: Path, dest: Path) -> Path:
    """Move the newest bank return out of ``inbox`` into ``dest``; its new path."""
    newest = sorted((inbox / "bank").glob("银行代发回盘_*.csv"))[-1]
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / newest.name
    shutil.move(str(newest), target)
    return target


def time_rules(home: Path, as_of: str, repeat: int = 3) -> dict:
    """Each money rule's ``find`` on the loaded register: median seconds and findings."""
    code = (
        "import datetime as dt, json, statistics, sys, time\n"
        "from station.home import Home\nfrom station.register.db import connect\n"
        "from station.rules.engine import rule_settings\nfrom station.rules.base import Context\n"
        f"home = Home(__import__('pathlib').Path({str(home)!r}))\n"
        "conn = connect(home.db_path); s = rule_settings(home.config()); out = {}\n"
        f"for rid in {MONEY_RULES!r}:\n"
        "    times = []\n"
        f"    for _ in range({repeat}):\n"
        "        t = time.perf_counter()\n"
        f"        n = len(list(s[rid].rule.find(Context(conn, dt.date.fromisoformat({as_of!r}), s[rid].params, {{}}))))\n"
        "        times.append(time.perf_counter() - t)\n"
        "    out[rid] = {'seconds': round(statistics.median(times), 3), 'findings': n}\n"
        "print(json.dumps(out))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    per_rule = json.loads(out.strip().splitlines()[-1])
    return {"per_rule": per_rule, "total": round(sum(v["seconds"] for v in per_rule.values()), 3)}


def drop_bank_return(src: Path, home: Path, as_of: str) -> dict:
    """Drop ``src`` into the inbox (copied, then renamed in), run ``station ingest`` and list
    the bank's anomalies; seconds from the drop to the listing, and what was found."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    dest = home / "inbox" / "bank" / src.name
    part = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, part)
    os.replace(part, dest)
    t0 = time.perf_counter()
    station = [sys.executable, "-m", "station", "--home", str(home)]
    subprocess.run([*station, "ingest", "--as-of", as_of], cwd=ROOT, env=env, check=True, capture_output=True)
    ingested = time.perf_counter() - t0
    listed = subprocess.run([*station, "anomalies", "--department", "bank", "--sort", "first_seen", "--desc",
                             "--limit", "50"], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    total = time.perf_counter() - t0
    conn = sqlite3.connect(f"file:{home / 'station.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT rows_applied FROM deliveries WHERE original_name = ? ORDER BY id DESC",
                            (src.name,)).fetchone()
        found = dict(conn.execute("SELECT rule, count(*) FROM anomalies WHERE data_status = 'open'"
                                  " AND department = 'bank' GROUP BY rule").fetchall())
    finally:
        conn.close()
    return {"seconds": round(total, 2), "ingest_seconds": round(ingested, 2),
            "rows": rows[0] if rows else 0, "bank_anomalies": found, "listed": "多人共用" in listed.stdout
            or "回盘" in listed.stdout}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=200_000)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "station-bench-money")
    ap.add_argument("--as-of", default="2026-11-15")
    a = ap.parse_args()
    county = a.data / f"county-{a.size}"
    inbox = county / "home" / "inbox"
    if county.exists():
        shutil.rmtree(county)
    from station.demo.generate import generate_county
    t = time.perf_counter()
    s = generate_county(inbox, persons=a.size, seed=2026, messy=False, money=True,
                        as_of=dt.date.fromisoformat(a.as_of), months=10)
    held = hold_out(inbox, county / "drop")
    print(f"generated in {time.perf_counter() - t:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in s.counts.items()),
          flush=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "station", "--home", str(county / "home"), "ingest", "--as-of", a.as_of],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    print(f"ingest {time.perf_counter() - t:.0f} s", flush=True)
    result = {"size": a.size, "load": os.getloadavg(), "rules": time_rules(county / "home", a.as_of),
              "bank_drop": drop_bank_return(held, county / "home", a.as_of)}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
