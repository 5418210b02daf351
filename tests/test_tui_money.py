"""The money side in the review station: the unit view (单位), the 三方对账 table, the
person view's bank accounts, and bank account numbers masked on screen."""
from __future__ import annotations

from station.tui.screens.person import PersonScreen
from station.tui.screens.reconcile import ReconcileScreen
from station.tui.screens.unit import UnitScreen
from test_tui_app import SIZE, app_for, open_detail, screen_text, settle, until

SHORT_UNIT = "U0000002"                 # CONTRIBUTION_SHORT 2026-09 in the samples
TAX_ONLY_CODE = "918531419WPJA357BA"    # COLLECTION_UNMATCHED: a credit code no unit has
SHARED = "6217990399892449556"          # SHARED_ACCOUNT 2026-09
TANG_BO = "44030319350912776X"          # 汤博, paid into it


async def test_unit_view_from_an_anomaly_whose_subject_is_a_unit(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, rules=("CONTRIBUTION_SHORT",), search=SHORT_UNIT)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, UnitScreen) and app.screen.view, what="unit view")
        view = app.screen.view
        assert view["unit_nos"] == [SHORT_UNIT] and view["register"] and view["enterprises"]
        sept = {r["insurance"]: r for r in view["by_month"] if r["period"] == "2026-09"}
        assert sum(r["difference"] for r in sept.values()) == 10744.2
        assert all(r["due"] and r["short"] for r in sept.values())
        octo = [r for r in view["by_month"] if r["period"] == "2026-10"]
        assert [r["insurance"] for r in octo] == ["企业职工基本养老保险", "失业保险", "工伤保险"]
        assert not any(r["due"] or r["short"] for r in octo)      # 2026-10 is due on 2026-11-30
        assert [a["rule"] for a in view["anomalies"]] == ["CONTRIBUTION_SHORT"]
        app.screen.query_one("#unit-tabs").active = "tab-unit-money"
        await settle(pilot)
        shot = screen_text(app)
        assert view["name"] in shot and "核定（应缴）" in shot and "2026-10" in shot


