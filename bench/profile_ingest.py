"""Profile one ingest in-process with cProfile: where the time of applying files goes.

    python bench/profile_ingest.py FILE_OR_DIR... [--worker] [--no-evaluate] [--top 30]

The files are copied into a fresh home's inbox (their department folder kept when the
path has one) and applied with ``Station.ingest`` under cProfile, evaluation included.
Without ``--worker`` everything runs in this process (so the profile shows the mapping
too); with it, large CSVs are mapped in a second process as in production.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station.home import Home  # noqa: E402
from station.inbox import pipeline  # noqa: E402
from station.services.station import Station  # noqa: E402

DEPARTMENTS = {"agency", "archive", "civil_affairs", "disability", "education", "industry_commerce",
               "public_security"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--worker", action="store_true", help="map large CSVs in a second process")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--as-of", default="2026-11-15")
    ap.add_argument("--no-evaluate", action="store_true", help="apply only (payroll alone would make every row a finding)")
    args = ap.parse_args()
    if not args.worker:
        pipeline.spare_core = lambda: False
    files = [f for p in args.paths for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home").ensure()
        for f in files:
            dept = f.parent.name if f.parent.name in DEPARTMENTS else ""
            (home.inbox / dept).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, home.inbox / dept / f.name)
        import datetime as dt
        st = Station.open(home)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        report = st.ingest(as_of=dt.date.fromisoformat(args.as_of), evaluate=not args.no_evaluate)
        prof.disable()
        wall = time.perf_counter() - t0
        rows = sum(r.rows_applied for r in report.applied)
        print(f"{len(report.applied)} files, {rows:,} rows in {wall:.1f} s"
              f" (evaluation {report.evaluation.seconds if report.evaluation else 0:.1f} s)")
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
        st.close()


if __name__ == "__main__":
    main()
