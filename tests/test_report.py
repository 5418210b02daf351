"""The monthly report's figures against a hand-computed fixture (tests/fixtures/report).

The register (october.json), reported for 2026-10 (cut-off: 2026-11-01 00:00:00):

 id rule                     dept               amount  first seen   decisions (by 2026-10-31)       state at 10-31
  1 DEATH_PAID               public_security      5000  2026-09-10   take, confirm 甲, rectify 乙 5000  rectified
  2 DEATH_PAID               public_security     20000  2026-10-03   confirm 甲 (rectify on 11-03)      confirmed
  3 DEATH_PAID               public_security      1200  2026-10-15   take                            in_review
  4 ENTERPRISE_UNREGISTERED  industry_commerce       —  2026-10-20   dismiss                         dismissed
  5 STUDENT_UNENROLLED       education               —  2026-10-31 23:59:59  —                       new
  6 STUDENT_UNENROLLED       education               —  2026-11-01 00:00:00  (next month: not counted)
  7 ENTERPRISE_UNREGISTERED  industry_commerce       —  2026-05-01   — (cleared by data 08-01)       new, cleared
  8 DUPLICATE_PAYMENT        agency                800  2026-06-15   note only                       new
  9 DEATH_PAID               public_security      3000  2026-03-01   take                            in_review
 10 SUBSIDY_NOT_STOPPED      disability              —  2026-09-30   —                               new
 11 PAYMENT_UNREGISTERED     agency                600  2026-07-01   — (cleared 09-01, reopened 11-05) new, cleared at 10-31

This month (first seen in October: 2, 3, 4, 5):
  found 4; handled 2 (#2 confirmed, #4 dismissed); confirmed 1, dismissed 1, rectified 0
  (#2's rectification is in November); awaiting rectification 1; open 2 (#3 in review,
  #5 new); cleared_unhandled 0; involved 20000 + 1200 = 21200; confirmed amount 20000;
  recovered 0; 处理率 2/4 = 50% (未达标); 整改率 0/1 = 0% (未达标).
  per rule: DEATH_PAID found 2, handled 1, confirmed 1, involved 21200, 处理率 50%, 整改率 0%;
            ENTERPRISE_UNREGISTERED found 1, handled 1 (dismissed), 处理率 100% (达标), 整改率 —;
            STUDENT_UNENROLLED found 1, handled 0, 处理率 0%.
Cumulative (first seen before November: 1, 2, 3, 4, 5, 7, 8, 9, 10, 11):
  found 10; handled 3 (#1, #2, #4); confirmed 2 (#1, #2); rectified 1 (#1); dismissed 1;
  open 5 (#3, #9 in review; #5, #8, #10 new); cleared_unhandled 2 (#7, and #11 which was
  cleared at month end although reopened since); 3 + 5 + 2 = 10.
  involved 5000 + 20000 + 1200 + 800 + 3000 + 600 = 30600; confirmed amount 25000;
  recovered 5000; 处理率 3/10 = 30%; 整改率 1/2 = 50%.
  per department: public_security (#1 #2 #3 #9) found 4, handled 2, confirmed 2, rectified 1,
  involved 29200, recovered 5000, 50% / 50%; agency (#8 #11) found 2, involved 1400, 0%.
Age of the open ones at 2026-10-31: #3 16 days, #5 0 days (≤30天: 2); #10 31 days
  (31–90天: 1, the boundary); #8 138 days (91–180天: 1); #9 244 days (>180天: 1).
"""
from __future__ import annotations

import re

import pytest

from station.review.stats import monthly_series, summary
from test_review_helpers import add_anomaly, load_report_fixture, make_conn


@pytest.fixture
def conn(tmp_path):
    c = make_conn(tmp_path)
    load_report_fixture(c)
    yield c
    c.close()


def pick(d: dict, *keys):
    return {k: d[k] for k in keys}


COUNTS = ("found", "handled", "confirmed", "dismissed", "rectified", "awaiting_rectification",
          "open", "new", "in_review", "cleared_unhandled", "amount_involved", "amount_confirmed",
          "amount_recovered", "handling_rate", "rectification_rate", "handling_ok", "rectification_ok")


