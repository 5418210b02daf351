"""The review station: a Textual app over :class:`station.services.station.Station`.

Four sections, each a Textual *mode* with its own screen stack: 总览 (dashboard),
收件 (inbox ledger), 疑点 (review queue; the detail screen is pushed on top of it) and
人员 (person view). The inbox watcher runs in a thread worker for the app's lifetime and
posts messages; decisions and page loads run in thread workers too, so the UI never
waits on SQLite. The UI holds no SQL and no business rules: it calls the services.
"""
from __future__ import annotations

import datetime as dt
import gc
import os
import threading
import time
from pathlib import Path
from typing import Callable

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import var

from ..services.station import Station
from .commands import StationCommands
from .messages import DataChanged, DecisionFinished, DeliveryFinished, DeliveryProgressed, DeliveryStarted
from .screens.dashboard import DashboardScreen
from .screens.dialogs import ReviewerDialog
from .screens.help import HelpScreen
from .screens.inbox import InboxScreen
from .screens.person import PersonScreen
from .screens.queue import QueueScreen
from .screens.reconcile import ReconcileScreen
from .screens.unit import UnitScreen

# Redrawing the queue leaves Rich segments and Textual strips in reference cycles, which
# only Python's oldest-generation collection frees; left to itself it runs every ten or so
# page changes and takes 100-150 ms (bench/tui_scale.py), enough to push the page change
# it lands in past 200 ms. The app collects instead once the user has paused this long.
IDLE_COLLECT_SECONDS = 0.3
_frozen = False

DECISION_DONE = {"take": "已开始核查", "confirm": "已确认违规", "dismiss": "已排除",
                 "rectify": "已登记整改", "note": "已添加备注"}


