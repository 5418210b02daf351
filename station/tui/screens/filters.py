"""The queue's filter dialog: rule, review status, data status, severity, department,
minimum amount and age. Returns a new :class:`QueueFilter` (or None on Escape)."""
from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Select, Static

from ...kinds.spec import DEPARTMENTS
from ...services.formatting import STATE_TITLES
from ..format import SEVERITY_TITLES, rule_titles
from .dialogs import _Dialog
from .queue_filter import QueueFilter

UNHANDLED = "unhandled"


class FilterDialog(_Dialog):
    def __init__(self, current: QueueFilter) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        status_value = (UNHANDLED if set(c.statuses) == {"new", "in_review"}
                        else c.statuses[0] if len(c.statuses) == 1 else Select.NULL)
        with Vertical(classes="box filters"):
            yield Label("筛选疑点", classes="title")
            with Grid(classes="form"):
                yield Label("规则")
                yield Select([(Text(t), r) for r, t in rule_titles().items()], prompt="全部规则",
                             value=c.rules[0] if len(c.rules) == 1 else Select.NULL, id="f-rule", compact=True)
                yield Label("核查状态")
                yield Select([(Text("未处理（待核查、核查中）"), UNHANDLED)]
                             + [(Text(t), s) for s, t in STATE_TITLES.items()],
                             prompt="全部状态", value=status_value, id="f-status", compact=True)
                yield Label("数据状态")
                yield Select([(Text("未消除"), "open"), (Text("数据已消除"), "cleared"), (Text("全部"), "all")],
                             allow_blank=False, value=c.data_status or "all", id="f-data", compact=True)
                yield Label("严重程度")
                yield Select([(Text(t), s) for s, t in SEVERITY_TITLES.items()], prompt="全部",
                             value=c.severities[0] if len(c.severities) == 1 else Select.NULL, id="f-severity", compact=True)
                yield Label("部门")
                yield Select([(Text(t), d) for d, t in DEPARTMENTS.items()], prompt="全部部门",
                             value=c.departments[0] if len(c.departments) == 1 else Select.NULL, id="f-dept", compact=True)
                yield Label("金额不少于")
                yield Input("" if c.min_amount is None else f"{c.min_amount:g}", placeholder="元", id="f-amount", compact=True)
                yield Label("发现超过")
                yield Input("" if c.older_than_days is None else str(c.older_than_days),
                            placeholder="天", id="f-age", compact=True)
            yield Static(classes="error")
            yield self.buttons("应用")

    def _one(self, selector: str) -> tuple[str, ...]:
        value = self.query_one(selector, Select).value
        return () if value is Select.NULL or value is None else (value,)

    def submit(self) -> None:
        try:
            raw = self.query_one("#f-amount", Input).value.strip().replace(",", "")
            min_amount = float(raw) if raw else None
            raw = self.query_one("#f-age", Input).value.strip()
            older = int(raw) if raw else None
        except ValueError:
            self.error("金额和天数请填数字。")
            return
        status = self._one("#f-status")
        if status == (UNHANDLED,):
            status = ("new", "in_review")
        data = self.query_one("#f-data", Select).value
        self.dismiss(replace(self.current, rules=self._one("#f-rule"), statuses=status,
                             data_status=None if data == "all" else data,
                             severities=self._one("#f-severity"), departments=self._one("#f-dept"),
                             min_amount=min_amount, older_than_days=older))
