"""The reading layer (station.formats): files on disk -> (row_no, cells)."""
from __future__ import annotations

import csv
import io
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwt

from conftest import write_zip_bomb
from station.formats import CellTooLong, RowSource, UnreadableFile, detect_encoding, open_rows
from station.formats import _text

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
ROOT = Path(__file__).parents[1]


def rows_of(path, **kw) -> list[tuple[int, list]]:
    with open_rows(path, **kw) as src:
        return list(src)


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return p


def unreadable(path, **kw) -> str:
    with pytest.raises(UnreadableFile) as exc:
        rows_of(path, **kw)
    assert str(exc.value) == exc.value.reason
    return exc.value.reason


# ----------------------------------------------------------------------------- CSV

DEATHS_CSV = (
    "2026年10月死亡人员名单\n"
    "公民身份号码,姓名,死亡日期,备注\n"
    '420105198001011234,张三,2026-10-05,"住址:武汉,江岸区"\n'
    "\n"
    '42010519800101123X,李四,2026/10/5,"第一行\n第二行"\n'
    ",,,\n"
    "420105198001011250,王五,20261005,\n"
    "合计,3人,,\n"
)


def test_utf8_title_totals_blank_and_quoted_rows(tmp_path):
    p = write(tmp_path, "deaths.csv", DEATHS_CSV)
    with open_rows(p) as src:
        assert (src.format, src.encoding, src.delimiter, src.sheet) == ("csv", "utf-8", ",", None)
        rows = list(src)
    assert rows == [
        (1, ["2026年10月死亡人员名单"]),
        (2, ["公民身份号码", "姓名", "死亡日期", "备注"]),
        (3, ["420105198001011234", "张三", "2026-10-05", "住址:武汉,江岸区"]),
        (5, ["42010519800101123X", "李四", "2026/10/5", "第一行\n第二行"]),
        (8, ["420105198001011250", "王五", "20261005", ""]),
        (9, ["合计", "3人", "", ""]),
    ]


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path):
    p = write(tmp_path, "bom.csv", "\ufeff公民身份号码,姓名\r\n420105198001011234,张三\r\n")
    with open_rows(p) as src:
        assert src.encoding == "utf-8-sig"
        rows = list(src)
    assert rows[0] == (1, ["公民身份号码", "姓名"])
    assert rows[1] == (2, ["420105198001011234", "张三"])


@pytest.mark.parametrize("name", ["刘䶮", "王㛃", "𠀀明"])
def test_gbk_file_with_rare_characters_reads_as_gb18030(tmp_path, name):
    with pytest.raises(UnicodeError):
        name.encode("gbk")          # Python's gbk codec cannot handle these
    p = write(tmp_path, "gbk.csv", f"姓名,性别\n{name},男\n张三,女\n", encoding="gb18030")
    with open_rows(p) as src:
        assert src.encoding == "gb18030"
        assert list(src) == [(1, ["姓名", "性别"]), (2, [name, "男"]), (3, ["张三", "女"])]
    assert detect_encoding(p) == "gb18030"


def test_plain_gbk_file(tmp_path):
    p = write(tmp_path, "gbk.csv", "姓名\t单位\n张三\t武汉市人社局\n", encoding="gbk")
    assert rows_of(p) == [(1, ["姓名", "单位"]), (2, ["张三", "武汉市人社局"])]


def test_gbk_row_deep_in_a_mostly_ascii_file(tmp_path):
    body = b"id,name\n" + b"420105198001011234,zhang san\n" * 60_000   # ~1.7 MB of ASCII
    assert len(body) > 1 << 20
    p = write(tmp_path, "late.csv", body + "420105198001011235,李四\n".encode("gbk"))
    with open_rows(p) as src:
        assert src.encoding == "gb18030"
        rows = list(src)
    assert len(rows) == 60_002
    assert rows[-1] == (60_002, ["420105198001011235", "李四"])


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_delimiters(tmp_path, delimiter):
    lines = ["2026年10月新生名册", delimiter.join(["公民身份号码", "姓名", "学校名称"]),
             delimiter.join(["420105201001011234", "张三", "实验小学"])]
    p = write(tmp_path, "x.csv", "\n".join(lines) + "\n")
    with open_rows(p) as src:
        assert src.delimiter == delimiter
        assert list(src)[1:] == [(2, ["公民身份号码", "姓名", "学校名称"]),
                                 (3, ["420105201001011234", "张三", "实验小学"])]


