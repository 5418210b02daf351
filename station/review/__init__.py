"""Reviewing anomalies: the workflow (:mod:`.states`), the append-only hash-chained log
of decisions (:mod:`.log`) and the figures for reports and the dashboard (:mod:`.stats`)."""
