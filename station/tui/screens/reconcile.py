"""对账 (三方对账): per month and 险种, what the agency assessed, what the tax bureau
collected (by 费款所属期, and into the treasury by month), what reached the fund's special
account, and the differences. Months not yet due for a comparison (the money-side rules'
grace days) are greyed; differences beyond the tolerance of a due month stand out."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ..format import money_text, text
from .base import StationScreen, deliver

FLAG_STYLE = "bold red"
NOT_DUE_STYLE = "dim"

# 少缴 = 核定 − 征收 (by 费款所属期); 未划入 = 入库 (by the month of 入库日期) − 划入专户.
COLUMNS = ("月份", "险种", "核定", "征收", "少缴", "入库", "划入专户", "未划入", "利息等")


class ReconcileScreen(StationScreen):
    SECTION = "reconcile"
    TITLE = "三方对账"
    BINDINGS = [Binding("g", "refresh", "刷新", id="reconcile-refresh")]

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static(id="reconcile-head", classes="summary")
            yield DataTable(id="reconcile", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        t = self.query_one("#reconcile", DataTable)
        for i, label in enumerate(COLUMNS):
            t.add_column(label, key=f"c{i}")

    def action_refresh(self) -> None:
        self.reload()

    def load(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="reconcile", exit_on_error=False)
    def _load(self) -> None:
        from ...services.money import reconciliation
        deliver(self.app, self.show_table, reconciliation(self.station.conn, self.station.cfg,
                                                          self.app.as_of or self.app.today))

    def show_table(self, table: dict) -> None:
        rows = table["rows"]
        head = Text()
        head.append("三方对账", style="bold")
        head.append(f"（基准日 {table['as_of']}）：经办机构核定、税务征收、财政专户划入，按月份和险种逐项比对。\n")
        head.append("少缴 = 核定 − 征收（按费款所属期）；未划入 = 入库 − 划入专户（按入库月份）。\n", style="dim")
        head.append(f"灰色：尚未到期（核定与征收比对在所属期末后 {table['contribution_grace_days']} 天、"
                    f"入库与划入比对在月末后 {table['transfer_grace_days']} 天到期）；", style=NOT_DUE_STYLE)
        head.append(f"红色：已到期且差额超过 {table['tolerance']:.2f} 元。", style=FLAG_STYLE)
        flagged = sum(1 for r in rows if r["contribution_flag"] or r["transfer_flag"])
        if not rows:
            head.append("\n还没有核定、征收或专户入账数据。", style="yellow")
        elif flagged:
            head.append(f"\n{flagged} 个月份险种有差额。")
        self.query_one("#reconcile-head", Static).update(head)
        t = self.query_one("#reconcile", DataTable)
        t.clear()
        for r in rows:
            c_style = "" if r["contribution_due"] else NOT_DUE_STYLE
            t_style = "" if r["transfer_due"] else NOT_DUE_STYLE
            row_style = NOT_DUE_STYLE if not (r["contribution_due"] or r["transfer_due"]) else ""
            t.add_row(text(r["month"], row_style), text(r["insurance"], row_style),
                      money_text(r["assessed"], c_style), money_text(r["collected"], c_style),
                      money_text(r["short"] if r["assessed"] is not None else None,
                                 FLAG_STYLE if r["contribution_flag"] else c_style),
                      money_text(r["paid_in"], t_style), money_text(r["transferred"], t_style),
                      money_text(r["untransferred"], FLAG_STYLE if r["transfer_flag"] else t_style),
                      money_text(r["other"], t_style))