def test_month_totals_match_hand_computation(conn):
    s = summary(conn, month="2026-10")
    assert (s["period_start"], s["period_end"]) == ("2026-10-01", "2026-10-31")
    assert pick(s, *COUNTS) == {
        "found": 4, "handled": 2, "confirmed": 1, "dismissed": 1, "rectified": 0,
        "awaiting_rectification": 1, "open": 2, "new": 1, "in_review": 1, "cleared_unhandled": 0,
        "amount_involved": 21200.0, "amount_confirmed": 20000.0, "amount_recovered": 0.0,
        "handling_rate": 0.5, "rectification_rate": 0.0, "handling_ok": False, "rectification_ok": False}


def test_month_per_rule_and_department(conn):
    s = summary(conn, month="2026-10")
    rules = {r["rule"]: r for r in s["per_rule"]}
    assert set(rules) == {"DEATH_PAID", "ENTERPRISE_UNREGISTERED", "STUDENT_UNENROLLED"}
    assert pick(rules["DEATH_PAID"], "found", "handled", "confirmed", "amount_involved",
                "handling_rate", "rectification_rate") == {
        "found": 2, "handled": 1, "confirmed": 1, "amount_involved": 21200.0,
        "handling_rate": 0.5, "rectification_rate": 0.0}
    assert rules["DEATH_PAID"]["department_title"] == "公安"
    ent = rules["ENTERPRISE_UNREGISTERED"]
    assert pick(ent, "found", "handled", "dismissed", "handling_rate", "handling_ok",
                "rectification_rate", "rectification_ok") == {
        "found": 1, "handled": 1, "dismissed": 1, "handling_rate": 1.0, "handling_ok": True,
        "rectification_rate": None, "rectification_ok": None}
    assert pick(rules["STUDENT_UNENROLLED"], "found", "handled", "handling_rate") == {
        "found": 1, "handled": 0, "handling_rate": 0.0}
    depts = {d["department"]: (d["title"], d["found"], d["handled"]) for d in s["per_department"]}
    assert depts == {"public_security": ("公安", 2, 1), "industry_commerce": ("市场监管", 1, 1),
                     "education": ("教育", 1, 0)}


def test_cumulative_and_age_bands(conn):
    s = summary(conn, month="2026-10")
    c = s["cumulative"]
    assert pick(c, *COUNTS) == {
        "found": 10, "handled": 3, "confirmed": 2, "dismissed": 1, "rectified": 1,
        "awaiting_rectification": 1, "open": 5, "new": 3, "in_review": 2, "cleared_unhandled": 2,
        "amount_involved": 30600.0, "amount_confirmed": 25000.0, "amount_recovered": 5000.0,
        "handling_rate": 0.3, "rectification_rate": 0.5, "handling_ok": False, "rectification_ok": False}
    depts = {d["department"]: d for d in c["per_department"]}
    assert pick(depts["public_security"], "found", "handled", "confirmed", "rectified", "amount_involved",
                "amount_recovered", "handling_rate", "rectification_rate") == {
        "found": 4, "handled": 2, "confirmed": 2, "rectified": 1, "amount_involved": 29200.0,
        "amount_recovered": 5000.0, "handling_rate": 0.5, "rectification_rate": 0.5}
    assert pick(depts["agency"], "found", "handled", "amount_involved", "handling_rate") == {
        "found": 2, "handled": 0, "amount_involved": 1400.0, "handling_rate": 0.0}
    assert [d["department"] for d in c["per_department"]] == [
        "agency", "public_security", "industry_commerce", "education", "disability"]
    assert s["age_bands"] == {"≤30天": 2, "31–90天": 1, "91–180天": 1, ">180天": 1}


def test_later_month_sees_later_decisions(conn):
    # November: #6 found (taken: in review); #2 rectified on 11-03; #11 reopened 11-05.
    s = summary(conn, month="2026-11")
    assert pick(s, "found", "handled", "open", "in_review") == {
        "found": 1, "handled": 0, "open": 1, "in_review": 1}
    c = s["cumulative"]
    assert pick(c, "found", "rectified", "amount_recovered", "rectification_rate", "rectification_ok",
                "cleared_unhandled") == {
        "found": 11, "rectified": 2, "amount_recovered": 25000.0, "rectification_rate": 1.0,
        "rectification_ok": True, "cleared_unhandled": 1}