class StationApp(App[None]):
    """``StationApp(station, reviewer)``; ``watch=False`` runs without the inbox watcher."""

    TITLE = "基金监督站"
    CSS_PATH = "app.tcss"
    MODES = {"dashboard": DashboardScreen, "inbox": InboxScreen, "queue": QueueScreen,
             "person": PersonScreen, "unit": UnitScreen, "reconcile": ReconcileScreen}
    DEFAULT_MODE = "dashboard"
    COMMANDS = App.COMMANDS | {StationCommands}
    BINDINGS = [
        Binding("1", "section('dashboard')", "总览", show=False, id="go-dashboard"),
        Binding("2", "section('inbox')", "收件", show=False, id="go-inbox"),
        Binding("3", "section('queue')", "疑点", show=False, id="go-queue"),
        Binding("4", "section('person')", "人员", show=False, id="go-person"),
        Binding("5", "section('unit')", "单位", show=False, id="go-unit"),
        Binding("6", "section('reconcile')", "对账", show=False, id="go-reconcile"),
        Binding("f1,question_mark", "help", "帮助", key_display="F1", id="help"),
        Binding("ctrl+u", "toggle_mask", "显示/遮蔽证件号", show=False, priority=True, id="mask"),
        Binding("q", "quit", "退出", id="quit"),
        Binding("ctrl+q", "quit", "退出", show=False, priority=True),
    ]

    unmasked: var[bool] = var(False)
    data_version: var[int] = var(0)

    def __init__(self, station: Station, reviewer: str | None = None, *, watch: bool = True,
                 poll: bool = False, as_of: dt.date | None = None,
                 watcher_options: dict | None = None, today: dt.date | None = None) -> None:
        super().__init__()
        self.station = station
        self.reviewer = (reviewer or "").strip() or None
        self.as_of = as_of
        self._today = today           # fixed only by tests; otherwise the date of each use
        self.watch_enabled = watch
        self.poll = poll
        self.watcher_options = watcher_options or {}
        self.watcher = None
        self.activity = ""            # what the watcher is doing now, for the status bar
        self.pending_count = 0
        self._last_progress = 0.0
        self._pending_decision: Callable[[list[int]], None] | None = None
        self._export_lock = threading.Lock()
        self._failed: dict[tuple[str, ...], str] = {}    # files whose ingest raised, and why
        self._last_started: tuple[str, ...] = ()
        self._input_at = 0.0
        self._collected = True

    # ------------------------------------------------------------------ start / stop

    @property
    def today(self) -> dt.date:
        """Today, asked at each use: a window left open past midnight counts days open
        and ends its exports on the new day."""
        return self._today or dt.date.today()

    def on_mount(self) -> None:
        self.set_interval(IDLE_COLLECT_SECONDS / 2, self._collect_when_idle)
        self._update_sub_title()
        if self.watch_enabled:
            from ..services.inbox import InboxWatcher
            self.watcher = InboxWatcher(self.station.home, self._apply_delivery, poll=self.poll,
                                        **{"quiet_seconds": self.station.cfg.limits.quiet_seconds,
                                           **self.watcher_options})
            self.run_watcher()
        if not self.reviewer:
            self.push_screen(ReviewerDialog(), self._set_reviewer)
        self._warm_up()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.note_activity()
        await super().on_event(event)

    def note_activity(self) -> None:
        """Input arrived, or a screen redrew much: collect garbage once things pause."""
        self._input_at = time.monotonic()
        self._collected = False

    def _collect_when_idle(self) -> None:
        """One full garbage collection after each burst of activity, once it has paused."""
        if not self._collected and time.monotonic() - self._input_at >= IDLE_COLLECT_SECONDS:
            self._collected = True
            gc.collect()

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _warm_up(self) -> None:
        """Import the queue's service (and the rules it registers) before it is needed;
        then keep what start-up made (modules, styles, the first screen) out of every
        later collection."""
        from ..services import anomalies  # noqa: F401
        global _frozen
        if not _frozen:                   # once a process (tests start many apps)
            _frozen = True
            gc.collect()                  # what is garbage now must not become permanent
            gc.freeze()

    def _set_reviewer(self, name: str | None) -> None:
        if name:
            self.reviewer = name.strip()
            self._update_sub_title()
            self.notify(f"审核人：{self.reviewer}。每条核查记录都会署此名。", title="已登记")

    def change_reviewer(self) -> None:
        self.push_screen(ReviewerDialog(), self._set_reviewer)

    def _update_sub_title(self) -> None:
        from ..services.formatting import visible
        who = f"审核人：{visible(self.reviewer)}" if self.reviewer else "审核人：未登记"
        self.sub_title = who + (" · 证件号已显示" if self.unmasked else "")

    async def action_quit(self) -> None:
        self.stop_watcher()
        self.exit()

    def stop_watcher(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    def on_unmount(self) -> None:
        self.stop_watcher()

    # ------------------------------------------------------------------ the watcher (thread)

    @work(thread=True, exclusive=True, group="watcher", exit_on_error=False, name="收件箱监视")
    def run_watcher(self) -> None:
        self.watcher.run()

    def watch_state(self):
        return self.watcher.state if self.watcher is not None else None

    def _apply_delivery(self, files: list[Path]) -> None:
        """Called in the watcher's thread with complete files: ingest + evaluate."""
        names = [f.name for f in files]
        self.post_message(DeliveryStarted(names))
        try:
            report = self.station.ingest(files, as_of=self.as_of, on_progress=self._progress,
                                         wait_for_complete=True)
        except Exception as e:   # the watcher must survive a bad delivery
            from ..services.storage import RegisterError
            what = str(e) if isinstance(e, RegisterError) else f"{type(e).__name__}: {e}"
            error = f"{'、'.join(names)}：{what}"
            self.post_message(DeliveryFinished(None, error=error))
            return
        self.post_message(DeliveryFinished(report))

    def _progress(self, name: str, rows: int) -> None:
        now = time.monotonic()
        if now - self._last_progress >= 0.2:       # coalesce bursts
            self._last_progress = now
            self.post_message(DeliveryProgressed(name, rows))

    def on_delivery_started(self, message: DeliveryStarted) -> None:
        first = message.names[0] if message.names else ""
        more = f" 等 {len(message.names)} 个文件" if len(message.names) > 1 else ""
        self.activity = f"正在导入 {first}{more}"
        self._last_started = tuple(message.names)
        if tuple(message.names) not in self._failed:       # a retry of a failed file: quiet
            self.notify(f"{first}{more}", title="收到新文件，正在导入")
        self._refresh_status()

    def on_delivery_progressed(self, message: DeliveryProgressed) -> None:
        self.activity = f"正在导入 {message.name}：{message.rows:,} 行"
        self._refresh_status()

    def on_delivery_finished(self, message: DeliveryFinished) -> None:
        self.activity = ""
        if message.error:
            if message.error not in self._failed.values():   # the watcher retries: say it once
                self.notify(message.error, title="导入出错", severity="error", timeout=15)
            self._failed[self._last_started] = message.error
        elif message.report is not None and message.report.results:   # not only files still being written
            self.notify(_report_text(message.report), title="导入完成", timeout=8)
        self._refresh_status()
        self.post_message(DataChanged())

    def _refresh_status(self) -> None:
        from .widgets.chrome import StatusBar
        for bar in self.screen.query(StatusBar):
            bar.refresh_state()

    def rescan(self) -> None:
        if self.watcher is None:
            self.notify("收件箱监视未启动。", severity="warning")
            return
        self.watcher.scan_once()
        self.notify("已重新扫描收件箱。")

    # ------------------------------------------------------------------ data changes

    def on_data_changed(self, message: DataChanged) -> None:
        self.data_version += 1
        reload = getattr(self.screen, "reload_if_stale", None)
        if reload:
            reload()

    # ------------------------------------------------------------------ decisions

    def run_decision(self, ids: list[int], action: str, note: str | None = None,
                     amount: float | None = None,
                     on_done: Callable[[list[int]], None] | None = None) -> None:
        """Record a decision in a worker; ``on_done(ids)`` runs when it succeeded."""
        if not self.reviewer:
            self.push_screen(ReviewerDialog(), self._set_reviewer)
            return
        self._pending_decision = on_done
        self._decide(list(ids), action, note, amount, self.reviewer)

    @work(thread=True, group="decisions", exit_on_error=False)
    def _decide(self, ids: list[int], action: str, note: str | None, amount: float | None,
                reviewer: str) -> None:
        from ..services.review import ReviewError, decide
        try:
            done = decide(self.station.conn, self.station.cfg, ids, action, reviewer,
                          note=note, amount=amount)
        except ReviewError as e:
            self.post_message(DecisionFinished(ids, action, None, error=str(e)))
            return
        except Exception as e:
            from ..services.storage import failure_text
            error = failure_text(e, "记录决定")
            self.post_message(DecisionFinished(ids, action, None, error=error))
            return
        self.post_message(DecisionFinished(ids, action, list(done or [])))

    def on_decision_finished(self, message: DecisionFinished) -> None:
        if message.error:
            self.notify(message.error, title="未能记录", severity="error", timeout=12)
        else:
            n = len(message.ids)           # all or nothing: every id was decided
            callback, self._pending_decision = self._pending_decision, None
            if callback:
                callback(message.ids)
            self.notify(f"{DECISION_DONE.get(message.action, message.action)} {n} 条（{self.reviewer}）",
                        title="已记录")
        self.post_message(DataChanged())

    # ------------------------------------------------------------------ plain notifications

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast is plain text: messages carry file names, names and reasons, and a
        file named ``[@click=app.toggle_mask]x.csv`` must not become a live link. There is
        no markup in the station's own messages, so ``markup`` is ignored. IDs in it (a
        file named ``张三_440303196712219567.csv``) are masked like on every screen."""
        from ..services.formatting import visible
        super().notify(visible(self.show_text(message), newlines=True), title=visible(self.show_text(title)),
                       severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------------ no screenshots

    def get_system_commands(self, screen):
        """Textual's palette commands without "Screenshot": an SVG of the screen is a copy
        of personal data (full IDs after Ctrl+U) written where the station cannot keep it
        owner-only. docs/TUI.md § Personal data."""
        return [c for c in super().get_system_commands(screen) if c.title != "Screenshot"]

    def deliver_screenshot(self, filename=None, path=None, time_format=None) -> None:
        """Refused, however it is asked for (a key binding, an action link)."""
        self.notify("本站不保存屏幕截图：屏幕上有个人信息。", title="截图已停用", severity="warning")
        return None

    # ------------------------------------------------------------------ ids, sections, help

    def show_id(self, value: str | None) -> str:
        if not value:
            return ""
        if self.unmasked:
            return value
        from ..services.formatting import mask_id
        return mask_id(value)

    def show_account(self, value: str | None) -> str:
        """A bank account number: its last four digits only, unless unmasked (Ctrl+U)."""
        if not value:
            return ""
        if self.unmasked:
            return value
        from ..services.formatting import mask_account
        return mask_account(value)

    def show_subject(self, rule: str | None, subject: str | None) -> str:
        """An anomaly's subject as shown: an ID or a bank account masked, others as written."""
        from ..services.formatting import is_account_subject, is_person_subject
        if not subject:
            return ""
        if is_account_subject(rule):
            return self.show_account(subject)
        if is_person_subject(rule) and len(subject) in (15, 18):
            return self.show_id(subject)
        return subject

    # Masking (docs/TUI.md § Personal data): every ID, birth date and account a screen or a
    # toast shows goes through these, unless the reviewer unmasked the session (Ctrl+U).

    def show_text(self, text: str | None, ids=()) -> str:
        """Free text (summaries, notes, names, file names, reasons, raw rows) with ID
        numbers masked, and the birth digits of ``ids`` (the subject) and of every ID in it."""
        if text is None:
            return ""
        if self.unmasked:
            return text
        from ..services.formatting import mask_personal
        return mask_personal(text, ids)

    @staticmethod
    def ids_in(*values) -> set[str]:
        """The IDs named in what one screen shows together (for :meth:`show_text`)."""
        from ..services.formatting import ids_in
        return ids_in(*values)

    def show_field(self, key: str, value, ids=()):
        """One field of a record by its header or column (出生日期 → year only, …)."""
        if self.unmasked:
            return value
        from ..services.formatting import mask_field
        return mask_field(key, value, ids)

    def show_anomaly(self, anomaly: dict) -> dict:
        """An anomaly (with evidence, events, decisions) as the screen may show it."""
        if self.unmasked:
            return anomaly
        from ..services.anomalies import masked_anomaly
        return masked_anomaly(anomaly)

    def action_toggle_mask(self) -> None:
        self.unmasked = not self.unmasked
        self._update_sub_title()
        if self.unmasked:
            self.notify("本次会话显示完整身份证号码。再按 Ctrl+U 恢复遮蔽。", title="证件号已显示",
                        severity="warning")
        else:
            self.notify("身份证号码已恢复遮蔽。", title="证件号已遮蔽")
        self.post_message(DataChanged())

    def action_section(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list]]:
        """Every key, per section, read from the bindings themselves (so help cannot drift)."""
        from .screens.detail import DetailScreen
        return [("全局", self.BINDINGS), ("总览", DashboardScreen.BINDINGS),
                ("收件", InboxScreen.BINDINGS), ("疑点列表", QueueScreen.BINDINGS),
                ("疑点详情", DetailScreen.BINDINGS), ("人员", PersonScreen.BINDINGS),
                ("单位", UnitScreen.BINDINGS), ("三方对账", ReconcileScreen.BINDINGS)]

    def open_person(self, id_number: str) -> None:
        self.switch_mode("person")
        self.screen.show_person(id_number)

    def open_unit(self, key: str) -> None:
        self.switch_mode("unit")
        self.screen.show_unit(key)

    def open_subject(self, anomaly: dict) -> None:
        """``p`` on an anomaly: the person view for an ID, the unit view for a unit."""
        from ..services.formatting import is_unit_subject
        subject = anomaly.get("subject") or ""
        if is_unit_subject(anomaly.get("rule")):
            self.open_unit(subject)
        elif is_person_subject_id(anomaly.get("rule"), subject):
            self.open_person(subject)
        else:
            self.notify("该疑点的对象不是个人或单位（如险种、账户、档案），没有对应的视图。", severity="warning")

    def open_anomaly(self, anomaly_id: int) -> None:
        from .screens.detail import DetailScreen
        self.push_screen(DetailScreen(anomaly_id))

    # ------------------------------------------------------------------ exports

    def run_export(self, what: str) -> None:
        self._export(what)

    @work(thread=True, group="exports", exit_on_error=False)
    def _export(self, what: str) -> None:
        from . import exports
        try:
            with self._export_lock:   # one at a time (two first imports of openpyxl collide)
                paths = exports.run(self.station, what, unmasked=self.unmasked, today=self.today)
        except Exception as e:
            self.notify(f"{type(e).__name__}: {e}", title="导出失败", severity="error", timeout=15)
            return
        shown = "、".join(str(p.relative_to(self.station.home.root)) for p in paths)
        self.notify(f"已写入 {shown}", title="导出完成", timeout=10)


