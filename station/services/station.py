"""The station as one object: the API that the CLI and the TUI call.

It owns the home, the configuration and one SQLite connection per thread, and strings
the layers together (inbox pipeline → register → rules). It contains no SQL of the
register's own and no business rules: those live in their packages.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..config import Config
from ..home import Home
from ..inbox.pipeline import DeliveryResult, Pipeline, Progress, inbox_files
from ..register.db import connect


@dataclass
class IngestReport:
    results: list[DeliveryResult] = field(default_factory=list)
    evaluation: object | None = None      # station.rules.engine.EvaluationResult

    @property
    def applied(self) -> list[DeliveryResult]:
        return [r for r in self.results if r.status == "applied" and not r.recovered]


class Station:
    """Open with :meth:`open`; safe to share between threads (connections are per thread)."""

    def __init__(self, home: Home, cfg: Config):
        self.home = home
        self.cfg = cfg
        self._local = threading.local()

    @classmethod
    def open(cls, home: Home) -> "Station":
        """Validate rules.yaml and the home folder (raises ConfigError / HomeError)."""
        cfg = home.config()
        from ..rules.engine import rule_settings
        rule_settings(cfg)            # a bad rule parameter fails now, with its line
        home.ensure()
        return cls(home, cfg)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.home.db_path)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ ingest

    def pending_files(self) -> list[Path]:
        return inbox_files(self.home)

    def ingest(self, files: Iterable[Path] | None = None, *, as_of: dt.date | None = None,
               evaluate: bool = True, on_result: Callable[[DeliveryResult], None] | None = None,
               on_progress: Progress | None = None) -> IngestReport:
        """Apply ``files`` (default: everything in the inbox), then re-run the rules that
        the applied kinds can change."""
        pipeline = Pipeline(self.home, self.cfg, self.conn, on_progress=on_progress)
        report = IngestReport()
        for path in (inbox_files(self.home) if files is None else files):
            result = pipeline.process(Path(path))
            report.results.append(result)
            if on_result:
                on_result(result)
        pipeline.finish()
        kinds = {r.kind for r in report.applied if r.kind}
        if evaluate and kinds:
            # When every delivery said which IDs it wrote, rules about one ID at a time
            # re-evaluate only those (station.rules.scope).
            ids = None
            if all(r.changed_ids is not None for r in report.applied):
                ids = set().union(*(r.changed_ids for r in report.applied))
            report.evaluation = self.evaluate(as_of, kinds=kinds, ids=ids)
        return report

    # ------------------------------------------------------------------ rules

    def evaluate(self, as_of: dt.date | None = None, kinds: Iterable[str] | None = None,
                 ids: Iterable[str] | None = None):
        from ..rules.engine import evaluate
        return evaluate(self.conn, self.cfg, as_of, kinds=kinds, ids=ids)

    # ------------------------------------------------------------------ status

    def status(self, recent: int = 10) -> dict:
        from ..register.queries import register_status
        return register_status(self.conn, recent=recent)
