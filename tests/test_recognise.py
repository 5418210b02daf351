"""Recognising a file's kind and columns: each path of station.kinds.recognise / infer —
aliases, data-element codes, spacing and bracketed units, near spellings, content typing,
elimination, the department folder prior, wrong-kind refusal, layouts (title and grouping
rows, 序号, workbook sheets, the ="…" text trick)."""
from __future__ import annotations

import pytest

from station.config import default_rules_text, load_config
from station.formats import open_rows
from station.kinds.spec import KINDS
from station.kinds.recognise import (HEAD_ROWS, Unrecognised, propose, recognise,
                                     sheet_chooser)

CFG = load_config(None)

ID1, ID2, ID3 = "440303196712219567", "110101199003074477", "440303201801079264"


def rows(*lines):
    return list(enumerate(lines, 1))


def fields(rec):
    """header as written -> field column, for the columns the recognition uses."""
    return {p.header: p.column for p in rec.proposals if p.column}


def deaths(header, dept="public_security", n=4):
    data = [[ID1, "孔英", "女", "2026-02-10", "2026-02-28", "死亡"],
            [ID2, "张华", "男", "2026-03-01", "2026-03-09", "迁出"]]
    return propose(rows(header, *(data * n)), CFG, department=dept, file_name="x.csv")


# ------------------------------------------------------------------ header spellings

def test_data_element_codes_are_pinyin_initials_of_canonical_headers_and_aliases():
    rec = propose(rows(["grbh", "XM", "GmSfHm", "CBZT", "DWBH"],
                       ["P1", "张三", ID1, "参保缴费", "U1"]),
                  CFG, department="agency", file_name="export.csv")
    assert rec.kind.name == "persons" and rec.confident
    assert fields(rec) == {"grbh": "person_no", "XM": "name", "GmSfHm": "id_number",
                           "CBZT": "status", "DWBH": "unit_no"}
    by = {p.header: p for p in rec.proposals}
    assert "拼音首字母" in by["XM"].reason and by["XM"].confidence >= 0.9


def test_codes_of_aliases_count_too():
    # SFZHM = 身份证号码, an alias of 公民身份号码; DWMC = 单位名称
    rec = propose(rows(["DWBH", "TYSHXYDM", "DWMC"], ["U1", "91260181BJ1XG612DK", "某某有限公司"]),
                  CFG, department="agency", file_name="x.csv")
    assert rec.kind.name == "units" and rec.confident
    rec = propose(rows(["SFZHM", "XM", "CBZT"], [ID1, "张三", "参保缴费"]),
                  CFG, department="agency", file_name="x.csv")
    assert fields(rec)["SFZHM"] == "id_number" and rec.confident


def test_codes_are_computed_from_the_configuration_not_listed(tmp_path):
    # A new alias gets its code without anyone writing the code down.
    path = tmp_path / "rules.yaml"
    text = default_rules_text()
    path.write_text(text.replace("注销原因: [销户原因]", "注销原因: [销户原因, 户口注销缘由]"),
                    encoding="utf-8")
    cfg = load_config(path)
    rec = propose(rows(["GMSFHM", "XM", "ZXRQ", "HKZXYY"], [ID1, "张三", "2026-01-02", "死亡"]),
                  cfg, department="public_security", file_name="x.csv")
    assert fields(rec)["HKZXYY"] == "cancel_reason" and rec.confident


@pytest.mark.parametrize("spaced", ["公民 身份号码", "公民　身份号码", " 公民身份号码\t", "公民\u3000身份\u3000号码"])
def test_inner_whitespace_of_any_kind_is_ignored(spaced):
    rec = propose(rows([spaced, "姓 名", "参保　状态"], [ID1, "张三", "参保缴费"]),
                  CFG, department="agency", file_name="x.csv")
    assert rec.confident and set(fields(rec).values()) == {"id_number", "name", "status"}


def test_bracketed_unit_notes_are_ignored():
    rec = propose(rows(["发放流水号", "公民身份号码", "发放年月", "待遇类型", "金额(元)", "发放日期（年-月-日）"],
                       ["F1", ID1, "2026-01", "基本养老金", "12.00", "2026-01-10"]),
                  CFG, department="agency", file_name="x.csv")
    assert rec.confident and fields(rec)["金额(元)"] == "amount"
    assert fields(rec)["发放日期（年-月-日）"] == "pay_date"


def test_near_spellings_are_scored():
    rec = deaths(["公民身份号码", "姓名", "性别", "死亡日期", "户籍注销时间", "注销原因"])
    assert rec.confident and fields(rec)["户籍注销时间"] == "cancel_date"
    rec = propose(rows(["公民身份号码", "姓名", "残疾人类别", "残疾等级", "变动类型", "变动日期"],
                       [ID1, "张三", "肢体", "一级", "新增", "2026-01-01"]),
                  CFG, department="disability", file_name="x.csv")
    assert rec.confident and fields(rec)["残疾人类别"] == "category"
    assert "相近" in {p.header: p for p in rec.proposals}["残疾人类别"].reason


