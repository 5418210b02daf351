"""Text from a file or a person, made harmless to show on a terminal.

File names, headers, names, notes and raw rows are hostile: an ESC sequence can move the
cursor, clear the screen, retitle the window or plant an OSC-8 link; bidi overrides can
make ``exe.csv`` read as ``vsc.exe``; zero-width characters hide differences. The station
never interprets such text (no Rich markup: the TUI wraps it in ``rich.text.Text``
through ``station.tui.format.plain``, the CLI through ``station.cli.common.plain``) and
shows every control or invisible character *visibly* through :func:`visible`:

- C0 controls (``\\x00``–``\\x1f``) as their Unicode control pictures (ESC → ``␛``,
  TAB → ``␉``, LF → ``␊``), DEL as ``␡``;
- C1 controls, bidi controls, zero-width and other format characters, line and
  paragraph separators as ``\\ufffd`` (�).

The data itself is kept as delivered (it is evidence); only what is shown changes.
"""
from __future__ import annotations

import re

REPLACEMENT = "\ufffd"

# Every character of Unicode 14 (Python 3.11) in the categories Cc, Cf, Zl and Zp, from
# DEL up (tests/test_leaks.py checks this against unicodedata); C0 is handled apart.
_INVISIBLE = re.compile(
    "[\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]")
_C0 = {c: chr(0x2400 + c) for c in range(0x20)}
_DEL = "\u2421"


def visible(text: object, *, newlines: bool = False) -> str:
    """``text`` (any value; None is empty) with every control and invisible character
    made visible; ``newlines=True`` keeps line feeds (multi-line prose)."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if s.isascii() and s.isprintable():          # the common case, no copy
        return s
    shown = _INVISIBLE.sub(lambda m: _DEL if m.group() == "\x7f" else REPLACEMENT, s.translate(_C0))
    return shown.replace("\u240a", "\n") if newlines else shown


__all__ = ["REPLACEMENT", "visible"]
