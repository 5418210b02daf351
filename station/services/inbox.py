"""Deliveries for the CLI and TUI: the result of one, and watching the inbox. The watcher
is imported on first use (watchdog costs every command otherwise)."""
from __future__ import annotations

from ..inbox.pipeline import LEFT_IN_PLACE_NOTE, PUT_BACK_NOTE, DeliveryResult

__all__ = ["DeliveryResult", "InboxWatcher", "LEFT_IN_PLACE_NOTE", "PUT_BACK_NOTE"]


def __getattr__(name: str):
    if name == "InboxWatcher":
        from ..inbox.watcher import InboxWatcher
        return InboxWatcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
