"""A DataTable that shows one window (page) of a much longer list.

It never holds more rows than fit on screen; moving past the last row, or PageDown,
asks the screen for the next window (``Edge`` message), which the screen fetches from
SQLite through the service. So 100,000 anomalies cost what 30 do.
"""
from __future__ import annotations

from textual.message import Message
from textual.widgets import DataTable


class WindowTable(DataTable):
    class Edge(Message):
        """The cursor wants to leave the window: ``delta`` pages, ``keep_row`` for PgUp/PgDn."""

        def __init__(self, table: "WindowTable", delta: int, keep_row: bool) -> None:
            super().__init__()
            self.table = table
            self.delta = delta
            self.keep_row = keep_row

        @property
        def control(self) -> "WindowTable":
            return self.table

    def window_rows(self) -> int:
        """How many rows fit: the table's height less the header (and a scrollbar)."""
        height = self.size.height
        if height <= 0:
            return 0
        return max(3, height - (1 if self.show_header else 0) - 1)

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.Edge(self, 1, keep_row=False))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            self.post_message(self.Edge(self, -1, keep_row=False))
            return
        super().action_cursor_up()

    def action_page_down(self) -> None:
        self.post_message(self.Edge(self, 1, keep_row=True))

    def action_page_up(self) -> None:
        self.post_message(self.Edge(self, -1, keep_row=True))

    def action_scroll_top(self) -> None:
        self.post_message(self.Edge(self, -(10 ** 9), keep_row=False))

    def action_scroll_bottom(self) -> None:
        self.post_message(self.Edge(self, 10 ** 9, keep_row=False))