async def test_unit_view_of_a_credit_code_only_the_tax_bureau_knows(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await until(pilot, lambda: isinstance(app.screen, UnitScreen), what="unit section")
        app.screen.search(TAX_ONLY_CODE.lower())
        await until(pilot, lambda: app.screen.view, what="unit view")
        view = app.screen.view
        assert view["register"] == [] and len(view["collections"]) == 2
        assert [a["rule"] for a in view["anomalies"]] == ["COLLECTION_UNMATCHED"]
        assert "不在参保单位登记库中" in screen_text(app)


async def test_reconciliation_table_greys_months_not_yet_due(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await until(pilot, lambda: isinstance(app.screen, ReconcileScreen)
                    and app.screen.query_one("#reconcile").row_count, what="三方对账")
        table = app.screen.query_one("#reconcile")
        rows = {(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[1])): table.get_row_at(i)
                for i in range(table.row_count)}
        nov = rows[("2026-11", "工伤保险")]
        assert nov[0].style == "dim"                        # nothing of 2026-11 is due at 2026-11-15
        oct_injury = rows[("2026-10", "工伤保险")]
        assert str(oct_injury[7]) == "634.74" and "red" in str(oct_injury[7].style)   # TRANSFER_SHORT
        assert oct_injury[2].style == "dim"                 # assessed vs collected: not yet due
        sep = rows[("2026-09", "企业职工基本养老保险")]
        assert "red" in str(sep[4].style)                   # short, due
        assert "三方对账" in screen_text(app)


async def test_person_view_shows_accounts_masked_and_who_shares_them(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        app.open_person(TANG_BO)
        await until(pilot, lambda: isinstance(app.screen, PersonScreen) and app.screen.view, what="person")
        bank = app.screen.view["bank"]
        assert SHARED in {a["account_no"] for a in bank["accounts"]}
        assert any(r["result"] == "失败" for r in bank["returns"])
        assert {s["account_no"] for s in bank["shared"]} == {SHARED}
        others = {s["id_number"] for s in bank["shared"]}
        assert others and TANG_BO not in others
        app.screen.query_one("#person-tabs").active = "tab-bank"
        await settle(pilot)
        shot = screen_text(app)
        assert SHARED not in shot and "*" * 15 + SHARED[-4:] in shot
        assert not any(o in shot for o in others)


async def test_shared_account_detail_masks_the_account(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, rules=("SHARED_ACCOUNT",), search=SHARED)
        shot = screen_text(app)
        assert "多人共用银行账户" in shot
        assert SHARED not in shot and SHARED[-4:] in shot
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert SHARED in screen_text(app)


def test_monthly_report_has_a_reconciliation_section(loaded_station):
    from station.export.report import build_report, render_markdown
    data = build_report(loaded_station.conn, "2026-10", cfg=loaded_station.cfg)
    [section] = [s for s in data["sections"] if "三方对账" in s.title]
    rows = {(r[0], r[1]): r for r in section.rows}
    assert max(m for m, _ in rows) == "2026-10"                 # nothing after the report month
    sep = rows[("2026-09", "企业职工基本养老保险")]
    assert float(sep[4]) == 10152.0 and sep[8] == "少缴"          # due by 2026-10-31
    oct_injury = rows[("2026-10", "工伤保险")]
    assert oct_injury[4] == "未到期" and oct_injury[7] == "未到期"   # not due at the month's end
    assert float(rows[("2026-09", "工伤保险")][7]) == 0.0
    assert "三方对账" in render_markdown(data)


def test_report_counts_the_money_departments(loaded_station):
    from station.export.report import build_report
    month = loaded_station.conn.execute("SELECT substr(min(first_seen), 1, 7) FROM anomalies").fetchone()[0]
    data = build_report(loaded_station.conn, month, cfg=loaded_station.cfg)
    [section] = [s for s in data["sections"] if s.title.startswith("三、分部门")]
    found = {row[0]: row[1] for row in section.rows}
    assert found["税务"] == 6 and found["财政"] == 4 and found["银行"] == 12


def test_exports_show_no_bank_account_in_full(loaded_station, tmp_path):
    """The review log (CSV, XLSX) and the monthly report (md, html, xlsx) of decided
    money-side anomalies: no bank account of the data appears whole."""
    import openpyxl
    from station.config import load_config
    from station.export.report import export_report
    from station.export.review_log import export_review_log
    from station.review.log import decide
    conn = loaded_station.conn
    accounts = {a for (a,) in conn.execute(
        "SELECT account_no FROM bank_returns UNION SELECT account_no FROM payments WHERE account_no IS NOT NULL")}
    assert SHARED in accounts
    ids = [i for (i,) in conn.execute("SELECT id FROM anomalies WHERE rule IN ('SHARED_ACCOUNT', 'BANK_RETURN_MISMATCH')")]
    decide(conn, load_config(None), ids, "take", "张三")
    month = conn.execute("SELECT substr(min(first_seen), 1, 7) FROM anomalies").fetchone()[0]
    texts = []
    for fmt in ("csv", "xlsx"):
        r = export_review_log(conn, tmp_path / f"log.{fmt}", fmt=fmt)
        texts.append(r.path.read_bytes().decode("utf-8-sig") if fmt == "csv" else "\n".join(
            str(c.value) for ws in openpyxl.load_workbook(r.path).worksheets for row in ws.iter_rows() for c in row))
    for fmt in ("md", "html", "xlsx"):
        r = export_report(conn, month, tmp_path / f"report.{fmt}", fmt=fmt, cfg=loaded_station.cfg)
        texts.append(r.path.read_text(encoding="utf-8") if fmt != "xlsx" else "\n".join(
            str(c.value) for ws in openpyxl.load_workbook(r.path).worksheets for row in ws.iter_rows() for c in row))
    assert SHARED[-4:] in texts[0]                    # the masked subject is there
    for text in texts:
        assert not [a for a in accounts if a in text]


async def test_bank_return_detail_highlights_the_differing_field(loaded_station):
    from textual.widgets import DataTable
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        detail = await open_detail(pilot, rules=("BANK_RETURN_MISMATCH",), search="FF000101692")
        assert detail.anomaly["subject"] == "FF000101692"
        styled = {}
        for table in detail.query(DataTable):
            if table.row_count and len(table.columns) == 2:           # a record's field / value panel
                for i in range(table.row_count):
                    key, value = table.get_row_at(i)
                    styled[str(key)] = styled.get(str(key)) or ("red" in str(value.style))
        assert styled.get("户名") is True                              # the bank return's 户名
        assert styled.get("银行账号") is False and styled.get("处理结果") is False
        assert "发放与回盘不符之处" in screen_text(app)
