"""The formatting helpers the CLI and TUI may use: masking (ID numbers, bank accounts),
showing hostile text, dates a person types, what an anomaly's subject is, and the Chinese
titles of states, actions and rules. Re-exported here so that the interfaces import only
``station.services`` (tests/test_architecture.py)."""
from __future__ import annotations

from ..normalise import FieldError, mask_account, mask_id, mask_ids_in_text, parse_date
from ..normalise.display import visible
from ..normalise.privacy import ids_in, mask_birth_date, mask_field, mask_personal, mask_value
from ..register.person import looks_like_id
from ..review.states import ACTION_TITLES, ACTIONS, DATA_STATUS_TITLES, STATE_TITLES, STATES
from ..review.stats import rule_title
from ..rules.base import ACCOUNT_FIELDS, is_account_subject, is_person_subject, is_unit_subject
from ..rules.engine import RULES

__all__ = ["ACCOUNT_FIELDS", "ACTIONS", "ACTION_TITLES", "DATA_STATUS_TITLES", "FieldError", "RULES", "STATES",
           "STATE_TITLES", "ids_in", "is_account_subject", "is_person_subject", "is_unit_subject", "looks_like_id",
           "mask_account", "mask_birth_date", "mask_field", "mask_id", "mask_ids_in_text", "mask_personal",
           "mask_value", "parse_date", "rule_title", "visible"]
