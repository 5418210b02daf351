"""One anomaly: the rule's explanation, the evidence side by side (partner record vs
register record, payment lists as tables), the amounts, and the full history — data
events and decisions with their reviewer. Each action is one key."""
from __future__ import annotations

import re

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ..format import (EVENT_TITLES, action_title, data_status_title, department_title, money,
                      money_text, plain, severity_text, short_time, state_text, text)
from ..widgets.chrome import StatusBar
from ..widgets.prose import Prose
from .base import deliver
from .dialogs import AmountDialog, TextDialog

SAME_PERSON = {"公民身份号码", "姓名"}
AMOUNT_HEADERS = {"金额", "补助金额", "月养老金", "amount", "应缴金额", "实缴金额",
                  "assessed", "collected", "transferred", "difference"}
_ID = re.compile(r"^\d{17}[\dX]$|^\d{15}$")


class DetailScreen(Screen):
    TITLE = "疑点详情"
    BINDINGS = [
        Binding("t", "decide('take')", "开始核查", id="take"),
        Binding("c", "decide('confirm')", "确认违规", id="confirm"),
        Binding("d", "decide('dismiss')", "排除", id="dismiss"),
        Binding("r", "decide('rectify')", "整改", id="rectify"),
        Binding("n", "decide('note')", "备注", id="note"),
        Binding("p", "person", "人员/单位", show=False, id="person"),
        Binding("escape,backspace", "back", "返回", id="back"),
    ]

    def __init__(self, anomaly_id: int) -> None:
        super().__init__()
        self.anomaly_id = anomaly_id
        self.anomaly: dict | None = None
        self.loaded_version = -1

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail", classes="body"):
            yield Static(id="detail-head", classes="summary")
            yield Static("规则说明", classes="section-title")
            yield Prose(id="detail-explanation", classes="explanation")
            yield Static("证据", classes="section-title")
            yield Prose(id="detail-summary", classes="evidence-summary")
            yield Grid(id="records")
            yield Vertical(id="record-tables")
            yield Vertical(id="evidence-lists")
            yield Static("历史（数据变化与核查记录）", classes="section-title")
            yield DataTable(id="history", cursor_type="row", zebra_stripes=True, classes="auto-table")
        yield StatusBar(classes="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        t = self.query_one("#history", DataTable)
        for label, key in (("时间", "at"), ("事件", "what"), ("审核人", "who"), ("金额", "amount"),
                           ("说明", "note")):
            t.add_column(label, key=key)
        self.reload()
        self.query_one("#detail").focus()

    def on_screen_resume(self) -> None:
        self.reload_if_stale()

    def reload_if_stale(self) -> None:
        if self.loaded_version != self.app.data_version:
            self.reload()

    def reload(self) -> None:
        self.loaded_version = self.app.data_version
        self.load()

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load(self) -> None:
        from ...services.anomalies import get_anomaly
        conn = self.app.station.conn
        anomaly = get_anomaly(conn, self.anomaly_id)
        decisions = []
        if anomaly is not None:
            try:
                from ...services.review import history
            except ImportError:
                decisions = anomaly.get("decisions") or []
            else:
                decisions = history(conn, self.anomaly_id)
        deliver(self.app, self.show, anomaly, decisions)

    # ------------------------------------------------------------------ drawing

    def show(self, a: dict | None, decisions: list[dict]) -> None:
        self.anomaly = a
        head = self.query_one("#detail-head", Static)
        if a is None:
            head.update(Text(f"疑点 #{self.anomaly_id} 不存在。", style="red"))
            return
        # Drawn from the masked copy (IDs, birth dates to the year, accounts, also inside
        # names, notes, file names and evidence) unless the session is unmasked.
        context = self.app.ids_in(a, decisions)     # the subject and every ID the notes name
        a = self.app.show_anomaly(a)
        decisions = [{**d, "note": self.app.show_text(d.get("note"), context)} for d in decisions]
        out = Text()
        out.append(f"#{a['id']} ", style="bold")
        out.append(a.get("title") or a.get("rule") or "", style="bold")
        out.append("  级别 ")
        out.append_text(severity_text(a.get("severity")))
        out.append("  ")
        out.append_text(state_text(a.get("status")))
        out.append(f"  {data_status_title(a.get('data_status'))}\n",
                   style="dim" if a.get("data_status") == "cleared" else "")
        subject = a.get("subject") or ""
        out.append("对象 ")
        out.append_text(plain(subject))
        if a.get("name"):
            out.append("  ")
            out.append_text(plain(a["name"]))
        if a.get("period"):
            out.append(f"  期间 {a['period']}")
        out.append(f"  部门 {department_title(a.get('department'))}\n")
        out.append(f"涉及金额 {money(a.get('amount'))} 元", style="bold")
        out.append(f"  已追回 {money(a.get('recovered'))} 元", style="green")
        out.append(f"  发现于 {(a.get('first_seen') or '')[:10]}")
        head.update(out)

        explanation = a.get("explanation") or ""
        self.query_one("#detail-explanation", Prose).set_text(explanation)

        evidence = a.get("evidence") or {}
        if isinstance(evidence, str):
            evidence = {"summary": evidence}
        self.query_one("#detail-summary", Prose).set_text(str(evidence.get("summary") or ""))
        self._records(evidence.get("records") or [], _differing(evidence))
        self._lists({k: v for k, v in evidence.items() if k not in ("summary", "records")})
        self._history(a.get("events") or [], decisions)

    def _records(self, records: list[dict], differing: frozenset[str] = frozenset()) -> None:
        """Single records side by side (partner record vs register record); kinds with
        many records (payments after the death month) as one table each."""
        by_kind: dict[str, list[dict]] = {}
        for rec in records:
            by_kind.setdefault(str(rec.get("kind") or rec.get("title") or ""), []).append(rec)
        grid = self.query_one("#records", Grid)
        grid.remove_children()
        box = self.query_one("#record-tables", Vertical)
        box.remove_children()
        panels, kv_fills, lists, list_fills = [], [], [], []
        for kind, recs in by_kind.items():
            if kind == "payments" or len(recs) > 2:
                title = f"{recs[0].get('title') or kind}（{len(recs)} 条）"
                table = DataTable(cursor_type="row", zebra_stripes=True, classes="auto-table")
                lists += [Static(plain(title, wrap=True), classes="section-title"), table]
                list_fills.append((table, recs))
                continue
            for rec in recs:
                title = plain(rec.get("title") or kind or "记录", "bold", wrap=True)
                if rec.get("file"):
                    title.append("\n")
                    title.append_text(plain(f"{rec['file']}:{rec.get('row_no') or ''}", "dim", wrap=True))
                table = DataTable(cursor_type="row", show_header=False, classes="auto-table")
                kv_fills.append((table, rec.get("fields") or {}))
                panels.append(Vertical(Static(title), table, classes="record"))
        grid.mount_all(panels)
        grid.display = bool(panels)
        box.mount_all(lists)
        for table, fields in kv_fills:
            table.add_column("字段", key="k")
            table.add_column("值", key="v")
            for k, v in fields.items():
                table.add_row(text(k, "bold"), text(v, DIFF_STYLE if k in differing else ""))
            # A grid cell does not grow with rows added after mount: size it explicitly.
            table.styles.height = max(1, len(fields))
        for table, recs in list_fills:
            headers = list(dict.fromkeys(k for r in recs for k in (r.get("fields") or {})))
            # the person is the anomaly's subject: their ID and name need not repeat per row
            headers = [h for h in headers if h not in SAME_PERSON
                       or len({str((r.get("fields") or {}).get(h)) for r in recs}) > 1]
            for i, h in enumerate(headers):
                table.add_column(h, key=f"c{i}")
            table.add_column("来源", key="src")
            for r in recs:
                fields = r.get("fields") or {}
                cells = [money_text(fields.get(h), DIFF_STYLE if h in differing else "") if h in AMOUNT_HEADERS
                         else text(fields.get(h), DIFF_STYLE if h in differing else "")
                         for h in headers]
                table.add_row(*cells, text(f"{r.get('file') or ''}:{r.get('row_no') or ''}", "dim"))

    def _lists(self, extra: dict) -> None:
        box = self.query_one("#evidence-lists", Vertical)
        box.remove_children()
        widgets, fills = [], []
        for key, value in extra.items():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                widgets.append(Static(plain(_list_title(key), wrap=True), classes="section-title"))
                table = DataTable(cursor_type="row", zebra_stripes=True, classes="auto-table")
                widgets.append(table)
                fills.append((table, value))
            elif isinstance(value, float):
                widgets.append(Static(Text(f"{_list_title(key)}：{money(value)}")))
            elif isinstance(value, (str, int)) and value != "":
                widgets.append(Static(plain(f"{_list_title(key)}：{_shown(value)}", wrap=True)))
            elif isinstance(value, list) and value:
                widgets.append(Static(plain(f"{_list_title(key)}：" + "、".join(str(v) for v in value),
                                            wrap=True)))
        box.mount_all(widgets)
        for table, rows in fills:
            columns = list(dict.fromkeys(k for r in rows for k in r))
            for c in columns:
                table.add_column(_list_title(c), key=c)
            for r in rows:
                table.add_row(*[money_text(r.get(c)) if c in AMOUNT_HEADERS else text(_shown(r.get(c)))
                                for c in columns])

    def _history(self, events: list[dict], decisions: list[dict]) -> None:
        t = self.query_one("#history", DataTable)
        t.clear()
        items = []
        for e in events:
            items.append((e.get("at") or "", 0, text(short_time(e.get("at"))),
                          text(EVENT_TITLES.get(e.get("event"), e.get("event") or ""), "dim"), text("系统", "dim"),
                          text(""), text(e.get("detail") or (f"基准日 {e['as_of']}" if e.get("as_of") else ""))))
        for d in decisions:
            items.append((d.get("at") or "", 1, text(short_time(d.get("at"))),
                          text(action_title(d.get("action")), "bold"), text(d.get("reviewer")),
                          money_text(d.get("amount")), text(d.get("note") or "")))
        for item in sorted(items, key=lambda i: (i[0], i[1])):
            t.add_row(*item[2:])

    # ------------------------------------------------------------------ actions

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_person(self) -> None:
        if self.anomaly:
            self.app.open_subject(self.anomaly)

    def action_decide(self, action: str) -> None:
        a = self.anomaly
        if a is None:
            return
        ids = [a["id"]]
        run = self.app.run_decision
        if action == "dismiss":
            self.app.push_screen(TextDialog(f"排除疑点 #{a['id']}", "排除原因（必填，记入核查台账）：",
                                            placeholder="如：经核实为同名不同人"),
                                 lambda note: note and run(ids, "dismiss", note=note))
        elif action == "note":
            self.app.push_screen(TextDialog(f"为疑点 #{a['id']} 添加备注", "备注：", placeholder="核查情况"),
                                 lambda note: note and run(ids, "note", note=note))
        elif action == "rectify":
            self.app.push_screen(AmountDialog(f"疑点 #{a['id']} 整改完成", "追回金额（元）：", a.get("amount")),
                                 lambda res: res and run(ids, "rectify", amount=res[0], note=res[1]))
        else:
            run(ids, action)


LIST_TITLES = {
    "payments": "待遇发放", "period": "期间", "amount": "金额", "serial_no": "发放流水号",
    "benefit_type": "待遇类型", "pay_date": "发放日期", "death_date": "死亡日期", "death_month": "死亡月份",
    "id_number": "公民身份号码", "name": "姓名", "file": "文件", "row_no": "行号", "delivery_id": "收件编号",
    "candidates": "候选人员", "documents": "档案材料", "payments_count": "发放笔数",
    "payments_total": "发放合计", "periods": "发放期间", "omitted": "未逐条列出", "count": "条数",
    "kind": "类型", "title": "名称", "actual": "实际", "expected": "应为", "age": "年龄（周岁）",
    "age_from": "年龄依据", "approval_date": "核准日期", "archive_subject": "档案对象",
    "benefit_types": "待遇类型", "birth_date": "出生日期", "change_date": "变动日期",
    "change_type": "变动类型", "civil_affairs_dates": "民政死亡日期", "closed_date": "注销日期",
    "days_apart": "相差天数", "duplicates": "重复发放", "eligible_levels": "补助等级",
    "enrolled_years": "已参保年度", "level": "残疾等级", "matches": "匹配情况", "problems": "问题",
    "public_security_dates": "公安死亡日期", "register_units": "登记库单位",
    "required_documents": "应有材料", "required_year": "应参保年度", "retire_date": "退休日期",
    "status": "参保状态",
    # the money side
    "figures": "对账（核定 / 征收 / 划入）", "insurance": "险种", "assessed": "核定", "collected": "征收",
    "transferred": "划入专户", "difference": "差额", "short": "超过允许误差", "month": "月份",
    "differences": "发放与回盘不符之处", "field": "字段", "payment": "发放", "return": "回盘",
    "name_source": "姓名依据", "persons": "收款人员", "serials": "发放流水号", "results": "处理结果",
    "account_no": "银行账号", "unit": "单位", "registered": "已登记", "collections_count": "征收笔数",
}


DIFF_STYLE = "bold red"
# A field named in the evidence's ``differences`` (BANK_RETURN_MISMATCH: the payment against
# its bank return), and the fields of the records it is compared with.
_COMPARED = {"户名": ("户名", "姓名"), "金额": ("金额",), "发放流水号": ("发放流水号",)}


def _differing(evidence: dict) -> frozenset[str]:
    """The record fields to highlight: what differs between a payment and its return."""
    out: set[str] = set()
    for d in evidence.get("differences") or []:
        if isinstance(d, dict) and d.get("field"):
            out.update(_COMPARED.get(str(d["field"]), (str(d["field"]),)))
    return frozenset(out)


def _shown(value: Any) -> Any:
    """A yes/no value of the evidence (a 险种 short beyond the tolerance) as 是/否."""
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _list_title(key: str) -> str:
    return LIST_TITLES.get(key, key)
