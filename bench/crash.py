"""Crash safety: SIGKILL ``station ingest``, decisions and exports at random moments.

Ingest: a demo county (every kind of file, an XLSX, a duplicate) plus files the station
must reject is ingested once without interruption (the reference), then again in rounds
on fresh copies: each round starts ``station ingest --as-of …`` and kills it with SIGKILL
after a random delay (uniform over the work still left), again and again, until a run
finishes. After every kill: ``PRAGMA integrity_check`` is ok and every delivery is in
exactly one place (the multiset of file hashes under ``inbox/`` — pending, processed or
rejected — equals the corpus's). After each round: the register (every kind table, the
rejected rows), the ledger's applied and duplicate entries, the rejected files, the
anomalies and where every original lies equal the reference's; a further run finds
nothing to do.

Decisions: a child process records bulk decisions (``station.review.log.decide``, 20
anomalies each) in a loop and is killed at random moments: the log then holds whole
decisions only (entries a multiple of 20, at least the committed ones, at most one
more), ``verify_chain`` passes.

Exports: a child exports the review log (XLSX and CSV) over and over under one name and
is killed at random moments, half of them while the temporary file is being written:
the final name always holds a complete file (it opens,
its last row is the log's head) or nothing; leftovers are only hidden ``.part`` files,
and the next export removes those of killed ones (at most one is ever left).

    python bench/crash.py [--persons 60000] [--kills 50] [--decision-kills 20]
                          [--export-kills 20] [--seed 1] [--work DIR] [--json FILE]

The test suite runs a small profile (tests/test_crash.py).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = "2026-11-15"


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --------------------------------------------------------------------------- corpus

def make_corpus(dest: Path, persons: int, seed: int = 2026) -> Path:
    """A county's deliveries (``dest/<department>/…``) plus three files to reject."""
    from station.demo.generate import generate_county
    generate_county(dest, persons=persons, seed=seed, messy=True)
    rnd = random.Random(seed)
    (dest / "agency" / "不明文件.csv").write_text("公民身份号码,姓名,爱好\n110101199003074518,甲,乙\n",
                                                encoding="utf-8")
    (dest / "public_security" / "junk.csv").write_bytes(bytes(rnd.getrandbits(8) for _ in range(20000)))
    (dest / "education" / "empty.csv").write_bytes(b"")
    return dest


def fresh_home(base: Path, corpus: Path) -> Path:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=base))
    shutil.copytree(corpus, home / "inbox")
    return home


def sha(path: Path) -> str:
    from station.inbox.pipeline import sha256_of     # the same hash the ledger records
    return sha256_of(path)


def deliveries_under(folder: Path) -> collections.Counter:
    """Hashes of every delivery file under ``folder`` (pending, processed or rejected)."""
    out = collections.Counter()
    for p in folder.rglob("*"):
        if p.is_file() and p.name != "README.md" and not p.name.endswith(".reason.txt"):
            out[sha(p)] += 1
    return out


def ingest_cmd(home: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "station", "--home", str(home), "ingest", "--as-of", AS_OF, *extra]