def test_summary_without_month_is_everything_now(conn):
    import datetime as dt
    s = summary(conn, today=dt.date(2026, 12, 1))
    assert s["found"] == 11 and s["handled"] == 3 and s["rectified"] == 2
    assert s["cumulative"]["found"] == 11
    assert s["cleared_unhandled"] == 1          # only #7 is cleared now (#11 reopened)
    assert sum(s["age_bands"].values()) == s["open"] == 7


def test_monthly_series(conn):
    series = monthly_series(conn, 3, end="2026-11")
    assert series == [
        {"month": "2026-09", "found": 2, "amount_involved": 5000.0, "handled": 1, "rectified": 0,
         "amount_recovered": 0.0},
        {"month": "2026-10", "found": 4, "amount_involved": 21200.0, "handled": 2, "rectified": 1,
         "amount_recovered": 5000.0},
        {"month": "2026-11", "found": 1, "amount_involved": 0.0, "handled": 0, "rectified": 1,
         "amount_recovered": 20000.0},
    ]
    assert [m["month"] for m in monthly_series(conn, 14, end="2026-01")][:2] == ["2024-12", "2025-01"]


def test_markdown_and_html_reports(conn):
    from station.export.report import build_report, render_html, render_markdown
    data = build_report(conn, "2026-10")
    md = render_markdown(data)
    assert md.startswith("# 基金监督月报（2026年10月）")
    assert "| 处理率 | 50.0% | 目标 95%：未达标 |" in md
    assert "| 整改率 | 50.0% | 目标 95%：未达标 |" in md        # cumulative
    assert "| 涉及金额（元） | 21,200.00 |" in md            # thousands separators for readers
    assert "| ≤30天 | 31–90天 | 91–180天 | >180天 | 合计 |" in md and "| 2 | 1 | 1 | 1 | 5 |" in md
    assert re.search(r"^校验值：entries=10 head=[0-9a-f]{64}$", md.strip().splitlines()[-1])
    assert "填表人：" in md and "负责人：" in md
    html = render_html(data)
    assert "<h1>基金监督月报（2026年10月）</h1>" in html and "校验值：entries=10 head=" in html


def test_html_report_prints_on_a4_with_title_signatures_and_chart(conn):
    from station.export.report import build_report, render_html
    html = render_html(build_report(conn, "2026-10", office="某县人社局基金监督科"))
    assert "@media print" in html and "size:A4" in html
    assert "thead{display:table-header-group}" in html               # headers repeat on each page
    assert "填报单位：某县人社局基金监督科" in html
    for label in ("填表人", "审核人", "负责人", "日期"):
        assert f"<span>{label}：</span>" in html
    assert "21,200.00" in html and "21200.00" not in html
    # Only totals rows are bold: the rows are marked, nothing styles a table's last row.
    totals = re.findall(r'<tr class="total"><td>([^<]*)</td>', html)
    assert totals and set(totals) == {"合计"}
    assert "last-child" not in html
    assert "<svg" in html and "<script" not in html and "http" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def test_html_escapes_text_and_xlsx_is_inert(tmp_path):
    from openpyxl import load_workbook

    from station.export.report import build_report, export_report, render_html
    conn = make_conn(tmp_path)
    add_anomaly(conn, rule="<script>alert(1)</script>", department="=HYPERLINK(\"x\")",
                first_seen="2026-10-02T00:00:00")
    html = render_html(build_report(conn, "2026-10"))
    assert "<script>" not in html and "&lt;script&gt;" in html
    out = tmp_path / "r.xlsx"
    export_report(conn, "2026-10", out, fmt="xlsx")
    ws = load_workbook(out).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    dept = [c for c in cells if "HYPERLINK" in str(c.value)]
    assert dept and all(c.value.startswith("=HYPERLINK") and c.data_type == "s" and c.quotePrefix
                        for c in dept)


