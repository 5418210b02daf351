"""How the review station behaves on a county-sized register with 100,000 anomalies.

    python bench/tui_scale.py [--anomalies 100000] [--persons 200000] [--home DIR] [--keep]

Builds a home whose register holds ``--persons`` persons and ``--anomalies`` anomalies
(inserted directly with SQL: the point is the queue, not the rules), then drives the app
headless at 120x40 with Textual's Pilot and measures:

- first draw: from starting the app to the dashboard drawn with its figures, and from
  pressing 3 to the queue's first page drawn;
- filter, search, sort and page changes: from the action to the new page drawn, with
  ``--think`` seconds between two actions (a reviewer reads the page; the app collects
  garbage in such pauses, see ``IDLE_COLLECT_SECONDS`` in station/tui/app.py);
- the service calls alone (count + one page), for comparison.

Targets (issue 4): first draw < 1.5 s, filter/page change < 200 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.home import Home  # noqa: E402
from station.register.db import write_transaction  # noqa: E402
from station.services.station import Station  # noqa: E402

RULES = [("DEATH_PAID", "public_security", "high", True), ("DEATH_NOT_STOPPED", "public_security", "high", False),
         ("DUPLICATE_PAYMENT", "agency", "high", True), ("PAYMENT_UNREGISTERED", "agency", "high", True),
         ("STUDENT_UNENROLLED", "education", "low", False), ("SUBSIDY_NOT_STOPPED", "disability", "high", False),
         ("ARCHIVE_RETENTION", "archive", "low", False), ("INVALID_ID", "agency", "low", False),
         ("CENTENARIAN_CHECK", "agency", "low", False), ("CONFLICTING_BENEFITS", "agency", "high", False)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰淑珍建国志红"
W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def make_id(n: int) -> str:
    """A valid, unique GB 11643 ID for every n < 20,000,000."""
    born = dt.date(1930, 1, 1) + dt.timedelta(days=n % 20000)
    body = f"440303{born:%Y%m%d}{n // 20000:03d}"
    return body + CHECK[sum(int(c) * w for c, w in zip(body, W)) % 11]


def build(home: Home, persons: int, anomalies: int, seed: int = 4) -> float:
    rnd = random.Random(seed)
    started = time.perf_counter()
    station = Station.open(home)
    conn = station.conn
    name = lambda: rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))  # noqa: E731
    with write_transaction(conn):
        conn.execute("INSERT INTO deliveries (id, sha256, original_name, status, kind, department, rows_total,"
                     " rows_applied, received_at) VALUES (1, 'bench', 'bench_persons.csv', 'applied', 'persons',"
                     " 'agency', ?, ?, '2026-11-01T09:00:00')", (persons, persons))
        conn.executemany(
            "INSERT INTO persons (nk, id_number, id_number_valid, name, sex, status, delivery_id, row_no)"
            " VALUES (?, ?, 1, ?, ?, ?, 1, ?)",
            ((make_id(i), make_id(i), name(), rnd.choice("男女"), rnd.choice(("参保缴费", "退休", "退休", "暂停缴费")),
              i + 2) for i in range(persons)))
        states = ["new"] * 6 + ["in_review", "confirmed", "dismissed", "rectified"]
        rows = []
        for i in range(anomalies):
            rule, dept, sev, has_amount = RULES[i % len(RULES)]
            pid = make_id(rnd.randrange(max(persons, 1)))
            day = f"2026-{1 + i * 11 // anomalies:02d}-{1 + i % 28:02d}T09:{i % 60:02d}:00"
            amount = round(rnd.uniform(100, 60000), 2) if has_amount else None
            evidence = json.dumps({"summary": f"基准测试疑点 {i}", "records": []}, ensure_ascii=False)
            rows.append((rule, pid, f"2026-{1 + i % 10:02d}" if rule == "CONFLICTING_BENEFITS" else "",
                         dept, sev, name(), amount, evidence, "open" if i % 17 else "cleared",
                         rnd.choice(states), day, day, "2026-11-15"))
        conn.executemany(
            "INSERT OR IGNORE INTO anomalies (rule, subject, period, department, severity, name, amount, evidence,"
            " data_status, review_status, first_seen, last_seen, as_of) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("ANALYZE")
    station.close()
    return time.perf_counter() - started


async def drive(home: Home, repeat: int, think: float) -> dict:
    from station.tui.app import StationApp
    from station.tui.screens.dashboard import DashboardScreen
    from station.tui.screens.queue import QueueScreen

    station = Station.open(home)
    out: dict = {}
    t0 = time.perf_counter()
    app = StationApp(station, "基准", watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        async def until(cond, timeout=60.0):
            deadline = time.perf_counter() + timeout
            while not cond():
                if time.perf_counter() > deadline:
                    raise TimeoutError
                await asyncio.sleep(0.01)

        await until(lambda: isinstance(app.screen, DashboardScreen) and app.screen.shown_at)
        out["dashboard_first_draw_s"] = app.screen.shown_at - t0
        await until(lambda: app.screen.review_shown_at)
        out["dashboard_review_figures_s"] = app.screen.review_shown_at - t0
        await pilot.pause()

        t0 = time.perf_counter()
        await pilot.press("3")
        await until(lambda: isinstance(app.screen, QueueScreen) and app.screen.shown_count > 0)
        queue: QueueScreen = app.screen
        await pilot.pause()
        out["queue_first_draw_s"] = time.perf_counter() - t0
        out["queue_total"] = queue.page.total

        async def timed(label: str, action) -> None:
            samples = []
            for _ in range(repeat):
                n = queue.shown_count
                t = time.perf_counter()
                action()
                await until(lambda: queue.shown_count > n)
                samples.append(queue.shown_at - t)
                await pilot.pause()
                await asyncio.sleep(think)     # the reviewer reads the page
            out[label] = {"median_ms": round(statistics.median(samples) * 1000, 1),
                          "max_ms": round(max(samples) * 1000, 1), "total": queue.page.total}

        await timed("page_down", lambda: queue.action_page(1))
        await timed("page_up", lambda: queue.action_page(-1))
        await timed("filter_rule", lambda: queue.set_filter(rules=("DEATH_PAID",)))
        await timed("filter_status_unhandled", lambda: queue.set_filter(rules=(), statuses=("new", "in_review")))
        await timed("filter_severity_amount", lambda: queue.set_filter(statuses=(), severities=("high",),
                                                                       min_amount=30000.0))
        await timed("filter_older_than_90_days", lambda: queue.set_filter(severities=(), min_amount=None,
                                                                          older_than_days=90))
        await timed("search_name", lambda: queue.set_filter(older_than_days=None, search="王伟"))
        await timed("search_id_prefix", lambda: queue.set_filter(search="4403031960"))
        queue.set_filter(search="")
        await until(lambda: not queue.filter.search)
        await timed("sort_amount", lambda: (setattr(queue, "sort", "amount"), queue.restart()))
        await timed("sort_reverse", queue.action_reverse_sort)
        await timed("first_last_page", lambda: queue._go(10 ** 9 if queue.row_offset == 0 else -10 ** 9,
                                                          keep_row=False))
        await pilot.press("q")
    station.close()
    return out


def service_timings(home: Home) -> dict:
    from station.services.anomalies import AnomalyFilter, count_anomalies, list_anomalies
    station = Station.open(home)
    conn = station.conn
    out = {}
    for label, f, sort in (("all", AnomalyFilter(), "first_seen"),
                           ("rule", AnomalyFilter(rules=["DEATH_PAID"]), "amount"),
                           ("search", AnomalyFilter(search="王伟"), "first_seen")):
        t = time.perf_counter()
        n = count_anomalies(conn, f)
        list_anomalies(conn, f, sort=sort, descending=True, limit=34, offset=0, evidence=False)
        out[label] = {"ms": round((time.perf_counter() - t) * 1000, 1), "count": n}
    station.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--anomalies", type=int, default=100_000)
    ap.add_argument("--persons", type=int, default=200_000)
    ap.add_argument("--home", type=Path, help="build here (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the home afterwards")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--think", type=float, default=0.5,
                    help="seconds between two actions, as a reviewer reads the page (0: back to back)")
    args = ap.parse_args()
    root = args.home or Path(tempfile.mkdtemp(prefix="station-bench-"))
    home = Home(root).ensure()
    try:
        if not home.db_path.exists() or not Station.open(home).conn.execute(
                "SELECT count(*) FROM anomalies").fetchone()[0]:
            secs = build(home, args.persons, args.anomalies)
            print(f"built {args.persons:,} persons and {args.anomalies:,} anomalies in {secs:.1f} s at {root}")
        results = {"service": service_timings(home), "tui": asyncio.run(drive(home, args.repeat, args.think))}
        print(json.dumps(results, ensure_ascii=False, indent=1))
        tui = results["tui"]
        changes = [v["max_ms"] for v in tui.values() if isinstance(v, dict)]
        ok = tui["dashboard_first_draw_s"] < 1.5 and tui["queue_first_draw_s"] < 1.5 and max(changes) < 200
        print("targets (first draw < 1.5 s, change < 200 ms):", "met" if ok else "NOT met")
        return 0 if ok else 1
    finally:
        if not args.keep and not args.home:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
