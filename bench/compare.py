"""Compare two versions of the station on the same deliveries, alternating runs.

    git worktree add /tmp/base HEAD~1
    python bench/compare.py --base /tmp/base FILE... [--runs 4] [--evaluate]

Each run copies the files into a fresh home (their department folder kept) and times
``station ingest`` (``--no-evaluate`` unless ``--evaluate``) as a user runs it: the
console script, with ``PYTHONPATH`` set to the version's source tree. The two versions
alternate within each round, so that a noisy machine slows both alike; the result is the
median of each and the median of the rounds' ratios.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPARTMENTS = {"agency", "archive", "civil_affairs", "disability", "education", "industry_commerce",
               "public_security"}


def one_run(tree: Path, files: list[Path], evaluate: bool) -> float:
    station = shutil.which("station")
    if station is None:
        sys.exit("the station command is not installed: pip install -e .")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        for f in files:
            dept = f.parent.name if f.parent.name in DEPARTMENTS else ""
            (home / "inbox" / dept).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, home / "inbox" / dept / f.name)
        cmd = [station, "--home", str(home), "ingest"] + ([] if evaluate else ["--no-evaluate"])
        env = {**os.environ, "PYTHONPATH": str(tree)}
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--base", type=Path, required=True, help="source tree of the version to compare against")
    ap.add_argument("--new", type=Path, default=ROOT, help="source tree of the new version (default: this one)")
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--evaluate", action="store_true", help="evaluate the rules too")
    args = ap.parse_args()
    files = [f for p in args.files for f in (sorted(p.rglob("*")) if p.is_dir() else [p]) if f.is_file()]
    times: dict[str, list[float]] = {"base": [], "new": []}
    for i in range(args.runs):
        for name, tree in (("base", args.base), ("new", args.new)):
            times[name].append(one_run(tree.resolve(), files, args.evaluate))
            print(f"run {i + 1} {name}: {times[name][-1]:.2f} s", flush=True)
    ratios = [n / b for b, n in zip(times["base"], times["new"])]
    print(f"base {statistics.median(times['base']):.2f} s, new {statistics.median(times['new']):.2f} s,"
          f" new/base {statistics.median(ratios):.3f} (median of {args.runs} alternating rounds)")


if __name__ == "__main__":
    main()
