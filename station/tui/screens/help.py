"""F1 / ?: every key, per section, read from the bindings themselves (so it cannot drift)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

KEY_NAMES = {"question_mark": "?", "space": "空格", "enter": "回车", "escape": "Esc",
             "pagedown": "PgDn", "pageup": "PgUp", "slash": "/", "full_stop": ".",
             "ctrl+home": "Ctrl+Home", "ctrl+end": "Ctrl+End", "plus": "+", "minus": "-"}


def key_label(keys: str) -> str:
    out = []
    for k in keys.split(","):
        k = k.strip()
        if k in KEY_NAMES:
            out.append(KEY_NAMES[k])
        elif k.startswith("ctrl+"):
            out.append("Ctrl+" + KEY_NAMES.get(k[5:], k[5:].upper()))
        elif k.startswith("shift+"):
            out.append(k[6:].upper())
        elif len(k) > 1:
            out.append(k.upper() if k.startswith("f") and k[1:].isdigit() else k)
        else:
            out.append(k)
    return " / ".join(dict.fromkeys(out))


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "关闭")]
    DEFAULT_CLASSES = "dialog"

    def __init__(self, sections: list[tuple[str, list]]) -> None:
        """``sections``: (scope title, bindings) pairs, from the app (which knows its screens)."""
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(classes="box help"):
            yield Label("按键说明", classes="title")
            table = DataTable(cursor_type="row", zebra_stripes=True, id="keys")
            yield table
            yield Static("Esc 关闭 · Ctrl+P 打开命令面板（所有操作都可在其中搜索）", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("范围", key="scope")
        table.add_column("按键", key="key")
        table.add_column("作用", key="what")
        seen = set()
        for scope, bindings in self.sections:
            for b in bindings:
                if not isinstance(b, Binding) or not b.description:
                    continue
                label = key_label(b.key)
                if (scope, label) in seen:
                    continue
                seen.add((scope, label))
                table.add_row(Text(scope), Text(label, style="bold"), Text(b.description))
        table.add_row(Text("全局"), Text("Ctrl+P", style="bold"), Text("命令面板"))
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
