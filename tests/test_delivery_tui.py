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
