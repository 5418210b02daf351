"""Issue 17 through the review station (App.run_test): a large CSV dropped while the
window is open is applied (item 4); dates are today's at each use (item 10)."""
from __future__ import annotations

import shutil

from conftest import SAMPLE_INBOX
from station.inbox import pipeline
from station.services.station import Station
from station.tui.app import StationApp
from test_tui_app import SIZE, until


async def test_a_large_csv_dropped_while_the_window_is_open_is_applied(home, monkeypatch):
    """Inside Textual the mapping child could not start (``ValueError: bad value(s) in
    fds_to_keep``) and every CSV of 16 MB or more was rejected: any failure to start the
    worker means mapping in this process."""
    monkeypatch.setattr(pipeline, "WORKER_MIN_BYTES", 0)       # this small file goes to the worker
    monkeypatch.setattr(pipeline, "spare_core", lambda: True)
    st = Station.open(home)
    app = StationApp(st, "张三", watcher_options={"settle_seconds": 0.2, "tick": 0.05})
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.watcher.state.mode in ("watching", "polling"), what="watcher")
        shutil.copyfile(SAMPLE_INBOX / "agency" / "参保人员信息_202610.csv",
                        home.inbox / "agency" / "roster.csv")
        await until(pilot, lambda: app.data_version > 0 and not app.activity,
                    timeout=60, what="the delivery applied and shown")
    status, rejected = st.conn.execute("SELECT status, rows_rejected FROM deliveries").fetchone()
    assert (status, rejected) == ("applied", 0)
    st.close()


async def test_the_inbox_screen_names_a_linked_department_folder(home, tmp_path):
    from test_delivery import link_department
    from test_tui_app import screen_text, settle
    st = Station.open(home)
    link_department(st, tmp_path)
    app = StationApp(st, "张三", watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        text = screen_text(app)
        assert "public_security" in text and "链接" in text
    st.close()


async def test_the_review_station_uses_the_date_of_each_use_not_of_its_start(loaded_station, monkeypatch):
    """Left open past midnight, days-open were off by one and the palette's review-log
    export (ending on the start-up day) silently dropped the new day's decisions."""
    import datetime as real_dt

    from station.tui import app as app_module
    from station.tui import exports

    class Clock:
        day = real_dt.date(2026, 12, 7)

    class FakeDate(real_dt.date):
        @classmethod
        def today(cls):
            return Clock.day

    fake_dt = type("dt", (), {"date": FakeDate, "datetime": real_dt.datetime, "timedelta": real_dt.timedelta})
    monkeypatch.setattr(app_module, "dt", fake_dt)
    asked = []
    monkeypatch.setattr(exports, "run", lambda station, what, *, unmasked, today: asked.append(today) or [])
    app = StationApp(loaded_station, "张三", watch=False)
    async with app.run_test(size=SIZE) as pilot:
        assert app.today == real_dt.date(2026, 12, 7)
        Clock.day = real_dt.date(2026, 12, 8)            # midnight passes with the window open
        assert app.today == real_dt.date(2026, 12, 8)
        app.run_export("review-log")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert asked == [real_dt.date(2026, 12, 8)]
