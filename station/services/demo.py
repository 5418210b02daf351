"""The demo county, for ``station demo``."""
from __future__ import annotations

from ..demo.generate import generate_county

__all__ = ["generate_county"]
