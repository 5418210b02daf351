"""总览: the register's size, the watcher, anomalies by rule and by status with amounts,
the handling and rectification rates against the 95% target, and a monthly chart."""
from __future__ import annotations

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from ...kinds.spec import KINDS
from ..format import count, money_short, money_text, percent, text
from .base import StationScreen, deliver

TARGET = 0.95


def register_data(station) -> dict:
    """The cheap part: register counts, the ledger, the last evaluation (milliseconds)."""
    from ...services.completeness import data_gaps
    return {"status": station.status(recent=1), "pending": len(station.pending_files()),
            "gaps": data_gaps(station.conn, station.cfg)}


def review_data(station) -> dict:
    """The review figures: every anomaly's state replayed from the log (about a second
    for 100,000 anomalies), so they are drawn when ready, after the rest of the screen."""
    from ...services.review import monthly_series, summary
    conn = station.conn
    return {"summary": summary(conn), "series": monthly_series(conn, months=12)}


class MonthlyChart(PlotextPlot):
    """New anomalies per month (bars) and the amounts involved (line, right axis)."""

    def show_series(self, series: list[dict]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not series:
            plt.title("no data")
            self.refresh()
            return
        labels = [str(s.get("month", ""))[2:] for s in series]      # YY-MM: ASCII only
        found = [int(s.get("found") or 0) for s in series]
        amounts = [round(float(s.get("amount_involved") or 0.0) / 10000, 2) for s in series]
        xs = list(range(1, len(labels) + 1))
        plt.bar(xs, found, label="count", color="orange", width=0.6)
        plt.plot(xs, amounts, yside="right", label="amount (10k yuan)", color="cyan", marker="dot")
        plt.xticks(xs, labels)
        plt.theme("pro")
        self.refresh()


class DashboardScreen(StationScreen):
    SECTION = "dashboard"
    TITLE = "总览"
    BINDINGS = [Binding("g", "refresh", "刷新", id="refresh"),
                Binding("i", "rescan", "扫描收件箱", id="rescan")]

    def __init__(self) -> None:
        super().__init__()
        self.review: dict | None = None
        self.last_evaluation: dict | None = None
        self.shown_at = 0.0                # when the cards were last drawn (tests, bench)
        self.review_shown_at = 0.0

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="dash", classes="body"):
            with Horizontal(classes="cards"):
                yield Static(id="card-register", classes="card")
                yield Static(id="card-inbox", classes="card")
                yield Static(id="card-anomalies", classes="card")
                yield Static(id="card-rates", classes="card")
            yield Static("按规则  by rule", classes="section-title")
            yield Static(id="data-gaps", classes="gaps")
            yield DataTable(id="by-rule", cursor_type="row", zebra_stripes=True, classes="auto-table")
            with Horizontal(classes="pair"):
                with VerticalScroll(classes="half"):
                    yield Static("按核查状态  by status", classes="section-title")
                    yield DataTable(id="by-status", cursor_type="row", classes="auto-table")
                with VerticalScroll(classes="half"):
                    yield Static("按部门  by department", classes="section-title")
                    yield DataTable(id="by-dept", cursor_type="row", classes="auto-table")
            yield Static("每月新发现疑点（柱，条）与涉及金额（线，万元）", classes="section-title")
            yield MonthlyChart(id="chart")

    def on_mount(self) -> None:
        # Fixed widths: the tables are refilled in place, and Chinese titles measure 2 cells.
        for selector, columns in (
                ("#by-rule", (("规则", "rule", 22), ("发现", "found", 6), ("未处理", "open", 6),
                              ("确认", "confirmed", 6), ("排除", "dismissed", 6), ("整改", "rectified", 6),
                              ("涉及金额", "involved", 13), ("追回金额", "recovered", 13))),
                ("#by-status", (("核查状态", "state", 20), ("数量", "n", 7), ("涉及金额", "amount", 13))),
                ("#by-dept", (("部门", "dept", 8), ("发现", "found", 7), ("已处理", "handled", 7),
                              ("处理率", "rate", 7)))):
            t = self.query_one(selector, DataTable)
            for label, key, width in columns:
                t.add_column(label, key=key, width=width)

    def action_refresh(self) -> None:
        self.reload()

    def action_rescan(self) -> None:
        self.app.rescan()

    def load(self) -> None:
        self._load_register()
        self._load_review()

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def _load_register(self) -> None:
        data = register_data(self.station)
        deliver(self.app, self.show, data)

    @work(thread=True, exclusive=True, group="dashboard-review", exit_on_error=False)
    def _load_review(self) -> None:
        data = review_data(self.station)
        deliver(self.app, self.show_review, data)

    def show(self, data: dict) -> None:
        self.app.pending_count = data["pending"]
        st = data["status"]
        kinds = st["kinds"]
        partner = sum(n for k, n in kinds.items() if k not in ("persons", "units", "payments"))
        reg = Text()
        reg.append("登记库\n", style="bold")
        reg.append(f"参保人员 {count(kinds.get('persons'))}\n")
        reg.append(f"参保单位 {count(kinds.get('units'))}\n")
        reg.append(f"待遇发放 {count(kinds.get('payments'))}\n")
        reg.append(f"部门数据 {count(partner)}")
        self.query_one("#card-register", Static).update(reg)

        ledger = st["ledger"]
        inbox = Text()
        inbox.append("收件\n", style="bold")
        inbox.append(f"已导入 {count(ledger.get('applied'))}\n", style="green")
        inbox.append(f"重复 {count(ledger.get('duplicate'))}\n")
        inbox.append(f"已拒收 {count(ledger.get('rejected'))}\n", style="red" if ledger.get("rejected") else "")
        if ledger.get("held"):
            inbox.append(f"待确认 {count(ledger.get('held'))}\n", style="bold magenta")
        inbox.append(f"待处理 {count(data['pending'])}")
        self.query_one("#card-inbox", Static).update(inbox)
        self._show_gaps(data.get("gaps") or [])

        self.last_evaluation = st.get("last_evaluation")
        self._cards(self.review["summary"] if self.review else None)

    def _show_gaps(self, gaps: list) -> None:
        """数据不全: one line per rule whose data is incomplete (station.rules.completeness)."""
        box = self.query_one("#data-gaps", Static)
        box.display = bool(gaps)
        out = Text()
        if gaps:
            out.append("⚠ 数据不全\n", style="bold yellow")
            out.append("下列规则所需的数据未导入、待确认或已拒收，结果不完整；"
                       "标「暂停比对」的规则在数据导入前不产生疑点，以免大量误报。\n", style="yellow")
        for g in gaps:
            out.append(f"  {g.title}：", style="bold")
            out.append("、".join(k.text for k in g.gaps), style="red" if g.held_back else "yellow")
            out.append("（暂停比对）\n" if g.held_back else "\n", style="bold red")
        box.update(out)

    def show_review(self, data: dict) -> None:
        self.review = data
        summary = data["summary"]
        self._cards(summary)
        self._fill_rules(summary)
        self._fill_status(summary)
        self._fill_departments(summary)
        self.query_one(MonthlyChart).show_series(data.get("series") or [])
        self.review_shown_at = time.perf_counter()

    def _cards(self, summary: dict | None) -> None:
        ev = self.last_evaluation
        card = Text()
        card.append("疑点\n", style="bold")
        if summary:
            card.append(f"发现 {count(summary.get('found'))}\n")
            card.append(f"已处理 {count(summary.get('handled'))}\n")
            card.append(f"涉及 {money_short(summary.get('amount_involved'))}\n")
            card.append(f"追回 {money_short(summary.get('amount_recovered'))}", style="green")
        else:
            if ev:
                card.append(f"未消除 {count(ev.get('open_count'))}\n")
            card.append("统计中…", style="dim")
        self.query_one("#card-anomalies", Static).update(card)

        rates = Text()
        rates.append("目标 95%\n", style="bold")
        if summary:
            missed = []
            for label, key in (("处理率", "handling_rate"), ("整改率", "rectification_rate")):
                rate = summary.get(key)
                rates.append(f"{label} ")
                if rate is None:
                    rates.append("—\n", style="dim")
                    continue
                ok = rate >= TARGET
                rates.append(percent(rate) + (" ✓\n" if ok else " ✗\n"),
                             style="bold green" if ok else "bold red")
                if not ok:
                    missed.append(label)
            rates.append("未达标\n" if missed else "达标\n", style="red" if missed else "green")
        else:
            rates.append("统计中…\n", style="dim")
        if ev:
            rates.append(f"比对 {ev.get('as_of') or ''}", style="dim")
        self.query_one("#card-rates", Static).update(rates)
        self.shown_at = time.perf_counter()

    def _fill_rules(self, summary: dict | None) -> None:
        t = self.query_one("#by-rule", DataTable)
        t.clear()
        for r in (summary or {}).get("per_rule", []) or []:
            title = r.get("title") or r.get("rule")
            t.add_row(text(title), text(count(r.get("found"))), text(count(r.get("open"))),
                      text(count(r.get("confirmed"))), text(count(r.get("dismissed"))),
                      text(count(r.get("rectified"))), money_text(r.get("amount_involved")),
                      money_text(r.get("amount_recovered"), "green"))

    def _fill_status(self, summary: dict | None) -> None:
        t = self.query_one("#by-status", DataTable)
        t.clear()
        if not summary:
            return
        rows = (("待核查", summary.get("new")), ("核查中", summary.get("in_review")),
                ("确认违规（待整改）", summary.get("awaiting_rectification")),
                ("已整改", summary.get("rectified")), ("排除", summary.get("dismissed")),
                ("数据已消除（未处理）", summary.get("cleared_unhandled")))
        for title, n in rows:
            t.add_row(text(title), text(count(n)), text(""))
        t.add_row(text("合计", "bold"), text(count(summary.get("found")), "bold"),
                  money_text(summary.get("amount_involved"), "bold"))
        bands = summary.get("age_bands") or {}
        if bands:
            t.add_row(text("未处理按天数", "dim"), text(""), text(""))
            for label, n in bands.items():
                t.add_row(text(f"  {label}"), text(count(n)), text(""))

    def _fill_departments(self, summary: dict | None) -> None:
        t = self.query_one("#by-dept", DataTable)
        t.clear()
        for r in (summary or {}).get("per_department", []) or []:
            t.add_row(text(r.get("title") or r.get("department")), text(count(r.get("found"))),
                      text(count(r.get("handled"))), text(percent(r.get("handling_rate"))))