def run_ingest(home: Path, timeout: float = 1800) -> float:
    t = time.perf_counter()
    proc = subprocess.run(ingest_cmd(home), env=child_env(), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"ingest failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return time.perf_counter() - t


# --------------------------------------------------------------------------- comparing

def _norm_evidence(value, sha_of: dict):
    if isinstance(value, dict):
        return {k: (sha_of.get(v, v) if k == "delivery_id" else _norm_evidence(v, sha_of))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_norm_evidence(v, sha_of) for v in value]
    return value


def snapshot(home: Path) -> dict:
    """Everything that must not depend on crashes, with ledger ids replaced by the
    delivered bytes' hashes (a run killed between a rejection's commit and its move
    records that file's rejection twice, which shifts later ids)."""
    from station.kinds.spec import KINDS
    conn = sqlite3.connect(home / "station.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        sha_of = dict(conn.execute("SELECT id, sha256 FROM deliveries"))
        snap: dict = {}
        for spec in KINDS.values():
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info([{spec.table_name}])")]
            rows = conn.execute(f"SELECT * FROM [{spec.table_name}]").fetchall()
            di = cols.index("delivery_id")
            snap[spec.table_name] = sorted(
                tuple(sha_of.get(v, v) if i == di else v for i, v in enumerate(r)) for r in rows)
        snap["ledger"] = sorted(conn.execute(
            "SELECT sha256, original_name, original_path, stored_path, size, kind, department, status,"
            " format, encoding, header_row, rows_total, rows_applied, rows_rejected, rows_skipped,"
            " (SELECT sha256 FROM deliveries o WHERE o.id = d.duplicate_of)"
            " FROM deliveries d WHERE status IN ('applied', 'duplicate')").fetchall())
        snap["rejected_files"] = sorted(set(conn.execute(
            "SELECT sha256, original_name, original_path, stored_path, reason FROM deliveries"
            " WHERE status = 'rejected'").fetchall()))
        snap["rejected_rows"] = sorted(
            (sha_of[d], n, reason, raw) for d, n, reason, raw in
            conn.execute("SELECT delivery_id, row_no, reason, raw FROM rejected_rows"))
        snap["anomalies"] = sorted(
            (rule, subject, period, dept, sev, name, amount,
             json.dumps(_norm_evidence(json.loads(ev), sha_of), sort_keys=True, ensure_ascii=False),
             ds, rs, as_of)
            for rule, subject, period, dept, sev, name, amount, ev, ds, rs, as_of in conn.execute(
                "SELECT rule, subject, period, department, severity, name, amount, evidence,"
                " data_status, review_status, as_of FROM anomalies"))
        pending = conn.execute(
            "SELECT count(*) FROM deliveries WHERE status = 'applied' AND id > coalesce("
            "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'evaluated_through_delivery'), 0)"
        ).fetchone()[0]
        snap["unevaluated_deliveries"] = pending
    finally:
        conn.close()
    snap["files"] = sorted(
        (str(p.relative_to(home)), _reason(p) if p.name.endswith(".reason.txt") else sha(p))
        for p in (home / "inbox").rglob("*") if p.is_file() and p.name != "README.md")
    return snap


def _reason(p: Path) -> str:
    """A reason note without its time line."""
    return "".join(l for l in p.read_text(encoding="utf-8").splitlines(True) if not l.startswith("时间："))


def diff(a: dict, b: dict) -> list[str]:
    return [f"{k}: {len(a.get(k) or [])} vs {len(b.get(k) or [])} entries differ"
            if isinstance(a.get(k), list) else f"{k}: {a.get(k)} vs {b.get(k)}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


# --------------------------------------------------------------------------- ingest kills

def _phase(out: str, ledger_before: int, ledger_after: int, delay: float, startup: float) -> str:
    lines = [l for l in out.splitlines() if l.strip()]
    if any(l.startswith("比对完成") for l in lines):
        return "after evaluation"
    if any(l.startswith("共 ") for l in lines) or (lines and not lines[-1].startswith("[")
                                                  and "收件箱中没有" in lines[-1]):
        return "evaluating"
    reported = sum(1 for l in lines if l.startswith("["))
    if ledger_after > ledger_before + reported:
        return "between commit and report"
    if ledger_after == ledger_before and reported == 0:
        return "starting (imports, opening)" if delay < startup else "inside a file"
    return "inside a file"


def _remaining_seconds(home: Path, total_bytes: int, timing: dict) -> float:
    """How long a run on ``home`` should take: start-up, the files still in the inbox,
    the evaluation."""
    left = sum(p.stat().st_size for p in (home / "inbox").rglob("*") if p.is_file()
               and "processed" not in p.parts and "rejected" not in p.parts and p.name != "README.md")
    return timing["startup"] + timing["files"] * left / max(total_bytes, 1) + timing["evaluation"]


def ledger_count(home: Path) -> int:
    db = home / "station.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def check_after_kill(home: Path, corpus_hashes: collections.Counter) -> None:
    db = home / "station.db"
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), "integrity_check failed"
        finally:
            conn.close()
    got = deliveries_under(home / "inbox")
    assert got == corpus_hashes, "a delivery is missing or in two places after a kill"


def kill_round(home: Path, kills: int, rnd: random.Random, corpus_hashes, total_bytes: int,
               timing: dict, log=print) -> list[dict]:
    """Kill ``station ingest`` on ``home`` up to ``kills`` times, then let it finish."""
    records = []
    while len(records) < kills:
        delay = rnd.uniform(0.0, _remaining_seconds(home, total_bytes, timing))
        before = ledger_count(home)
        out_path = home / f".out-{len(records)}.txt"
        with open(out_path, "w") as out:
            proc = subprocess.Popen(ingest_cmd(home), env=child_env(), cwd=ROOT, stdout=out,
                                    stderr=subprocess.STDOUT)
            try:
                proc.wait(delay)
                finished = True
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
                finished = False
        text = out_path.read_text(encoding="utf-8", errors="replace")
        out_path.unlink()
        if finished:
            assert proc.returncode == 0, text[-3000:]
            log(f"    run finished before its kill ({delay:.2f} s): round done after {len(records)} kills")
            return records
        after = ledger_count(home)
        check_after_kill(home, corpus_hashes)
        rec = {"delay": round(delay, 3), "phase": _phase(text, before, after, delay, timing["startup"]), "ledger_before": before,
               "ledger_after": after}
        records.append(rec)
        log(f"    kill {len(records):2d} after {delay:6.2f} s: {rec['phase']} (ledger {before} → {after})")
    run_ingest(home)
    return records


# --------------------------------------------------------------------------- decisions

DECIDER = r"""
import sys
sys.path.insert(0, sys.argv[1])
from station.home import Home
from station.services.station import Station
from station.review.log import decide
st = Station.open(Home(__import__("pathlib").Path(sys.argv[2])))
ids = [r[0] for r in st.conn.execute("SELECT id FROM anomalies ORDER BY id")]
batch = int(sys.argv[3])
i = 0
while True:
    chosen = [ids[(i * batch + k) % len(ids)] for k in range(batch)]
    seqs = decide(st.conn, st.cfg, chosen, "note", "压测", note=f"第 {i} 批")
    print("committed", seqs[-1], flush=True)
    i += 1
"""


def decision_kills(home: Path, kills: int, rnd: random.Random, batch: int = 20, log=print) -> dict:
    """Kill a process recording bulk decisions; the log keeps whole decisions only."""
    from station.register.db import connect
    from station.review.log import verify_chain
    conn = connect(home / "station.db")
    n_anomalies = conn.execute("SELECT count(*) FROM anomalies").fetchone()[0]
    conn.close()
    batch = min(batch, n_anomalies)
    records = []
    for k in range(kills):
        conn = connect(home / "station.db")
        before = verify_chain(conn).entries
        conn.close()
        proc = subprocess.Popen([sys.executable, "-c", DECIDER, str(ROOT), str(home), str(batch)],
                                env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rnd.uniform(0.6, 2.5))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        committed = [int(l.split()[1]) for l in out.splitlines() if l.startswith("committed")]
        conn = connect(home / "station.db")
        result = verify_chain(conn)
        conn.close()
        assert result.ok, f"verify failed after a kill: {result.reason}"
        assert (result.entries - before) % batch == 0, "a bulk decision was kept in part"
        last = committed[-1] if committed else before
        assert last <= result.entries <= last + batch, (last, result.entries)
        in_flight = result.entries - last
        records.append({"entries": result.entries, "printed": last, "kept_unprinted": in_flight})
        log(f"    kill {k + 1:2d}: log {before} → {result.entries} entries "
            f"({len(committed)} decisions reported{', 1 committed but not yet reported' if in_flight else ''}), verify ok")
    return {"kills": kills, "batch": batch, "final_entries": records[-1]["entries"] if records else 0,
            "records": records}


# --------------------------------------------------------------------------- exports

EXPORTER = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from station.home import Home
from station.services.station import Station
from station.export.review_log import export_review_log
st = Station.open(Home(Path(sys.argv[2])))
out = Path(sys.argv[3])
fmt = out.suffix[1:]
while True:
    r = export_review_log(st.conn, out, fmt=fmt, date_from="2000-01-01", date_to="2100-01-01")
    print("exported", r.entries, flush=True)
"""


def check_export(path: Path, entries: int) -> str:
    """'absent' or 'complete'; raises when the file under the final name is partial."""
    if not path.exists():
        return "absent"
    head = f"校验值：entries={entries} "
    if path.suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig")
        assert text.rstrip().splitlines()[-1].startswith(head), "CSV under the final name is incomplete"
    else:
        from openpyxl import load_workbook
        wb = load_workbook(path, read_only=True)
        last = None
        for row in wb.active.iter_rows(values_only=True):
            if any(v is not None for v in row):
                last = row
        wb.close()
        assert last is not None and str(last[0]).startswith(head), "XLSX under the final name is incomplete"
    return "complete"


def export_kills(home: Path, kills: int, rnd: random.Random, log=print) -> dict:
    from station.register.db import connect
    from station.review.log import chain_head
    conn = connect(home / "station.db")
    entries, _ = chain_head(conn)
    conn.close()
    out_dir = home / "exports"
    out_dir.mkdir(exist_ok=True)
    records = []
    for k in range(kills):
        out = out_dir / ("核查台账.xlsx" if k // 2 % 2 == 0 else "核查台账.csv")
        mid_write = k % 2 == 1          # every other kill waits for the temporary file to appear
        mtime0 = out.stat().st_mtime_ns if out.exists() else None
        proc = subprocess.Popen([sys.executable, "-c", EXPORTER, str(ROOT), str(home), str(out)],
                                env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        before = {p.name for p in out_dir.iterdir()}
        overwrite = mid_write and k // 4 % 2 == 1
        if mid_write:
            # Wait for a temporary file to appear — for "overwrite" kills, one that follows a
            # complete export by this child: the file it replaces must survive the kill.
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                if overwrite and not (out.exists() and out.stat().st_mtime_ns != mtime0):
                    time.sleep(0.002)
                    continue
                if any(p.name.endswith(".part") and p.name not in before for p in out_dir.iterdir()):
                    break
                time.sleep(0.002)
        else:
            time.sleep(rnd.uniform(0.8, 4.0))
        writing = any(p.name.endswith(".part") and p.name not in before for p in out_dir.iterdir())
        proc.send_signal(signal.SIGKILL)
        stdout, _ = proc.communicate(timeout=30)
        done = sum(1 for l in stdout.splitlines() if l.startswith("exported"))
        state = check_export(out, entries)
        parts = sorted(p.name for p in out_dir.iterdir() if p.name.endswith(".part"))
        assert all(p.startswith(".") for p in parts)
        assert len(parts) <= 1, "temporary files of killed exports are not removed by the next export"
        records.append({"format": out.suffix[1:], "completed_before_kill": done, "final_name": state,
                        "killed_while_writing": writing, "overwriting": overwrite and writing,
                        "leftover_parts": len(parts)})
        what = ", while writing the file" + (" over a complete one" if overwrite else "") if writing else ""
        log(f"    kill {k + 1:2d} ({out.suffix[1:]}{what}): "
            f"{done} exports completed, final name {state}, {len(parts)} hidden .part file(s)")
    return {"kills": kills, "entries": entries, "records": records,
            "killed_while_writing": sum(r["killed_while_writing"] for r in records),
            "killed_while_overwriting": sum(r["overwriting"] for r in records)}


# --------------------------------------------------------------------------- main

def run(persons: int, kills: int, decision_kill_count: int, export_kill_count: int, seed: int,
        work: Path, kills_per_round: int = 10, log=print) -> dict:
    rnd = random.Random(seed)
    corpus = make_corpus(work / "corpus", persons, seed=2026)
    corpus_hashes = deliveries_under(corpus)
    total_bytes = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    log(f"corpus: {sum(corpus_hashes.values())} files, {total_bytes / 1e6:.1f} MB ({persons} persons)")

    empty = Path(tempfile.mkdtemp(prefix="empty-", dir=work))
    startup = min(run_ingest(empty) for _ in range(2))
    clean = fresh_home(work, corpus)
    clean_seconds = run_ingest(clean)
    reference = snapshot(clean)
    ev = sqlite3.connect(clean / "station.db").execute("SELECT seconds FROM evaluations").fetchone()[0]
    timing = {"startup": startup, "evaluation": ev, "files": max(0.1, clean_seconds - startup - ev)}
    log(f"uninterrupted ingest: {clean_seconds:.1f} s (start-up {startup:.1f} s, evaluation {ev:.1f} s); "
        f"{sum(len(v) for k, v in reference.items() if isinstance(v, list))} compared entries, "
        f"{len(reference['anomalies'])} anomalies")

    results = {"persons": persons, "files": sum(corpus_hashes.values()), "megabytes": round(total_bytes / 1e6, 1),
               "clean_seconds": round(clean_seconds, 2), "rounds": [], "kills": 0}
    started = time.perf_counter()
    while results["kills"] < kills:
        home = fresh_home(work, corpus)
        log(f"  round {len(results['rounds']) + 1}")
        records = kill_round(home, min(kills_per_round, kills - results["kills"]), rnd, corpus_hashes,
                             total_bytes, timing, log=log)
        got = snapshot(home)
        problems = diff(reference, got)
        assert not problems, "after kills the register differs from an uninterrupted run's: " + "; ".join(problems)
        t = time.perf_counter()
        proc = subprocess.run(ingest_cmd(home), env=child_env(), cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0 and "收件箱中没有待导入的文件" in proc.stdout and "比对完成" not in proc.stdout
        assert snapshot(home)["anomalies"] == reference["anomalies"]
        results["rounds"].append({"kills": records})
        results["kills"] += len(records)
        log(f"  round equal to the uninterrupted run ({len(records)} kills); a further run had nothing to do "
            f"({time.perf_counter() - t:.1f} s)")
        if not records:
            kills_per_round = max(kills_per_round, 2)
        shutil.rmtree(home)
    phases = collections.Counter(r["phase"] for rd in results["rounds"] for r in rd["kills"])
    results["phases"] = dict(phases)
    results["ingest_seconds"] = round(time.perf_counter() - started, 1)
    log(f"ingest: {results['kills']} kills survived in {len(results['rounds'])} rounds: "
        + ", ".join(f"{k} {v}" for k, v in phases.most_common()))

    if decision_kill_count:
        log("decisions:")
        results["decisions"] = decision_kills(clean, decision_kill_count, rnd, log=log)
    if export_kill_count:
        log("exports:")
        results["exports"] = export_kills(clean, export_kill_count, rnd, log=log)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--persons", type=int, default=60000)
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--kills-per-round", type=int, default=10)
    ap.add_argument("--decision-kills", type=int, default=20)
    ap.add_argument("--export-kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path)
    ap.add_argument("--json", type=Path, help="write the results here")
    a = ap.parse_args(argv)
    work = a.work or Path(tempfile.mkdtemp(prefix="station-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    results = run(a.persons, a.kills, a.decision_kills, a.export_kills, a.seed, work, a.kills_per_round)
    results["seconds"] = round(time.perf_counter() - t, 1)
    print(f"done in {results['seconds']} s")
    if a.json:
        a.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
