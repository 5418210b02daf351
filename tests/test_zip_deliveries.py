"""Zip deliveries: every file in a zip is a delivery of its own, the zip is kept once,
the same zip twice applies nothing twice, and a zip that cannot be opened is held."""
from __future__ import annotations

import io
import zipfile

from station.cli import main
from station.services import mapping

ID_A = "110101195601011235"
ID_B = "110101196001011239"
DEATHS = f"公民身份号码,姓名,注销日期,注销原因\n{ID_A},张三,2026-03-15,死亡\n".encode("utf-8")
ROSTER = f"公民身份号码,姓名,参保状态\n{ID_A},张三,退休\n{ID_B},李四,参保缴费\n".encode("utf-8")
UNCLEAR = f"公民身份号码,姓名,办理时间,注销原因\n{ID_B},李四,2026-04-01,迁出\n".encode("utf-8")


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def drop(station, rel: str, data: bytes):
    path = station.home.inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ledger(station):
    return station.conn.execute(
        "SELECT d.id, d.status, d.kind, d.department, d.original_name, d.member, c.original_name, d.stored_path"
        " FROM deliveries AS d LEFT JOIN deliveries AS c ON c.id = d.container_id ORDER BY d.id").fetchall()


def test_each_member_is_a_delivery_naming_the_zip(station):
    data = make_zip({"public_security/死亡.csv": DEATHS, "名单/参保人员.csv": ROSTER, "说明/": b""})
    drop(station, "agency/十月报送.zip", data)
    report = station.ingest(evaluate=False)
    assert [r.status for r in report.results] == ["unpacked", "applied", "applied"]
    assert report.results[1].name == "十月报送.zip › public_security/死亡.csv"
    rows = ledger(station)
    zip_row = rows[0]
    assert zip_row[1:3] == ("unpacked", None) and zip_row[4] == "十月报送.zip"
    deaths, roster = rows[1], rows[2]
    # The folder inside the zip is a hint like the inbox folder: a 公安 list, though the zip
    # was dropped in agency/.
    assert deaths[1:7] == ("applied", "household_deaths", "public_security", "死亡.csv",
                           "public_security/死亡.csv", "十月报送.zip")
    assert roster[1:7] == ("applied", "persons", "agency", "参保人员.csv", "名单/参保人员.csv", "十月报送.zip")
    assert deaths[7] == roster[7] == zip_row[7]                     # the zip is the kept original
    kept = list(station.home.processed.rglob("*"))
    assert [p.name for p in kept if p.is_file()] == ["十月报送.zip"]
    assert (station.home.root / zip_row[7]).read_bytes() == data
    assert station.conn.execute("SELECT count(*) FROM persons").fetchone()[0] == 2
    assert not list(station.home.root.glob(".member-*"))          # private copies removed


def test_the_same_zip_twice_applies_nothing_twice(station, capsys):
    data = make_zip({"public_security/死亡.csv": DEATHS, "agency/参保人员.csv": ROSTER})
    drop(station, "a.zip", data)
    station.ingest(evaluate=False)
    drop(station, "a (copy).zip", data)
    [r] = station.ingest(evaluate=False).results
    assert r.status == "duplicate"
    # A new zip with one file seen before and one new: the old one is a duplicate.
    drop(station, "b.zip", make_zip({"agency/参保人员.csv": ROSTER, "public_security/补充.csv": DEATHS + "".join(
        f"{ID_B},李四,2026-04-01,迁出\n" for _ in range(1)).encode("utf-8")}))
    code = main(["--home", str(station.home.root), "ingest", "--no-evaluate"])
    out = capsys.readouterr().out
    assert code == 0
    assert "[压缩包] b.zip" in out and "[重复] b.zip › agency/参保人员.csv" in out
    assert "[已导入] b.zip › public_security/补充.csv  户籍注销人员  导入 2 行" in out
    applied = station.conn.execute("SELECT count(*) FROM deliveries WHERE status = 'applied'").fetchone()[0]
    assert applied == 3
    assert station.conn.execute("SELECT count(*) FROM household_deaths").fetchone()[0] == 2


def test_a_member_that_is_not_clear_waits_and_can_be_mapped(station, capsys):
    drop(station, "public_security/z.zip", make_zip({"死亡名单.csv": UNCLEAR, "户籍.csv": DEATHS}))
    results = station.ingest(evaluate=False).results
    assert [r.status for r in results] == ["unpacked", "held", "applied"]
    [p] = mapping.pending(station)
    assert (p.container, p.member, p.name) == ("z.zip", "死亡名单.csv", "死亡名单.csv")
    assert (station.home.root / p.stored_path).read_bytes() == UNCLEAR     # byte for byte
    code = main(["--home", str(station.home.root), "pending"])
    assert code == 0 and "z.zip › 死亡名单.csv" in capsys.readouterr().out
    done = mapping.confirm(station, p, columns={"办理时间": "注销日期"}, evaluate=False)
    assert done.result.status == "applied"
    container, member = station.conn.execute("SELECT c.original_name, d.member FROM deliveries AS d"
                                             " JOIN deliveries AS c ON c.id = d.container_id"
                                             " WHERE d.id = ?", (done.result.delivery_id,)).fetchone()
    assert (container, member) == ("z.zip", "死亡名单.csv")


