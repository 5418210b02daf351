"""The watcher under a flood: N files dropped into the inbox at once, each applied once.

Runs the real watcher (watchdog's inotify observer, or ``--poll``, or ``--deaf``: an
observer that never delivers an event, so that only the periodic rescan finds files)
with the station's ingest, drops N distinct small death-list files as fast as Python
writes them, and reports how long until every one is applied, how many ingest batches
it took, and whether any file was applied twice or left behind.

    python bench/watch.py [--files 5000] [--poll | --deaf] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def deaths_csv(i: int) -> str:
    from station.normalise.ids import check_char
    body = f"44030319{50 + i % 40:02d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return ("公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
            f"{body}{check_char(body)},某{i},男,2026-01-02,2026-01-{1 + i % 28:02d},死亡\n")


def run(files: int, poll: bool = False, deaf: bool = False, work: Path | None = None, log=print) -> dict:
    from station.home import Home
    from station.inbox import watcher as wm
    from station.services.station import Station
    work = work or Path(tempfile.mkdtemp(prefix="station-watch-"))
    home = Home(work / "home").ensure()
    station = Station.open(home)
    if deaf:
        class Deaf(threading.Thread):
            def __init__(self, *a, **k):
                super().__init__(daemon=True)
                self.halt = threading.Event()

            def schedule(self, *a, **k):
                pass

            def run(self):
                self.halt.wait()

            def stop(self):
                self.halt.set()
        wm.Observer = Deaf
    batches, results = [], []

    def process(paths):
        batches.append(len(paths))
        results.extend(station.ingest(paths).results)

    watcher = wm.InboxWatcher(home, process, poll=poll, settle_seconds=1.0, rescan_seconds=5.0)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    while watcher.state.mode not in ("watching", "polling"):
        time.sleep(0.05)
    folder = home.inbox / "public_security"
    t0 = time.perf_counter()
    for i in range(files):
        (folder / f"死亡名单_{i:05d}.csv").write_text(deaths_csv(i), encoding="utf-8")
    dropped = time.perf_counter() - t0
    log(f"dropped {files} files in {dropped:.1f} s")
    deadline = time.monotonic() + 600
    while len(results) < files and time.monotonic() < deadline:
        time.sleep(0.2)
    done = time.perf_counter() - t0
    time.sleep(6)                                   # one more rescan: nothing is taken twice
    watcher.stop()
    thread.join(10)
    ledger = station.conn.execute(
        "SELECT count(*), count(DISTINCT sha256), sum(status = 'applied') FROM deliveries").fetchone()
    left = [p for p in folder.iterdir()]
    out = {"files": files, "mode": "deaf (rescan only)" if deaf else ("polling" if poll else "inotify"),
           "drop_seconds": round(dropped, 1), "all_applied_seconds": round(done, 1),
           "ingest_batches": len(batches), "largest_batch": max(batches or [0]), "results": len(results),
           "ledger_entries": ledger[0], "distinct": ledger[1], "applied": ledger[2], "left_in_inbox": len(left),
           "observer_restarts": watcher.state.restarts}
    out["exactly_once"] = (out["results"] == out["ledger_entries"] == out["distinct"] == out["applied"] == files
                           and not left)
    station.close()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--poll", action="store_true")
    ap.add_argument("--deaf", action="store_true")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    out = run(a.files, a.poll, a.deaf)
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if a.json:
        a.json.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if out["exactly_once"] else 1


if __name__ == "__main__":
    sys.exit(main())
