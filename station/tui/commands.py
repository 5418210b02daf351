"""The command palette (Ctrl+P): every action of the app, searchable by its Chinese name
or its pinyin-free English hint. Screen actions appear when that screen is active."""
from __future__ import annotations

from functools import partial
from typing import Callable

from textual.command import DiscoveryHit, Hit, Hits, Provider

EXPORTS = (("review_log_csv", "导出核查台账 CSV", "review log, CSV (UTF-8 BOM), IDs masked"),
           ("review_log_xlsx", "导出核查台账 XLSX", "review log, Excel, IDs masked"),
           ("monthly_report", "导出月度报告", "monthly report (this month)"))


class StationCommands(Provider):
    def commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        screen = self.screen
        out: list[tuple[str, str, Callable[[], object]]] = [
            ("转到 总览", "dashboard (1)", partial(app.action_section, "dashboard")),
            ("转到 收件", "inbox ledger (2)", partial(app.action_section, "inbox")),
            ("转到 疑点列表", "review queue (3)", partial(app.action_section, "queue")),
            ("转到 人员查询", "person view (4)", partial(app.action_section, "person")),
            ("转到 单位查询", "unit view (5)", partial(app.action_section, "unit")),
            ("转到 三方对账", "reconciliation: assessed, collected, transferred (6)",
             partial(app.action_section, "reconcile")),
            ("显示/遮蔽身份证号", "toggle ID masking (Ctrl+U)", app.action_toggle_mask),
            ("立即扫描收件箱", "rescan inbox", app.rescan),
            ("按键说明", "help (F1)", app.action_help),
            ("更换审核人", "change reviewer", app.change_reviewer),
            ("退出", "quit (q)", app.action_quit),
        ]
        for what, title, hint in EXPORTS:
            out.append((title, hint, partial(app.run_export, what)))
        from .screens.detail import DetailScreen
        from .screens.queue import QueueScreen
        if isinstance(screen, (QueueScreen, DetailScreen)):
            for action, title, key in (("take", "开始核查", "t"), ("confirm", "确认违规", "c"),
                                       ("dismiss", "排除（需填写原因）", "d"),
                                       ("rectify", "整改完成（填写追回金额）", "r"), ("note", "添加备注", "n")):
                scope = "选中的疑点" if isinstance(screen, QueueScreen) else "当前疑点"
                out.append((f"{title}：{scope}", f"{action} ({key})", partial(screen.action_decide, action)))
            out.append(("查看人员或单位", "person or unit view (p)", screen.action_person))
        if isinstance(screen, QueueScreen):
            out += [
                ("筛选疑点", "filter (f)", screen.action_filters),
                ("清除筛选", "reset filters (F)", screen.action_reset_filters),
                ("只看未处理", "unhandled only",
                 partial(screen.set_filter, statuses=("new", "in_review"))),
                ("只看超期未处理", "overdue only",
                 partial(screen.set_filter, statuses=("new", "in_review"),
                         older_than_days=app.station.cfg.review.ageing_days)),
                ("切换排序", "cycle sort (s)", screen.action_cycle_sort),
                ("反转排序", "reverse sort (S)", screen.action_reverse_sort),
                ("全选本页", "select page (a)", screen.action_select_page),
                ("清除选择", "clear selection (x)", screen.action_clear_selection),
            ]
        return out

    async def discover(self) -> Hits:
        for title, hint, callback in self.commands():
            yield DiscoveryHit(title, callback, help=hint)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, hint, callback in self.commands():
            score = max(matcher.match(title), matcher.match(hint) * 0.9)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=hint)
