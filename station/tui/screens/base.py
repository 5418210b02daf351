"""What every main screen shares: header, section bar, status bar, footer, and reloading
when the data changed while the screen was in the background."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from ..widgets.chrome import NavBar, StatusBar


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
