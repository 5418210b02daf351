"""Demo and benchmark county generator.

``generate_county(dest)`` writes one county's deliveries into an inbox folder
(``dest/<department>/...``): every file kind of DOMAIN.md, with anomalies planted for all
16 comparison rules, near-misses that must *not* fire, and (``messy=True``) the file
habits of real partner departments. It returns a :class:`GenerationSummary` whose
``planted`` / ``expected`` say exactly which anomalies the default ``rules.yaml`` must
find at ``as_of`` — the generator keeps the background population free of accidental
anomalies, so ``expected`` is the complete answer, not a subset.

How it stays fast and small at a million persons: persons are streamed; each person's
payroll rows go straight to the open monthly payment files as the person is generated,
so nothing proportional to the payroll is held in memory. Only the few thousand planted
("special") persons, partner-department records and units live in memory.

Population model (register persons):
    30 % 退休 pensioners paid 基本养老金 monthly from the month after retirement;
    50 % 参保缴费; 8 % 暂停缴费 (a fifth of them on 失业保险金 for a stretch);
    8 % 终止; 4 % 死亡 (those who died inside the payroll window are paid through their
    death month and appear in the 公安 and/or 民政 death lists).
Partner-department people who are not in the register (schoolchildren, disabled
residents, uninsured locals who died) get ID sequence codes 900-999; register persons get
000-899. Two *valid* IDs are never one substitution or one adjacent swap apart (the check
character catches both), so with disjoint sequence ranges no death record of an outsider
can become an accidental DEATH_FUZZY_MATCH candidate; the few deliberately mistyped IDs
have their neighbourhoods reserved.

Where things are: :mod:`.model` (rule parameters, result types, records), :mod:`.world`
(the population and its random draws), :mod:`.plants` and :mod:`.plants_outside` (the
planted cases and near-misses), :mod:`.writers`, :mod:`.payroll` and :mod:`.habits` (the
files, as each department writes them), :mod:`.answer` (what the rules must find). The
order of the random draws in :func:`generate` is the county: tests/test_demo_identical.py
holds the hashes of its files for a few seeds.

Run ``python -m station.demo.generate DEST --persons 1000000 --clean`` for the benchmark.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import ids as idl  # noqa: F401  (tests check credit codes through generate.idl)
from .answer import summarise
from .model import DEPARTMENTS, RULE_IDS, BadRow, D, GenerationSummary  # noqa: F401  (the public names)
from .plants import check_fuzzy_design, plant_deaths, plant_fuzzy_matches, plant_payments, plant_register_faults
from .plants_outside import plant_enterprises, plant_students, plant_subsidies
from .world import County
from .writers import (stream_register, write_deaths, write_disability, write_enterprises,
                      write_students_and_medical, write_units)


def generate(county: County) -> GenerationSummary:
    """Build the county, plant the cases, write the files, and work out the answer."""
    t0 = time.perf_counter()
    county.plan_units()
    plant_enterprises(county)
    county.plan_students()
    plant_students(county)
    county.plan_residents()
    county.plan_disabled()
    plant_subsidies(county)
    county.plan_outsider_deaths()
    plant_deaths(county)
    plant_fuzzy_matches(county)
    plant_payments(county)
    plant_register_faults(county)
    check_fuzzy_design(county)
    county.assign_positions()
    write_units(county)
    write_enterprises(county)
    stream_register(county)
    write_deaths(county)
    write_students_and_medical(county)
    write_disability(county)
    summary = summarise(county)
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary


def generate_county(dest: Path, *, persons: int = 3000, seed: int = 2026, messy: bool = True,
                    as_of: D = D(2026, 11, 15), months: int = 10, money: bool = False) -> GenerationSummary:
    """Write one county's deliveries into the inbox folder ``dest``; see the module doc.

    Payroll covers ``months`` months ending the month before ``as_of``. The same seed
    gives the same bytes; ``messy`` changes only how files are written, not the county
    (same persons, same ``expected``). Files of the same name are replaced, others are
    left alone. Files appear complete: each is written as ``*.part`` and renamed.

    ``money``: also the money side (:mod:`.money`: assessments, tax collections, the
    special account, bank returns of the last three payroll months), from its own random
    stream, so the other files are the same bytes either way.
    """
    county = County(Path(dest), persons, seed, messy, as_of, months)
    summary = generate(county)
    if money:
        from .money import add_money_side
        t0 = time.perf_counter()
        add_money_side(county, summary)
        summary.seconds = round(summary.seconds + time.perf_counter() - t0, 3)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m station.demo.generate",
                                 description="Write a demo (messy) or benchmark (--clean) county into an inbox folder.")
    ap.add_argument("dest", type=Path, help="inbox folder to write into (department sub-folders are created)")
    ap.add_argument("--persons", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--clean", action="store_true", help="plain UTF-8 CSV, canonical headers (benchmark)")
    ap.add_argument("--as-of", type=D.fromisoformat, default=D(2026, 11, 15))
    ap.add_argument("--months", type=int, default=10)
    ap.add_argument("--money", action="store_true",
                    help="also the money side: assessments, tax collections, the special account, bank returns")
    ap.add_argument("--expected", type=Path, help="also write the expected anomalies as JSON here")
    ap.add_argument("--force", action="store_true", help="write even if department folders hold files")
    a = ap.parse_args(argv)
    if a.expected and a.expected.resolve().is_relative_to(a.dest.resolve()):
        ap.error("--expected must not point inside the inbox")
    if not a.force and any(f.is_file() for d in DEPARTMENTS if (a.dest / d).is_dir() for f in (a.dest / d).iterdir()):
        ap.error(f"{a.dest} already holds deliveries; two counties would mix (use --force to write anyway)")
    s = generate_county(a.dest, persons=a.persons, seed=a.seed, messy=not a.clean, as_of=a.as_of, months=a.months,
                        money=a.money)
    if a.expected:
        a.expected.write_text(json.dumps(s.expected_anomalies(), ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {len(s.files)} files into {s.dest} in {s.seconds:.1f} s")
    for kind, n in s.counts.items():
        print(f"  {kind:20s} {n:>10,d} rows")
    print("planted: " + ", ".join(f"{r} {len(v)}" for r, v in s.planted.items()))
    if s.bad_rows:
        print(f"bad rows (must be rejected): {len(s.bad_rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
