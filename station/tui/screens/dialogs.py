"""Modal dialogs: the reviewer's name, a required reason, an amount, a yes/no question.

Each is a typed ``ModalScreen[T]``; Escape cancels (result None).
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class _Dialog(ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "取消")]
    DEFAULT_CLASSES = "dialog"

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    def submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def buttons(self, ok: str = "确定") -> Horizontal:
        return Horizontal(Button(ok, variant="primary", id="ok"), Button("取消", id="cancel"),
                          classes="buttons")

    def error(self, message: str) -> None:
        self.query_one(".error", Static).update(Text(message))


class ReviewerDialog(_Dialog):
    """Asks once at start who is reviewing; every decision carries the name."""

    BINDINGS = [Binding("escape", "cancel", "稍后")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label("请输入审核人姓名", classes="title")
            yield Static("每条核查记录都会记下审核人。也可用 --reviewer 或 STATION_REVIEWER 指定。",
                         classes="hint")
            yield Input(placeholder="审核人姓名", id="reviewer")
            yield Static(classes="error")
            yield self.buttons()

    def submit(self) -> None:
        name = self.query_one("#reviewer", Input).value.strip()
        if not name:
            self.error("姓名不能为空。")
            return
        self.dismiss(name)


class TextDialog(_Dialog):
    """A line of text: a dismissal reason (required) or a note."""

    def __init__(self, title: str, prompt: str, *, required: bool = True, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.required = required
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(Text(self.title_text), classes="title")
            yield Static(Text(self.prompt), classes="hint")
            yield Input(placeholder=self.placeholder, id="text")
            yield Static(classes="error")
            yield self.buttons()

    def submit(self) -> None:
        value = self.query_one("#text", Input).value.strip()
        if self.required and not value:
            self.error("此项必须填写。")
            return
        self.dismiss(value)


class AmountDialog(_Dialog):
    """The amount recovered (and an optional note) for a rectification."""

    def __init__(self, title: str, prompt: str, default: float | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(Text(self.title_text), classes="title")
            yield Static(Text(self.prompt), classes="hint")
            yield Input(value="" if self.default is None else f"{self.default:.2f}",
                        placeholder="追回金额（元）", id="amount")
            yield Input(placeholder="备注（可选）", id="note")
            yield Static(classes="error")
            yield self.buttons()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()           # not the base class's handler too (Textual walks the MRO)
        if event.input.id == "amount":
            self.query_one("#note", Input).focus()
        else:
            self.submit()

    def submit(self) -> None:
        raw = self.query_one("#amount", Input).value.strip().replace(",", "").replace("，", "")
        raw = raw.lstrip("￥¥")
        try:
            amount = float(raw)
        except ValueError:
            self.error("请输入金额，如 1234.50。")
            return
        if amount < 0:
            self.error("金额不能为负数。")
            return
        note = self.query_one("#note", Input).value.strip() or None
        self.dismiss((round(amount, 2), note))


class ConfirmDialog(_Dialog):
    """Yes or no; y / n / Enter / Escape."""

    BINDINGS = [Binding("escape,n", "cancel", "否"), Binding("y", "yes", "是")]

    def __init__(self, title: str, prompt: str) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Label(Text(self.title_text), classes="title")
            yield Static(Text(self.prompt), classes="hint")
            yield self.buttons("确定 (y)")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    def action_yes(self) -> None:
        self.dismiss(True)

    def submit(self) -> None:
        self.dismiss(True)