def test_two_close_candidates_are_never_silently_chosen():
    # 日期 alone is as near to 死亡日期 as to 注销日期.
    rec = deaths(["公民身份号码", "姓名", "性别", "日期", "注销原因"])
    assert not rec.confident
    assert any("注销日期" in r for r in rec.reasons)


# ------------------------------------------------------------------ content typing

def test_content_types_columns_whose_headers_say_nothing():
    rec = deaths(["证号", "姓名", "性别", "死亡日期", "办结日期", "结论"])
    assert rec.kind.name == "household_deaths" and rec.confident, rec.reasons
    f = fields(rec)
    assert f["证号"] == "id_number" and f["办结日期"] == "cancel_date" and f["结论"] == "cancel_reason"
    reason = {p.header: p for p in rec.proposals}["结论"].reason
    assert "「注销原因」的取值" in reason and "抽查" in reason


def test_content_typing_refuses_to_guess_between_two_fields():
    # One date column with no header and two date fields missing (死亡日期, 注销日期).
    rec = deaths(["公民身份号码", "姓名", "性别", "甲", "乙", "注销原因"])
    assert not rec.confident
    assert any("请确认" in r for r in rec.reasons)


def test_elimination_assigns_the_last_required_field():
    data = [["FF001", ID1, "张三", "2026-01", "基本养老金", "100.00"],
            ["FF002", ID2, "李四", "2026-01", "失业保险金", "200.50"]]
    rec = propose(rows(["单据", "公民身份号码", "姓名", "发放年月", "待遇类型", "金额"], *data),
                  CFG, department="agency", file_name="x.csv")
    assert rec.confident, rec.reasons
    p = {p.header: p for p in rec.proposals}["单据"]
    assert p.column == "serial_no" and "排除法" in p.reason


def test_elimination_does_not_take_a_column_that_cannot_be_the_field():
    rec = propose(rows(["公民身份号码", "姓名", "爱好"], [ID1, "崔杨", "钓鱼"]),
                  CFG, department="agency", file_name="x.csv")
    assert not rec.confident
    with pytest.raises(Unrecognised, match="参保状态"):
        recognise(rows(["公民身份号码", "姓名", "爱好"], [ID1, "崔杨", "钓鱼"]),
                  CFG, department="agency", file_name="x.csv")


def test_every_assignment_has_a_reason_and_a_confidence():
    rec = propose(rows(["序号", "证号", "姓 名", "GB", "死亡时间", "户籍注销时间", "结论", "备注"],
                       *[[str(n), ID1, "孔英", "女", "2026-02-10", "2026-02-28", "死亡", ""]
                         for n in range(1, 6)]),
                  CFG, department="public_security", file_name="x.csv")
    assert rec.confident, rec.reasons
    for p in rec.proposals:
        assert p.reason and 0.0 <= p.confidence <= 1.0
    assert {p.header: p.column for p in rec.proposals}["序号"] is None


# ------------------------------------------------------------------ department folder

HD = ["公民身份号码", "姓名", "性别", "死亡日期", "注销日期", "注销原因"]


def test_folder_is_a_strong_prior_and_another_departments_kind_is_never_confident():
    # A 公安 list whose 注销 columns are unrecognisable in public_security/: it is not
    # applied as 民政 cremations (which its remaining headers would fit).
    header = ["公民身份号码", "姓名", "性别", "死亡日期", "甲", "乙"]
    rec = propose(rows(header, *[[ID1, "孔英", "女", "2026-02-10", "见附件", "见附件"]] * 5),
                  CFG, department="public_security", file_name="x.csv")
    assert not rec.confident
    assert rec.kind.name == "household_deaths"
    # Its content tells: then it is confident.
    rec = deaths(header)
    assert rec.confident and rec.kind.name == "household_deaths"


def test_a_file_in_the_wrong_folder_is_not_confident():
    rec = deaths(HD, dept="civil_affairs")
    assert not rec.confident and rec.kind.name == "household_deaths"   # the headers say so
    assert any("public_security" in r and "户籍注销人员" in r for r in rec.reasons)
    rec = deaths(HD, dept="agency")
    assert rec.kind.name == "household_deaths" and not rec.confident


