"""确认对应关系: a held file's kind and columns, confirmed by the clerk, then applied.

Opened from 收件 (``m`` on a 待确认 row). Shows the kind the station proposes and why, every
column's header, sample values (ID numbers masked; Ctrl+U shows them) and the field it
maps to with the reason, what is still missing, and the first rows as they would be
applied. ``k`` picks the kind, Enter on a column picks its field (or 不导入), ``s`` turns
saving the new header spellings as aliases on or off, ``a`` applies, ``x`` refuses the file
(with a reason; it moves to rejected/). All the work is done
by :mod:`station.services.mapping` in thread workers.
"""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...kinds.spec import KINDS
from ..format import plain
from ..messages import DataChanged
from .base import deliver

IGNORE = "__ignore__"


class _Picker(ModalScreen[str | None]):
    """A list to choose from with the arrow keys and Enter; Escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "取消")]
    DEFAULT_CLASSES = "dialog"

    def __init__(self, title: str, options: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="box picker"):
            yield Label(Text(self.title_text), classes="title")
            yield OptionList(*[Option(plain(label), id=value) for value, label in self.options],
                             id="picker-options")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ids = [v for v, _ in self.options]
        if self.current in ids:
            ol.highlighted = ids.index(self.current)
        ol.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MappingScreen(Screen):
    """The mapping of one held delivery (its ledger number)."""

    TITLE = "确认对应关系"
    BINDINGS = [
        Binding("k", "kind", "文件类型", id="map-kind"),
        Binding("enter", "field", "更改字段", show=False),
        Binding("s", "toggle_aliases", "保存别名开/关", id="map-aliases"),
        Binding("a", "apply", "确认导入", id="map-apply"),
        Binding("x", "reject", "拒收", id="map-reject"),
        Binding("escape,backspace", "back", "返回"),
    ]

    def __init__(self, delivery_id: int) -> None:
        super().__init__()
        self.delivery_id = delivery_id
        self.kind: str | None = None                  # None: the station's proposal
        self.columns: dict[int, str | None] = {}      # the clerk's corrections: cell index -> field
        self.save_aliases = True
        self.view = None                              # services.mapping.MappingView
        self.applying = False
        self.result = None                            # services.mapping.Confirmed, once applied

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="body", id="map-body"):
            yield Static(id="map-head", classes="summary")
            yield Static("各列（↑↓ 选择，Enter 更改对应字段）", classes="section-title")
            yield DataTable(id="map-columns", cursor_type="row", zebra_stripes=True, classes="auto-table")
            yield Static(id="map-reason", classes="summary")
            yield Static(id="map-problems", classes="summary")
            yield Static("导入预览（前几行，按上面的对应关系，证件号已遮蔽）", classes="section-title")
            yield DataTable(id="map-preview", cursor_type="none", zebra_stripes=True, classes="auto-table")
            yield Static(id="map-aliases", classes="summary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        t = self.query_one("#map-columns", DataTable)
        for label, key, width in (("列", "n", 4), ("表头", "header", 18), ("示例值", "samples", 34),
                                  ("对应字段", "field", 14), ("说明", "reason", 44)):
            t.add_column(label, key=key, width=width)
        t.focus()
        self.load()

    # ------------------------------------------------------------------ loading

    def reload_if_stale(self) -> None:
        """The data or the masking changed (DataChanged): show the mapping again."""
        if self.is_mounted and not self.applying:
            self.load()

    def load(self) -> None:
        self._view(self.kind, dict(self.columns), bool(getattr(self.app, "unmasked", False)))

    @work(thread=True, exclusive=True, group="mapping", exit_on_error=False)
    def _view(self, kind: str | None, columns: dict, unmasked: bool) -> None:
        from ...services.mapping import MappingError, view
        try:
            mv = view(self.app.station, self.delivery_id, kind=kind, columns=columns, unmasked=unmasked)
        except MappingError as e:
            deliver(self.app, self.show_error, str(e))
            return
        deliver(self.app, self.show, mv)

    def show_error(self, message: str) -> None:
        self.query_one("#map-problems", Static).update(
            plain(self.app.show_text(message), "bold red", wrap=True))
        self.app.notify(message, title="无法显示对应关系", severity="error", timeout=10)

    def show(self, mv) -> None:
        self.view = mv
        p = mv.pending
        head = Text()
        head.append(f"待确认文件 #{p.id} ", style="bold")
        where = p.original_path if p.member is None else f"{p.container} › {p.member}"
        show = self.app.show_text          # a file name or a header can be an ID
        head.append_text(plain(show(where), "bold"))
        head.append(f" · 收件 {(p.received_at or '')[:16].replace('T', ' ')}\n")
        head.append("文件类型：")
        if mv.kind is not None:
            head.append(f"{mv.kind.title}（{mv.kind.name}）", style="bold cyan")
            head.append("  人工指定" if self.kind else "  系统建议", style="dim")
        else:
            head.append("未确定", style="bold red")
        head.append("  — 按 k 更改", style="dim")
        head.append(f" · 表头在第 {mv.header_row} 行\n")
        for r in mv.reasons:
            head.append_text(plain(f"· {show(r)}\n", "yellow", wrap=True))
        self.query_one("#map-head", Static).update(head)

        t = self.query_one("#map-columns", DataTable)
        row = t.cursor_row
        t.clear()
        for c in mv.columns:
            field_style = "bold" if c.column else "dim"
            if c.corrected:
                field_style += " green"
            reason = c.reason + (f"（把握 {c.confidence:.0%}）" if c.column and not c.corrected else "")
            t.add_row(plain(str(c.index + 1)), plain(show(c.header)), plain(" | ".join(c.samples)),
                      plain(c.field_title or "（不导入）", field_style), plain(show(reason)), key=str(c.index))
        if mv.columns:
            t.move_cursor(row=min(max(row, 0), len(mv.columns) - 1))
            self._show_reason(t.cursor_row)

        problems = Text()
        if mv.problems:
            for line in mv.problems:
                problems.append_text(plain(show(line) + "\n", "bold red", wrap=True))
        else:
            problems.append("可以导入：按 a 确认并导入。", style="bold green")
        self.query_one("#map-problems", Static).update(problems)

        pt = self.query_one("#map-preview", DataTable)
        pt.clear(columns=True)
        fields = [c.field_title for c in mv.columns if c.column]
        pt.add_column("行号", key="row")
        for i, h in enumerate(fields):
            pt.add_column(plain(h), key=f"f{i}")
        for r in mv.preview:
            if r.rejected or r.skipped:
                note = plain(f"拒收：{r.rejected}" if r.rejected else "跳过（合计行等）",
                             "red" if r.rejected else "dim")
                pt.add_row(plain(str(r.row_no)), note, *[plain("")] * (len(fields) - 1))
            else:
                pt.add_row(plain(str(r.row_no)), *[plain(r.values.get(h, "")) for h in fields])
        self._show_aliases()

    def _show_aliases(self) -> None:
        mv = self.view
        out = Text()
        if mv is not None and mv.new_aliases:
            out.append("确认后把新表头写入 rules.yaml 作为别名（下次同样的文件自动导入）：" if self.save_aliases
                       else "不保存别名（下次同样的文件仍需确认）：", style="bold" if self.save_aliases else "dim")
            out.append_text(plain(self.app.show_text("、".join(f"{a} → {c}" for a, c in mv.new_aliases))))
            out.append("  [s 切换]", style="dim")
        self.query_one("#map-aliases", Static).update(out)

    # ------------------------------------------------------------------ choices

    def action_kind(self) -> None:
        current = self.view.kind.name if self.view is not None and self.view.kind else None
        options = [(name, f"{spec.title}（{name}）") for name, spec in KINDS.items()]
        self.app.push_screen(_Picker("选择文件类型", options, current), self._kind_chosen)

    def _kind_chosen(self, kind: str | None) -> None:
        if kind is None or (self.view is not None and self.view.kind and kind == self.view.kind.name
                            and self.kind == kind):
            return
        self.kind = kind
        self.columns = {}             # the corrections were fields of the other kind
        self.load()

    @on(DataTable.RowHighlighted, "#map-columns")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_reason(event.cursor_row)

    def _show_reason(self, row: int) -> None:
        """The highlighted column's reason in full (the table cuts it)."""
        mv = self.view
        out = Text()
        if mv is not None and 0 <= row < len(mv.columns):
            c = mv.columns[row]
            out.append(f"第 {c.index + 1} 列「", style="dim")
            out.append_text(plain(self.app.show_text(c.header), "dim"))
            out.append("」→ ", style="dim")
            out.append(c.field_title or "不导入", style="bold")
            out.append("：", style="dim")
            sure = f"（把握 {c.confidence:.0%}）" if c.column and not c.corrected else ""
            out.append_text(plain(self.app.show_text(c.reason) + sure,
                                  "dim", wrap=True))
        self.query_one("#map-reason", Static).update(out)

    @on(DataTable.RowSelected, "#map-columns")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_field()

    def action_field(self) -> None:
        mv = self.view
        if mv is None or mv.kind is None or not mv.columns:
            return
        t = self.query_one("#map-columns", DataTable)
        if not 0 <= t.cursor_row < len(mv.columns):
            return
        col = mv.columns[t.cursor_row]
        options = [(IGNORE, "（不导入此列）")] + [
            (f.column, f"{f.header}{' *必填' if f.required else ''}") for f in mv.kind.fields]
        self.app.push_screen(
            _Picker(f"第 {col.index + 1} 列「{self.app.show_text(col.header)}」对应的字段", options,
                    col.column or IGNORE),
            lambda chosen: self._field_chosen(col.index, chosen))

    def _field_chosen(self, index: int, chosen: str | None) -> None:
        if chosen is None:
            return
        self.columns[index] = None if chosen == IGNORE else chosen
        self.load()

    def action_toggle_aliases(self) -> None:
        self.save_aliases = not self.save_aliases
        self._show_aliases()

    def action_apply(self) -> None:
        mv = self.view
        if mv is None or self.applying:
            return
        if not mv.ready:
            self.app.notify("".join(mv.problems), title="还不能导入", severity="warning", timeout=8)
            return
        self.applying = True
        self._apply(mv.kind.name, dict(self.columns), self.save_aliases, getattr(self.app, "reviewer", None))

    @work(thread=True, exclusive=True, group="mapping-apply", exit_on_error=False)
    def _apply(self, kind: str, columns: dict, save_aliases: bool, reviewer: str | None) -> None:
        from ...services.aliases import AliasError
        from ...services.mapping import MappingError, confirm
        try:
            done = confirm(self.app.station, self.delivery_id, kind=kind, columns=columns,
                           save_aliases=save_aliases, as_of=getattr(self.app, "as_of", None), who=reviewer)
        except (MappingError, AliasError) as e:
            deliver(self.app, self.apply_failed, str(e))
            return
        except Exception as e:       # the disk or the database: say so, keep the screen
            deliver(self.app, self.apply_failed, f"{type(e).__name__}: {e}")
            return
        deliver(self.app, self.applied, done)

    def apply_failed(self, message: str) -> None:
        self.applying = False
        self.app.notify(message, title="未能导入", severity="error", timeout=15)

    def applied(self, done) -> None:
        self.applying = False
        self.result = done
        r = done.result
        line = f"{r.name}：{r.kind_title} 导入 {r.rows_applied} 行"
        if r.rows_rejected:
            line += f"，拒收 {r.rows_rejected} 行"
        if done.aliases_saved:
            line += "。已写入别名：" + "、".join(f"{a} → {c}" for a, c in done.aliases_saved)
        for note in done.alias_notes:
            line += "。" + note
        self.app.notify(line, title="已确认并导入", timeout=10)
        self.app.post_message(DataChanged())
        self.app.pop_screen()

    def action_reject(self) -> None:
        """Refuse the file (a wrong file, an encrypted zip): it moves to rejected/."""
        if self.applying:
            return
        from .dialogs import TextDialog
        self.app.push_screen(TextDialog("拒收这个文件", "不导入，文件移到 rejected/。"
                                        "请写明原因（如：错发的文件，已请对方重新报送）。"), self._reject_reason)

    def _reject_reason(self, why: str | None) -> None:
        if why and why.strip():
            self.applying = True
            self._reject(why)

    @work(thread=True, exclusive=True, group="mapping-apply", exit_on_error=False)
    def _reject(self, why: str) -> None:
        from ...services.mapping import MappingError, reject
        try:
            where = reject(self.app.station, self.delivery_id, why)
        except (MappingError, OSError) as e:
            deliver(self.app, self.apply_failed, str(e))
            return
        deliver(self.app, self.rejected, where)

    def rejected(self, where: str) -> None:
        self.applying = False
        self.app.notify(f"已拒收，文件移到 {where}。", title="已拒收", timeout=8)
        self.app.post_message(DataChanged())
        self.app.pop_screen()

    def action_back(self) -> None:
        self.app.pop_screen()
