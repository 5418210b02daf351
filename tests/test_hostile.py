"""Hostile and broken input through the whole pipeline.

Reader-level properties (random bytes, random text, damaged Excel fixtures, CSV round
trip) are in tests/test_formats.py; here every case goes through read → recognise → map
and normalise → apply → move, and must end applied, duplicate or rejected with a reason:
never an exception, never a hang. ``bench/fuzz.py`` runs the same cases by the ten
thousand (docs/RELIABILITY.md has its last results); the small profile below runs it in
child processes, as the bench does.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import write_zip_bomb

from station.formats import CellTooLong
from station.home import Home
from station.inbox.pipeline import Pipeline
from station.kinds.mapping import RowRejected, RowSkipped, row_mapper
from station.kinds.recognise import recognise
from station.kinds.spec import DEPARTMENTS, KINDS
from station.normalise import NORMALISERS, FieldError
from station.services.station import Station

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench import fuzz  # noqa: E402

PROPERTY = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CASE_SECONDS = 5


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("hostile") / "home").ensure()
    station = Station.open(home)
    yield home, Pipeline(home, station.cfg, station.conn)
    station.close()


_counter = iter(range(10**9))


def through_pipeline(pipe, dept: str, name: str, data: bytes):
    home, pipeline = pipe
    folder = home.inbox / dept if dept else home.inbox
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{next(_counter):07d}_{name}"
    path.write_bytes(data)
    t = time.perf_counter()
    r = pipeline.process(path)                   # any exception fails the test
    assert time.perf_counter() - t < CASE_SECONDS
    assert r.status in ("applied", "duplicate", "rejected", "held")
    if r.status == "rejected":
        assert r.reason and r.delivery_id is not None
        stored = home.root / r.stored_path
        assert stored.parent == home.rejected
        assert Path(f"{stored}.reason.txt").read_bytes().decode("utf-8").count(r.reason) == 1
    elif r.status == "held":          # waits for a clerk to confirm its kind and columns
        assert r.reason and "待确认" in r.reason and r.delivery_id is not None
        assert home.held in (home.root / r.stored_path).parents
    else:
        assert (home.root / r.stored_path).parent.parent == home.processed
    assert not path.exists() and (home.root / r.stored_path).read_bytes() == data
    return r


# ------------------------------------------------------------------ the whole pipeline

@PROPERTY
@given(data=st.binary(max_size=3000), prefix=st.sampled_from(fuzz.MAGIC),
       ext=st.sampled_from(fuzz.EXTENSIONS), dept=st.sampled_from(fuzz.DEPARTMENTS))
def test_random_bytes_through_the_pipeline(pipe, data, prefix, ext, dept):
    through_pipeline(pipe, dept, "r" + ext, prefix + data)


@PROPERTY
@given(index=st.integers(0, 10**7))
def test_mutated_deliveries_through_the_pipeline(pipe, index):
    """Mutated CSV / XLSX / XLS / JSON sample deliveries (bench/fuzz.py's cases)."""
    dept, name, data, _ = fuzz.make_case(0, index)
    through_pipeline(pipe, dept, name, data)


cell_values = st.one_of(
    st.none(), st.text(max_size=40), st.sampled_from(fuzz.ODD_TEXT), st.booleans(),
    st.integers(min_value=-2**70, max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.dates(), st.datetimes(), st.builds(CellTooLong, st.integers(10_001, 10**8)))


@PROPERTY
@given(kind=st.sampled_from(sorted(KINDS)), rows=st.lists(st.lists(cell_values, max_size=12), max_size=6),
       encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_random_rows_of_every_kind_through_the_pipeline(pipe, kind, rows, encoding):
    """A correct header of each kind, then random cells: the file applies, each row is
    stored or rejected with a reason."""
    spec = KINDS[kind]
    header = [f.header for f in spec.fields]
    text = json.dumps([dict(zip(header, [_jsonable(c) for c in r])) for r in rows] or [{header[0]: ""}],
                      ensure_ascii=False)
    r = through_pipeline(pipe, spec.department, f"{spec.title}.json", text.encode(encoding))
    assert r.status in ("applied", "duplicate", "rejected", "held")   # held: columns missing


def _jsonable(c):
    if isinstance(c, (dt.date, dt.datetime)):
        return c.isoformat()
    if isinstance(c, CellTooLong):
        return "长" * 10_001
    if isinstance(c, float) and not math.isfinite(c):
        return str(c)
    return c


# ------------------------------------------------------------------ normalisers and mapping

@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(sorted(NORMALISERS)), value=cell_values)
def test_every_normaliser_returns_or_gives_a_reason(kind, value):
    try:
        NORMALISERS[kind](value)
    except FieldError as e:
        assert e.reason


@functools.lru_cache(maxsize=None)
def _mapper(kind: str):
    from station.config import load_config
    spec = KINDS[kind]
    header = [f.header for f in spec.fields]
    rec = recognise([(1, header)], load_config(None), department=spec.department,
                    file_name=f"{spec.title}.csv")
    return row_mapper(rec)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(KINDS)), cells=st.lists(cell_values, max_size=14))
