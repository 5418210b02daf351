"""What every main screen shares: header, section bar, status bar, footer, and reloading
when the data changed while the screen was in the background."""
from __future__ import annotations

from typing import Any, Callable

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.worker import get_current_worker
from textual.widgets import Footer, Header

from ..widgets.chrome import NavBar, StatusBar


def deliver(app: App, show: Callable[..., Any], *args: Any) -> None:
    """From a thread worker: hand its result to the UI, unless a newer load of the same
    group has replaced this one (``exclusive=True`` cancels it, but a thread runs on):
    its older result must not be drawn over the newer one (a page fetched for the old
    window size, the rows of the previous filter)."""
    if get_current_worker().is_cancelled:
        return
    app.call_from_thread(show, *args)


class StationScreen(Screen):
    """Subclasses set ``SECTION`` and implement :meth:`compose_body` and :meth:`load`."""

    SECTION = ""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loaded_version = -1

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.SECTION, classes="nav")
        yield from self.compose_body()
        yield StatusBar(classes="status")
        yield Footer(compact=True)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        # Textual calls on_mount of every class in the MRO, subclass first: a subclass's
        # on_mount adds its columns, then this one loads the data. Never call super().
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload_if_stale()

    def reload_if_stale(self) -> None:
        if self.is_mounted and self.loaded_version != self.app.data_version:
            self.reload()

    def reload(self) -> None:
        self.loaded_version = self.app.data_version
        self.load()

    def load(self) -> None:
        """Fetch (in a worker) and show this screen's data."""

    @property
    def station(self):
        return self.app.station
