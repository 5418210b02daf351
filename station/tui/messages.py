"""Messages that the watcher thread and the workers post to the app (thread-safe).

Past-tense names: each says what happened, the app decides what to show.
"""
from __future__ import annotations

from textual.message import Message


class DeliveryStarted(Message):
    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names


class DeliveryProgressed(Message):
    def __init__(self, name: str, rows: int) -> None:
        super().__init__()
        self.name = name
        self.rows = rows


class DeliveryFinished(Message):
    """``report`` is a :class:`station.services.station.IngestReport`, or None on error."""

    def __init__(self, report, error: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.error = error


class DecisionFinished(Message):
    def __init__(self, ids: list[int], action: str, done: list[int] | None,
                 error: str | None = None) -> None:
        super().__init__()
        self.ids = ids
        self.action = action
        self.done = done or []
        self.error = error


class DataChanged(Message):
    """The register or the review log changed: screens reload what they show."""
