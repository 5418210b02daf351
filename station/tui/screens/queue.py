"""疑点: every anomaly, filtered, sorted and paged in SQLite by the anomalies service.

The table shows one window of rows (as many as fit); PgDn/PgUp and moving past the edge
fetch the next window. Space selects, ``a`` selects the window, and t/c/d/r/n decide the
selection (or the row under the cursor) in one step. Open anomalies older than
``review.ageing_days`` are drawn in orange with their age.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from ...kinds.spec import DEPARTMENTS
from ...services.formatting import is_account_subject
from ..format import OVERDUE_STYLE, SEVERITY_STYLES, age_days, money_text, plain, severity_text, state_text, text
from ..widgets.queue_table import WindowTable
from .base import StationScreen, deliver
from .dialogs import AmountDialog, ConfirmDialog, TextDialog
from .queue_filter import QueueFilter

SORTS = (("first_seen", "发现时间"), ("amount", "金额"), ("rule", "规则"), ("severity", "严重程度"),
         ("review_status", "核查状态"), ("name", "姓名"), ("id", "编号"))
SORT_TITLES = dict(SORTS)
OPEN_STATES = ("new", "in_review")
COLUMNS = (("sel", " ", 1), ("id", "编号", 6), ("rule", "规则", 18), ("severity", "级", 2),
           ("name", "姓名", 8), ("subject", "对象", 18), ("period", "期间", 7), ("amount", "金额", 11),
           ("status", "状态", 8), ("age", "天数", 4))
# Below WIDE_FROM columns (an 80-column terminal) the table keeps what a reviewer scans:
# severity colours the number, period and age are on the detail screen.
NARROW_COLUMNS = (("sel", " ", 1), ("id", "编号", 5), ("rule", "规则", 14), ("name", "姓名", 6),
                  ("subject", "对象", 18), ("amount", "金额", 10), ("status", "状态", 8))
WIDE_FROM = 110
COLUMN_SORT = {"id": "id", "rule": "rule", "severity": "severity", "name": "name",
               "amount": "amount", "status": "review_status", "age": "first_seen",
               "subject": "subject"}


@dataclass
class Page:
    rows: list[dict] = field(default_factory=list)
    total: int = 0
    offset: int = 0
    seconds: float = 0.0


class QueueScreen(StationScreen):
    SECTION = "queue"
    TITLE = "疑点"
    BINDINGS = [
        Binding("enter", "open", "详情", show=False),
        Binding("space", "toggle_select", "选择", id="select"),
        Binding("a", "select_page", "全选本页", id="select-page"),
        Binding("x", "clear_selection", "清除选择", show=False),
        Binding("slash", "focus_search", "搜索", id="search"),
        Binding("f", "filters", "筛选", id="filters"),
        Binding("F", "reset_filters", "清除筛选", show=False),
        Binding("s", "cycle_sort", "排序", id="sort"),
        Binding("S", "reverse_sort", "倒序", show=False),
        Binding("pagedown", "page(1)", "下一页", show=False),
        Binding("pageup", "page(-1)", "上一页", show=False),
        Binding("t", "decide('take')", "开始核查", show=False),
        Binding("c", "decide('confirm')", "确认违规", show=False),
        Binding("d", "decide('dismiss')", "排除", show=False),
        Binding("r", "decide('rectify')", "整改", show=False),
        Binding("n", "decide('note')", "备注", show=False),
        Binding("p", "person", "人员", show=False),
        Binding("escape", "leave_search", "返回列表", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = QueueFilter()
        self.sort = "first_seen"
        self.descending = True
        self.row_offset = 0
        self.page_size = 30
        self.page = Page()
        self.selected: set[int] = set()
        self._cursor_after_load: int | None = 0
        self._search_timer = None
        self.last_load_seconds = 0.0
        self.columns: tuple = ()
        self._count_key: tuple | None = None
        self._count = 0
        self._gaps = ""                   # 数据不全 of the rules in view (station.rules.completeness)
        self.shown_count = 0              # pages drawn so far, and when (for tests and bench)
        self.shown_at = 0.0

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="body"):
            with Horizontal(id="queue-bar"):
                yield Input(placeholder="/ 搜索姓名或身份证号", id="queue-search")
                yield Static(id="queue-sort")
            yield Static(id="queue-summary", classes="summary")
            yield Static(id="queue-gaps", classes="gaps")
            yield WindowTable(id="queue", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self._set_columns()
        self.table.focus()

    def _set_columns(self) -> bool:
        """Wide or narrow columns for the screen's width; True when they changed."""
        columns = COLUMNS if (self.app.size.width or 120) >= WIDE_FROM else NARROW_COLUMNS
        if columns is self.columns:
            return False
        self.columns = columns
        t = self.table
        t.clear(columns=True)
        for key, label, width in columns:
            t.add_column(label, key=key, width=width)
        return True

    @property
    def table(self) -> WindowTable:
        return self.query_one(WindowTable)

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        rows = self.table.window_rows()
        if rows:
            self.page_size = rows
        self._fetch(self.filter, self.sort, self.descending, self.row_offset, self.page_size)

    @work(thread=True, exclusive=True, group="queue", exit_on_error=False)
    def _fetch(self, flt: QueueFilter, sort: str, descending: bool, offset: int, limit: int) -> None:
        from ...services.anomalies import count_anomalies, list_anomalies
        started = time.perf_counter()
        conn = self.station.conn
        f = flt.service_filter()
        # Moving between pages does not change the count: count once per filter and data.
        key = (flt, self.app.data_version)
        if self._count_key == key:
            total = self._count
        else:
            from ...services.completeness import data_gaps, gaps_line
            total = count_anomalies(conn, f)
            self._count_key, self._count = key, total
            self._gaps = gaps_line(data_gaps(conn, self.station.cfg, flt.rules or None))
        if offset >= total and total:
            offset = max(0, (total - 1) // limit * limit)
        if offset > total // 2:
            # Deep pages read from the other end (the order, ties broken by id, reverses
            # exactly): OFFSET costs what it skips, so the last page costs what the first does.
            n = min(limit, total - offset)
            rows = list_anomalies(conn, f, sort=sort, descending=not descending, limit=n,
                                  offset=total - offset - n, evidence=False)
            rows.reverse()
        else:
            rows = list_anomalies(conn, f, sort=sort, descending=descending, limit=limit, offset=offset,
                                  evidence=False)
        page = Page(rows, total, offset, time.perf_counter() - started)
        deliver(self.app, self.show_page, page)

    def show_page(self, page: Page) -> None:
        self.page = page
        self.row_offset = page.offset
        self.last_load_seconds = page.seconds
        t = self.table
        keep = t.cursor_row if self._cursor_after_load is None else self._cursor_after_load
        self._cursor_after_load = None
        t.clear()
        ageing = self.station.cfg.review.ageing_days
        today = self.app.today
        show_id = self.app.show_id
        for a in page.rows:
            age = age_days(a.get("first_seen"), today)
            overdue = (a.get("status") in OPEN_STATES and a.get("data_status") == "open"
                       and age is not None and age > ageing)
            style = OVERDUE_STYLE if overdue else ""
            dim = "dim" if a.get("data_status") == "cleared" else ""
            subject = a.get("subject") or ""
            cells = {
                "sel": text("✓" if a["id"] in self.selected else "", "bold green"),
                "id": text(a["id"], style or dim or (SEVERITY_STYLES.get(a.get("severity"), "")
                                                     if len(self.columns) < len(COLUMNS) else "")),
                "rule": text(a.get("title") or a.get("rule"), style or dim),
                "severity": severity_text(a.get("severity")),
                "name": text(self.app.show_text(a.get("name"), (subject,)), style or dim),
                "subject": text(self.app.show_account(subject) if is_account_subject(a.get("rule"))
                                else show_id(subject) if _is_id(subject) else subject, style or dim),
                "period": text(a.get("period") or "", dim),
                "amount": money_text(a.get("amount"), style or dim),
                "status": state_text(a.get("status")),
                "age": text("" if age is None else str(age), style or dim),
            }
            t.add_row(*[cells[key] for key, _, _ in self.columns], key=str(a["id"]))
        if page.rows:
            t.move_cursor(row=max(0, min(keep if keep >= 0 else len(page.rows) - 1, len(page.rows) - 1)))
        self._show_summary()
        self.shown_count += 1
        self.shown_at = time.perf_counter()
        self.app.note_activity()          # the old page's rows are garbage now
        self.call_after_refresh(self._fit_window)

    def _show_summary(self) -> None:
        page = self.page
        size = max(1, self.page_size)
        pages = max(1, (page.total + size - 1) // size)
        current = page.offset // size + 1
        out = Text()
        out.append(f"共 {page.total:,} 条", style="bold")
        out.append(f" · 第 {current:,}/{pages:,} 页")
        if self.selected:
            out.append(f" · 已选 {len(self.selected)} 条", style="bold green")
        out.append_text(plain(" · " + self.app.show_text(self.filter.describe(self._rule_titles())), "dim",
                              wrap=True))
        self.query_one("#queue-summary", Static).update(out)
        gaps = self.query_one("#queue-gaps", Static)
        gaps.display = bool(self._gaps)
        gaps.update(Text("⚠ " + self._gaps, style="yellow") if self._gaps else Text())
        arrow = "↓" if self.descending else "↑"
        self.query_one("#queue-sort", Static).update(
            Text(f"排序：{SORT_TITLES.get(self.sort, self.sort)}{arrow}"))

    def _rule_titles(self) -> dict[str, str]:
        from ..format import rule_titles
        return rule_titles()

    def on_resize(self) -> None:
        if self._set_columns() and self.is_mounted:
            self.load()
            return
        self._fit_window()

    def _fit_window(self) -> None:
        """Reload when the page no longer fits the table's window: after a resize, or when
        the first page was fetched before the layout gave the table its height."""
        rows = self.table.window_rows()
        if rows and rows != self.page_size and self.is_mounted:
            self.page_size = rows
            self.row_offset = self.row_offset // rows * rows
            self._cursor_after_load = None
            self.load()

    # ------------------------------------------------------------------ paging

    @on(WindowTable.Edge)
    def _edge(self, event: WindowTable.Edge) -> None:
        self._go(event.delta, keep_row=event.keep_row)

    def action_page(self, delta: int) -> None:
        self._go(delta, keep_row=True)

    def _go(self, delta: int, keep_row: bool) -> None:
        size = self.page_size
        last = max(0, (self.page.total - 1) // size * size)
        new = min(max(0, self.row_offset + delta * size), last)
        if new == self.row_offset:
            if delta > 0 and not keep_row or abs(delta) > 1:
                self.table.move_cursor(row=self.table.row_count - 1 if delta > 0 else 0)
            return
        self.row_offset = new
        if keep_row:
            self._cursor_after_load = None
        else:
            self._cursor_after_load = 0 if delta > 0 else -1
        self.load()

    def restart(self) -> None:
        self.row_offset = 0
        self._cursor_after_load = 0
        self.load()

    # ------------------------------------------------------------------ search, filter, sort

    def action_focus_search(self) -> None:
        self.query_one("#queue-search", Input).focus()

    def action_leave_search(self) -> None:
        self.table.focus()

    @on(Input.Changed, "#queue-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(0.3, lambda: self._apply_search(event.value))

    @on(Input.Submitted, "#queue-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._apply_search(event.value)
        self.table.focus()

    def _apply_search(self, value: str) -> None:
        value = value.strip()
        if value != self.filter.search:
            self.filter = replace(self.filter, search=value)
            self.restart()

    def action_filters(self) -> None:
        from .filters import FilterDialog
        self.app.push_screen(FilterDialog(self.filter), self._filters_chosen)

    def _filters_chosen(self, flt: QueueFilter | None) -> None:
        if flt is not None and flt != self.filter:
            self.filter = replace(flt, search=self.filter.search)
            self.restart()

    def action_reset_filters(self) -> None:
        self.filter = QueueFilter()
        self.query_one("#queue-search", Input).value = ""
        self.restart()

    def set_filter(self, **changes) -> None:
        """Used by the command palette and tests: change some filter fields and reload."""
        self.filter = replace(self.filter, **changes)
        self.restart()

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in SORTS]
        self.sort = keys[(keys.index(self.sort) + 1) % len(keys)] if self.sort in keys else keys[0]
        self.descending = self.sort in ("first_seen", "amount", "severity")
        self.restart()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self.restart()

    @on(WindowTable.HeaderSelected)
    def _header(self, event: WindowTable.HeaderSelected) -> None:
        key = COLUMN_SORT.get(str(event.column_key.value))
        if not key:
            return
        if key == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = key, key in ("first_seen", "amount", "severity")
        self.restart()

    # ------------------------------------------------------------------ selection

    def current(self) -> dict | None:
        t = self.table
        if not self.page.rows or not (0 <= t.cursor_row < len(self.page.rows)):
            return None
        return self.page.rows[t.cursor_row]

    def action_toggle_select(self) -> None:
        a = self.current()
        if a is None:
            return
        if a["id"] in self.selected:
            self.selected.discard(a["id"])
        else:
            self.selected.add(a["id"])
        self._mark(a["id"])
        self._show_summary()
        if self.table.cursor_row < self.table.row_count - 1:
            self.table.move_cursor(row=self.table.cursor_row + 1)

    def action_select_page(self) -> None:
        ids = [a["id"] for a in self.page.rows]
        if ids and all(i in self.selected for i in ids):
            self.selected.difference_update(ids)
        else:
            self.selected.update(ids)
        for i in ids:
            self._mark(i)
        self._show_summary()

    def action_clear_selection(self) -> None:
        old = list(self.selected)
        self.selected.clear()
        for i in old:
            self._mark(i)
        self._show_summary()

    def _mark(self, anomaly_id: int) -> None:
        try:
            self.table.update_cell(str(anomaly_id), "sel",
                                   text("✓" if anomaly_id in self.selected else "", "bold green"))
        except Exception:     # not on this page
            pass

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        a = self.current()
        if a is not None:
            self.app.open_anomaly(a["id"])

    @on(WindowTable.RowSelected)
    def _row_selected(self, event: WindowTable.RowSelected) -> None:
        self.action_open()

    def action_person(self) -> None:
        a = self.current()
        if a is None:
            return
        self.app.open_subject(a)

    def targets(self) -> list[dict]:
        """The selection (in id order), else the row under the cursor."""
        if self.selected:
            return [{"id": i} for i in sorted(self.selected)]
        a = self.current()
        return [a] if a else []

    def action_decide(self, action: str) -> None:
        targets = self.targets()
        if not targets:
            return
        ids = [a["id"] for a in targets]
        n = len(ids)
        what = f"{n} 条疑点" if n > 1 else f"疑点 #{ids[0]}"
        done = lambda *args, **kw: self._decided(ids, action, *args, **kw)   # noqa: E731
        if action == "dismiss":
            self.app.push_screen(TextDialog(f"排除{what}", "排除原因（必填，记入核查台账）：",
                                            placeholder="如：经核实为同名不同人"),
                                 lambda note: note and done(note=note))
        elif action == "note":
            self.app.push_screen(TextDialog(f"为{what}添加备注", "备注：", placeholder="核查情况"),
                                 lambda note: note and done(note=note))
        elif action == "rectify":
            default = targets[0].get("amount") if n == 1 else None
            self.app.push_screen(AmountDialog(f"{what}整改完成", "追回金额（元）：", default),
                                 lambda res: res and done(amount=res[0], note=res[1]))
        elif n > 1:
            title = {"take": "开始核查", "confirm": "确认违规"}.get(action, action)
            self.app.push_screen(ConfirmDialog(f"{title}：{what}", f"对选中的 {n} 条疑点执行「{title}」？"),
                                 lambda yes: yes and done())
        else:
            done()

    def _decided(self, ids: list[int], action: str, note: str | None = None,
                 amount: float | None = None) -> None:
        self.app.run_decision(ids, action, note=note, amount=amount, on_done=self._done)

    def _done(self, ids: list[int]) -> None:
        self.selected.difference_update(ids)


def _is_id(subject: str) -> bool:
    from ...services.formatting import looks_like_id
    return len(subject) in (15, 18) and looks_like_id(subject)
