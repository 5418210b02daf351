"""Display helpers shared by the screens: plain text, never markup; amounts; titles.

Everything that reaches a DataTable, a Static or a Text from a file or a person goes
through :func:`plain` (a ``rich.text.Text``, control characters made visible by
``station.normalise.display.visible``), so a name like ``x [/] y`` or a file named
``[@click=app.quit]x.csv`` is shown, not parsed, and an ESC never reaches the terminal.
Notifications are plain text too: ``StationApp.notify`` never parses markup.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from rich.text import Text

from ..kinds.spec import DEPARTMENTS
from ..services.formatting import ACTION_TITLES, DATA_STATUS_TITLES, STATE_TITLES, visible

SEVERITY_TITLES = {"high": "高", "medium": "中", "low": "低"}
SEVERITY_STYLES = {"high": "bold red", "medium": "yellow", "low": "dim"}
STATE_STYLES = {"new": "bold", "in_review": "cyan", "confirmed": "red", "dismissed": "dim",
                "rectified": "green"}
DELIVERY_TITLES = {"applied": "已导入", "duplicate": "重复", "rejected": "已拒收", "held": "待确认",
                   "mapped": "已确认", "unpacked": "压缩包"}
DELIVERY_STYLES = {"applied": "green", "duplicate": "yellow", "rejected": "red", "held": "bold magenta",
                   "mapped": "green", "unpacked": "cyan"}
EVENT_TITLES = {"found": "发现疑点", "amount": "金额变化", "cleared": "数据已消除",
                "reopened": "重新出现"}
WATCH_TITLES = {"watching": "实时监视", "polling": "轮询监视", "waiting-for-folder": "等待收件箱",
                "stopped": "已停止"}

OVERDUE_STYLE = "bold dark_orange"


def plain(value: Any, style: str = "", *, wrap: bool = False) -> Text:
    """Untrusted text as a Text: never parsed as markup, control characters visible.
    None shows as empty. A cell by default (one line, cut with …); ``wrap=True`` for
    running text, which keeps its line breaks."""
    if value is None:
        return Text("", style=style)
    if isinstance(value, Text):
        return value
    if wrap:
        return Text(visible(value, newlines=True), style=style)
    return Text(visible(value), style=style, no_wrap=True, overflow="ellipsis")


text = plain        # the name the screens' table cells use


def money(value: Any, empty: str = "—") -> str:
    if value is None or value == "":
        return empty
    try:
        return f"{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def money_short(value: Any) -> str:
    """For the narrow dashboard cards: 58,859.58; 1,234.57万 from a million up."""
    v = float(value or 0.0)
    return f"{v / 10000:,.2f}万" if abs(v) >= 1_000_000 else f"{v:,.2f}"


def money_text(value: Any, style: str = "") -> Text:
    return Text(money(value, ""), style=style, justify="right")


def count(value: Any) -> str:
    return f"{int(value or 0):,}"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def state_title(state: str | None) -> str:
    return STATE_TITLES.get(state or "", state or "")


def state_text(state: str | None) -> Text:
    return Text(state_title(state), style=STATE_STYLES.get(state or "", ""))


def data_status_title(status: str | None) -> str:
    return DATA_STATUS_TITLES.get(status or "", status or "")


def severity_text(severity: str | None) -> Text:
    return Text(SEVERITY_TITLES.get(severity or "", severity or ""),
                style=SEVERITY_STYLES.get(severity or "", ""))


def action_title(action: str | None) -> str:
    return ACTION_TITLES.get(action or "", action or "")


def department_title(dept: str | None) -> str:
    return DEPARTMENTS.get(dept or "", dept or "")


def short_time(stamp: str | None) -> str:
    """``2026-11-15T09:30:12`` → ``2026-11-15 09:30``."""
    if not stamp:
        return ""
    return stamp.replace("T", " ")[:16]


def age_days(first_seen: str | None, today: dt.date | None = None) -> int | None:
    if not first_seen:
        return None
    try:
        seen = dt.date.fromisoformat(first_seen[:10])
    except ValueError:
        return None
    return ((today or dt.date.today()) - seen).days


def rule_title(rule_id: str | None) -> str:
    """The rule's Chinese title (the rules package registers them on import)."""
    from ..services.formatting import RULES
    rule = RULES.get(rule_id or "")
    return rule.title if rule else (rule_id or "")


def rule_titles() -> dict[str, str]:
    from ..services.formatting import RULES
    return {rid: r.title for rid, r in RULES.items()}
