"""The review station driven as a user would, with ``App.run_test()`` and the Pilot.

Waiting: the watcher worker never completes, so tests poll with ``pilot.pause()`` until
a condition holds (bounded), instead of ``workers.wait_for_complete()`` over all workers.
"""
from __future__ import annotations

import html
import re
import shutil
import time

import pytest

from conftest import SAMPLE_INBOX, SAMPLES_AS_OF, copy_samples
from station.config import default_rules_text
from station.home import Home
from station.services.station import Station
from station.tui.app import StationApp
from station.tui.screens.dashboard import DashboardScreen
from station.tui.screens.detail import DetailScreen
from station.tui.screens.dialogs import AmountDialog, ReviewerDialog, TextDialog
from station.tui.screens.help import HelpScreen
from station.tui.screens.inbox import DeliveryScreen, InboxScreen
from station.tui.screens.person import PersonScreen
from station.tui.screens.queue import QueueScreen

SIZE = (120, 40)
DEATH_PAID_ID = "440303193501279793"        # 邹淑英: paid after death (samples)


async def until(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until ``condition()`` is true, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def queue_ready(app) -> bool:
    screen = app.screen
    return isinstance(screen, QueueScreen) and screen.loaded_version == app.data_version \
        and not any(w.group == "queue" and w.is_running for w in app.workers)


async def open_queue(pilot) -> QueueScreen:
    await pilot.press("3")
    await until(pilot, lambda: isinstance(pilot.app.screen, QueueScreen)
                and pilot.app.screen.page.total > 0, what="queue rows")
    return pilot.app.screen


async def open_detail(pilot, **filter_) -> DetailScreen:
    """The detail of the first anomaly the queue shows under ``filter_``."""
    queue = await open_queue(pilot)
    queue.set_filter(**filter_)
    await settle(pilot)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, DetailScreen) and pilot.app.screen.anomaly,
                what="detail")
    await settle(pilot)
    return pilot.app.screen


async def settle(pilot, timeout: float = 10.0) -> None:
    """Wait until no short-lived worker (page loads, decisions) has run for a few turns of
    the event loop: a finished decision posts DataChanged, which starts a reload."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 4:
        await pilot.pause(0.02)
        busy = any(w.is_running and w.group != "watcher" for w in pilot.app.workers)
        quiet = 0 if busy else quiet + 1
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for workers to finish")


def app_for(station, reviewer="张三", **kw) -> StationApp:
    kw.setdefault("watch", False)
    return StationApp(station, reviewer, as_of=SAMPLES_AS_OF, **kw)


def with_four_eyes(home: Home, threshold: int = 1000) -> None:
    text = default_rules_text().replace("enabled: false\n    threshold: 10000",
                                        f"enabled: true\n    threshold: {threshold}")
    assert "enabled: true" in text
    home.rules_path.write_text(text, encoding="utf-8")


def screen_text(app) -> str:
    """The screen as plain text lines, from ``export_screenshot()``'s SVG."""
    svg = app.export_screenshot()
    lines: dict[int, list[str]] = {}
    for m in re.finditer(r'<text [^>]*?clip-path="url\(#terminal-\d+-line-(\d+)\)"[^>]*>(.*?)</text>', svg):
        lines.setdefault(int(m.group(1)), []).append(html.unescape(m.group(2)).replace("\xa0", " "))
    return "\n".join("".join(lines[i]) for i in sorted(lines))


# --------------------------------------------------------------------------- start

