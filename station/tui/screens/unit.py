"""单位: one screen with everything known about one 单位编号 or credit code — the register
entry, the enterprise registrations, the contributions assessed and collected by month and
险种, the tax bureau's collection records, archive documents, and the anomalies raised
about the unit with their decisions. Reached by searching a 单位编号, a credit code or a
name, or with ``p`` from an anomaly whose subject is a unit."""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from ..format import (action_title, data_status_title, money, money_text, plain, rule_title, short_time,
                      state_text, text)
from .base import StationScreen, deliver

FLAG_STYLE = "bold red"
NOT_DUE_STYLE = "dim"


class UnitScreen(StationScreen):
    SECTION = "unit"
    TITLE = "单位"
    BINDINGS = [
        Binding("slash", "focus_search", "查询", id="unit-search-key"),
        Binding("escape", "focus_search", "查询框", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.unit_key: str | None = None
        self.results: list[dict] = []
        self.view: dict | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Input(placeholder="输入单位编号、统一社会信用代码或单位名称，回车查询", id="unit-search")
            yield DataTable(id="unit-results", cursor_type="row", zebra_stripes=True)
            yield Static(id="unit-head", classes="summary")
            with TabbedContent(id="unit-tabs"):
                with TabPane("登记信息", id="tab-unit-register"):
                    with VerticalScroll():
                        yield DataTable(id="unit-register", cursor_type="row", show_header=False,
                                        classes="auto-table")
                        yield Static("企业登记（市场监管）", classes="section-title")
                        yield DataTable(id="unit-enterprises", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")
                with TabPane("核定与征收", id="tab-unit-money"):
                    yield DataTable(id="unit-by-month", cursor_type="row", zebra_stripes=True)
                with TabPane("征收明细", id="tab-unit-collections"):
                    yield DataTable(id="unit-collections", cursor_type="row", zebra_stripes=True)
                with TabPane("档案材料", id="tab-unit-documents"):
                    yield DataTable(id="unit-documents", cursor_type="row", zebra_stripes=True)
                with TabPane("疑点与核查", id="tab-unit-anomalies"):
                    with VerticalScroll():
                        yield DataTable(id="unit-anomalies", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")
                        yield Static("核查记录", classes="section-title")
                        yield DataTable(id="unit-decisions", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")

    def on_mount(self) -> None:
        self._columns("#unit-results", ("单位编号", "统一社会信用代码", "单位名称", "状态"))
        self._columns("#unit-register", ("项目", "内容"))
        self._columns("#unit-enterprises", ("登记类型", "核准日期", "企业名称", "法定代表人", "住所", "来源"))
        self._columns("#unit-by-month", ("费款所属期", "险种", "核定（应缴）", "征收（实缴）", "差额（核定−征收）"))
        self._columns("#unit-collections", ("票证号", "费款所属期", "险种", "实缴金额", "入库日期", "来源"))
        self._columns("#unit-documents", ("档号", "件号", "材料名称", "形成日期", "页数", "保管期限"))
        self._columns("#unit-anomalies", ("编号", "规则", "期间", "金额", "核查状态", "数据状态", "发现时间"))
        self._columns("#unit-decisions", ("时间", "疑点", "操作", "审核人", "金额", "备注"))
        self.query_one("#unit-results").display = False
        self.query_one("#unit-tabs").display = False
        self.query_one("#unit-head", Static).update(
            Text("查询一个参保单位的全部情况：登记信息、企业登记、核定与征收、征收明细、档案材料、疑点与核查。",
                 style="dim"))
        self.query_one("#unit-search", Input).focus()

    def _columns(self, selector: str, labels) -> None:
        t = self.query_one(selector, DataTable)
        for i, label in enumerate(labels):
            t.add_column(label, key=f"c{i}")

    # ------------------------------------------------------------------ search

    def action_focus_search(self) -> None:
        self.query_one("#unit-search", Input).focus()

    @on(Input.Submitted, "#unit-search")
    def _search(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.search(event.value.strip())

    @work(thread=True, exclusive=True, group="unit", exit_on_error=False)
    def search(self, query: str) -> None:
        from ...services.money import search_units
        deliver(self.app, self.show_results, query, search_units(self.station.conn, query))

    def show_results(self, query: str, results: list[dict]) -> None:
        self.results = results
        table = self.query_one("#unit-results", DataTable)
        table.clear()
        if len(results) <= 1:
            table.display = False
            self.show_unit(results[0]["unit_no"] or results[0]["credit_code"] if results else query)
            return
        for r in results:
            table.add_row(text(r.get("unit_no")), text(r.get("credit_code")), text(r.get("name")),
                          text(r.get("status")))
        table.display = True
        self.query_one("#unit-head", Static).update(
            plain(f"「{self.app.show_text(query)}」找到 {len(results)} 个单位，选择一个后回车。", "dim", wrap=True))
        table.focus()

    @on(DataTable.RowSelected, "#unit-results")
    def _pick(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.results):
            r = self.results[event.cursor_row]
            self.query_one("#unit-results").display = False
            self.show_unit(r.get("unit_no") or r.get("credit_code"))

    # ------------------------------------------------------------------ one unit

    def show_unit(self, key: str) -> None:
        self.unit_key = key
        if self.is_mounted:
            self.load()

    def load(self) -> None:
        if self.unit_key:
            self._load_unit(self.unit_key)

    @work(thread=True, exclusive=True, group="unit", exit_on_error=False)
    def _load_unit(self, key: str) -> None:
        from ...services.money import unit_view
        deliver(self.app, self.show_view, unit_view(self.station.conn, key, self.station.cfg,
                                                    self.app.as_of or self.app.today))

    def show_view(self, view: dict) -> None:
        self.view = view
        head = Text()
        if not view["found"]:
            head.append_text(plain(f"没有任何关于 {view['key']} 的记录。", "yellow"))
        else:
            head.append_text(plain(view.get("name") or "（名称不详）", "bold"))
            head.append("  单位编号 ")
            head.append_text(plain("、".join(view["unit_nos"])))
            head.append("  信用代码 ")
            head.append_text(plain("、".join(view["credit_codes"])))
            if not view["register"]:
                head.append("  不在参保单位登记库中", style="yellow")
            due = sum(r["assessed"] or 0 for r in view["by_month"])
            paid = sum(r["collected"] or 0 for r in view["by_month"])
            head.append(f"\n核定 {money(due, '0.00')} 元 · 征收 {money(paid, '0.00')} 元 · "
                        f"企业登记 {len(view['enterprises'])} 条 · 档案 {len(view['documents'])} 件 · "
                        f"疑点 {len(view['anomalies'])} 条")
        self.query_one("#unit-head", Static).update(head)
        self.query_one("#unit-tabs").display = bool(view["found"])

        t = self.query_one("#unit-register", DataTable)
        t.clear()
        if not view["register"]:
            t.add_row(text("—"), text("参保单位登记库中无记录", "dim"))
        for row in view["register"]:
            for col, header in view["register_columns"]:
                t.add_row(text(header, "bold"), text(row.get(col)))
            t.add_row(text("来源", "dim"),
                      text(self.app.show_text(f"{row.get('file') or ''} 第 {row.get('row_no')} 行"), "dim"))

        t = self.query_one("#unit-enterprises", DataTable)
        t.clear()
        for e in view["enterprises"]:
            t.add_row(text(e.get("reg_type")), text(e.get("approval_date")), text(e.get("enterprise_name")),
                      text(e.get("legal_rep")), text(e.get("address")),
                      text(self.app.show_text(f"{e.get('file') or ''}:{e.get('row_no') or ''}"), "dim"))

        t = self.query_one("#unit-by-month", DataTable)
        t.clear()
        for r in view["by_month"]:
            style = "" if r.get("due", True) else NOT_DUE_STYLE     # not yet due: greyed
            t.add_row(text(r["period"], style), text(r["insurance"], style), money_text(r["assessed"], style),
                      money_text(r["collected"], style),
                      money_text(r["difference"], FLAG_STYLE if r.get("short") else style))

        t = self.query_one("#unit-collections", DataTable)
        t.clear()
        for c in view["collections"]:
            t.add_row(text(c.get("receipt_no")), text(c.get("period")), text(c.get("insurance")),
                      money_text(c.get("amount_paid")), text(c.get("paid_date")),
                      text(self.app.show_text(f"{c.get('file') or ''}:{c.get('row_no') or ''}"), "dim"))

        t = self.query_one("#unit-documents", DataTable)
        t.clear()
        for d in view["documents"]:
            t.add_row(text(d.get("file_no")), text(d.get("item_no")), text(d.get("material")),
                      text(d.get("formed_date")), text(d.get("pages")), text(d.get("retention")))

        t = self.query_one("#unit-anomalies", DataTable)
        t.clear()
        for a in view["anomalies"]:
            t.add_row(text(a["id"]), text(rule_title(a["rule"])), text(a.get("period") or ""),
                      money_text(a.get("amount")), state_text(a.get("review_status")),
                      text(data_status_title(a.get("data_status"))), text(short_time(a.get("first_seen"))),
                      key=str(a["id"]))
        t = self.query_one("#unit-decisions", DataTable)
        t.clear()
        for d in view["decisions"]:
            t.add_row(text(short_time(d["at"])), text(f"#{d['anomaly_id']}"), text(action_title(d["action"])),
                      text(d["reviewer"]), money_text(d.get("amount")),
                      text(self.app.show_text(d.get("note") or "")))

    @on(DataTable.RowSelected, "#unit-anomalies")
    def _open_anomaly(self, event: DataTable.RowSelected) -> None:
        if event.row_key and event.row_key.value:
            self.app.open_anomaly(int(event.row_key.value))