def _report_text(report) -> str:
    if report is None:
        return ""
    parts = []
    titles = {"applied": "已导入", "duplicate": "重复", "rejected": "已拒收", "held": "待确认"}
    for status, title in titles.items():
        n = sum(1 for r in report.results if r.status == status)
        if n:
            parts.append(f"{title} {n} 个")
    line = "，".join(parts) or "没有文件"
    ev = report.evaluation
    if ev is not None:
        line += f"；新增疑点 {ev.new}，数据已消除 {ev.cleared}，当前未消除 {ev.open_count}"
    rejected = [r for r in report.results if r.status == "rejected"]
    if rejected:
        line += f"。拒收：{rejected[0].name}（{rejected[0].reason or ''}）"
    if any(r.status == "held" for r in report.results):
        line += "。有文件待确认：在「收件」中选中后按 m 确认文件类型和字段"
    from ..services.inbox import LEFT_IN_PLACE_NOTE, PUT_BACK_NOTE
    for flag, note in (("put_back", PUT_BACK_NOTE), ("left_in_place", LEFT_IN_PLACE_NOTE)):
        flagged = [r for r in report.results if getattr(r, flag)]
        if flagged:
            line += f"。{flagged[0].name}：{note}"
    return line


def reviewer_from_env(option: str | None) -> str | None:
    return (option or os.environ.get("STATION_REVIEWER") or "").strip() or None


def is_person_subject_id(rule: str | None, subject: str) -> bool:
    """Whether an anomaly's subject is a person's ID number (the person view applies)."""
    from ..services.formatting import is_person_subject, looks_like_id
    return is_person_subject(rule) and len(subject) in (15, 18) and looks_like_id(subject)
