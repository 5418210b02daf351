"""收件: the delivery ledger (applied / duplicate / rejected, row counts, time); Enter opens
one delivery with its rejected rows and their reasons."""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ...kinds.spec import KINDS
from ..format import DELIVERY_STYLES, DELIVERY_TITLES, count, department_title, plain, short_time, text
from .base import StationScreen, deliver

PAGE = 200


class InboxScreen(StationScreen):
    SECTION = "inbox"
    TITLE = "收件"
    BINDINGS = [
        Binding("enter", "open", "查看", show=False),
        Binding("i", "rescan", "扫描收件箱", id="rescan"),
        Binding("m", "map", "确认对应关系", id="map"),
        Binding("pagedown", "page(1)", "下一页", show=False, priority=True),
        Binding("pageup", "page(-1)", "上一页", show=False, priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.row_offset = 0
        self.rows: list[dict] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="body"):
            yield Static(id="inbox-summary", classes="summary")
            yield DataTable(id="ledger", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        t = self.query_one("#ledger", DataTable)
        narrow = (self.app.size.width or 120) < 100      # 80 columns: long file names are cut
        for label, key in (("编号", "id"), ("状态", "status"), ("文件", "file"), ("类型", "kind"),
                           ("部门", "dept"), ("导入", "applied"), ("拒收", "rejected"),
                           ("收件时间", "time"), ("说明", "reason")):
            t.add_column(label, key=key, width=22 if narrow and key == "file" else None)

    def action_rescan(self) -> None:
        self.app.rescan()

    def action_page(self, delta: int) -> None:
        new = max(0, self.row_offset + delta * PAGE)
        if delta > 0 and len(self.rows) < PAGE:
            return
        if new != self.row_offset:
            self.row_offset = new
            self.load()

    @work(thread=True, exclusive=True, group="inbox", exit_on_error=False)
    def load(self) -> None:
        from ...services.register import deliveries, ledger_counts
        conn = self.station.conn
        rows = deliveries(conn, limit=PAGE, offset=self.row_offset)
        counts = ledger_counts(conn)
        pending = len(self.station.pending_files())
        deliver(self.app, self.show, rows, counts, pending, self.station.links_note())

    def show(self, rows: list[dict], counts: dict, pending: int, links: str | None = None) -> None:
        self.rows = rows
        self.app.pending_count = pending
        summary = Text()
        summary.append("收件记录：")
        for status, title in DELIVERY_TITLES.items():
            if status in ("held", "mapped", "unpacked") and not counts.get(status):
                continue
            summary.append(f"{title} {count(counts.get(status))}  ", style=DELIVERY_STYLES[status])
        summary.append(f"收件箱待处理 {pending} 个")
        if counts.get("held"):
            summary.append(f"\n有 {counts['held']} 个文件待确认文件类型和字段：选中后按 m 确认并导入",
                           style="bold magenta")
        if links:
            summary.append(f"\n{links}", style="bold yellow")
        if self.row_offset:
            summary.append(f"  （第 {self.row_offset // PAGE + 1} 页）", style="dim")
        self.query_one("#inbox-summary", Static).update(summary)
        t = self.query_one("#ledger", DataTable)
        row = t.cursor_row
        t.clear()
        for d in rows:
            status = d["status"]
            kind = KINDS[d["kind"]].title if d.get("kind") in KINDS else ""
            show = self.app.show_text
            t.add_row(text(d["id"]), text(DELIVERY_TITLES.get(status, status), DELIVERY_STYLES.get(status, "")),
                      text(show(_file_name(d))), text(kind), text(department_title(d.get("department"))),
                      text(count(d.get("rows_applied"))),
                      text(count(d.get("rows_rejected")), "red" if d.get("rows_rejected") else ""),
                      text(short_time(d.get("received_at"))), text(show(d.get("reason"))),
                      key=str(d["id"]))
        if rows:
            t.move_cursor(row=min(row, len(rows) - 1))

    def action_map(self) -> None:
        """确认对应关系 of the selected 待确认 file (station/tui/screens/mapping.py)."""
        t = self.query_one("#ledger", DataTable)
        if not (self.rows and 0 <= t.cursor_row < len(self.rows)):
            return
        d = self.rows[t.cursor_row]
        if d["status"] != "held":
            self.app.notify("只有「待确认」的文件需要确认文件类型和字段。", severity="warning")
            return
        from .mapping import MappingScreen
        self.app.push_screen(MappingScreen(d["id"]))

    def action_open(self) -> None:
        t = self.query_one("#ledger", DataTable)
        if self.rows and 0 <= t.cursor_row < len(self.rows):
            self.app.push_screen(DeliveryScreen(self.rows[t.cursor_row]))

    @on(DataTable.RowSelected, "#ledger")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()


class DeliveryScreen(Screen):
    """One delivery: what the ledger knows, and each rejected row with its reason."""

    TITLE = "收件详情"
    BINDINGS = [Binding("escape,backspace", "back", "返回")]

    def __init__(self, delivery: dict) -> None:
        super().__init__()
        self.delivery = delivery

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(classes="body"):
            yield Static(id="delivery-head", classes="summary")
            yield Static("拒收的行（行号、原因、原始内容）", classes="section-title")
            yield DataTable(id="rejected", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        d = self.delivery
        head = Text()
        status = d["status"]
        head.append(f"#{d['id']} ", style="bold")
        show = self.app.show_text
        head.append_text(plain(show(_file_name(d))))
        head.append(f"  {DELIVERY_TITLES.get(status, status)}\n", style=DELIVERY_STYLES.get(status, ""))
        kind = KINDS[d["kind"]].title if d.get("kind") in KINDS else "未识别"
        head.append(f"类型 {kind} · 部门 {department_title(d.get('department'))} · "
                    f"导入 {count(d.get('rows_applied'))} 行 · 拒收 {count(d.get('rows_rejected'))} 行 · "
                    f"跳过 {count(d.get('rows_skipped'))} 行\n")
        head.append(f"收件时间 {short_time(d.get('received_at'))} · 原件 ")
        head.append_text(plain(show(d.get("stored_path"))))
        if d.get("reason"):
            head.append("\n说明：", style="yellow")
            head.append_text(plain(show(d["reason"]), "yellow"))
        self.query_one("#delivery-head", Static).update(head)
        t = self.query_one("#rejected", DataTable)
        t.add_column("行号", key="row")
        t.add_column("原因", key="reason")
        t.add_column("原始内容", key="raw")
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        from ...services.register import rejected_rows
        rows = rejected_rows(self.app.station.conn, self.delivery["id"])
        deliver(self.app, self.show, rows)

    def show(self, rows: list[dict]) -> None:
        t = self.query_one("#rejected", DataTable)
        for r in rows:
            show = self.app.show_text
            t.add_row(text(r["row_no"]), text(show(r["reason"]), "red"), text(show(r["raw"])))
        if not rows:
            t.add_row(text(""), text("没有拒收的行"), text(""))
        t.focus()

    def action_back(self) -> None:
        self.app.pop_screen()


def _file_name(d: dict) -> str:
    """A ledger row's file: a zip member as ``› path in the zip`` (the zip is its original)."""
    member = d.get("member")
    return f"› {member}" if member else d["original_name"] or ""
