"""`station export review-log`: masking, inert cells, encodings, atomic owner-only files."""
from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from station.cli import main
from station.export import files as export_files
from station.export.files import ExportError
from station.export.review_log import export_review_log
from station.register.db import connect
from station.review.log import chain_head, decide
from test_review_helpers import add_anomaly, make_cfg, make_home, set_clock

ID_1 = "420105198001011234"
ID_2 = "42010519900202567X"
CREDIT = "91420105MA4K0001XY"
FORMULA = "=cmd|' /C calc'!A0"
UNMASKED_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")


@pytest.fixture
def home(tmp_path):
    return make_home(tmp_path)


@pytest.fixture
def conn(home, monkeypatch):
    c = connect(home.db_path)
    cfg = make_cfg()
    a = add_anomaly(c, rule="DEATH_PAID", subject=ID_1, name="张三", amount=36166.2)
    b = add_anomaly(c, rule="INVALID_ID", subject=ID_2, name="李四", department="agency")
    e = add_anomaly(c, rule="ENTERPRISE_UNREGISTERED", subject=CREDIT, name="某某商贸有限公司",
                    department="industry_commerce")
    steps = [
        ("2026-10-05T09:00:00", a, "take", None, None),
        ("2026-10-06T10:00:00", a, "confirm", FORMULA, None),
        ("2026-10-07T11:00:00", b, "note", f"与 {ID_1} 为同一人，身份证号 {ID_2} 录错", None),
        ("2026-10-08T12:00:00", a, "rectify", "+1 家属已退回；-2 @SUM(A1)", 36166.2),
        ("2026-10-09T13:00:00", e, "dismiss", "\t=1+1 已于次月登记", None),
        ("2026-11-02T09:00:00", b, "take", "\r=2", None),
    ]
    for at, aid, action, note, amount in steps:
        set_clock(monkeypatch, at)
        decide(c, cfg, [aid], action, "王五", note=note, amount=amount)
    monkeypatch.undo()
    yield c
    c.close()