def test_xlsx_report(conn, tmp_path):
    from openpyxl import load_workbook

    from station.export.report import export_report
    out = tmp_path / "月报.xlsx"
    result = export_report(conn, "2026-10", out, fmt="xlsx")
    assert result.entries == 10
    ws = load_workbook(out).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert [r[1] for r in rows if r[0] == "发现疑点（条）"] == [4, 10]       # this month, cumulative
    assert [r[1] for r in rows if r[0] == "涉及金额（元）"] == [21200, 30600]
    rates = [r for r in rows if r[0] == "处理率"]
    assert [r[1] for r in rates] == [0.5, 0.3] and rates[0][2] == "目标 95%：未达标"
    assert rows[-1][0].startswith("校验值：entries=10 head=")
    assert ws.cell(row=1, column=1).value == "基金监督月报（2026年10月）" and ws.cell(row=1, column=1).font.bold
    assert any(isinstance(r[0], str) and "填表人：" in r[0] for r in rows)
    ps = ws.page_setup
    assert str(ps.paperSize) == "9" and ps.orientation == "landscape" and ps.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage and "第 &P 页 共 &N 页" in ws.oddFooter.center.text
    bold_first = {r[0].value for r in ws.iter_rows() if r[1].value is not None and r[1].font.bold
                  and not isinstance(r[1].value, str)}
    assert bold_first == {"合计"}                                      # totals rows only
    assert (out.stat().st_mode & 0o777) == 0o600


def test_bad_month_is_refused(conn):
    from station.export.files import ExportError
    from station.export.report import build_report
    with pytest.raises(ExportError, match="应为 YYYY-MM"):
        build_report(conn, "2026-13")


def test_cli_report(tmp_path, capsys):
    from station.cli import main
    from test_review_helpers import make_home
    home = make_home(tmp_path)
    c = make_conn_at(home)
    load_report_fixture(c)
    code = main(["--home", str(home.root), "report", "--month", "2026-10", "--format", "md"])
    out = capsys.readouterr().out
    path = home.exports / "监督月报_2026-10.md"
    assert code == 0 and path.exists() and str(path) in out
    assert "本月发现 4 条，已处理 2 条，处理率 50.0%，整改率 0.0%；累计处理率 30.0%，累计整改率 50.0%" in out
    assert "校验值：entries=10 head=" in out and "| 发现疑点（条） | 4 |" in path.read_text(encoding="utf-8")

    code = main(["--home", str(home.root), "report", "--month", "2026年10月", "--format", "html", "--out", "-"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("<!DOCTYPE html>") and "基金监督月报（2026年10月）" in out

    code = main(["--home", str(home.root), "report", "--month", "2026-10"])
    assert code == 0 and (home.exports / "监督月报_2026-10.xlsx").exists()
    capsys.readouterr()

    with pytest.raises(SystemExit):
        main(["--home", str(home.root), "report", "--month", "2026-13"])
    assert "月份「2026-13」格式不对" in capsys.readouterr().err
    c.close()


def make_conn_at(home):
    from station.register.db import connect
    return connect(home.db_path)


def test_office_is_asked_once_at_a_terminal_and_kept(tmp_path, capsys, monkeypatch):
    """No 填报单位 in rules.yaml: an export at a terminal asks once, keeps it in the home's
    rules.yaml (comments kept, check-config clean), and the next export does not ask."""
    from openpyxl import load_workbook

    from station.cli import main
    from station.config import load_config
    from test_review_helpers import make_home
    home = make_home(tmp_path)
    load_report_fixture(make_conn_at(home))
    answers = iter(["  某县人社局   基金监督科 "])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["--home", str(home.root), "report", "--month", "2026-10"]) == 0
    ws = load_workbook(home.exports / "监督月报_2026-10.xlsx").active
    assert "填报单位：某县人社局 基金监督科" in ws["A2"].value
    text = home.rules_path.read_text(encoding="utf-8")
    assert 'office: "某县人社局 基金监督科"' in text and "four_eyes" in text     # the rest kept
    assert load_config(home.rules_path).office == "某县人社局 基金监督科"
    # Asked once: a second export takes it from rules.yaml (input would raise StopIteration).
    assert main(["--home", str(home.root), "export", "review-log"]) == 0
    assert main(["--home", str(home.root), "check-config"]) == 0
    capsys.readouterr()


def test_office_must_be_text(tmp_path):
    from station.config import ConfigError, load_config
    p = tmp_path / "rules.yaml"
    p.write_text("version: 1\noffice: [a, b]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="第 2 行"):
        load_config(p)