def test_an_unknown_folder_is_not_a_crash_and_not_a_licence():
    tax = rows(["票证号", "统一社会信用代码", "单位编号", "单位名称", "费款所属期", "险种", "实缴金额", "入库日期"],
               ["34403260112002598979", "917114711PN9LJMTE7", "U0000007", "昊嘉科技有限公司", "2025-12",
                "工伤保险", "886.68", "2026-01-12"])
    for folder in ("social_security_bureau", "2026-10", "misc"):
        rec = propose(tax, CFG, department=folder, file_name="社保费征收明细_2026.csv")
        assert not rec.confident and any(folder in r for r in rec.reasons)
    # In agency/ its first headers fit 参保单位, but the headers say otherwise.
    rec = propose(tax, CFG, department="agency", file_name="社保费征收明细_2026.csv")
    assert not rec.confident
    if "tax_collections" in KINDS:              # the money side's kinds: proposed, held
        assert any("社保费征收明细" in r for r in rec.reasons)
        assert rec.kind.name == "tax_collections"
        rec = propose(tax, CFG, department="tax", file_name="社保费征收明细_2026.csv")
        assert rec.confident and rec.kind.name == "tax_collections"


def test_no_folder_lets_the_headers_decide():
    rec = deaths(HD, dept=None)
    assert rec.confident and rec.kind.name == "household_deaths"


def test_a_caller_can_force_the_kind_and_fields():
    rec = propose(rows(["号", "名", "甲", "乙", "丙"], [ID1, "张三", "男", "2026-01-01", "死亡"]),
                  CFG, department="public_security", file_name="x.csv", kind="household_deaths",
                  overrides={"名": "姓名", "乙": "cancel_date", "甲": ""})
    f = fields(rec)
    assert f["名"] == "name" and f["乙"] == "cancel_date" and "甲" not in f
    assert f["号"] == "id_number" and f["丙"] == "cancel_reason"
    assert rec.kind.name == "household_deaths"


def test_propose_returns_a_guess_for_any_header_like_row():
    rec = propose(rows(["甲", "乙", "丙"], ["1", "2", "3"]), CFG, department=None, file_name="x.csv")
    assert not rec.confident and rec.reasons
    with pytest.raises(Unrecognised):
        propose(rows(["123", "456"], ["1", "2"]), CFG, department=None, file_name="x.csv")


# ------------------------------------------------------------------ layouts

def test_header_row_found_below_title_and_grouping_rows_with_a_serial_column():
    rec = propose(rows(["XX县户籍注销人员名单"], ["填报单位：XX派出所", "", "", "日期：2026年3月"],
                       ["", "基本信息", "", "", "业务信息", ""],
                       ["序号", "身份证号", "姓名", "性别", "户籍注销时间", "注销原因"],
                       ["1", ID1, "孔英", "女", "2026-02-28", "死亡"]),
                  CFG, department="public_security", file_name="x.csv")
    assert rec.confident and rec.header_row == 4
    assert fields(rec) == {"身份证号": "id_number", "姓名": "name", "性别": "sex",
                           "户籍注销时间": "cancel_date", "注销原因": "cancel_reason"}


def test_workbook_sheet_chosen_by_header_fit(tmp_path):
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "填表说明"
    ws.append(["填表说明"])
    ws.append(["1. 公民身份号码填写 18 位号码；2. 日期填写 2026-01-01 格式。"])
    ws.append(["字段", "说明"])
    ws.append(["公民身份号码", "必填"])
    data = wb.create_sheet("数据")
    data.append(HD)
    data.append([ID1, "孔英", "女", "2026-02-10", "2026-02-28", "死亡"])
    path = tmp_path / "户籍注销.xlsx"
    wb.save(path)
    with open_rows(path, choose_sheet=sheet_chooser(CFG)) as src:
        assert src.sheet == "数据"
        rec = propose(list(src)[:HEAD_ROWS], CFG, department="public_security", file_name=path.name)
    assert rec.confident and rec.kind.name == "household_deaths"
    with open_rows(path) as src:                  # without a chooser: the first sheet
        assert src.sheet == "填表说明"


def test_excel_text_trick_and_trailing_tabs_in_csv(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
                    f'="{ID1}",孔英,女,2026-02-10,2026-02-28,死亡\n'
                    f'"=""{ID2}""",张华\t,男,2026-03-01\t,2026-03-09,迁出\n', encoding="utf-8")
    with open_rows(path) as src:
        got = list(src)
    assert got[1][1][0] == ID1 and got[2][1][0] == ID2
    rec = propose(got, CFG, department="public_security", file_name="x.csv")
    assert rec.confident


def test_recognition_of_a_plain_file_is_cheap():
    import time
    head = rows(HD, *([[ID1, "孔英", "女", "2026-02-10", "2026-02-28", "死亡"]] * 60))
    propose(head, CFG, department="public_security", file_name="x.csv")
    started = time.process_time()
    for _ in range(20):
        propose(head, CFG, department="public_security", file_name="x.csv")
    # 50 ms a file is the budget; on a loaded machine CPU time stays well under it.
    assert (time.process_time() - started) / 20 < 0.05