def test_every_kinds_row_mapper_maps_skips_or_rejects(kind, cells):
    mapper = _mapper(kind)
    try:
        row = mapper(cells)
    except (RowRejected, RowSkipped) as e:
        assert str(e)
    else:
        assert isinstance(row, list) and isinstance(row[0], str)     # the natural key


def test_fuzz_small_profile_in_child_processes():
    """bench/fuzz.py's own machinery (child processes, memory limit, crash detection)."""
    out = fuzz.run(cases=160, seed=11, workers=2, batch=80, log=lambda *_: None)
    assert out["failures"] == []
    assert sum(out["statuses"].values()) == 160
    assert out["statuses"]["applied"] and out["statuses"]["rejected"]


# ------------------------------------------------------------------ the named corpus

def _billion_laughs_xlsx(p: Path) -> None:
    dtd = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "' + "&lol;" * 10 + '">'
           + "".join(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(2, 10)) + "]>")
    _raw_xlsx(p, '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=dtd)


def _raw_xlsx(p: Path, sheet_rows: str, prolog: str = "") -> None:
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'content-types"><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
                   'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
                   'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                   'Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.'
                   'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                   '2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets>'
                   '</workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://'
                   'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                   'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                   'Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", f'<?xml version="1.0"?>{prolog}<worksheet xmlns="http://'
                   'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                   f'{sheet_rows}</sheetData></worksheet>')


GOOD_DEATHS = ("公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
               "110101199003074518,甲某,男,2026-01-02,2026-01-05,死亡\n")


def build_corpus(inbox: Path) -> dict[str, str]:
    """The named hostile files (in inbox/public_security); returns name -> what must happen."""
    d = inbox / "public_security"
    d.mkdir(parents=True, exist_ok=True)
    expect = {}
    write_zip_bomb(d / "zip_bomb.xlsx")
    expect["zip_bomb.xlsx"] = "rejected:解压后过大"
    _billion_laughs_xlsx(d / "entities.xlsx")
    expect["entities.xlsx"] = "rejected:Excel 文件已损坏"
    (d / "wide.csv").write_text(",".join(f"列{i}" for i in range(20_000)) + "\n" + "1," * 19_999 + "1\n",
                                encoding="utf-8")
    expect["wide.csv"] = "rejected:表头列数过多"
    with open(d / "long_cell.csv", "w", encoding="utf-8") as f:
        f.write(GOOD_DEATHS + "110101199003074526,乙某,女,2026-01-03,2026-01-06,")
        for _ in range(100):
            f.write("死" * 100_000)                     # a 10-million-character cell
        f.write("\n")
    expect["long_cell.csv"] = "applied-row-rejected:内容过长"
    (d / "nul.csv").write_bytes(GOOD_DEATHS.encode() + b"110101199003074526,\x00\x00,\x00\n")
    expect["nul.csv"] = "rejected:文件不是可读取的表格"
    (d / "junk.csv").write_bytes(bytes((i * 7919 + 13) % 256 for i in range(50_000)))
    expect["junk.csv"] = "rejected:文件不是可读取的表格"
    with open(d / "huge.csv", "wb") as f:              # sparse: 2 GB on paper, nothing on disk
        f.truncate(2 << 30)
    expect["huge.csv"] = "rejected:超过上限"
    _raw_xlsx(d / "far_cells.xlsx", '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>'
              '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    expect["far_cells.xlsx"] = "rejected:数据区域过大"
    (d / "deep.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    expect["deep.json"] = "rejected:JSON 文件格式不正确"
    # Odd names: applied, stored under a sanitised name inside processed/.
    for name in ("名单..\\..\\..\\escape.csv", "名单..csv", "a\rb.csv", "invoice\u202excs.csv",
                 "\x1b[31mred.csv", "名单\u200f\u2066.csv", "  .csv"):
        (d / name).write_text(GOOD_DEATHS.replace("甲某", f"丙{len(expect)}"), encoding="utf-8")
        expect[name] = "applied"
    # Names starting with a dot are hidden files (editors' locks and temp files): never
    # read, never moved — whatever follows the dot.
    for name in ("..\\..\\..\\escape.csv", "..csv"):
        (d / name).write_text(GOOD_DEATHS, encoding="utf-8")
    return expect


CORPUS_CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from station.home import Home
from station.services.station import Station
st = Station.open(Home(Path(sys.argv[2])))
out = []
for r in st.ingest(evaluate=True).results:
    out.append({"name": r.name, "status": r.status, "reason": r.reason, "stored": r.stored_path,
                "rows_applied": r.rows_applied, "rows_rejected": r.rows_rejected, "id": r.delivery_id})
rows = st.conn.execute("SELECT delivery_id, reason FROM rejected_rows").fetchall()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(json.dumps({"results": out, "rejected_rows": rows, "vm_hwm_mb": int(hwm) / 1024}, ensure_ascii=False))
"""


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_named_hostile_corpus(tmp_path):
    home = Home(tmp_path / "home").ensure()
    expect = build_corpus(home.inbox)
    passwd_mode = os.stat("/etc/passwd").st_mode
    os.symlink("/etc/passwd", home.inbox / "public_security" / "passwd.csv")
    os.mkfifo(home.inbox / "public_security" / "pipe.csv")
    before_outside = tree(tmp_path) - {str(p.relative_to(tmp_path)) for p in home.root.rglob("*")}
    before_home = tree(home.root)

    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CORPUS_CHILD, str(ROOT), str(home.root)],
                          capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - t
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert out["vm_hwm_mb"] < 512, f"peak memory {out['vm_hwm_mb']:.0f} MB"
    assert seconds < 120

    by_name = {r["name"]: r for r in out["results"]}
    assert set(by_name) == set(expect), "symlinks, pipes and hidden files are never taken"
    for name, what in expect.items():
        r = by_name[name]
        status, _, words = what.partition(":")
        if status == "rejected":
            assert r["status"] == "rejected" and words in r["reason"], (name, r)
            assert r["stored"].startswith("inbox/rejected/")
        elif status == "applied-row-rejected":
            assert r["status"] == "applied" and r["rows_applied"] == 1 and r["rows_rejected"] == 1, (name, r)
            assert any(d == r["id"] and words in why for d, why in out["rejected_rows"])
        else:
            assert r["status"] == "applied", (name, r)
        stored = Path(r["stored"])
        assert stored.parts[:2] in (("inbox", "processed"), ("inbox", "rejected"))
        assert ".." not in stored.parts and "\\" not in stored.name and "\r" not in stored.name
        assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 or c in "\u200e\u200f\x1b"
                       for c in stored.name), stored.name
        assert (home.root / stored).is_file()

    # Nothing was written outside the home, and inside it only the processed and rejected
    # folders, the database and the log changed; the link and the pipe were left alone.
    assert tree(tmp_path) - {str(p.relative_to(tmp_path)) for p in home.root.rglob("*")} == before_outside
    new = tree(home.root) - before_home
    assert all(n.startswith(("inbox/processed", "inbox/rejected", "station.db", "station.log")) for n in new), new
    assert (home.inbox / "public_security" / "..\\..\\..\\escape.csv").is_file()
    assert (home.inbox / "public_security" / "passwd.csv").is_symlink()
    assert (home.inbox / "public_security" / "pipe.csv").exists()
    assert os.stat("/etc/passwd").st_mode == passwd_mode


def test_a_link_or_pipe_named_on_the_command_line_is_refused_not_followed(station, tmp_path):
    link = station.home.inbox / "agency" / "x.csv"
    os.symlink("/etc/passwd", link)
    fifo = station.home.inbox / "agency" / "p.csv"
    os.mkfifo(fifo)
    for p in (link, fifo):
        [r] = station.ingest([p], evaluate=False).results
        assert r.status == "rejected" and "不是普通文件" in r.reason and r.delivery_id is None
    assert link.is_symlink() and fifo.exists()


def test_cli_shows_hostile_names_without_control_characters(tmp_path):
    home = Home(tmp_path / "home").ensure()
    (home.inbox / "public_security" / "\x1b]0;pwned\x07\x1b[2J\u202egnp.csv").write_text(GOOD_DEATHS, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "station", "--home", str(home.root), "ingest", "--no-evaluate"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "已导入" in proc.stdout
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\u202e" not in proc.stdout