async def test_dashboard_shows_register_and_rates(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        shot = screen_text(app)
        assert "参保人员" in shot and "601" in shot
        assert "处理率" in shot and "95%" in shot
        assert "死亡后继续领取待遇" in shot
        assert "审核人：张三" in app.sub_title


async def test_reviewer_is_asked_once_when_not_given(station):
    app = StationApp(station, None, watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ReviewerDialog)
        await pilot.press("enter")                       # empty: refused
        assert isinstance(app.screen, ReviewerDialog)
        for ch in "王五":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert app.reviewer == "王五"
        assert not isinstance(app.screen, ReviewerDialog)
        assert "审核人：王五" in app.sub_title


async def test_help_lists_the_keys_and_q_quits(station):
    app = app_for(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shot = screen_text(app)
        assert "确认违规" in shot and "显示/遮蔽证件号" in shot
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


# --------------------------------------------------------------------------- queue

async def test_queue_filter_search_and_sort(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        queue = await open_queue(pilot)
        total = queue.page.total
        assert total > 20
        assert queue.page.rows[0]["title"][:6] in screen_text(app)

        queue.set_filter(rules=("DEATH_PAID",))
        await settle(pilot)
        assert queue.page.total == 2
        assert {a["rule"] for a in queue.page.rows} == {"DEATH_PAID"}

        queue.action_reset_filters()
        await settle(pilot)
        assert queue.page.total == total

        # text search by name, then by ID: typed into the search box
        await pilot.press("slash")
        for ch in "邹淑英":
            await pilot.press(ch)
        await pilot.press("enter")
        await settle(pilot)
        assert queue.page.total >= 1
        assert all(a["name"] == "邹淑英" for a in queue.page.rows)

        queue.query_one("#queue-search").value = DEATH_PAID_ID[:12]
        await pilot.pause(0.5)
        await settle(pilot)
        assert queue.page.total >= 2
        assert all(a["subject"].startswith(DEATH_PAID_ID[:12]) for a in queue.page.rows)

        # sort by amount, highest first
        queue.action_reset_filters()
        queue.sort, queue.descending = "amount", True
        queue.restart()
        await settle(pilot)
        amounts = [a["amount"] for a in queue.page.rows if a["amount"] is not None]
        assert amounts == sorted(amounts, reverse=True) and amounts


async def test_filter_dialog(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        queue = await open_queue(pilot)
        await pilot.press("f")
        await pilot.pause()
        from textual.widgets import Input, Select
        dialog = app.screen
        dialog.query_one("#f-severity", Select).value = "high"
        dialog.query_one("#f-amount", Input).value = "1000"
        dialog.submit()
        await settle(pilot)
        assert queue.filter.severities == ("high",) and queue.filter.min_amount == 1000
        assert queue.page.total >= 1
        assert all(a["severity"] == "high" and a["amount"] >= 1000 for a in queue.page.rows)
        assert "金额≥1,000" in screen_text(app)


async def test_paging_moves_a_window_over_the_queue(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=(100, 24)) as pilot:
        queue = await open_queue(pilot)
        await settle(pilot)
        # The first page may be fetched before the layout is known; the page that fits
        # the window follows it (on a loaded machine, after settle's quiet turns).
        try:
            await until(pilot, lambda: queue.page_size == queue.table.window_rows()
                        and queue.table.row_count == min(queue.page_size, queue.page.total),
                        what="a page that fits the window")
        except AssertionError as e:
            raise AssertionError(f"{e}: page size {queue.page_size}, window {queue.table.window_rows()},"
                                 f" rows {queue.table.row_count}, of {queue.page.total}") from None
        size = queue.page_size
        assert queue.table.row_count == min(size, queue.page.total) < queue.page.total
        first = [a["id"] for a in queue.page.rows]
        await pilot.press("pagedown")
        await settle(pilot)
        assert queue.row_offset == size
        assert not set(first) & {a["id"] for a in queue.page.rows}
        await pilot.press("pageup")
        await settle(pilot)
        assert [a["id"] for a in queue.page.rows] == first


async def test_bulk_dismiss_with_one_reason(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        queue = await open_queue(pilot)
        queue.set_filter(rules=("ARCHIVE_RETENTION",))
        await settle(pilot)
        n = queue.page.total
        assert n >= 2
        await pilot.press("a")                         # select the page
        assert len(queue.selected) == len(queue.page.rows)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, TextDialog)
        await pilot.press("enter")                     # empty reason refused
        assert isinstance(app.screen, TextDialog)
        for ch in "保管期限已更正":
            await pilot.press(ch)
        await pilot.press("enter")
        await until(pilot, lambda: not queue.selected, what="selection cleared after decision")
        await settle(pilot)
        states = {a["status"] for a in queue.page.rows}
        assert states == {"dismissed"}
        from station.review.log import history
        h = history(loaded_station.conn, queue.page.rows[0]["id"])
        assert h[-1]["action"] == "dismiss" and h[-1]["note"] == "保管期限已更正"
        assert h[-1]["reviewer"] == "张三"


async def test_four_eyes_refusal_is_shown(home):
    with_four_eyes(home)
    st = Station.open(home)
    copy_samples(home)
    st.ingest(as_of=SAMPLES_AS_OF)
    app = app_for(st)
    notes = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **kw: notes.append((message, kw))   # capture
        queue = await open_queue(pilot)
        queue.set_filter(rules=("DEATH_PAID",), search=DEATH_PAID_ID)
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert queue.page.rows[0]["status"] == "confirmed"
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, AmountDialog)
        await pilot.press("enter", "enter")            # default amount, no note
        await settle(pilot)
        errors = [m for m, kw in notes if kw.get("severity") == "error"]
        assert errors and "双人复核" in errors[-1] and "张三" in errors[-1]
        assert queue.page.rows[0]["status"] == "confirmed"
        # a second reviewer may
        app.reviewer = "李四"
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert queue.page.rows[0]["status"] == "rectified", notes
    st.close()


# --------------------------------------------------------------------------- detail, person, masking

async def test_detail_shows_evidence_and_masking_toggles(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, rules=("DEATH_PAID",), search=DEATH_PAID_ID)
        shot = screen_text(app)
        assert "死亡后继续领取待遇" in shot
        assert "户籍注销人员" in shot or "殡葬火化记录" in shot
        assert "待遇发放" in shot                       # payments after death as a table
        assert "参保状态" in shot and "退休" in shot       # the register record's fields are drawn
        assert DEATH_PAID_ID not in shot                # masked
        assert DEATH_PAID_ID[:6] + "********" + DEATH_PAID_ID[-4:] in shot
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert app.unmasked
        assert DEATH_PAID_ID in screen_text(app)
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert DEATH_PAID_ID not in screen_text(app)

        await pilot.press("p")                          # person view from the anomaly
        await until(pilot, lambda: isinstance(app.screen, PersonScreen) and app.screen.view,
                    what="person view")
        view = app.screen.view
        assert view["register"]["name"] == "邹淑英"
        assert view["payments_by_month"] and view["anomalies"]
        assert "邹淑英" in screen_text(app)


async def test_ids_inside_evidence_text_are_masked(loaded_station):
    unregistered = "440303195907190931"           # PAYMENT_UNREGISTERED: its summary names the ID
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await open_detail(pilot, rules=("PAYMENT_UNREGISTERED",))
        shot = screen_text(app)
        assert "发放对象不在册" in shot
        assert unregistered not in shot
        assert re.search(r"\d{17}[\dX]", shot) is None
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert unregistered in screen_text(app)


async def test_person_search_by_name(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await pilot.pause()
        assert isinstance(app.screen, PersonScreen)
        for ch in "邹淑英":
            await pilot.press(ch)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.view is not None or app.screen.results, what="search")
        await settle(pilot)
        if app.screen.view is None:                     # several people: pick the first
            await pilot.press("enter")
            await until(pilot, lambda: app.screen.view is not None, what="person")
        assert app.screen.view["name"] == "邹淑英"
        shot = screen_text(app)
        assert "登记信息" in shot and "待遇发放" in shot and "疑点与核查" in shot


async def test_inbox_ledger_and_rejected_rows(loaded_station):
    bad = loaded_station.home.inbox / "agency" / "bad.csv"
    bad.write_text("公民身份号码,姓名,参保状态\n,无证号,参保缴费\n4.2010519800101E+17,张三,退休\n",
                   encoding="utf-8")
    loaded_station.ingest([bad], as_of=SAMPLES_AS_OF)
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert "bad.csv" in screen_text(app)
        await pilot.press("enter")                     # newest first: bad.csv
        await settle(pilot)
        assert isinstance(app.screen, DeliveryScreen)
        shot = screen_text(app)
        assert "拒收" in shot
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, InboxScreen)


async def test_command_palette_offers_the_actions(loaded_station):
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        await open_queue(pilot)
        from station.tui.commands import StationCommands
        titles = [t for t, _, _ in StationCommands(app.screen).commands()]
        for wanted in ("转到 总览", "显示/遮蔽身份证号", "筛选疑点", "确认违规：选中的疑点", "导出核查台账 CSV",
                       "退出"):
            assert wanted in titles


# --------------------------------------------------------------------------- a whole review

async def test_whole_review_from_delivery_to_rectification(home):
    st = Station.open(home)
    app = StationApp(st, "张三", as_of=SAMPLES_AS_OF,
                     watcher_options={"settle_seconds": 0.2, "tick": 0.05})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.watcher.state.mode in ("watching", "polling"), what="watcher")
        # deliveries dropped while the app is open: register, payments, deaths
        for rel in ("agency/参保人员信息_202610.csv", "public_security/户籍注销人员_1.csv"):
            dest = home.inbox / rel
            shutil.copyfile(SAMPLE_INBOX / rel, dest)
        for src in sorted((SAMPLE_INBOX / "agency").glob("待遇发放_*.csv")):
            shutil.copyfile(src, home.inbox / "agency" / src.name)
        await pilot.press("3")
        await until(pilot, lambda: isinstance(app.screen, QueueScreen)
                    and any(a["rule"] == "DEATH_PAID" for a in app.screen.page.rows)
                    or isinstance(app.screen, QueueScreen) and app.screen.page.total > 0
                    and _has_rule(st, "DEATH_PAID"), timeout=30, what="DEATH_PAID in the queue")
        queue = app.screen
        queue.set_filter(rules=("DEATH_PAID",), search=DEATH_PAID_ID)
        await settle(pilot)
        assert queue.page.total == 1
        anomaly_id = queue.page.rows[0]["id"]

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.anomaly, what="detail")
        await pilot.press("c")                                   # confirm
        await until(pilot, lambda: (app.screen.anomaly or {}).get("status") == "confirmed", what="confirmed")
        await pilot.press("r")                                   # rectify with an amount
        await pilot.pause()
        assert isinstance(app.screen, AmountDialog)
        amount_input = app.screen.query_one("#amount")
        amount_input.value = ""
        for ch in "36166.20":
            await pilot.press(ch)
        await pilot.press("enter")
        for ch in "已追回":
            await pilot.press(ch)
        await pilot.press("enter")
        await until(pilot, lambda: (app.screen.anomaly or {}).get("status") == "rectified", what="rectified")
        await settle(pilot)
        table = app.screen.query_one("#history")
        history_rows = [" ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("确认违规" in r and "张三" in r for r in history_rows), history_rows
        assert any("整改完成" in r and "张三" in r and "36,166.20" in r for r in history_rows), history_rows
        assert any("发现疑点" in r for r in history_rows)
        from station.review.log import history
        actions = [(h["action"], h["reviewer"], h["amount"]) for h in history(st.conn, anomaly_id)]
        assert actions == [("confirm", "张三", None), ("rectify", "张三", 36166.2)]
        await pilot.press("q")
    assert app.watcher.state.mode == "stopped" or app.watcher.stopped
    st.close()


def _has_rule(st, rule) -> bool:
    return st.conn.execute("SELECT count(*) FROM anomalies WHERE rule = ?", (rule,)).fetchone()[0] > 0


async def test_exports_from_the_palette_write_to_exports(loaded_station):
    from station.review.log import decide
    conn = loaded_station.conn
    aid = conn.execute("SELECT id FROM anomalies ORDER BY id LIMIT 1").fetchone()[0]
    decide(conn, loaded_station.cfg, [aid], "take", "张三")
    app = app_for(loaded_station)
    exports = loaded_station.home.exports
    async with app.run_test(size=SIZE) as pilot:
        for what in ("review_log_csv", "review_log_xlsx", "monthly_report"):
            app.run_export(what)
        await settle(pilot)
        await until(pilot, lambda: len(list(exports.iterdir())) == 3, what="three export files")
    names = sorted(p.name for p in exports.iterdir())
    assert any(n.startswith("核查台账_") and n.endswith(".csv") for n in names)
    assert any(n.startswith("核查台账_") and n.endswith(".xlsx") for n in names)
    assert any(n.startswith("监督月报_") for n in names)
    csv_text = next(exports.glob("核查台账_*.csv")).read_bytes().decode("utf-8-sig")
    assert "张三" in csv_text


async def test_overdue_anomalies_stand_out(loaded_station):
    conn = loaded_station.conn
    conn.execute("UPDATE anomalies SET first_seen = '2026-01-01T09:00:00' WHERE rule = 'INVALID_ID'")
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        queue = await open_queue(pilot)
        queue.set_filter(rules=("INVALID_ID",))
        await settle(pilot)
        row = queue.table.get_row_at(0)
        assert int(str(row[-1])) > loaded_station.cfg.review.ageing_days     # age column
        assert "dark_orange" in str(row[2].style)                             # rule title styled


async def test_deep_pages_match_the_service_order(loaded_station):
    """Pages past the middle are read from the other end; they must be the same rows."""
    from station.services.anomalies import AnomalyFilter, list_anomalies
    app = app_for(loaded_station)
    async with app.run_test(size=(100, 24)) as pilot:
        queue = await open_queue(pilot)
        queue.sort, queue.descending = "amount", True
        queue.restart()
        await settle(pilot)
        expected = [a["id"] for a in list_anomalies(loaded_station.conn, AnomalyFilter(), sort="amount",
                                                     descending=True)]
        seen = []
        while True:
            seen += [a["id"] for a in queue.page.rows]
            if queue.row_offset + queue.page_size >= queue.page.total:
                break
            await pilot.press("pagedown")
            await settle(pilot)
        assert seen == expected


async def test_garbage_is_collected_when_the_reviewer_pauses_not_while_paging(loaded_station):
    import gc

    from station.tui import app as app_module
    full: list[float] = []

    def seen(phase, info):
        if phase == "stop" and info["generation"] == 2:
            full.append(time.monotonic())
    app = app_for(loaded_station)
    async with app.run_test(size=(100, 24)) as pilot:
        queue = await open_queue(pilot)
        await settle(pilot)
        gc.callbacks.append(seen)
        try:
            pressed = time.monotonic()
            await pilot.press("pagedown")
            idle = app_module.IDLE_COLLECT_SECONDS
            await until(pilot, lambda: any(t - pressed >= idle for t in full),
                        what="a collection after the pause")
            count = len(full)
            await pilot.pause(1.0)          # nothing more happened: no collection every tick
            assert len(full) <= count + 1   # (one of Python's own may fall in this second)
        finally:
            gc.callbacks.remove(seen)
        assert queue.row_offset == queue.page_size


async def test_a_slow_page_of_the_previous_filter_is_not_drawn_over_the_new_one(loaded_station, monkeypatch):
    from station.services import anomalies as service
    real = service.list_anomalies

    def slow_for_death_paid(conn, f, **kw):
        rows = real(conn, f, **kw)
        if list(f.rules or ()) == ["DEATH_PAID"]:
            time.sleep(0.6)                 # this filter's page arrives last
        return rows
    monkeypatch.setattr(service, "list_anomalies", slow_for_death_paid)
    app = app_for(loaded_station)
    async with app.run_test(size=SIZE) as pilot:
        queue = await open_queue(pilot)
        await settle(pilot)
        queue.set_filter(rules=("DEATH_PAID",))
        await pilot.pause(0.2)              # its fetch is running
        queue.set_filter(rules=("ARCHIVE_RETENTION",))
        await settle(pilot)
        await pilot.pause(1.0)
        assert queue.page.rows and {a["rule"] for a in queue.page.rows} == {"ARCHIVE_RETENTION"}
        assert queue.table.row_count == len(queue.page.rows)
