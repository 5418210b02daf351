"""人员: one screen with everything known about one ID number — the register record,
payments by month, every partner department's records, the scanned archive documents,
and the anomalies raised about the person with their decisions. Reached by searching an
ID or a name, or with ``p`` from any anomaly."""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from ...services.money import BANK_SUCCESS
from ..format import (action_title, count, data_status_title, money, money_text, plain, rule_title,
                      short_time, state_text, text)
from .base import StationScreen, deliver

ID_COLUMNS = {"id_number", "subject"}


class PersonScreen(StationScreen):
    SECTION = "person"
    TITLE = "人员"
    BINDINGS = [
        Binding("slash", "focus_search", "查询", id="search"),
        Binding("enter", "open", "打开", show=False),
        Binding("escape", "focus_search", "查询框", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.person_id: str | None = None
        self.results: list[dict] = []
        self.view: dict | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Input(placeholder="输入身份证号（或前几位）或姓名，回车查询", id="person-search")
            yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
            yield Static(id="person-head", classes="summary")
            with TabbedContent(id="person-tabs"):
                with TabPane("登记信息", id="tab-register"):
                    with VerticalScroll():
                        yield DataTable(id="register", cursor_type="row", show_header=False,
                                        classes="auto-table")
                        yield Static("所在单位", classes="section-title")
                        yield DataTable(id="unit", cursor_type="row", show_header=False,
                                        classes="auto-table")
                with TabPane("待遇发放", id="tab-payments"):
                    yield DataTable(id="payments", cursor_type="row", zebra_stripes=True)
                with TabPane("部门数据", id="tab-partner"):
                    yield VerticalScroll(id="partner")
                with TabPane("档案材料", id="tab-documents"):
                    yield DataTable(id="documents", cursor_type="row", zebra_stripes=True)
                with TabPane("银行账户", id="tab-bank"):
                    with VerticalScroll():
                        yield DataTable(id="bank-accounts", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")
                        yield Static("银行代发回盘", classes="section-title")
                        yield DataTable(id="bank-returns", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")
                        yield Static("同一账户收款的其他人", classes="section-title")
                        yield DataTable(id="bank-shared", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")
                with TabPane("疑点与核查", id="tab-anomalies"):
                    with VerticalScroll():
                        yield DataTable(id="person-anomalies", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")
                        yield Static("核查记录", classes="section-title")
                        yield DataTable(id="person-decisions", cursor_type="row", zebra_stripes=True,
                                        classes="auto-table")

    def on_mount(self) -> None:
        self._columns("#results", ("身份证号", "姓名", "参保状态", "出现于"))
        self._columns("#register", ("项目", "内容"))
        self._columns("#unit", ("项目", "内容"))
        self._columns("#payments", ("发放年月", "合计金额", "笔数", "待遇类型"))
        self._columns("#documents", ("档号", "件号", "材料名称", "形成日期", "页数", "保管期限", "扫描文件"))
        self._columns("#person-anomalies", ("编号", "规则", "期间", "金额", "核查状态", "数据状态", "发现时间"))
        self._columns("#person-decisions", ("时间", "疑点", "操作", "审核人", "金额", "备注"))
        self._columns("#bank-accounts", ("银行账号", "发放年月", "依据"))
        self._columns("#bank-returns", ("发放年月", "发放流水号", "待遇类型", "发放金额", "户名", "银行账号",
                                        "回盘金额", "处理结果", "处理日期", "来源"))
        self._columns("#bank-shared", ("银行账号", "公民身份号码", "姓名", "发放年月"))
        self.query_one("#results").display = False
        self.query_one("#person-tabs").display = False
        self.query_one("#person-head", Static).update(
            Text("查询一个人在各部门数据中的全部记录：登记信息、待遇发放、部门数据、档案材料、疑点与核查。",
                 style="dim"))
        self.query_one("#person-search", Input).focus()

    def _columns(self, selector: str, labels) -> None:
        t = self.query_one(selector, DataTable)
        for i, label in enumerate(labels):
            t.add_column(label, key=f"c{i}")

    # ------------------------------------------------------------------ search

    def action_focus_search(self) -> None:
        self.query_one("#person-search", Input).focus()

    @on(Input.Submitted, "#person-search")
    def _search(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if query:
            self.search(query)

    @work(thread=True, exclusive=True, group="person", exit_on_error=False)
    def search(self, query: str) -> None:
        from ...services.register import search_persons
        results = search_persons(self.station.conn, query)
        deliver(self.app, self.show_results, query, results)

    def show_results(self, query: str, results: list[dict]) -> None:
        self.results = results
        table = self.query_one("#results", DataTable)
        table.clear()
        if not results:
            table.display = False
            self.query_one("#person-head", Static).update(
                plain(f"没有找到「{self.app.show_text(query)}」。", "yellow", wrap=True))
            return
        if len(results) == 1:
            table.display = False
            self.show_person(results[0]["id_number"])
            return
        for r in results:
            table.add_row(text(self.app.show_id(r["id_number"])),
                          text(self.app.show_text(r.get("name"), (r["id_number"],))),
                          text(r.get("status") or ("" if r["in_register"] else "不在册")),
                          text("、".join(r["sources"])))
        table.display = True
        self.query_one("#person-head", Static).update(
            plain(f"「{self.app.show_text(query)}」找到 {len(results)} 人，选择一人后回车。", "dim", wrap=True))
        table.focus()

    @on(DataTable.RowSelected, "#results")
    def _pick(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.results):
            self.query_one("#results").display = False
            self.show_person(self.results[event.cursor_row]["id_number"])

    # ------------------------------------------------------------------ one person

    def show_person(self, id_number: str) -> None:
        self.person_id = id_number
        if self.is_mounted:
            self.load()

    def load(self) -> None:
        if self.person_id:
            self._load_person(self.person_id)

    @work(thread=True, exclusive=True, group="person", exit_on_error=False)
    def _load_person(self, id_number: str) -> None:
        from ...services.register import person_view
        view = person_view(self.station.conn, id_number)
        deliver(self.app, self.show_view, view)

    def show_view(self, view: dict) -> None:
        self.view = view
        show_id = self.app.show_id
        reg = view["register"]
        head = Text()
        pid = (view["id"],)
        head.append_text(plain(self.app.show_text(view.get("name"), pid) or "（姓名不详）", "bold"))
        head.append("  " + show_id(view["id"]))
        if reg:
            head.append(f"  {reg.get('status') or ''}", style="bold")
        else:
            head.append("  不在参保登记库中", style="yellow")
        pay = view["payments_by_month"]
        total = sum(p["total"] for p in pay)
        head.append(f"\n待遇 {len(pay)} 个月 合计 {money(total, '0.00')} 元 · "
                    f"部门数据 {sum(len(s['rows']) for s in view['partner'])} 条 · "
                    f"档案 {len(view['documents']['rows'])} 件 · 疑点 {len(view['anomalies'])} 条")
        if not view["found"]:
            head = Text(f"没有任何关于 {show_id(view['id'])} 的记录。", style="yellow")
        self.query_one("#person-head", Static).update(head)
        self.query_one("#person-tabs").display = bool(view["found"])

        self._kv("#register", view["register_columns"], reg, pid)
        self._kv("#unit", view["unit_columns"], view.get("unit"), pid)

        t = self.query_one("#payments", DataTable)
        t.clear()
        for p in pay:
            t.add_row(text(p["period"]), money_text(p["total"]), text(count(p["count"])), text(p["types"]))

        partner = self.query_one("#partner", VerticalScroll)
        partner.remove_children()
        widgets = []
        for section in view["partner"]:
            widgets.append(Static(plain(f"{section['title']}（{section['department']}）", wrap=True),
                                  classes="section-title"))
            table = DataTable(cursor_type="row", zebra_stripes=True, classes="auto-table")
            widgets.append(table)
        if not widgets:
            widgets.append(Static(Text("没有合作部门的记录。", style="dim")))
        partner.mount_all(widgets)
        tables = [w for w in widgets if isinstance(w, DataTable)]
        for section, table in zip(view["partner"], tables):
            self._records(table, section, pid)

        t = self.query_one("#documents", DataTable)
        t.clear()
        for d in view["documents"]["rows"]:
            show = self.app.show_text
            t.add_row(text(show(d.get("file_no"), pid)), text(show(d.get("item_no"), pid)),
                      text(show(d.get("material"), pid)), text(show(d.get("formed_date"), pid)),
                      text(d.get("pages")), text(d.get("retention")), text(show(d.get("scan_file"), pid)))

        self._bank(view.get("bank") or {})

        t = self.query_one("#person-anomalies", DataTable)
        t.clear()
        for a in view["anomalies"]:
            t.add_row(text(a["id"]), text(rule_title(a["rule"])), text(a.get("period") or ""),
                      money_text(a.get("amount")), state_text(a.get("review_status")),
                      text(data_status_title(a.get("data_status"))), text(short_time(a.get("first_seen"))),
                      key=str(a["id"]))
        t = self.query_one("#person-decisions", DataTable)
        t.clear()
        for d in view["decisions"]:
            t.add_row(text(short_time(d["at"])), text(f"#{d['anomaly_id']}"), text(action_title(d["action"])),
                      text(d["reviewer"]), money_text(d.get("amount")), text(self.app.show_text(d.get("note"), pid)))

    def _bank(self, bank: dict) -> None:
        """Accounts, the bank's results and the other IDs paid into the same accounts;
        account numbers and IDs masked unless the reviewer unmasked them (Ctrl+U)."""
        account, show_id, show = self.app.show_account, self.app.show_id, self.app.show_text
        t = self.query_one("#bank-accounts", DataTable)
        t.clear()
        for a in bank.get("accounts", []):
            periods = a["periods"]
            span = periods[0] if len(periods) == 1 else f"{periods[0]} 至 {periods[-1]}（{len(periods)} 个月）"
            t.add_row(text(account(a["account_no"])), text(span), text("、".join(a["sources"])))
        t = self.query_one("#bank-returns", DataTable)
        t.clear()
        for r in bank.get("returns", []):
            ok = r.get("result") in BANK_SUCCESS
            t.add_row(text(r["period"]), text(r["serial_no"]), text(r["benefit_type"]), money_text(r["pay_amount"]),
                      text(show(r["account_name"])), text(account(r["account_no"])), money_text(r["amount"]),
                      text(r["result"], "" if ok else "bold red"), text(r["process_date"]),
                      text(show(f"{r.get('file') or ''}:{r.get('row_no') or ''}"), "dim"))
        t = self.query_one("#bank-shared", DataTable)
        t.clear()
        for s in bank.get("shared", []):
            t.add_row(text(account(s["account_no"])), text(show_id(s["id_number"])),
                      text(show(s["name"], (s["id_number"],))),
                      text("、".join(s["periods"])))

    def _kv(self, selector: str, columns, row: dict | None, pid: tuple = ()) -> None:
        t = self.query_one(selector, DataTable)
        t.clear()
        if not row:
            t.add_row(text("—"), text("无记录", "dim"))
            return
        for col, header in columns:
            value = row.get(col)
            if col in ID_COLUMNS:
                value = self.app.show_id(value)
            elif col == "monthly_pension":
                value = money(value, "")
            else:                    # 出生日期 to the year, IDs in names and text masked
                value = self.app.show_field(col, value, pid)
            t.add_row(text(header, "bold"), text(value))
        if row.get("file"):
            t.add_row(text("来源", "dim"),
                      text(self.app.show_text(f"{row['file']} 第 {row.get('row_no')} 行"), "dim"))

    def _records(self, table: DataTable, section: dict, pid: tuple = ()) -> None:
        cols = [(c, h) for c, h in section["columns"] if c not in ID_COLUMNS]
        for i, (_, header) in enumerate(cols):
            table.add_column(header, key=f"c{i}")
        table.add_column("来源文件", key="file")
        for row in section["rows"]:
            table.add_row(*[text(self.app.show_field(c, row.get(c), pid)) for c, _ in cols],
                          text(self.app.show_text(f"{row.get('file') or ''}:{row.get('row_no') or ''}"), "dim"))

    # ------------------------------------------------------------------ open an anomaly

    @on(DataTable.RowSelected, "#person-anomalies")
    def _open_anomaly(self, event: DataTable.RowSelected) -> None:
        if event.row_key and event.row_key.value:
            self.app.open_anomaly(int(event.row_key.value))

    def action_open(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable) and focused.id == "person-anomalies" and focused.row_count:
            key = focused.coordinate_to_cell_key((focused.cursor_row, 0)).row_key
            self.app.open_anomaly(int(key.value))
