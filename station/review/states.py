"""The review workflow: states, actions, and which action is allowed from which state.

待核查 (new) → 核查中 (in_review) → 确认违规 (confirmed) or 排除 (dismissed, with a reason)
→ 已整改 (rectified, with the amount recovered). ``note`` is allowed in any state.

The station itself writes two entries no reviewer can choose (:data:`SYSTEM_ACTIONS`):

- ``amount_changed`` (金额已变化): the anomaly's amount differs from the amount the last
  entry on it recorded (a later delivery changed it). A decided anomaly (确认违规, 排除,
  已整改) returns to 核查中, so that a reviewer looks at it again; one not yet decided
  keeps its state, the change is only recorded.
- ``upgrade`` (登记库升级): written once when a register from a release whose entries did
  not record what they decided on is upgraded; it seals those entries (station.review.entry).
"""
from __future__ import annotations

STATES = ("new", "in_review", "confirmed", "dismissed", "rectified")
STATE_TITLES = {
    "new": "待核查",
    "in_review": "核查中",
    "confirmed": "确认违规",
    "dismissed": "排除",
    "rectified": "已整改",
}
DATA_STATUS_TITLES = {"open": "未消除", "cleared": "数据已消除"}

ACTIONS = ("take", "confirm", "dismiss", "rectify", "note")          # a reviewer's
SYSTEM_ACTIONS = ("amount_changed", "upgrade")                          # the station's own
ACTION_TITLES = {
    "take": "开始核查",
    "confirm": "确认违规",
    "dismiss": "排除",
    "rectify": "整改完成",
    "note": "备注",
    "amount_changed": "金额已变化",
    "upgrade": "登记库升级",
}

# action -> (states it may be taken from, resulting state or None for "unchanged")
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "take": (frozenset({"new"}), "in_review"),
    "confirm": (frozenset({"new", "in_review"}), "confirmed"),
    "dismiss": (frozenset({"new", "in_review"}), "dismissed"),
    "rectify": (frozenset({"confirmed"}), "rectified"),
    "note": (frozenset(STATES), None),
}
# System actions: (states it moves from, resulting state); from any other state it is
# recorded and the state stays.
SYSTEM_TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "amount_changed": (frozenset({"confirmed", "dismissed", "rectified"}), "in_review"),
    "upgrade": (frozenset(), None),
}

HANDLED = frozenset({"confirmed", "dismissed", "rectified"})   # counts toward 处理率
TARGET_RATE = 0.95


def next_state(state: str, action: str) -> str | None:
    """The state after ``action``, or None when the action is not allowed from ``state``
    (or is no known action)."""
    if action in SYSTEM_TRANSITIONS:
        moves, result = SYSTEM_TRANSITIONS[action]
        return result if state in moves else state
    if action not in TRANSITIONS:
        return None
    allowed, result = TRANSITIONS[action]
    if state not in allowed:
        return None
    return result or state


def allowed_actions(state: str) -> list[str]:
    """The actions allowed from ``state``, in :data:`ACTIONS` order (for messages and menus)."""
    return [a for a in ACTIONS if state in TRANSITIONS[a][0]]
