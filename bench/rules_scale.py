"""Rule evaluation at county scale: fill a register directly (executemany, no files) with
1M persons, 3.5M payments, thousands of deaths and the rest, then time ``evaluate()``
per rule — a first run (everything new) and a second run (everything known).

    python bench/rules_scale.py [--persons 1000000] [--payments 3500000] [--db /tmp/scale.db]
                                [--reuse] [--explain]

``--reuse`` keeps an existing database (skips the load); ``--explain`` prints each
rule's query plans (EXPLAIN QUERY PLAN of the statements it runs).
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.config import load_config                      # noqa: E402
from station.kinds.spec import KINDS                        # noqa: E402
from station.normalise import check_char                    # noqa: E402
from station.register.db import connect                     # noqa: E402
from station.kinds.spec import kind_columns            # noqa: E402
from station.rules import engine                            # noqa: E402

AS_OF = dt.date(2026, 11, 15)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬燕飞鹏辉建国斌云凤"


def make_id(rnd: random.Random, birth: dt.date, seq: int) -> str:
    first17 = f"440303{birth:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_char(first17)


def name(rnd: random.Random) -> str:
    return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))


def insert(conn: sqlite3.Connection, kind: str, rows, delivery_id: int) -> int:
    """Rows are dicts of column → value; nk, delivery_id and row_no are filled in here."""
    spec = KINDS[kind]
    cols = list(kind_columns(spec))
    sql = f"INSERT OR REPLACE INTO [{spec.table_name}] ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    key = spec.key
    n = 0

    assert cols[0] == "nk"

    def tuples():
        nonlocal n
        for r in rows:
            n += 1
            if kind == "cremations":
                who = r.get("id_number") or f"{r.get('name') or ''}|{r.get('birth_date') or ''}"
                r["nk"] = f"{who}\x1f{r['death_date']}"
            else:
                r["nk"] = "\x1f".join("" if r.get(c) is None else str(r.get(c)) for c in key)
            r["delivery_id"] = delivery_id
            r["row_no"] = n + 1
            for f in spec.fields:
                if f.type == "id":
                    r.setdefault(f.column + "_valid", 1)
            yield tuple(r.get(c) for c in cols)

    if kind in ("payments", "persons"):          # natural keys unique by construction
        conn.executemany(sql, tuples())
        return n
    unique = {t[0]: t for t in tuples()}         # nk is the first column; the last row wins
    conn.executemany(sql, unique.values())
    return len(unique)


def load(conn: sqlite3.Connection, n_persons: int, n_payments: int, seed: int = 7) -> dict[str, int]:
    rnd = random.Random(seed)
    counts = {}
    t0 = time.perf_counter()

    def lap(what):
        print(f"  {what}: {time.perf_counter() - t0:.1f} s", flush=True)
    # Drop the kind tables' indexes for the load, rebuild them after (NOTES.md).
    index_sql = [sql for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (%s)"
        % ",".join("?" * len(KINDS)), [k.table_name for k in KINDS.values()])]
    index_names = [n for (n,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (%s)"
        % ",".join("?" * len(KINDS)), [k.table_name for k in KINDS.values()])]
    conn.execute("BEGIN")
    for idx in index_names:
        conn.execute(f"DROP INDEX [{idx}]")
    deliveries = {}
    for i, kind in enumerate(KINDS, 1):
        conn.execute("INSERT INTO deliveries (id, sha256, original_name, kind, department, status, received_at)"
                     " VALUES (?, ?, ?, ?, ?, 'applied', '2026-11-01T09:00:00')",
                     (i, f"bench{i}", f"{KINDS[kind].title}_大样本.csv", kind, KINDS[kind].department))
        deliveries[kind] = i

    # persons: 1M; 30% retired (they get the pensions), some terminal, a few invalid IDs
    persons = []
    seqs = {}
    for i in range(n_persons):
        if i % 2500 == 0:                        # a few hundred aged 100 or more
            birth = dt.date(1915, 1, 1) + dt.timedelta(days=rnd.randrange(0, 365 * 11))
        else:
            birth = dt.date(1930, 1, 1) + dt.timedelta(days=rnd.randrange(0, 365 * 78))
        seq = seqs[birth] = seqs.get(birth, rnd.randrange(0, 900)) + 1
        pid = make_id(rnd, birth, seq)
        valid = 1
        if i % 1000 == 7:                        # 0.1 % invalid check characters
            pid = pid[:17] + ("0" if pid[17] != "0" else "1")
            valid = 0
        age = (AS_OF - birth).days // 365
        r = rnd.random()
        if age >= 60 and r < 0.85:
            status = "退休"
        elif r < 0.03:
            status = rnd.choice(("终止", "死亡"))
        else:
            status = rnd.choice(("参保缴费", "参保缴费", "参保缴费", "暂停缴费"))
        retire = None
        if status == "退休":
            retire = (birth.replace(year=birth.year + 60) if birth.month != 2 or birth.day != 29
                      else dt.date(birth.year + 60, 3, 1)).isoformat()
        persons.append({"id_number": pid, "id_number_valid": valid, "name": name(rnd),
                        "sex": rnd.choice("男女"), "birth_date": birth.isoformat(),
                        "person_no": f"P{i:09d}", "unit_no": f"U{rnd.randrange(50000):07d}",
                        "status": status, "insured_date": "2000-01-01", "retire_date": retire,
                        "monthly_pension": 2500.0 if status == "退休" else None})
    counts["persons"] = insert(conn, "persons", persons, deliveries["persons"])
    lap("persons")
    retirees = [p for p in persons if p["status"] == "退休"]
    ids = [p["id_number"] for p in persons]

    # payments: pensions to retirees month by month until n_payments, some unemployment
    # benefits, duplicates, conflicts and payments to unregistered IDs
    months = [f"2026-{m:02d}" for m in range(1, 11)] + [f"2025-{m:02d}" for m in range(1, 13)]
    serial = 0

    def payments():
        nonlocal serial
        made = 0
        for m in months:
            for p in retirees:
                if made >= n_payments * 0.94:
                    return
                serial += 1
                made += 1
                yield {"serial_no": f"FF{serial:010d}", "id_number": p["id_number"], "name": p["name"],
                       "period": m, "benefit_type": "基本养老金", "amount": 2500.0, "pay_date": f"{m}-10"}

    counts["payments"] = insert(conn, "payments", payments(), deliveries["payments"])
    extra = []
    workers = [p for p in persons if p["status"] != "退休"]
    for i in range(int(n_payments * 0.05)):
        p = workers[i % len(workers)]
        serial += 1
        extra.append({"serial_no": f"FF{serial:010d}", "id_number": p["id_number"], "name": p["name"],
                      "period": months[i // len(workers) % len(months)], "benefit_type": "失业保险金",
                      "amount": 1800.0, "pay_date": None})
    for i in range(2000):                          # duplicates
        p = retirees[rnd.randrange(len(retirees))]
        serial += 1
        extra.append({"serial_no": f"FF{serial:010d}", "id_number": p["id_number"], "name": p["name"],
                      "period": "2026-03", "benefit_type": "基本养老金", "amount": 2500.0, "pay_date": None})
    for i in range(2000):                          # conflicting benefits
        p = retirees[rnd.randrange(len(retirees))]
        serial += 1
        extra.append({"serial_no": f"FF{serial:010d}", "id_number": p["id_number"], "name": p["name"],
                      "period": "2026-04", "benefit_type": "失业保险金", "amount": 1800.0, "pay_date": None})
    for i in range(3000):                          # unregistered IDs, 3 months each
        pid = make_id(rnd, dt.date(1950, 1, 1) + dt.timedelta(days=i), 999)
        for m in months[:3]:
            serial += 1
            extra.append({"serial_no": f"FF{serial:010d}", "id_number": pid, "name": "某某",
                          "period": m, "benefit_type": "基本养老金", "amount": 2000.0, "pay_date": None})
    counts["payments"] += insert(conn, "payments", extra, deliveries["payments"])
    lap("payments")

    # deaths: 8k 公安 rows (6k 死亡, 2k 迁出), 6k cremations; 60% of the deceased in the
    # register, the rest from elsewhere; 300 with a one-character typo; 200 without an ID
    hd, cr = [], []
    dead = rnd.sample(retirees, 4800)
    for i, p in enumerate(dead):
        d = dt.date(2026, 1, 1) + dt.timedelta(days=rnd.randrange(300))
        pid = p["id_number"]
        if i < 300:
            pos = rnd.randrange(6, 17)
            pid = pid[:pos] + str((int(pid[pos]) + 1) % 10) + pid[pos + 1:]
        if i % 2:
            hd.append({"id_number": pid, "name": p["name"], "sex": p["sex"], "death_date": d.isoformat(),
                       "cancel_date": (d + dt.timedelta(days=5)).isoformat(), "cancel_reason": "死亡"})
        else:
            cr.append({"id_number": None if 300 <= i < 500 else pid, "name": p["name"], "sex": p["sex"],
                       "birth_date": p["birth_date"], "death_date": d.isoformat(),
                       "cremation_date": None, "funeral_home": "县殡仪馆"})
    for i in range(3200):
        pid = make_id(rnd, dt.date(1930, 1, 1) + dt.timedelta(days=i * 3), 777)
        d = dt.date(2026, 1, 1) + dt.timedelta(days=rnd.randrange(300))
        hd.append({"id_number": pid, "name": name(rnd), "sex": "男", "death_date": d.isoformat(),
                   "cancel_date": d.isoformat(), "cancel_reason": "死亡"})
        if i % 2:
            cr.append({"id_number": pid, "name": "某", "sex": "男", "birth_date": None,
                       "death_date": (d + dt.timedelta(days=rnd.choice((0, 1, 20)))).isoformat(),
                       "cremation_date": None, "funeral_home": "市殡仪馆"})
    for i in range(2000):
        pid = ids[rnd.randrange(len(ids))]
        hd.append({"id_number": pid, "name": "某", "sex": "男", "death_date": None,
                   "cancel_date": "2026-06-01", "cancel_reason": "迁出"})
    counts["household_deaths"] = insert(conn, "household_deaths", hd, deliveries["household_deaths"])
    counts["cremations"] = insert(conn, "cremations", cr, deliveries["cremations"])

    # units 50k; enterprises 20k (设立 of registered and unregistered codes, some 注销)
    def code(i):
        return f"91440303{i:09d}X"
    units = [{"unit_no": f"U{i:07d}", "credit_code": code(i), "unit_name": f"单位{i}",
              "reg_date": "2010-01-01", "unit_status": rnd.choice(("正常",) * 9 + ("注销",))}
             for i in range(50000)]
    counts["units"] = insert(conn, "units", units, deliveries["units"])
    ents = []
    for i in range(20000):
        c = code(rnd.randrange(60000))
        ents.append({"credit_code": c, "enterprise_name": f"企业{i}", "legal_rep": name(rnd),
                     "reg_type": rnd.choice(("设立", "设立", "变更", "注销")),
                     "approval_date": (dt.date(2020, 1, 1) + dt.timedelta(days=rnd.randrange(2500))).isoformat(),
                     "address": "某地"})
    counts["enterprises"] = insert(conn, "enterprises", ents, deliveries["enterprises"])

    # students 15k, resident medical 200k
    kids = [make_id(rnd, dt.date(2010, 1, 1) + dt.timedelta(days=i % 3000), 100 + i // 3000)
            for i in range(15000)]
    counts["new_students"] = insert(conn, "new_students", (
        {"id_number": k, "name": name(rnd), "school": "一小", "grade": "一年级", "enrol_date": "2026-09-01"}
        for k in kids), deliveries["new_students"])
    med = [{"id_number": k, "name": "某", "year": 2026, "category": "学生", "enrol_date": "2026-09-10"}
           for k in kids[:14000]]
    med += [{"id_number": ids[i], "name": "某", "year": 2026, "category": "成年居民", "enrol_date": "2026-01-05"}
            for i in range(0, 186000)]
    counts["resident_medical"] = insert(conn, "resident_medical", med, deliveries["resident_medical"])

    # disability changes 30k for 20k people; subsidies 20k
    dis, subs = [], []
    for i in range(20000):
        pid = ids[rnd.randrange(len(ids))]
        level = rnd.choice(("一级", "二级", "三级", "四级"))
        dis.append({"id_number": pid, "name": "某", "category": "肢体", "level": level, "change_type": "新增",
                    "change_date": "2024-03-01"})
        if i % 2:
            dis.append({"id_number": pid, "name": "某", "category": None,
                        "level": rnd.choice(("一级", "二级", "三级")),
                        "change_type": rnd.choice(("等级变更", "注销", "死亡")), "change_date": "2026-03-01"})
        if level in ("一级", "二级") and i % 5:
            subs.append({"id_number": pid, "name": "某", "subsidy_type": "城乡居民养老保险费补助",
                         "subsidy_amount": 200.0, "start_month": "2024-04", "end_month": None})
    counts["disability_changes"] = insert(conn, "disability_changes", dis, deliveries["disability_changes"])
    counts["subsidies"] = insert(conn, "subsidies", subs, deliveries["subsidies"])

    # scan index: registration forms for 500k persons, approvals for most retirees
    docs = []
    for i, p in enumerate(persons[:500000]):
        docs.append({"file_no": f"SB-{i:09d}", "item_no": "1", "subject": p["id_number"],
                     "material": "参保登记表", "formed_date": "2000-01-01", "pages": 2,
                     "retention": "永久" if i % 500 else "长期", "scan_file": None})
    for i, p in enumerate(retirees):
        if i % 50:
            docs.append({"file_no": f"TX-{i:09d}", "item_no": "3", "subject": p["id_number"],
                         "material": "退休审批表", "formed_date": p["retire_date"], "pages": 3,
                         "retention": "长期" if i % 400 else "短期", "scan_file": None})
    counts["scan_index"] = insert(conn, "scan_index", docs, deliveries["scan_index"])
    conn.execute("COMMIT")
    lap("the rest")
    t = time.perf_counter()
    for sql in index_sql:
        conn.execute(sql)
    print(f"  indexes rebuilt in {time.perf_counter() - t:.1f} s")
    return counts


def explain(conn: sqlite3.Connection) -> None:
    """Print the query plan of every statement the rules run (traced on a real run)."""
    seen: list[str] = []
    conn.set_trace_callback(lambda sql: seen.append(sql))
    engine.evaluate(conn, load_config(None), AS_OF)
    conn.set_trace_callback(None)
    for sql in seen:
        if sql.lstrip().upper().startswith(("WITH", "SELECT")):
            print("-" * 60)
            print(sql.strip()[:400])
            try:
                for row in conn.execute("EXPLAIN QUERY PLAN " + sql):
                    print("   ", row[3])
            except sqlite3.Error as e:       # statements with parameters bound at run time
                print("   (plan needs parameters:", e, ")")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--payments", type=int, default=3_500_000)
    ap.add_argument("--db", default="/tmp/rules_scale.db")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--explain", action="store_true")
    args = ap.parse_args()
    path = Path(args.db)
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    fresh = not path.exists()
    conn = connect(path)
    if fresh:
        t = time.perf_counter()
        counts = load(conn, args.persons, args.payments)
        print(f"loaded in {time.perf_counter() - t:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    cfg = load_config(None)
    runs = ("first run (all new)", "second run (all known)") if fresh else ("run 1", "run 2")
    for run in runs:
        r = engine.evaluate(conn, cfg, AS_OF)
        find_total = sum(r.rule_seconds.values())
        print(f"\n{run}: total {r.seconds:.2f} s (ANALYZE {r.analyze_seconds:.2f} s of "
              f"{', '.join(r.analyzed) or 'no table'}; rules {find_total:.2f} s; persisting "
              f"{r.seconds - find_total - r.analyze_seconds:.2f} s); new {r.new:,}, open {r.open_count:,}")
        for rule_id in r.rules:
            print(f"  {rule_id:26s} {r.rule_seconds[rule_id]:6.2f} s  {r.per_rule[rule_id]:>7,} findings")
    if args.explain:
        explain(conn)


if __name__ == "__main__":
    main()
