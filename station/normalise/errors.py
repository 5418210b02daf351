"""The one exception the normalisers raise."""
from __future__ import annotations


class FieldError(ValueError):
    """A cell that cannot be normalised.

    ``str(e)`` and ``e.reason`` are a Chinese reason for the user: what is wrong with the
    value and what to do about it. The caller decides whether the row is rejected (a
    required field) or the cell is left empty.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason
