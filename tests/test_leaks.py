"""Personal data and the terminal (issue 17, items 15-18 and 25): what the station shows
and writes can neither leak an ID nor be turned against the reviewer.

- 15: a birth date beside a masked ID would give the hidden digits back;
- 16: IDs in reasons, raw rows, notes, names, file names and JSON are masked by default;
- 17: text from a file or a person is plain text (no markup, no escape sequences);
- 18: every file the station writes is owner-only; no screenshots of the screen;
- 25: no spreadsheet formula, also when it starts with a full-width character.

The acceptance property over every default output is in tests/test_no_id_leaks.py.
"""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SAMPLES_AS_OF
from station.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(station, capsys, *args) -> tuple[int, str, str]:
    code = main(["--home", str(station.home.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- 25: formulas

@pytest.mark.parametrize("text", ["＝1+1", "＋1", "－1", "＠SUM(A1)", "﹦1", "=1", "+1", "-1", "@A1",
                                  "\t=1", "\r=1", "\n=1"])
def test_every_formula_start_is_neutralised_also_full_width(text):
    from station.export.files import neutralise
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["张三", "1-2", "a=b", "'=already", "（备注）", "Ａ"])
def test_ordinary_text_is_left_alone(text):
    from station.export.files import neutralise
    assert neutralise(text) == text


def test_full_width_formula_in_a_note_and_a_name_is_inert_in_every_export(tmp_path):
    from openpyxl import load_workbook
    from station.export.review_log import export_review_log
    from station.register.db import connect
    from station.review.log import decide
    from test_review_helpers import add_anomaly, make_cfg
    conn = connect(tmp_path / "station.db")
    aid = add_anomaly(conn, name="＝HYPERLINK(\"http://x\")")
    decide(conn, make_cfg(), [aid], "note", "张三", note="＝1+1")
    export_review_log(conn, tmp_path / "a.csv", fmt="csv")
    export_review_log(conn, tmp_path / "a.xlsx", fmt="xlsx")
    rows = list(csv.reader(io.StringIO((tmp_path / "a.csv").read_bytes().decode("utf-8-sig"))))
    cells = [c for r in rows for c in r]
    assert "'＝1+1" in cells and "'＝HYPERLINK(\"http://x\")" in cells
    ws = load_workbook(tmp_path / "a.xlsx").active
    cells = {c.value: c for r in ws.iter_rows() for c in r if c.value is not None}
    for text in ("＝1+1", "＝HYPERLINK(\"http://x\")"):     # exact, text-typed, no visible '
        assert cells[text].data_type == "s" and cells[text].quotePrefix


def test_anomalies_csv_neutralises_full_width_formulas(loaded_station, capsys):
    loaded_station.conn.execute("UPDATE anomalies SET name = '＝1+1' WHERE id = 1")
    code, out, _ = run(loaded_station, capsys, "anomalies", "--format", "csv")
    assert code == 0
    cells = [c for r in csv.reader(io.StringIO(out.lstrip("\ufeff"))) for c in r]
    assert "'＝1+1" in cells and "＝1+1" not in cells


# --------------------------------------------------------------------------- 18: owner-only

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_anomalies_output_file_is_owner_only(loaded_station, capsys, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    old = os.umask(0o022)
    try:
        code, _, err = run(loaded_station, capsys, "anomalies", "--format", fmt, "-o", str(out))
    finally:
        os.umask(old)
    assert code == 0, err
    assert out.exists() and _mode(out) == 0o600


def test_anomalies_output_file_replaces_an_open_one_owner_only(loaded_station, capsys, tmp_path):
    out = tmp_path / "out.json"
    out.write_text("old")
    out.chmod(0o644)
    code, _, _ = run(loaded_station, capsys, "anomalies", "--format", "json", "-o", str(out))
    assert code == 0 and _mode(out) == 0o600 and out.read_text() != "old"


def test_processed_month_folders_are_owner_only(station, tmp_path):
    from conftest import copy_samples
    old = os.umask(0o022)
    try:
        copy_samples(station.home, only="public_security")
        station.ingest(as_of=SAMPLES_AS_OF, evaluate=False)
    finally:
        os.umask(old)
    months = [p for p in station.home.processed.iterdir() if p.is_dir()]
    assert months and all(_mode(p) == 0o700 for p in months)
    files = [p for p in station.home.processed.rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files)


def test_held_folders_are_owner_only(station):
    d = station.home.inbox / "agency"
    (d / "认不出.csv").write_text("证件,称呼,爱好,日子\n440303196712219567,崔杨,钓鱼,1967-12-21\n",
                                  encoding="utf-8")
    old = os.umask(0o022)
    try:
        [r] = station.ingest(evaluate=False).results
    finally:
        os.umask(old)
    assert r.status == "held"
    held = station.home.held
    folders = [held, *[p for p in held.rglob("*") if p.is_dir()]]
    assert len(folders) >= 2 and all(_mode(p) == 0o700 for p in folders), [(p, oct(_mode(p))) for p in folders]
    files = [p for p in held.rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files)


async def test_no_screenshot_of_the_screen_is_ever_written(loaded_station, tmp_path, monkeypatch):
    from test_tui_app import SIZE, app_for, settle
    monkeypatch.setenv("HOME", str(tmp_path))
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and "Quit" in titles
        await pilot.press("ctrl+u")                     # even with full IDs shown
        app.action_screenshot(path=str(tmp_path))
        app.deliver_screenshot(path=str(tmp_path))
        await settle(pilot)
    assert not list(tmp_path.rglob("*.svg"))


# --------------------------------------------------------------------------- 17: plain text

HOSTILE = ["[on=!]y", "a[/x]b", "[@click=app.toggle_mask]点此关闭通知", "[/]", "[bold]粗[/bold]",
           "\x1b[31m红\x1b[0m", "\x1b]8;;http://evil.example/\x1b\\链接\x1b]8;;\x1b\\", "\u202egnp.exe",
           "\x07\x08\r"]
CONTROL = ("\x1b", "\x07", "\x08", "\x9b", "\u202e")
DEATHS = ("公民身份号码,姓名,性别,死亡日期,注销日期,注销原因\n"
          "110101199003074518,{name},男,2026-01-02,2026-01-05,死亡\n")


def test_visible_makes_every_control_character_visible():
    from station.normalise.display import visible
    for s in HOSTILE:
        shown = visible(s)
        assert not any(c in shown for c in CONTROL), repr(shown)
    assert visible("\x1b[31m") == "␛[31m"
    assert visible("张三 Zhang-San [x] 1,234.50 （备注）") == "张三 Zhang-San [x] 1,234.50 （备注）"
    assert visible("a\u200bb") == "a\ufffdb"           # invisible characters are shown as such


def _hostile_station(station, tmp_path):
    """Deliveries named after HOSTILE, a header-less rejected file with a hostile header,
    and a hostile name and note on an anomaly; the ingest results."""
    from station.review.log import decide
    d = station.home.inbox / "public_security"
    for i, h in enumerate(HOSTILE):
        (d / f"{h.replace('/', '∕')}{i}.csv").write_bytes(DEATHS.format(name=f"甲{i}").encode())
    (d / "表头.csv").write_text("a[/x]b,[on=!]\n1,2\n", encoding="utf-8")
    report = station.ingest(as_of=SAMPLES_AS_OF)
    conn = station.conn
    aid = conn.execute("SELECT min(id) FROM anomalies").fetchone()[0]
    conn.execute("UPDATE anomalies SET name = ? WHERE id = ?", ("[/]\x1b[31m[@click=app.quit]王", aid))
    from station.config import load_config
    decide(conn, load_config(None), [aid], "note", "张三",
           note="[/] \x1b]8;;http://evil.example/\x1b\\点我\x1b]8;;\x1b\\ [@click=app.toggle_mask]x")
    return report, aid


def test_cli_prints_hostile_text_plain(loaded_station, capsys, tmp_path):
    report, aid = _hostile_station(loaded_station, tmp_path)
    outputs = []
    for args in (["history", str(aid)], ["status", "--recent", "30"], ["anomalies"],
                 ["anomalies", "--all", "--unmask"]):
        code, out, err = run(loaded_station, capsys, *args)
        assert code == 0, (args, err)
        outputs.append(out + err)
    history_out, status_out = outputs[0], outputs[1]
    assert "[/]" in history_out and "[@click=app.toggle_mask]x" in history_out
    assert "[@click=app.toggle_mask]点此关闭通知" in status_out and "[on=!]y" in status_out
    for out in outputs:
        assert not any(c in out for c in CONTROL), repr(out[:2000])


def test_cli_ingest_prints_hostile_names_plain(station, capsys):
    d = station.home.inbox / "public_security"
    for i, h in enumerate(HOSTILE):
        (d / f"{h.replace('/', '∕')}{i}.csv").write_bytes(DEATHS.format(name=f"甲{i}").encode())
    code, out, err = run(station, capsys, "ingest", "--no-evaluate")
    assert code == 0, err
    assert "[@click=app.toggle_mask]点此关闭通知" in out and "[on=!]y" in out
    assert not any(c in out + err for c in CONTROL)


async def test_tui_shows_hostile_names_headers_and_notes_as_plain_text(loaded_station, tmp_path):
    from textual.widgets._toast import Toast
    from station.tui.messages import DeliveryFinished, DeliveryStarted
    from station.tui.screens.detail import DetailScreen
    from station.tui.screens.inbox import DeliveryScreen, InboxScreen
    from test_tui_app import SIZE, app_for, screen_text, settle, until
    report, aid = _hostile_station(loaded_station, tmp_path)
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        names = [r.name for r in report.results]
        app.post_message(DeliveryStarted([n for n in names if "@click" in n]))
        app.post_message(DeliveryFinished(report))
        app.post_message(DeliveryFinished(None, error=f"{names[0]}：出错了 [/]"))
        await until(pilot, lambda: len(app.screen.query(Toast)) >= 3, what="toasts")
        toasts = "\n".join(str(t.render()) for t in app.screen.query(Toast))
        assert "[@click=app.toggle_mask]点此关闭通知" in toasts and "出错了 [/]" in toasts
        assert not any(c in toasts for c in CONTROL)
        for toast in list(app.screen.query(Toast)):
            for x in range(0, toast.size.width, 3):
                for y in range(toast.size.height):
                    if toast.is_attached:
                        await pilot.click(toast, offset=(x, y))
        assert not app.unmasked                            # no link to toggle masking

        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        shot = screen_text(app)
        assert "[on=!]y" in shot and "[@click=app.toggle_mask]点此关闭通知" in shot
        assert not any(c in shot for c in CONTROL)
        rejected = next(i for i, r in enumerate(app.screen.rows) if r["status"] in ("rejected", "held"))
        app.screen.query_one("#ledger").move_cursor(row=rejected)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DeliveryScreen)
        shot = screen_text(app)
        assert "a[/x]b" in shot and not any(c in shot for c in CONTROL), shot
        await pilot.press("escape")

        app.open_anomaly(aid)
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.anomaly, what="detail")
        await settle(pilot)
        shot = screen_text(app)
        table = app.screen.query_one("#history")
        shot += "\n".join(" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))
        assert "[/]" in shot and "[@click=app.toggle_mask]x" in shot
        assert not any(c in shot for c in CONTROL)
    assert app.return_code in (0, None)


def test_visible_knows_every_invisible_character_of_this_python():
    import unicodedata
    from station.normalise.display import REPLACEMENT, visible
    for c in range(0x7F, sys.maxunicode + 1):
        ch = chr(c)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            assert visible(ch) in (REPLACEMENT, "\u2421"), hex(c)


# --------------------------------------------------------------------------- 15: birth dates

def test_birth_dates_are_shown_as_their_year_only():
    from station.normalise.privacy import mask_birth_date, mask_field, mask_personal, mask_value
    assert mask_birth_date("1967-12-21") == "1967-**-**"
    assert mask_birth_date("19671221") == "1967****"
    assert mask_birth_date("") == "" and mask_birth_date(None) == ""
    assert mask_field("出生日期", "1925-01-28") == "1925-**-**"
    assert mask_field("公民身份号码", "440303192501287481") == "440303********7481"
    assert mask_field("金额", 12.5) == 12.5
    subject = "440303192501287481"
    s = mask_personal("按出生日期，冀彬生于 1925-01-28，到 2026-11-15 已满 101 周岁", [subject])
    assert "1925-01-28" not in s and "1925-**-**" in s and "2026-11-15" in s and "101 周岁" in s
    for written in ("1925/1/28", "1925.01.28", "1925年1月28日", "1925 年 01 月 28 日", "19250128"):
        assert "28" not in mask_personal(f"生于{written}。", [subject]).replace("2026", ""), written
    # an ID in the text is context too; its raw birth digits are hidden
    s = mask_personal("证件号 440303199913401234 的出生日期部分「19991340」不是有效日期")
    assert "19991340" not in s and "1340" not in s.replace("1234", "")
    # other dates and numbers stay
    assert mask_personal("2026-01-28 发放 1,925.00 元", [subject]) == "2026-01-28 发放 1,925.00 元"
    ev = {"summary": "x", "records": [{"fields": {"公民身份号码": subject, "出生日期": "1925-01-28",
                                                   "姓名": "冀彬", "死亡日期": "2026-01-28"}}],
          "birth_date": "1925-01-28", "age": 101,
          "matches": [{"death_record": {"id_number": "44030319320570333X", "name": "杨文"}}]}
    m = mask_value(ev)
    f = m["records"][0]["fields"]
    assert f["公民身份号码"] == "440303********7481" and f["出生日期"] == "1925-**-**"
    assert f["死亡日期"] == "2026-01-28" and m["birth_date"] == "1925-**-**" and m["age"] == 101
    assert m["matches"][0]["death_record"]["id_number"] == "440303********333X"
    assert ev["records"][0]["fields"]["出生日期"] == "1925-01-28"        # the input is left alone


def test_cli_csv_and_json_do_not_show_the_birth_date_beside_a_masked_id(loaded_station, capsys):
    centenarian = "440303192501287481"
    for fmt in ("csv", "json", "table"):
        code, out, _ = run(loaded_station, capsys, "anomalies", "--format", fmt, "--rule", "CENTENARIAN_CHECK")
        assert code == 0
        assert "440303********7481" in out, fmt
        assert "1925-01-28" not in out and centenarian not in out, fmt
    code, out, _ = run(loaded_station, capsys, "anomalies", "--format", "json", "--unmask")
    assert centenarian in out and "1925-01-28" in out


def test_json_is_masked_by_default_and_unmask_gives_the_data(loaded_station, capsys):
    code, out, _ = run(loaded_station, capsys, "anomalies", "--format", "json")
    rows = json.loads(out)
    text = json.dumps(rows, ensure_ascii=False)
    import re
    assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", text)
    paid = [r for r in rows if r["rule"] == "DEATH_PAID"]
    assert paid and all("********" in r["subject"] for r in paid)
    code, out, _ = run(loaded_station, capsys, "anomalies", "--format", "json", "--unmask")
    assert "440303193501279793" in out


# --------------------------------------------------------------------------- 16: other IDs

PERSON = "440303196712219567"          # 崔杨, born 1967-12-21 (samples)


def test_cli_masks_ids_in_file_names_reasons_names_and_notes(loaded_station, capsys):
    from station.config import load_config
    from station.review.log import decide
    d = loaded_station.home.inbox / "public_security"
    (d / f"张三_{PERSON}.csv").write_bytes(DEATHS.format(name="甲某").encode())
    (d / "无表头.csv").write_text(f"{PERSON},崔杨,女,2026-01-02,2026-01-05,死亡\n", encoding="utf-8")
    code, out, err = run(loaded_station, capsys, "ingest")
    assert code == 0, err
    assert "张三_440303********9567.csv" in out
    conn = loaded_station.conn
    aid = conn.execute("SELECT min(id) FROM anomalies WHERE rule = 'DEATH_PAID'").fetchone()[0]
    subject = conn.execute("SELECT subject FROM anomalies WHERE id = ?", (aid,)).fetchone()[0]
    born = f"{subject[6:10]}-{subject[10:12]}-{subject[12:14]}"
    conn.execute("UPDATE anomalies SET name = ? WHERE id = ?", (PERSON, aid))
    decide(conn, load_config(None), [aid], "note", "张三",
           note=f"本人 {subject} 生于 {born}，亲属 {PERSON}")
    outputs = [out + err]
    for args in (["history", str(aid)], ["status"], ["anomalies"], ["anomalies", "--format", "csv"],
                 ["anomalies", "--format", "json"]):
        code, out, err = run(loaded_station, capsys, *args)
        assert code == 0, (args, err)
        outputs.append(out + err)
    for out in outputs:
        assert PERSON not in out and subject not in out and "19671221" not in out
    assert born not in outputs[1] and "440303********9567" in outputs[1]
    code, out, _ = run(loaded_station, capsys, "history", str(aid), "--unmask")
    assert PERSON in out and born in out and subject in out


def test_a_birth_date_in_one_note_and_the_id_in_another_are_not_put_together(loaded_station, capsys, tmp_path):
    """Notes are read side by side (history, the review log, the detail screen): the birth
    date of an ID named in any note of the output is hidden in all of them."""
    from station.config import load_config
    from station.review.log import decide
    conn = loaded_station.conn
    aid = conn.execute("SELECT min(id) FROM anomalies WHERE rule = 'DEATH_PAID'").fetchone()[0]
    decide(conn, load_config(None), [aid], "note", "张三", note=f"亲属 {PERSON} 代领")
    decide(conn, load_config(None), [aid], "note", "张三", note="亲属生于 1967年12月21日")
    outputs = {"history": run(loaded_station, capsys, "history", str(aid))[1],
               "json": run(loaded_station, capsys, "anomalies", "--format", "json")[1]}
    run(loaded_station, capsys, "export", "review-log", "--format", "csv", "--out", str(tmp_path / "log.csv"))
    outputs["review log"] = (tmp_path / "log.csv").read_bytes().decode("utf-8-sig")
    for what, out in outputs.items():
        if what != "json":
            assert "440303********9567" in out, what
        assert "1967年12月21日" not in out and "19671221" not in out, what