def encrypted(data: bytes) -> bytes:
    """The zip with every entry marked encrypted (Python cannot write real ones)."""
    b = bytearray(data)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = b.find(sig)
        while i >= 0:
            b[i + offset] |= 0x01
            i = b.find(sig, i + 4)
    return bytes(b)


def test_an_encrypted_zip_is_held_with_a_message(station, capsys):
    data = encrypted(make_zip({"agency/参保人员.csv": ROSTER}))
    drop(station, "agency/加密.zip", data)
    [r] = station.ingest(evaluate=False).results
    assert r.status == "held" and "密码" in r.reason and "不加密" in r.reason
    kept = station.home.root / r.stored_path
    assert station.home.held in kept.parents and kept.read_bytes() == data
    assert station.conn.execute("SELECT count(*) FROM persons").fetchone()[0] == 0
    code = main(["--home", str(station.home.root), "map", "加密.zip"])
    assert code == 2 and "压缩包" in capsys.readouterr().err


def test_a_broken_zip_is_held_with_a_message(station):
    data = make_zip({"agency/参保人员.csv": ROSTER * 50})
    drop(station, "agency/坏.zip", data[: len(data) // 2])
    [r] = station.ingest(evaluate=False).results
    assert r.status == "held" and "损坏" in r.reason


def test_a_zip_bomb_is_held(station):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("agency/大.csv", "w") as f:
            block = b"0" * (1 << 20)
            for _ in range(110):
                f.write(block)
    drop(station, "bomb.zip", buf.getvalue())
    [r] = station.ingest(evaluate=False).results
    assert r.status == "held" and "过大" in r.reason


def test_gbk_member_names_are_read_as_written(station):
    data = make_zip({"abcd.csv": ROSTER})
    data = data.replace(b"abcd.csv", "名单.csv".encode("gbk"))     # as Chinese Windows writes it
    drop(station, "agency/gbk.zip", data)
    results = station.ingest(evaluate=False).results
    assert [r.status for r in results] == ["unpacked", "applied"]
    assert results[1].name == "gbk.zip › 名单.csv"


def test_a_zip_inside_a_zip_is_refused_with_its_reason(station):
    inner = make_zip({"agency/参保人员.csv": ROSTER})
    drop(station, "outer.zip", make_zip({"inner.zip": inner, "public_security/死亡.csv": DEATHS}))
    results = station.ingest(evaluate=False).results
    by_name = {r.name: r for r in results}
    assert by_name["outer.zip › inner.zip"].status == "rejected"
    assert "压缩包中又包含压缩包" in by_name["outer.zip › inner.zip"].reason
    assert by_name["outer.zip › public_security/死亡.csv"].status == "applied"


def test_a_workbook_is_still_a_workbook(station):
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(["公民身份号码", "姓名", "参保状态"])
    wb.active.append([ID_A, "张三", "退休"])
    path = station.home.inbox / "agency" / "名单.xlsx"
    wb.save(path)
    [r] = station.ingest(evaluate=False).results
    assert (r.status, r.kind) == ("applied", "persons")


def test_a_run_cut_short_resumes_the_zip_without_applying_twice(station, monkeypatch):
    from station.inbox.pipeline import Pipeline
    data = make_zip({"public_security/死亡.csv": DEATHS, "agency/参保人员.csv": ROSTER})
    drop(station, "a.zip", data)
    real = Pipeline._move

    def killed(self, src, dest):
        if src.name == "a.zip":
            raise OSError(5, "simulated crash before the zip was kept")
        return real(self, src, dest)
    monkeypatch.setattr(Pipeline, "_move", killed)
    try:
        station.ingest(evaluate=False)
    except Exception:
        pass
    monkeypatch.setattr(Pipeline, "_move", real)
    results = station.ingest(evaluate=False).results
    assert [r.status for r in results] == ["unpacked"]            # members done before: not again
    assert station.conn.execute("SELECT count(*) FROM deliveries WHERE status = 'applied'").fetchone()[0] == 2
    assert station.conn.execute("SELECT count(*) FROM deliveries WHERE status = 'unpacked'").fetchone()[0] == 1
    assert [p.name for p in station.home.processed.rglob("*.zip")] == ["a.zip"]


def test_a_held_zip_can_be_refused_with_a_reason(station, capsys):
    data = encrypted(make_zip({"agency/参保人员.csv": ROSTER}))
    drop(station, "agency/加密.zip", data)
    station.ingest(evaluate=False)
    code = main(["--home", str(station.home.root), "map", "加密.zip", "--reject", ""])
    assert code == 2 and "请写明拒收原因" in capsys.readouterr().err
    code = main(["--home", str(station.home.root), "map", "加密.zip", "--reject", "已请对方发送不加密的压缩包"])
    assert code == 0 and "已拒收" in capsys.readouterr().out
    assert mapping.pending(station) == []
    [kept] = [p for p in station.home.rejected.iterdir() if p.suffix == ".zip"]
    assert kept.read_bytes() == data
    assert "已请对方发送不加密的压缩包" in kept.with_name(kept.name + ".reason.txt").read_text(encoding="utf-8")
    status, reason = station.conn.execute("SELECT status, reason FROM deliveries").fetchone()
    assert status == "rejected" and reason.startswith("经办人拒收：已请对方发送不加密的压缩包")
