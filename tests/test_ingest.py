"""From a file in the inbox to rows in the register: recognition, normalisation, the
ledger, duplicates, rejections, and where the originals end up."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from conftest import SAMPLE_INBOX, copy_samples

SAMPLE_KINDS = {
    "agency/参保人员信息_202610.csv": ("persons", 601),
    "agency/参保单位.csv": ("units", 20),
    "agency/城乡居民医保参保.csv": ("resident_medical", 16),
    "agency/待遇发放_202601.csv": ("payments", 211),
    "agency/残疾人参保补助.csv": ("subsidies", 10),
    "archive/档案扫描索引.csv": ("scan_index", 38),
    "civil_affairs/火化信息.csv": ("cremations", 11),
    "disability/残疾人变动信息.csv": ("disability_changes", 22),
    "education/2026级新生名册.csv": ("new_students", 12),
    "industry_commerce/企业登记信息.csv": ("enterprises", 11),
    "public_security/户籍注销人员_1.csv": ("household_deaths", 8),
    "agency/社保费核定_2026.csv": ("contributions_due", 530),
    "agency/养老金调整补发_2026.csv": ("payments", 6),
    "tax/社保费征收明细_2026.csv": ("tax_collections", 542),
    "finance/财政专户入账_2026.csv": ("fund_account_entries", 51),
    "bank/银行代发回盘_202609.csv": ("bank_returns", 212),
}


def count(station, table):
    return station.conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]


def test_all_samples_apply_with_no_rejected_rows(station):
    copy_samples(station.home)
    report = station.ingest(evaluate=False)
    assert len(report.results) == 28
    assert all(r.status == "applied" for r in report.results), [(r.name, r.reason) for r in report.results]
    assert sum(r.rows_rejected for r in report.results) == 0
    counts = {t: count(station, t) for t in ("persons", "units", "payments", "subsidies",
                                             "resident_medical", "household_deaths", "cremations",
                                             "enterprises", "new_students", "disability_changes",
                                             "scan_index", "contributions_due", "tax_collections",
                                             "fund_account_entries", "bank_returns")}
    assert counts == {"persons": 601, "units": 20, "payments": 2113, "subsidies": 10,
                      "resident_medical": 16, "household_deaths": 16, "cremations": 11,
                      "enterprises": 11, "new_students": 12, "disability_changes": 22,
                      "scan_index": 38, "contributions_due": 530, "tax_collections": 542,
                      "fund_account_entries": 51, "bank_returns": 626}
    # originals are moved, byte for byte, to processed/YYYY-MM/
    assert not any(p.is_file() and p.name != "README.md" and p.name != ".gitkeep"
                   for p in station.home.inbox.rglob("*")
                   if station.home.processed not in p.parents)
    for r in report.results:
        stored = station.home.root / r.stored_path
        original = next(SAMPLE_INBOX.rglob(r.name))
        assert stored.read_bytes() == original.read_bytes()


@pytest.mark.parametrize("rel, expected", SAMPLE_KINDS.items())
def test_each_kind_is_recognised(station, rel, expected):
    kind, rows = expected
    src = SAMPLE_INBOX / rel
    dest = station.home.inbox / src.name          # no department folder: headers alone decide
    shutil.copyfile(src, dest)
    [result] = station.ingest(evaluate=False).results
    assert (result.status, result.kind, result.rows_applied) == ("applied", kind, rows)


def test_ledger_records_the_delivery(station):
    copy_samples(station.home, "参保单位")
    station.ingest(evaluate=False)
    row = station.conn.execute(
        "SELECT original_name, sha256, kind, department, status, rows_applied, rows_rejected,"
        " received_at FROM deliveries").fetchone()
    digest = hashlib.sha256((SAMPLE_INBOX / "agency/参保单位.csv").read_bytes()).hexdigest()
    assert row[:7] == ("参保单位.csv", digest, "units", "agency", "applied", 20, 0)
    assert row[7]


def test_same_bytes_under_a_new_name_is_a_duplicate(station):
    src = SAMPLE_INBOX / "agency/参保单位.csv"
    shutil.copyfile(src, station.home.inbox / "agency" / "units.csv")
    first = station.ingest(evaluate=False).results[0]
    shutil.copyfile(src, station.home.inbox / "agency" / "单位_再次报送.csv")
    second = station.ingest(evaluate=False).results[0]
    assert first.status == "applied" and second.status == "duplicate"
    assert second.duplicate_of == first.delivery_id
    assert count(station, "units") == 20
    assert (station.home.root / second.stored_path).read_bytes() == src.read_bytes()


def test_same_name_twice_never_overwrites(station):
    src = SAMPLE_INBOX / "agency/参保单位.csv"
    shutil.copyfile(src, station.home.inbox / "units.csv")
    station.ingest(evaluate=False)
    (station.home.inbox / "units.csv").write_bytes(src.read_bytes().replace(b"U0000001", b"U0000099"))
    station.ingest(evaluate=False)
    stored = sorted(p.name for p in station.home.processed.rglob("*.csv"))
    assert stored == ["units (2).csv", "units.csv"]


def test_reapplying_updates_by_natural_key(station):
    src = SAMPLE_INBOX / "agency/参保单位.csv"
    text = src.read_text(encoding="utf-8")
    (station.home.inbox / "a.csv").write_text(text, encoding="utf-8")
    station.ingest(evaluate=False)
    changed = text.replace("网新恒天传媒有限公司,2002-02-08,正常", "网新恒天传媒有限公司,2002-02-08,注销")
    (station.home.inbox / "b.csv").write_text(changed, encoding="utf-8")
    station.ingest(evaluate=False)
    assert count(station, "units") == 20
    status = station.conn.execute("SELECT unit_status FROM units WHERE unit_no='U0000001'").fetchone()[0]
    assert status == "注销"


def test_unknown_file_waits_for_confirmation_with_headers_and_nearest_kind(station):
    data = "公民身份号码,姓名,爱好\n440303196712219567,崔杨,钓鱼\n".encode("utf-8")
    (station.home.inbox / "agency" / "mystery.csv").write_bytes(data)
    [r] = station.ingest(evaluate=False).results
    assert r.status == "held"
    assert "爱好" in r.reason and "最接近" in r.reason and "缺少" in r.reason and "待确认" in r.reason
    kept = station.home.root / r.stored_path
    assert kept.parent == station.home.held / "agency" and kept.read_bytes() == data
    assert count(station, "persons") == 0
    assert station.ingest(evaluate=False).results == []      # never taken again


def test_a_file_without_a_header_like_row_is_rejected(station):
    (station.home.inbox / "agency" / "numbers.csv").write_text("123\n456\n789\n", encoding="utf-8")
    [r] = station.ingest(evaluate=False).results
    assert r.status == "rejected" and "无法识别" in r.reason
    moved = station.home.root / r.stored_path
    assert moved.parent == station.home.rejected and moved.exists()
    reason_file = moved.with_name(moved.name + ".reason.txt")
    assert "无法识别" in reason_file.read_text(encoding="utf-8")


def test_empty_file_is_rejected(station):
    (station.home.inbox / "empty.csv").write_bytes(b"")
    [r] = station.ingest(evaluate=False).results
    assert r.status == "rejected" and "空" in r.reason


def test_corrupt_xlsx_is_rejected(station):
    good = station.home.root / "good.xlsx"
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.append(["单位编号", "统一社会信用代码", "单位名称"])
    wb.active.append(["U1", "91440300MA5G00000R", "测试公司"])
    wb.save(good)
    (station.home.inbox / "broken.xlsx").write_bytes(good.read_bytes()[:300])
    [r] = station.ingest(evaluate=False).results
    assert r.status == "rejected" and "Excel" in r.reason
    assert (station.home.rejected / "broken.xlsx").exists()


def test_bad_rows_are_reported_and_the_rest_applied(station):
    (station.home.inbox / "persons.csv").write_text(
        "公民身份号码,姓名,参保状态\n"
        "440303196712219567,崔杨,参保缴费\n"
        ",无证号,参保缴费\n"
        "4.2010519800101E+17,被转换,退休\n"
        "440303193205073336,杨文,退休\n", encoding="utf-8")
    [r] = station.ingest(evaluate=False).results
    assert (r.status, r.rows_applied, r.rows_rejected) == ("applied", 2, 2)
    bad = station.conn.execute("SELECT row_no, reason, raw FROM rejected_rows ORDER BY row_no").fetchall()
    assert [b[0] for b in bad] == [3, 4]
    assert "公民身份号码" in bad[0][1]
    assert "Excel" in bad[1][1]
    assert json.loads(bad[1][2])[1] == "被转换"


def test_gbk_file_with_title_line_aliases_and_totals(station):
    text = ("2026年10月死亡人员名单\n"
            "身份证号,死者姓名,性别,死亡时间,户籍注销日期,销户原因\n"
            "440303196305245442 ,孔英,女,2026/2/10,2026年2月28日,死亡\n"
            "44030319401225643x,黄㛃,男,20260113,2026.01.17,死亡\n"
            "合计,2人,,,,\n")
    (station.home.inbox / "public_security" / "death.csv").write_bytes(text.encode("gb18030"))
    [r] = station.ingest(evaluate=False).results
    assert (r.status, r.kind, r.rows_applied, r.rows_rejected, r.rows_skipped) == \
        ("applied", "household_deaths", 2, 0, 1)
    rows = station.conn.execute(
        "SELECT id_number, name, death_date, cancel_date, row_no FROM household_deaths ORDER BY row_no").fetchall()
    assert rows == [("440303196305245442", "孔英", "2026-02-10", "2026-02-28", 3),
                    ("44030319401225643X", "黄㛃", "2026-01-13", "2026-01-17", 4)]


def test_xls_delivery(station):
    xlwt = pytest.importorskip("xlwt")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sheet1")
    for c, h in enumerate(["统一社会信用代码", "企业名称", "法人代表", "登记业务类型", "核准时间", "注册地址"]):
        ws.write(0, c, h)
    ws.write(1, 0, "91440300ma5g00000r")
    ws.write(1, 1, "测试科技有限公司")
    ws.write(1, 2, "王五")
    ws.write(1, 3, "设立")
    ws.write(1, 4, 46000.0)          # an Excel date serial: 2025-12-09
    ws.write(1, 5, "城关镇")
    wb.save(str(station.home.inbox / "industry_commerce" / "企业登记.xls"))
    [r] = station.ingest(evaluate=False).results
    assert (r.status, r.kind, r.rows_applied) == ("applied", "enterprises", 1)
    row = station.conn.execute("SELECT credit_code, approval_date, legal_rep FROM enterprises").fetchone()
    assert row == ("91440300MA5G00000R", "2025-12-09", "王五")


def test_death_lists_are_told_apart_by_folder(station):
    # Headers that fit both death-record kinds: the department folder decides.
    text = "公民身份号码,姓名,死亡日期,注销日期,注销原因\n440303196305245442,孔英,2026-02-10,2026-02-28,死亡\n"
    (station.home.inbox / "civil_affairs" / "x.csv").write_text(
        "公民身份号码,姓名,出生日期,死亡日期\n440303196305245442,孔英,1963-05-24,2026-02-10\n", encoding="utf-8")
    (station.home.inbox / "public_security" / "y.csv").write_text(text, encoding="utf-8")
    kinds = {r.name: r.kind for r in station.ingest(evaluate=False).results}
    assert kinds == {"x.csv": "cremations", "y.csv": "household_deaths"}


def test_ignored_and_processed_files_are_never_read(station):
    copy_samples(station.home, "参保单位")
    for name in ("~$参保单位.xlsx", "copy.tmp", "big.part", "x.crdownload", ".~lock.a.csv#", "Thumbs.db"):
        (station.home.inbox / name).write_bytes(b"junk")
    station.ingest(evaluate=False)
    assert station.pending_files() == []
    again = station.ingest(evaluate=False)
    assert again.results == []


def test_an_unexpected_reader_error_rejects_the_file_instead_of_looping(station, monkeypatch):
    from station.kinds import mapping

    def broken(rec):
        def mapper(cells):
            raise ZeroDivisionError("bug")
        return mapper
    monkeypatch.setattr("station.inbox.pipeline.row_mapper", broken)
    copy_samples(station.home, "参保单位")
    [r] = station.ingest(evaluate=False).results
    assert r.status == "rejected" and "ZeroDivisionError" in r.reason
    assert count(station, "units") == 0 and count(station, "deliveries") == 1
    assert station.pending_files() == []