def test_tab_separated_amounts_with_commas(tmp_path):
    p = write(tmp_path, "x.tsv", "姓名\t金额\t备注\n张三\t1,234.50\t无\n李四\t12,345,678.00\t无\n")
    with open_rows(p) as src:
        assert src.delimiter == "\t"


def test_semicolon_file_with_decimal_commas(tmp_path):
    p = write(tmp_path, "x.csv", "姓名;金额;备注\n张三;1234,50;无\n李四;12,5;无\n")
    with open_rows(p) as src:
        assert src.delimiter == ";"


def test_line_endings_and_row_numbers(tmp_path):
    p = write(tmp_path, "x.csv", b'a,b\r1,2\r\r"x\r\ny",3\r\n4,5')
    assert rows_of(p) == [(1, ["a", "b"]), (2, ["1", "2"]), (4, ["x\r\ny", "3"]), (6, ["4", "5"])]


def test_rows_are_not_padded(tmp_path):
    p = write(tmp_path, "x.csv", "a,b,c\n1\n1,2,3,4\n")
    assert rows_of(p) == [(1, ["a", "b", "c"]), (2, ["1"]), (3, ["1", "2", "3", "4"])]


def test_single_column_file(tmp_path):
    p = write(tmp_path, "ids.csv", "公民身份号码\n420105198001011234\n")
    with open_rows(p) as src:
        assert src.delimiter == ","
        assert list(src) == [(1, ["公民身份号码"]), (2, ["420105198001011234"])]


def test_utf16_with_bom_from_excel_unicode_text(tmp_path):
    p = write(tmp_path, "x.txt", "姓名\t金额\r\n张三\t12.5\r\n".encode("utf-16"))
    with open_rows(p) as src:
        assert (src.encoding, src.delimiter) == ("utf-16", "\t")
        assert list(src) == [(1, ["姓名", "金额"]), (2, ["张三", "12.5"])]


def test_reiteration_and_close(tmp_path):
    p = write(tmp_path, "x.csv", "a,b\n1,2\n")
    src = open_rows(p)
    assert isinstance(src, RowSource)
    assert list(src) == list(src) == [(1, ["a", "b"]), (2, ["1", "2"])]
    it = iter(src)
    next(it)
    src.close()
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(ValueError):
        iter(src)


# --------------------------------------------------------------------- long cells

def test_long_cell_becomes_marker_and_later_rows_keep_their_numbers(tmp_path):
    long = "x" * 20_000
    p = write(tmp_path, "x.csv", f'a,b,c\n1,"{long}\n{long}",3\n\n4,{long},6\n7,8,9\n')
    rows = rows_of(p, max_cell_chars=10_000)
    assert rows == [
        (1, ["a", "b", "c"]),
        (2, ["1", CellTooLong(40_001), "3"]),
        (5, ["4", CellTooLong(20_000), "6"]),
        (6, ["7", "8", "9"]),
    ]
    marker = rows[1][1][1]
    assert marker.length == 40_001 and "过长" in marker.reason


@pytest.mark.parametrize("quoted", [False, True])
def test_long_cells_first_and_after_blank_lines(tmp_path, quoted):
    q = '"' if quoted else ""
    long = "z" * 300
    p = write(tmp_path, "x.csv", f"{q}{long}{q},1\n\n,,\n2,{q}{long}{q}\n\n3,4\n")
    assert rows_of(p, max_cell_chars=100) == [(1, [CellTooLong(300), "1"]),
                                              (4, ["2", CellTooLong(300)]), (6, ["3", "4"])]


def test_many_long_cells_stay_linear(tmp_path):
    long = "w" * 200
    p = write(tmp_path, "x.csv", "a,b\n" + "".join(f'{i},"{long}"\n' for i in range(2000)) + "end,1\n")
    t = time.time()
    rows = rows_of(p, max_cell_chars=100)
    assert time.time() - t < 5
    assert rows[1] == (2, ["0", CellTooLong(200)]) and rows[-2] == (2001, ["1999", CellTooLong(200)])
    assert rows[-1] == (2002, ["end", "1"])


