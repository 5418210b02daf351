"""The reviewer's filter of the anomaly queue (used by the queue and the filter dialog)."""
from __future__ import annotations

from dataclasses import dataclass

from ..format import SEVERITY_TITLES, department_title, state_title


@dataclass(frozen=True)
class QueueFilter:
    """The reviewer's filter; :meth:`service_filter` turns it into the service's AnomalyFilter."""
    rules: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    data_status: str | None = "open"          # open | cleared | None (all)
    departments: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    min_amount: float | None = None
    older_than_days: int | None = None
    search: str = ""

    def service_filter(self):
        from ...services.anomalies import AnomalyFilter
        return AnomalyFilter(rules=list(self.rules) or None, statuses=list(self.statuses) or None,
                             data_status=self.data_status, departments=list(self.departments) or None,
                             severities=list(self.severities) or None, min_amount=self.min_amount,
                             older_than_days=self.older_than_days, search=self.search or None)

    def describe(self, titles: dict[str, str]) -> str:
        parts = []
        if self.statuses:
            parts.append("状态=" + "、".join(state_title(s) for s in self.statuses))
        if self.rules:
            parts.append("规则=" + "、".join(titles.get(r, r) for r in self.rules))
        if self.severities:
            parts.append("级别=" + "、".join(SEVERITY_TITLES.get(s, s) for s in self.severities))
        if self.departments:
            parts.append("部门=" + "、".join(department_title(d) for d in self.departments))
        if self.min_amount is not None:
            parts.append(f"金额≥{self.min_amount:,.0f}")
        if self.older_than_days is not None:
            parts.append(f"超过{self.older_than_days}天")
        parts.append({"open": "未消除", "cleared": "数据已消除", None: "含已消除"}[self.data_status])
        if self.search:
            parts.append(f"搜索「{self.search}」")
        return "；".join(parts)
