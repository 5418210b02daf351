"""Two reviewers and the watcher at once.

A home is loaded with a demo county; then, for ``--seconds``:

- ``station watch`` runs as its own process, and a feeder drops the deliveries of other
  generated counties into the inbox one by one (each applied in one transaction, then
  the rules re-run: the writes a reviewer has to wait behind);
- two reviewer processes record decisions through the review API (what the TUI calls),
  each timing every ``decide()``: on their own anomalies (take → confirm / dismiss →
  rectify) and notes on anomalies both work on;
- a third reviewer runs ``station decide`` as a command, again and again.

Then: no "database is locked" (nor any traceback) reached anyone — the reviewers, the
``station decide`` commands, the watcher's output; decisions recorded = entries in the
log; ``station verify`` passes; every delivery was applied; integrity_check is ok. The
p50 / p99 / max time to record a decision is reported.

    python bench/concurrency.py [--persons 20000] [--seconds 60] [--json FILE]

The test suite runs a small profile (tests/test_concurrency.py).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = "2026-11-15"

REVIEWER = r"""
import json, random, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from station.home import Home
from station.services.station import Station
from station.review.log import ReviewError, decide
home, me, seconds, seed = Path(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
st = Station.open(Home(home))
rnd = random.Random(seed)
ids = [r[0] for r in st.conn.execute("SELECT id FROM anomalies ORDER BY id")]
mine = ids[int(me == "B")::2]
steps = {}                                     # anomaly -> next step of its workflow
FLOW = [("take", None, None), ("confirm", "核实属实", None), ("rectify", "已追回", 100.0)]
ok, refused, errors, latencies = 0, [], [], []
end = time.monotonic() + seconds
while time.monotonic() < end:
    if rnd.random() < 0.5:
        aid = rnd.choice(mine)
        k = steps.get(aid, 0)
        if k >= len(FLOW):
            action, note, amount = "note", f"{me} 复查", None
        else:
            action, note, amount = FLOW[k]
            if action == "confirm" and rnd.random() < 0.3:
                action, note = "dismiss", "经核实无问题"
    else:
        aid, action, note, amount = rnd.choice(ids), "note", f"{me} 备注 {rnd.random():.6f}", None
    t = time.perf_counter()
    try:
        decide(st.conn, st.cfg, [aid], action, f"复核员{me}", note=note, amount=amount)
    except ReviewError as e:
        refused.append(str(e)[:120])
        if aid in mine:
            steps[aid] = len(FLOW)
        continue
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
        continue
    finally:
        latencies.append(time.perf_counter() - t)
    ok += 1
    if aid in mine and action != "note":
        steps[aid] = len(FLOW) if action == "dismiss" else steps.get(aid, 0) + 1
    time.sleep(rnd.uniform(0.0, 0.05))           # a reviewer clicking, fast
print(json.dumps({"reviewer": me, "recorded": ok, "refused": refused, "errors": errors,
                  "latencies": latencies}, ensure_ascii=False))
"""


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("STATION_REVIEWER", None)
    return env


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v) + 0.5)) - 1))]


def prepare(work: Path, persons: int, feed_counties: int, log=print) -> tuple[Path, list[Path]]:
    from station.demo.generate import generate_county
    home = work / "home"
    generate_county(home / "inbox", persons=persons, seed=2026)
    proc = subprocess.run([sys.executable, "-m", "station", "--home", str(home), "ingest", "--as-of", AS_OF],
                          env=child_env(), cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    feed = []
    for k in range(feed_counties):
        staging = work / f"feed{k}"
        generate_county(staging, persons=max(500, persons // 4), seed=3000 + k)
        feed += sorted(p for p in staging.rglob("*") if p.is_file())
    log(f"home loaded ({persons} persons); {len(feed)} deliveries to feed while reviewers work")
    return home, feed


def run(persons: int = 20000, seconds: float = 60, feed_counties: int = 3, cli_decisions: int = 20,
        work: Path | None = None, log=print) -> dict:
    from station.register.db import connect
    from station.review.log import verify_chain
    work = work or Path(tempfile.mkdtemp(prefix="station-concurrency-"))
    home, feed = prepare(work, persons, feed_counties, log)
    conn = connect(home / "station.db")
    anomalies = conn.execute("SELECT count(*) FROM anomalies").fetchone()[0]
    first_id = conn.execute("SELECT min(id) FROM anomalies").fetchone()[0]
    before = verify_chain(conn).entries
    conn.close()

    watch_out = open(work / "watch.out", "w")
    watch = subprocess.Popen([sys.executable, "-m", "station", "--home", str(home), "watch", "--as-of", AS_OF],
                             env=child_env(), cwd=ROOT, stdout=watch_out, stderr=subprocess.STDOUT)
    time.sleep(1.5)
    stop = threading.Event()
    fed = []

    def feeder():
        interval = max(0.2, seconds / max(1, len(feed)))
        for src in feed:
            if stop.is_set():
                break
            dept = src.parent.name
            dest = home / "inbox" / dept / f"{src.parent.parent.name}_{src.name}"
            tmp = dest.with_name(dest.name + ".part")        # ignored until renamed
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
            fed.append(dest)
            stop.wait(interval)

    feed_thread = threading.Thread(target=feeder, daemon=True)
    started = time.perf_counter()
    feed_thread.start()
    reviewers = [subprocess.Popen([sys.executable, "-c", REVIEWER, str(ROOT), str(home), me, str(seconds), str(i)],
                                  env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i, me in enumerate("AB")]
    cli = {"ok": 0, "failed": [], "latencies": []}
    rnd = random.Random(5)
    for i in range(cli_decisions):
        aid = first_id + rnd.randrange(anomalies)
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "station", "--home", str(home), "--reviewer", "复核员C",
                            "decide", str(aid), "--action", "note", "--note", f"命令行备注 {i}"],
                           env=child_env(), cwd=ROOT, capture_output=True, text=True)
        cli["latencies"].append(time.perf_counter() - t)
        if p.returncode == 0:
            cli["ok"] += 1
        else:
            cli["failed"].append(p.stderr.strip()[-300:])
        if time.perf_counter() - started > seconds:
            break
    outs = []
    for r in reviewers:
        out, err = r.communicate(timeout=seconds + 600)
        assert r.returncode == 0, err[-3000:]
        outs.append(json.loads(out))
    stop.set()
    feed_thread.join()
    # Let the watcher finish what was fed, then stop it as a user would (SIGTERM).
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and any(p.exists() for p in fed):
        time.sleep(0.5)
    time.sleep(2)
    watch.send_signal(signal.SIGTERM)
    watch.wait(60)
    watch_out.close()
    watch_text = (work / "watch.out").read_text(encoding="utf-8", errors="replace")

    conn = connect(home / "station.db")
    result = verify_chain(conn)
    from station.review.entry import SYSTEM_REVIEWER
    system = conn.execute("SELECT count(*) FROM decisions WHERE seq > ? AND reviewer = ?",
                          (before, SYSTEM_REVIEWER)).fetchone()[0]    # 金额已变化 after a delivery
    ledger = dict(conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall())
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    verify_cli = subprocess.run([sys.executable, "-m", "station", "--home", str(home), "verify"],
                                env=child_env(), cwd=ROOT, capture_output=True, text=True)
    api_latencies = [x for o in outs for x in o["latencies"]]
    recorded = sum(o["recorded"] for o in outs) + cli["ok"]
    texts = [watch_text, *(f for f in cli["failed"]), *(e for o in outs for e in o["errors"])]
    out = {
        "persons": persons, "seconds": seconds, "deliveries_fed": len(fed),
        "deliveries_left_in_inbox": sum(p.exists() for p in fed), "ledger": ledger,
        "decisions_recorded": recorded, "decisions_api": sum(o["recorded"] for o in outs), "decisions_cli": cli["ok"],
        "refused_by_rules": sum(len(o["refused"]) for o in outs),
        "errors": [e for o in outs for e in o["errors"]] + cli["failed"],
        "log_entries_added": result.entries - before - system, "system_entries_added": system,
        "verify_ok": result.ok and verify_cli.returncode == 0,
        "integrity": integrity,
        "locked_seen": any("locked" in t or "Traceback" in t for t in texts),
        "latency_api": {"n": len(api_latencies), "p50": round(percentile(api_latencies, 50), 4),
                        "p95": round(percentile(api_latencies, 95), 4),
                        "p99": round(percentile(api_latencies, 99), 4),
                        "max": round(max(api_latencies or [0]), 4)},
        "latency_cli": {"n": len(cli["latencies"]), "p50": round(percentile(cli["latencies"], 50), 3),
                        "max": round(max(cli["latencies"] or [0]), 3)},
        "watch_output_tail": watch_text[-600:],
    }
    out["ok"] = (not out["errors"] and not out["locked_seen"] and out["verify_ok"] and integrity == "ok"
                 and out["log_entries_added"] == recorded and not out["deliveries_left_in_inbox"]
                 and "rejected" not in ledger)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--feed-counties", type=int, default=3)
    ap.add_argument("--cli-decisions", type=int, default=20)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    out = run(a.persons, a.seconds, a.feed_counties, a.cli_decisions)
    text = json.dumps({k: v for k, v in out.items() if k != "watch_output_tail"}, ensure_ascii=False, indent=1)
    print(text)
    if a.json:
        a.json.write_text(text, encoding="utf-8")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