def test_cell_at_the_limit_is_kept(tmp_path):
    p = write(tmp_path, "x.csv", "a\n" + "y" * 100 + "\n")
    assert rows_of(p, max_cell_chars=100) == [(1, ["a"]), (2, ["y" * 100])]
    assert rows_of(p, max_cell_chars=99)[1] == (2, [CellTooLong(100)])


def test_field_limit_follows_each_source(tmp_path):
    p = write(tmp_path, "x.csv", "a\n" + "y" * 5000 + "\n")
    assert rows_of(p, max_cell_chars=10)[1] == (2, [CellTooLong(5000)])
    assert rows_of(p)[1] == (2, ["y" * 5000])


def test_ten_million_character_cell_memory_stays_bounded(tmp_path):
    p = tmp_path / "huge.csv"
    with open(p, "w", encoding="utf-8", newline="") as f:
        f.write("公民身份号码,姓名,备注\n420105198001011234,张三,")
        for _ in range(100):
            f.write("备" * 100_000)                 # 10 million characters, 30 MB
        f.write("\n420105198001011235,李四,无\n")
    tracemalloc.start()
    try:
        rows = rows_of(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == [(1, ["公民身份号码", "姓名", "备注"]),
                    (2, ["420105198001011234", "张三", CellTooLong(10_000_000)]),
                    (3, ["420105198001011235", "李四", "无"])]
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MB"


def test_unterminated_quote_swallowing_the_file_is_unreadable(tmp_path):
    p = write(tmp_path, "x.csv", 'a,b\n1,"oops\n' + "2,3\n" * 5000)
    assert "第 2 行开始的引号没有配对" in unreadable(p)


def test_short_unterminated_quote_follows_the_csv_module(tmp_path):
    p = write(tmp_path, "x.csv", 'a,b\n1,"oops\n2,3\n')
    assert rows_of(p) == [(1, ["a", "b"]), (2, ["1", "oops\n2,3\n"])]


@pytest.mark.parametrize("bounded", [False, True])
def test_bounded_parser_agrees_with_csv_module(tmp_path, monkeypatch, bounded):
    """The pure-Python parser (used for very long lines) gives what csv.reader gives."""
    if bounded:
        monkeypatch.setattr(_text, "LONG_LINE_CHARS", 4)
        monkeypatch.setattr(_text, "PIECE_CHARS", 3)        # cut lines (and \r\n) anywhere
    text = ('h1,h2,h3\r\n"a ""q"" b",x"y,\r\n\r\n"multi\r\nline\rcell\n",2,3\n'
            '"quote"after,,"\r"\r\nlast,"",\n')
    p = write(tmp_path, "x.csv", text)
    expected, prev = [], 0
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        start, prev = prev + 1, reader.line_num
        if any(row):
            expected.append((start, row))
    assert rows_of(p) == expected


# ------------------------------------------------------------------ unreadable text

def test_empty_files(tmp_path):
    for data in (b"", b"   \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf  \n"):
        assert "文件是空的" in unreadable(write(tmp_path, "e.csv", data))


def test_binary_junk_named_csv(tmp_path):
    junk = bytes((i * 7919 + 13) % 256 for i in range(5000))
    assert "文件不是可读取的表格" in unreadable(write(tmp_path, "junk.csv", junk))


def test_nul_bytes(tmp_path):
    p = write(tmp_path, "nul.csv", b"a,b\n1,2\x003\n")
    assert "文件不是可读取的表格" in unreadable(p)


def test_undecodable_text_names_the_line(tmp_path):
    p = write(tmp_path, "x.csv", b"a,b\n1,2\n3,\x80\xff\n")
    reason = unreadable(p)
    assert "无法识别文字编码" in reason and "第 3 行" in reason


def test_bad_bytes_far_into_a_gbk_or_bom_file(tmp_path):
    gbk = ("姓名,金额\n" + "张三,1\n" * 300_000).encode("gbk")      # 2.4 MB
    for data, enc in ((gbk + b"\x81\x20,2\n", "gb18030"),
                      ("\ufeff姓名\n".encode() + b"a\n" * 600_000 + b"\xff\n", "utf-8-sig")):
        p = write(tmp_path, "x.csv", data)
        with open_rows(p) as src:
            assert src.encoding == enc
            with pytest.raises(UnreadableFile) as exc:
                list(src)
        assert "无法识别的字符" in exc.value.reason
        with pytest.raises(UnreadableFile):
            detect_encoding(p)


def test_other_binary_formats_get_their_own_reason(tmp_path):
    assert "PDF" in unreadable(write(tmp_path, "x.csv", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj"))
    assert "压缩包" in unreadable(write(tmp_path, "x.xls", b"Rar!\x1a\x07\x00rest"))
    html = "<html><head><meta charset='utf-8'></head><body><table><tr><td>姓名</td></tr></table>"
    assert "网页" in unreadable(write(tmp_path, "export.xls", html))


def test_max_bytes_checked_before_reading(tmp_path, monkeypatch):
    p = write(tmp_path, "x.csv", "a,b\n" * 1000)
    import builtins

    def no_open(*a, **k):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(builtins, "open", no_open)
    with pytest.raises(UnreadableFile) as exc:
        open_rows(p, max_bytes=1024)
    monkeypatch.undo()
    assert exc.value.reason.startswith("文件大小 3.9 KB 超过上限 1.0 KB")
    with pytest.raises(UnreadableFile) as exc:
        open_rows(p, max_bytes=0)
    assert "超过上限" in exc.value.reason
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:                  # sparse: 2 GB on paper, nothing on disk
        f.truncate(2 << 30)
    with pytest.raises(UnreadableFile) as exc:
        open_rows(big, max_bytes=1 << 30)
    assert exc.value.reason.startswith("文件大小 2.0 GB 超过上限 1024 MB")


def test_too_many_columns_in_header(tmp_path):
    p = write(tmp_path, "x.csv", "标题\n" + ",".join(f"c{i}" for i in range(501)) + "\n")
    with pytest.raises(UnreadableFile) as exc:
        open_rows(p)
    assert "表头列数过多" in exc.value.reason and "第 2 行有 501 列" in exc.value.reason
    assert len(rows_of(p, max_columns=501)) == 2


def test_too_many_columns_further_down(tmp_path):
    p = write(tmp_path, "x.csv", "a,b\n" * 100 + ",".join("x" * 600) + "\n")
    with open_rows(p) as src:
        it = iter(src)
        assert len([next(it) for _ in range(100)]) == 100
        with pytest.raises(UnreadableFile) as exc:
            next(it)
    assert "第 101 行有 600 列" in exc.value.reason


def test_file_changing_while_read(tmp_path):
    p = write(tmp_path, "x.csv", "a,b\n1,2\n")
    src = open_rows(p)
    with open(p, "ab") as f:
        f.write(b"3,\xff\xfe\n")
    with pytest.raises(UnreadableFile) as exc:
        list(src)
    assert "被修改" in exc.value.reason


def test_detect_encoding(tmp_path):
    cases = {"utf-8": "姓名\n张三\n".encode(), "utf-8-sig": "\ufeff姓名\n".encode(),
             "gb18030": "姓名\n刘䶮\n".encode("gb18030"), "utf-16": "姓名\n".encode("utf-16")}
    for expected, data in cases.items():
        assert detect_encoding(write(tmp_path, "e.csv", data)) == expected
    with pytest.raises(UnreadableFile):
        detect_encoding(write(tmp_path, "e.csv", b"\x81\x20\xff"))


def test_missing_file(tmp_path):
    with pytest.raises(UnreadableFile):
        open_rows(tmp_path / "gone.csv")


# ----------------------------------------------------------------------------- JSON

def test_json_records(tmp_path):
    p = write(tmp_path, "x.json", """[
      {"公民身份号码": "420105198001011234", "姓名": "张三", "金额": 12.5, "在册": true},
      {"姓名": "李四", "公民身份号码": null, "备注": {"来源": "民政"}, "序号": 2},
      {},
      {"姓名": ""},
      {"姓名": "王五", "标签": ["a", "b"]}
    ]""")
    with open_rows(p) as src:
        assert (src.format, src.encoding) == ("json", "utf-8")
        rows = list(src)
    assert rows == [
        (0, ["公民身份号码", "姓名", "金额", "在册", "备注", "序号", "标签"]),
        (1, ["420105198001011234", "张三", 12.5, True, "", "", ""]),
        (2, ["", "李四", "", "", '{"来源": "民政"}', 2, ""]),
        (5, ["", "王五", "", "", "", "", '["a", "b"]']),
    ]


def test_json_detected_by_content_and_encodings(tmp_path):
    p = write(tmp_path, "export.txt", '\ufeff  [ {"姓名": "张三"} ]')
    with open_rows(p) as src:
        assert (src.format, src.encoding) == ("json", "utf-8-sig")
        assert list(src) == [(0, ["姓名"]), (1, ["张三"])]
    p = write(tmp_path, "x.json", '[{"姓名": "王㛃"}]', encoding="gb18030")
    assert rows_of(p) == [(0, ["姓名"]), (1, ["王㛃"])]
    p = write(tmp_path, "x.csv", "[1],[2]\n3,4\n")     # a bracket in a CSV is just text
    assert open_rows(p).format == "csv"


@pytest.mark.parametrize("text, words", [
    ('{"姓名": "张三"}', "最外层不是列表"),
    ('[{"姓名": "张三"}, 5]', "第 2 条记录不是对象"),
    ('[{"姓名": "张三"},\n {"姓名": }]', "第 2 行附近有语法错误"),
    ("[]", "文件是空的"),
    ("[" * 100_000 + "]" * 100_000, "JSON 文件格式不正确"),
    ('[{"a": "' + "x" * 20 + '"}]', None),
])
def test_json_problems(tmp_path, text, words):
    p = write(tmp_path, "x.json", text)
    if words is None:
        assert rows_of(p, max_cell_chars=10)[1] == (1, [CellTooLong(20)])
    else:
        assert words in unreadable(p)


def test_json_with_undecodable_bytes(tmp_path):
    p = write(tmp_path, "x.json", b'[{"a": "x"}]' + b" " * (2 << 20) + b'\n"\x81\x20"')
    assert "无法识别的字符" in unreadable(p)


def test_json_too_many_keys(tmp_path):
    p = write(tmp_path, "x.json", "[" + ",".join(f'{{"k{i}": 1}}' for i in range(600)) + "]")
    assert "表头列数过多" in unreadable(p)


# ---------------------------------------------------------------------------- Excel

def test_xlsx_dates_serials_and_text_ids():
    with open_rows(FIXTURES / "deaths.xlsx") as src:
        assert (src.format, src.sheet, src.encoding, src.delimiter) == ("xlsx", "户籍注销", None, None)
        rows = list(src)
    import datetime as dt
    assert rows == [
        (1, ["2026年10月死亡人员名单", "", "", "", "", ""]),
        (2, ["公民身份号码", "姓名", "死亡日期", "注销日期", "注销原因", "序号"]),
        (3, ["420105198001011234", "张三", dt.date(2026, 10, 5), 46300.0, "死亡", 1.0]),
        (4, ["42010519800101123X", "㛃丽", dt.datetime(2026, 10, 6, 8, 30), "2026-10-07", "死亡", 2.0]),
        (6, ["合计", "2人", "", "", "", ""]),
    ]


def test_xls_written_by_xlwt():
    with open_rows(FIXTURES / "payments.xls") as src:
        assert (src.format, src.sheet) == ("xls", "待遇发放")
        rows = list(src)
    import datetime as dt
    assert rows[0] == (1, ["发放流水号", "公民身份号码", "姓名", "发放年月", "待遇类型", "金额", "发放日期"])
    assert rows[1] == (2, ["P0001", "420105198001011234", "张三", "2026-10", "基本养老金", 2345.6,
                           dt.date(2026, 10, 15)])
    assert rows[2][1][2] == "𠀀四"
    assert rows[3] == (5, ["合计", "", "", "", "", 4145.6, ""])


def test_format_by_content_not_extension(tmp_path):
    p = tmp_path / "deaths.csv"
    p.write_bytes((FIXTURES / "deaths.xlsx").read_bytes())
    assert open_rows(p).format == "xlsx"
    p = tmp_path / "payments.xlsx"
    p.write_bytes((FIXTURES / "payments.xls").read_bytes())
    with open_rows(p) as src:
        assert src.format == "xls" and len(list(src)) == 4
    p = write(tmp_path, "export.xls", "姓名\t金额\n张三\t1\n")      # "xls" that is really TSV
    with open_rows(p) as src:
        assert (src.format, src.delimiter) == ("csv", "\t")


def test_xlsx_sheet_starting_right_of_a_keeps_columns(tmp_path):
    wb = openpyxl.Workbook()
    wb.active["C3"] = "姓名"
    wb.active["D3"] = "金额"
    wb.active["C4"] = "张三"
    wb.save(tmp_path / "x.xlsx")
    assert rows_of(tmp_path / "x.xlsx") == [(3, ["", "", "姓名", "金额"]), (4, ["", "", "张三", ""])]


def test_excel_long_text_cell(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["a", "b" * 20_000])
    wb.save(tmp_path / "x.xlsx")
    assert rows_of(tmp_path / "x.xlsx") == [(1, ["a", CellTooLong(20_000)])]


def test_empty_workbook(tmp_path):
    wb = openpyxl.Workbook()
    wb.create_sheet("二")
    wb.save(tmp_path / "x.xlsx")
    assert "没有任何数据" in unreadable(tmp_path / "x.xlsx")


def test_excel_too_many_columns(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append([f"c{i}" for i in range(30)])
    wb.save(tmp_path / "x.xlsx")
    assert "表头列数过多" in unreadable(tmp_path / "x.xlsx", max_columns=20)
    xw = xlwt.Workbook()
    xw.add_sheet("s").write(0, 200, "far")
    xw.save(str(tmp_path / "x.xls"))
    assert "有 201 列" in unreadable(tmp_path / "x.xls", max_columns=200)


def test_truncated_xlsx(tmp_path):
    data = (FIXTURES / "deaths.xlsx").read_bytes()
    for cut in (len(data) // 3, len(data) - 30, 100):
        p = write(tmp_path, "cut.xlsx", data[:cut])
        assert "Excel 文件已损坏或不完整" in unreadable(p)


def test_damaged_xls(tmp_path):
    data = bytearray((FIXTURES / "payments.xls").read_bytes())
    struct.pack_into("<I", data, 48, 0xFFFFFF00)              # directory start far away
    assert "Excel 文件已损坏或不完整" in unreadable(write(tmp_path, "d.xls", bytes(data)))
    p = write(tmp_path, "t.xls", (FIXTURES / "payments.xls").read_bytes()[:1500])
    assert "Excel 文件已损坏或不完整" in unreadable(p)


def test_password_protected_files():
    for name in ("encrypted.xlsx", "filepass.xls"):
        assert "文件有密码保护" in unreadable(FIXTURES / name)


# ------------------------------------------------------------ hostile Excel files

def raw_xlsx(path: Path, sheet_data: str, shared: list[str] | None = None, prolog: str = "") -> Path:
    """An xlsx built from raw XML, for shapes openpyxl will not write."""
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
          'package/2006/content-types"><Default Extension="rels" ContentType="application/'
          'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
          '"application/xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
            '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
          'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
          'relationships"><sheets><sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wbrels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
              '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
              'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
              'sheet1.xml"/></Relationships>')
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet xmlns="http://schemas.'
             f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wbrels)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            z.writestr("xl/sharedStrings.xml",
                       f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<sst xmlns="http://schemas.'
                       f'openxmlformats.org/spreadsheetml/2006/main">'
                       + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>")
    return path


def in_child(code: str) -> str:
    """Run code in a fresh interpreter: a regression here would abort the process."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_xlsx_with_two_far_apart_cells_is_refused(tmp_path):
    """calamine would allocate 1048576 x 16384 cells (hundreds of GB) and abort."""
    p = raw_xlsx(tmp_path / "far.xlsx",
                 '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>'
                 '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')
    out = in_child(f"""
        from station.formats import open_rows, UnreadableFile
        try:
            open_rows({str(p)!r})
        except UnreadableFile as e:
            print(e.reason)
    """)
    assert "数据区域过大" in out and "1048576 行 × 16384 列" in out


def test_xls_with_a_cell_in_column_65535_is_refused(tmp_path):
    """BIFF8 has 256 columns, but calamine takes the 16-bit column as written: a 65536 x
    65536 dense sheet (137 GB) and an abort."""
    xw = xlwt.Workbook()
    ws = xw.add_sheet("s")
    ws.write(0, 0, "姓名")
    ws.write(65535, 3, 123456.789)
    xw.save(str(tmp_path / "x.xls"))
    data = bytearray((tmp_path / "x.xls").read_bytes())
    i = data.find(struct.pack("<d", 123456.789))
    assert data[i - 10:i - 8] == b"\x03\x02"                      # a NUMBER record
    struct.pack_into("<H", data, i - 4, 0xFFFF)                   # its column
    p = write(tmp_path, "far.xls", bytes(data))
    out = in_child(f"""
        from station.formats import open_rows, UnreadableFile
        try:
            open_rows({str(p)!r})
        except UnreadableFile as e:
            print(e.reason)
    """)
    assert "数据区域过大" in out and "65536 行 × 65536 列" in out


def test_xls_with_cells_in_opposite_corners_is_refused(tmp_path):
    """Legal BIFF8, 5 KB on disk, 1 GB in calamine."""
    xw = xlwt.Workbook()
    ws = xw.add_sheet("s")
    ws.write(0, 0, "a")
    ws.write(65535, 255, "b")
    xw.save(str(tmp_path / "x.xls"))
    assert "数据区域过大" in unreadable(tmp_path / "x.xls")


def test_xls_dimensions_record_claiming_a_huge_sheet_is_refused(tmp_path):
    """calamine reserves rows x columns cells for the DIMENSIONS record up front."""
    data = bytearray((FIXTURES / "payments.xls").read_bytes())
    i = data.find(b"\x00\x02\x0e\x00")                        # DIMENSIONS, 14 bytes
    assert i > 0
    struct.pack_into("<IIHH", data, i + 4, 0, 0x7FFFFFFF, 0, 0x4000)
    p = write(tmp_path, "dim.xls", bytes(data))
    out = in_child(f"""
        from station.formats import open_rows, UnreadableFile
        try:
            open_rows({str(p)!r})
        except UnreadableFile as e:
            print(e.reason)
    """)
    assert "数据区域过大" in out


def test_xlsx_fast_and_exact_area_checks(tmp_path):
    # Cells without r attributes (positions counted like calamine does): exact pass.
    p = raw_xlsx(tmp_path / "a.xlsx",
                 '<row><c t="inlineStr"><is><t>姓名</t></is></c><c><v>5</v></c></row>'
                 '<row r="4"><c r="C4"><v>1</v></c><c><v>2</v></c></row>')
    assert rows_of(p) == [(1, ["姓名", 5.0, "", ""]), (4, ["", "", 1.0, 2.0])]
    # A styled but empty cell far away does not count (calamine skips empty cells).
    p = raw_xlsx(tmp_path / "b.xlsx",
                 '<row r="1"><c r="A1"><v>1</v></c><c r="XFD1" s="1"/></row>'
                 '<row r="1048576"><c r="XFD1048576" s="1"></c></row>')
    assert rows_of(p) == [(1, [1.0])]
    # Cell rows that disagree with their row element fall back to the exact pass.
    p = raw_xlsx(tmp_path / "c.xlsx",
                 '<row r="1"><c r="A1"><v>1</v></c><c r="B900000"><v>2</v></c></row>')
    assert len(rows_of(p)) == 2
    # Lower-case references are legal for calamine.
    p = raw_xlsx(tmp_path / "d.xlsx", '<row r="1"><c r="a1"><v>1</v></c><c r="xfd1048576"><v>2</v></c></row>')
    assert "数据区域过大" in unreadable(p)


@pytest.mark.parametrize("where", ["sheet", "shared"])
def test_xml_entity_expansion_billion_laughs(tmp_path, where):
    dtd = ('<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "' + "&lol;" * 10 + '">'
           + "".join(f'<!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">' for i in range(2, 10)) + "]>")
    if where == "sheet":
        p = raw_xlsx(tmp_path / "lol.xlsx",
                     '<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=dtd)
    else:
        p = raw_xlsx(tmp_path / "lol.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                     shared=["&lol9;"], prolog=dtd)
    out = in_child(f"""
        import resource, time
        from station.formats import open_rows, UnreadableFile
        t = time.time()
        try:
            rows = list(open_rows({str(p)!r}))
            print("read", rows)
        except UnreadableFile as e:
            print("refused", e.reason)
        print("seconds", time.time() - t)
        # VmHWM is this process's own peak; ru_maxrss would carry the parent's across exec.
        hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
        print("maxrss_mb", int(hwm.split()[1]) // 1024)
    """)
    assert "Excel 文件已损坏" in out
    info = dict(line.split(" ", 1) for line in out.splitlines())
    assert float(info["seconds"]) < 2
    assert int(info["maxrss_mb"]) < 200


def test_zip_bomb_xlsx(tmp_path):
    p = tmp_path / "bomb.xlsx"
    write_zip_bomb(p)
    assert p.stat().st_size < 2 << 20
    t = time.time()
    assert "解压后过大" in unreadable(p)
    assert time.time() - t < 1


def test_many_shared_strings_are_refused(tmp_path, monkeypatch):
    from station.formats import _zip
    monkeypatch.setattr(_zip, "MAX_EXCEL_CELLS", 1000)
    p = raw_xlsx(tmp_path / "s.xlsx", '<row r="1"><c r="A1" t="s"><v>0</v></c></row>',
                 shared=[f"s{i}" for i in range(1001)])
    assert "解压后过大" in unreadable(p)


def test_other_zip_formats(tmp_path):
    for member, words in (("xl/workbook.bin", "xlsb"), ("content.xml", ".ods"),
                          ("word/document.xml", "不是 Excel")):
        p = tmp_path / "x.xlsx"
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(member, "x")
        assert words in unreadable(p)


# -------------------------------------------------------------- property tests

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_or_refuse(path: Path) -> None:
    t = time.time()
    try:
        with open_rows(path) as src:
            for _ in src:
                pass
    except UnreadableFile as e:
        assert e.reason
    assert time.time() - t < 5


@PROPERTY
@given(data=st.binary(max_size=4096), ext=st.sampled_from([".csv", ".xlsx", ".json", ".xls"]),
       prefix=st.sampled_from([b"", b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"[",
                               b"\xef\xbb\xbf", b"\xff\xfe"]))
def test_random_bytes_are_read_or_refused(tmp_path, data, ext, prefix):
    read_or_refuse(write(tmp_path, "r" + ext, prefix + data))


@PROPERTY
@given(text=st.text(alphabet=st.sampled_from(list(',;\t"\r\n x中㛃𠀀[{}]:')), max_size=300),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_random_text_is_read_or_refused(tmp_path, text, encoding):
    read_or_refuse(write(tmp_path, "t.csv", text.encode(encoding)))


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["payments.xls", "deaths.xlsx"]))
def test_damaged_excel_fixtures_are_read_or_refused(tmp_path, seed, name):
    import random
    rnd = random.Random(seed)
    data = bytearray((FIXTURES / name).read_bytes())
    for _ in range(rnd.choice([1, 2, 8])):
        i = rnd.randrange(len(data))
        data[i:i + 4] = rnd.getrandbits(32).to_bytes(4, "little")
    read_or_refuse(write(tmp_path, "d" + Path(name).suffix, bytes(data)))


cell_text = st.text(alphabet=st.sampled_from(list('ab,"\r\n 中𠀀')), max_size=12)


@PROPERTY
@given(table=st.lists(st.lists(cell_text, min_size=1, max_size=5), min_size=1, max_size=12),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       bounded=st.booleans())
def test_csv_round_trip(tmp_path, table, encoding, bounded):
    """Whatever csv.writer writes comes back, with the line each record starts on."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    expected, line = [], 1
    for row in table:
        start = buf.tell()
        writer.writerow(row)
        record = buf.getvalue()[start:]
        if any(row):
            expected.append((line, row))
        line += record.count("\n") + record.count("\r") - record.count("\r\n")
    if not expected or not buf.getvalue().strip():
        return
    p = write(tmp_path, "rt.csv", buf.getvalue().encode(encoding))
    old = (_text.LONG_LINE_CHARS, _text.PIECE_CHARS)
    if bounded:
        _text.LONG_LINE_CHARS, _text.PIECE_CHARS = 2, 5
    try:
        with open_rows(p) as src:
            assert src.delimiter == ","
            got = list(src)
    finally:
        _text.LONG_LINE_CHARS, _text.PIECE_CHARS = old
    assert got == expected
