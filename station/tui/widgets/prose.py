"""Chinese running text that wraps like Chinese: a line may break after any Chinese
character, while numbers, dates and Latin words stay whole.

(Textual wraps at spaces only: a Chinese sentence with a few spaced numbers breaks at
those spaces and leaves half-empty lines, and one without spaces folds mid-number.)
"""
from __future__ import annotations

import re

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from ...services.formatting import visible

_TOKEN = re.compile(r"\s+|[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+")
_NO_LINE_START = set("，。、；：？！）》」』】”’,.;:?!)%")
_NO_LINE_END = set("（《「『【“‘(")


def wrap_cjk(text: str, width: int) -> list[str]:
    """Greedy wrap of ``text`` to ``width`` cells; existing newlines are kept."""
    if width <= 0:
        return text.split("\n")
    out: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for tok in _TOKEN.findall(paragraph):
            if tok.isspace():
                if line:
                    line, used = line + " ", used + 1
                continue
            w = cell_len(tok)
            if used + w > width and line.strip():
                # keep closing punctuation on the line it closes (may overhang by one)
                if tok in _NO_LINE_START and used + w <= width + 2:
                    line, used = line + tok, used + w
                    continue
                carry = ""
                while line and line[-1] in _NO_LINE_END:    # an opening bracket goes along
                    carry, line = line[-1] + carry, line[:-1]
                out.append(line.rstrip())
                line, used = carry, cell_len(carry)
            while w > width:                       # a single over-long token: fold it
                cut, cw = "", 0
                for ch in tok:
                    if cw + cell_len(ch) > width:
                        break
                    cut, cw = cut + ch, cw + cell_len(ch)
                out.append(cut)
                tok, w = tok[len(cut):], w - cw
            line, used = line + tok, used + w
        out.append(line.rstrip())
    return out


class Prose(Static):
    """A Static for Chinese prose; ``set_text(text, style)`` instead of ``update``."""

    DEFAULT_CSS = "Prose { height: auto; }"

    def __init__(self, text: str = "", style: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._raw = visible(text, newlines=True)
        self._style = style

    def set_text(self, text: str, style: str = "") -> None:
        self._raw, self._style = visible(text, newlines=True), style
        self._rewrap()

    def on_mount(self) -> None:
        self._rewrap()

    def on_resize(self) -> None:
        self._rewrap()

    def _rewrap(self) -> None:
        width = self.content_region.width or self.size.width
        if not width:
            self.update(Text(self._raw, style=self._style))
            return
        self.update(Text("\n".join(wrap_cjk(self._raw, width)), style=self._style))