def xlsx_xml(path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def csv_rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def test_csv_is_utf8_with_bom_and_chinese_intact(conn, tmp_path):
    out = tmp_path / "log.csv"
    result = export_review_log(conn, out, fmt="csv")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(out)
    assert rows[0] == ["序号", "时间", "复核人", "疑点编号", "规则", "部门", "对象", "期间", "姓名", "决定",
                       "说明", "涉及金额", "追回金额"]
    assert result.rows == 6 and len(rows) == 8
    first = rows[1]
    assert first[:4] == ["1", "2026-10-05 09:00:00", "王五", "1"]
    assert first[5:10] == ["公安", "420105********1234", "", "张三", "开始核查"]
    assert first[11:] == ["36166.20", ""]
    assert rows[4][10:] == ["'+1 家属已退回；-2 @SUM(A1)", "36166.20", "36166.20"]
    entries, head = chain_head(conn)
    assert rows[-1] == [f"校验值：entries={entries} head={head}"]


def test_formulas_are_inert_in_csv(conn, tmp_path):
    out = tmp_path / "log.csv"
    export_review_log(conn, out, fmt="csv")
    notes = [r[10] for r in csv_rows(out)[1:-1]]
    assert "'" + FORMULA in notes
    for row in csv_rows(out):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_formulas_are_inert_in_xlsx(conn, tmp_path):
    out = tmp_path / "log.xlsx"
    export_review_log(conn, out, fmt="xlsx")
    ws = load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    note = [c for c in cells if isinstance(c.value, str) and "cmd|" in c.value]
    # Exactly as entered (no visible '), typed as text and kept text when edited.
    assert len(note) == 1 and note[0].data_type == "s" and note[0].value == FORMULA
    assert note[0].quotePrefix
    for c in cells:
        assert c.data_type != "f"
    assert "<f>" not in xlsx_xml(out) and "<f " not in xlsx_xml(out)


def test_xlsx_layout(conn, tmp_path):
    out = tmp_path / "log.xlsx"
    export_review_log(conn, out, fmt="xlsx", office="某县人社局基金监督科")
    ws = load_workbook(out).active
    # Title block: what the table is, the office, the period; then the table's header.
    assert ws["A1"].value == "核查台账" and ws["A1"].font.bold
    assert "填报单位：某县人社局基金监督科" in ws["A2"].value and "期间：" in ws["A2"].value
    h = 3
    header = [c.value for c in ws[h]]
    assert header[6] == "对象" and all(c.font.bold for c in ws[h])
    subjects = [ws.cell(row=r, column=7) for r in range(h + 1, h + 7)]
    assert all(c.data_type == "s" and c.number_format == "@" for c in subjects)
    assert subjects[4].value == CREDIT                      # a credit code is not personal data
    assert ws.cell(row=h + 1, column=12).value == 36166.2   # amounts stay numbers
    assert ws.column_dimensions["K"].width > 20 and ws.column_dimensions["G"].width >= 18
    assert ws.cell(row=h + 1, column=11).alignment.wrap_text   # long notes wrap
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("填表人：" in t and "审核人：" in t and "负责人：" in t and "日期：" in t for t in texts)
    last = ws.cell(row=ws.max_row, column=1).value
    assert last.startswith("校验值：entries=6 head=")


def test_xlsx_prints_on_a4_landscape_one_page_wide(conn, tmp_path):
    out = tmp_path / "log.xlsx"
    result = export_review_log(conn, out, fmt="xlsx")
    ws = load_workbook(out).active
    ps = ws.page_setup
    assert str(ps.paperSize) == "9" and ps.orientation == "landscape"      # 9: A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ps.fitToWidth == 1 and ps.fitToHeight == 0
    assert ws.print_title_rows == "$3:$3"                   # the header row on every page
    footer = ws.oddFooter.center.text
    assert "第 &P 页 共 &N 页" in footer and result.head[:16] in footer
    # No office configured: a blank line to fill in by hand, never a made-up name.
    assert ws["A2"].value.startswith("填报单位：　")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_no_unmasked_id_by_default_and_unmask_shows_it(conn, tmp_path, fmt):
    out = tmp_path / f"log.{fmt}"
    export_review_log(conn, out, fmt=fmt)
    text = out.read_bytes().decode("utf-8-sig") if fmt == "csv" else xlsx_xml(out)
    assert UNMASKED_ID.findall(text) == []
    assert "420105********1234" in text and "420105********567X" in text
    out2 = tmp_path / f"full.{fmt}"
    export_review_log(conn, out2, fmt=fmt, unmask=True)
    text = out2.read_bytes().decode("utf-8-sig") if fmt == "csv" else xlsx_xml(out2)
    assert ID_1 in text and ID_2 in text


def test_date_range_is_inclusive(conn, tmp_path):
    out = tmp_path / "log.csv"
    result = export_review_log(conn, out, fmt="csv", date_from="2026-10-06", date_to="2026-10-08")
    assert result.rows == 3
    assert [r[0] for r in csv_rows(out)[1:-1]] == ["2", "3", "4"]
    assert csv_rows(out)[-1][0].startswith("校验值：entries=6 ")      # the whole log's head
    with pytest.raises(ExportError, match="晚于截止日期"):
        export_review_log(conn, out, fmt="csv", date_from="2026-10-09", date_to="2026-10-01")


def test_files_are_owner_only_and_written_atomically(conn, tmp_path, monkeypatch):
    out = tmp_path / "log.xlsx"
    out.write_bytes(b"old contents")
    out.chmod(0o644)
    export_review_log(conn, out, fmt="xlsx")
    assert (out.stat().st_mode & 0o777) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    good = out.read_bytes()

    def killed(wb, f):
        f.write(b"PK half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(export_files, "save_workbook", killed)
    monkeypatch.setattr("station.export.review_log.save_workbook", killed)
    with pytest.raises(KeyboardInterrupt):
        export_review_log(conn, out, fmt="xlsx")
    assert out.read_bytes() == good                        # the old complete file is still there
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_missing_folder_is_a_clear_error(conn, tmp_path):
    with pytest.raises(ExportError, match="不存在"):
        export_review_log(conn, tmp_path / "nope" / "log.csv", fmt="csv")


def test_cli_export_default_path_and_head(home, conn, capsys):
    code = main(["--home", str(home.root), "export", "review-log", "--from", "2026-10-01",
                 "--to", "2026-10-31", "--format", "csv"])
    out = capsys.readouterr().out
    path = home.exports / "核查台账_2026-10-01_2026-10-31.csv"
    assert code == 0 and path.exists() and str(path) in out
    entries, head = chain_head(conn)
    assert f"校验值：entries={entries} head={head}" in out
    assert len(csv_rows(path)) == 1 + 5 + 1
    assert UNMASKED_ID.findall(path.read_text(encoding="utf-8-sig")) == []


def test_cli_export_unmask_and_out(home, conn, capsys, tmp_path):
    target = tmp_path / "台账.xlsx"
    code = main(["--home", str(home.root), "export", "review-log", "--format", "xlsx",
                 "--out", str(target), "--unmask"])
    out = capsys.readouterr().out
    assert code == 0 and "未打码" in out and ID_1 in xlsx_xml(target)
    code = main(["--home", str(home.root), "export", "review-log", "--format", "csv",
                 "--out", str(tmp_path / "missing" / "x.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "不存在" in err


def test_neutralise_every_formula_start():
    from station.export.files import neutralise
    for text in ("=1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert neutralise(text) == "'" + text
    for text in ("张三", "1-2", "a=b", "'=already"):
        assert neutralise(text) == text
