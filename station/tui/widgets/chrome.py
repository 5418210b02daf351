"""The lines around every main screen: the section bar on top, the watcher bar below."""
from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from ..format import WATCH_TITLES, plain

SECTIONS = (("dashboard", "1", "总览"), ("inbox", "2", "收件"), ("queue", "3", "疑点"),
            ("person", "4", "人员"), ("unit", "5", "单位"), ("reconcile", "6", "对账"))


class NavBar(Static):
    """``1 总览  2 收件  3 疑点  4 人员`` with the current section highlighted."""

    def __init__(self, active: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.active = active

    def on_mount(self) -> None:
        out = Text()
        for mode, key, title in SECTIONS:
            style = "reverse bold" if mode == self.active else ""
            out.append(f" {key} ", style="bold " + ("reverse" if mode == self.active else "dim"))
            out.append(f"{title} ", style=style)
            out.append(" ")
        out.append(" F1 帮助  Ctrl+P 命令", style="dim")
        self.update(out)


class StatusBar(Horizontal):
    """The inbox watcher's state, and a progress indicator while a delivery applies."""

    def compose(self) -> ComposeResult:
        yield Static(id="watch-state")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="apply-progress")
        yield Static(id="apply-label")

    def on_mount(self) -> None:
        self.refresh_state()
        self.set_interval(1.0, self.refresh_state)

    def refresh_state(self) -> None:
        app = self.app
        state = getattr(app, "watch_state", lambda: None)()
        out = Text()
        if state is None:
            out.append("收件箱：未监视", style="dim")
        else:
            out.append("收件箱：")
            mode = state.mode
            out.append(WATCH_TITLES.get(mode, mode),
                       style="green" if mode in ("watching", "polling") else "yellow")
            if state.waiting:
                out.append(f" · 等待完整 {state.waiting} 个")
            pending = getattr(app, "pending_count", 0)
            if pending:
                out.append(f" · 待处理 {pending} 个")
            if state.last_delivery:
                out.append(" · 最近收件 " + time.strftime("%H:%M", time.localtime(state.last_delivery)))
        self.query_one("#watch-state", Static).update(out)
        activity = getattr(app, "activity", "")
        self.set_class(bool(activity), "-busy")
        self.query_one("#apply-label", Static).update(plain(app.show_text(activity) if activity else ""))
