"""The register's errors (below db.py and schema.py, which both raise them)."""
from __future__ import annotations


class RegisterError(Exception):
    """The database cannot be used. ``str(e)`` is a Chinese message for the user."""


class StorageError(RegisterError):
    """The disk or the database failed under an operation (full, read-only, locked,
    damaged): nothing of that operation was kept. ``str(e)`` says so in Chinese and
    what to do; ``kind`` is one of locked | full | readonly | io | corrupt | other."""

    def __init__(self, message: str, kind: str = "other"):
        super().__init__(message)
        self.kind = kind
