"""What recognising a file costs beyond reading it (issue 11: under 50 ms a file).

    python bench/recognise.py [--runs 20]

Builds the messy county of tests/test_messy_county.py (the sample deliveries rewritten
with codes as headers, spaced labels, grouping rows, workbooks with 填表说明 first, …)
plus the plain samples, and for each file times, separately: opening it and reading the
rows recognition looks at (``open_rows`` with the sheet chooser + ``HEAD_ROWS`` rows), and
:func:`station.kinds.recognise.propose` on those rows. Prints the median per file and the
worst, and the one-time cost of the first data-element code in a process (pypinyin's
dictionaries and the code index).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from station.config import load_config  # noqa: E402
from station.formats import open_rows  # noqa: E402
from station.kinds.infer import header_index  # noqa: E402
from station.kinds.recognise import HEAD_ROWS, propose, sheet_chooser  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args(argv)
    import test_messy_county as corpus
    from conftest import SAMPLE_INBOX

    cfg = load_config(None)
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        corpus.build_messy_county(inbox)
        files = [(p, p.parent.name) for p in sorted(inbox.rglob("*")) if p.is_file()]
        files += [(p, p.parent.name) for p in sorted(SAMPLE_INBOX.rglob("*.csv"))]

        t = time.perf_counter()
        propose([(1, ["GMSFHM", "XM", "CBZT"]), (2, ["440303196712219567", "张三", "退休"])], cfg,
                department=None, file_name="x.csv")
        first_code = time.perf_counter() - t

        index = header_index(cfg)
        rows = []
        for path, dept in files:
            reads, recs = [], []
            for run in range(args.runs + 1):
                if run == 0:
                    index._cache.clear()        # the first sight of these headers
                t0 = time.perf_counter()
                with open_rows(path, choose_sheet=sheet_chooser(cfg)) as src:
                    head = list(islice(iter(src), HEAD_ROWS))
                t1 = time.perf_counter()
                propose(head, cfg, department=dept, file_name=path.name)
                t2 = time.perf_counter()
                if run == 0:
                    cold = t2 - t1
                    continue
                reads.append(t1 - t0)
                recs.append(t2 - t1)
            rows.append((path.name, dept, statistics.median(reads), statistics.median(recs), cold))

    width = max(len(n) for n, *_ in rows)
    print(f"{'file':<{width}}  {'folder':<18} read ms  recognise ms  first sight ms")
    for name, dept, r, c, cold in rows:
        print(f"{name:<{width}}  {dept:<18} {r * 1000:7.1f}  {c * 1000:12.2f}  {cold * 1000:14.2f}")
    recs = [c for *_, c, _ in rows]
    colds = [cold for *_, cold in rows]
    print(f"\n{len(rows)} files, {args.runs} runs each: recognition median "
          f"{statistics.median(recs) * 1000:.2f} ms, worst {max(recs) * 1000:.2f} ms a file; "
          f"headers never seen before: median {statistics.median(colds) * 1000:.2f} ms, "
          f"worst {max(colds) * 1000:.2f} ms (budget 50 ms); the first data-element code in a "
          f"process costs {first_code * 1000:.0f} ms once (pypinyin).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
