"""Errors of the disk and the database, classified for the user (the CLI and TUI catch
these instead of ``sqlite3`` exceptions)."""
from __future__ import annotations

import sqlite3

from ..register.db import RegisterError, StorageError, storage_error, storage_kind

# What the disk or the database raise under an operation.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error, OSError)

__all__ = ["RegisterError", "STORAGE_ERRORS", "StorageError", "failure_text", "storage_error", "storage_kind"]


def failure_text(e: BaseException, doing: str) -> str:
    """What to tell the user about ``e`` raised while ``doing`` (Chinese, e.g. "记录决定"):
    a storage failure says what to do; anything else names the exception."""
    if isinstance(e, STORAGE_ERRORS):
        return str(storage_error(e, doing))
    return f"{type(e).__name__}: {e}"
