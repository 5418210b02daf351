"""The review-log export and the monthly report, for the CLI and TUI."""
from __future__ import annotations

from ..export.files import ExportError, atomic_write, head_line, neutralise
from ..export.report import build_report, export_report, render_html, render_markdown
from ..export.report import default_path as report_path
from ..export.review_log import default_path as review_log_path
from ..export.review_log import default_range as review_log_range
from ..export.review_log import export_review_log, mask_subject

__all__ = ["ExportError", "atomic_write", "build_report", "export_report", "export_review_log", "head_line",
           "mask_subject", "neutralise", "render_html", "render_markdown", "report_path", "review_log_path",
           "review_log_range"]
