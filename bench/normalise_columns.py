"""The column normalisers (station.normalise.columns) on typical columns of 200k text cells.

    python bench/normalise_columns.py [--rows 200000] [--repeat 5]

Prints, per field type, the best of ``--repeat`` runs in milliseconds and nanoseconds a
cell. The per-cell caches are cleared before each run, so the first-seen cost is in it.
Columns are what partner files hold: clean 18-digit IDs, ISO dates and months, plain
amounts, names, codes, credit codes, statuses.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.normalise import check_char                     # noqa: E402
from station.normalise import dates, ids, values             # noqa: E402
from station.normalise.columns import COLUMN_NORMALISERS      # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕飞鹏辉"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(rnd: random.Random) -> str:
    body = "91" + "440303" + "".join(rnd.choice(USCC_ALPHABET) for _ in range(9))
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return body + USCC_ALPHABET[(31 - total % 31) % 31]


def columns(n: int) -> dict[str, list[str]]:
    rnd = random.Random(7)
    id_cells = []
    for i in range(n):
        first17 = f"440303{rnd.randint(1930, 2010)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{i % 1000:03d}"
        id_cells.append(first17 + check_char(first17))
    return {
        "id": id_cells,
        "name": [rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN) for _ in range(n)],
        "text": [rnd.choice(("退休", "在职", "参保缴费", "暂停缴费", "终止")) for _ in range(n)],
        "code": [f"P{rnd.randint(0, 10**9):09d}" for _ in range(n)],
        "credit_code": [uscc(rnd) for _ in range(n)],
        "date": [f"{rnd.randint(1990, 2026)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}" for _ in range(n)],
        "month": [f"{rnd.randint(2020, 2026)}-{rnd.randint(1, 12):02d}" for _ in range(n)],
        "amount": [f"{rnd.randint(100, 5000)}.{rnd.randint(0, 99):02d}" for _ in range(n)],
        "int": [str(rnd.randint(1, 300)) for _ in range(n)],
    }


def clear_caches() -> None:
    for cache in (dates._date_cache, dates._month_cache, dates._year_cache, values._text_cache,
                  values._name_cache, values._code_cache, ids._date_ok):
        cache.clear()
    for name in ("_credit_cache",):
        cache = getattr(values, name, None)
        if cache is not None:
            cache.clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    total = 0.0
    for kind, cells in columns(args.rows).items():
        fn = COLUMN_NORMALISERS.get(kind)
        if fn is None:
            print(f"{kind:12s} (no such column type here)")
            continue
        best = float("inf")
        for _ in range(args.repeat):
            clear_caches()
            t0 = time.perf_counter()
            fn(cells)
            best = min(best, time.perf_counter() - t0)
        total += best
        print(f"{kind:12s} {best * 1000:8.1f} ms  {best / args.rows * 1e9:7.0f} ns/cell")
    print(f"{'total':12s} {total * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
