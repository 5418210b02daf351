"""The station as one object: the API that the CLI and the TUI call.

It owns the home, the configuration and one SQLite connection per thread, and strings
the layers together (inbox pipeline → register → rules). It contains no SQL of the
register's own and no business rules: those live in their packages.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..config import Config
from ..home import Home
from ..inbox.pipeline import DeliveryResult, Pipeline, Progress, inbox_files, _safe_name
from ..log import log, setup as setup_log
from ..register.db import StorageError, connect, storage_error, storage_kind

# meta key: the highest ledger id whose delivery the rules have seen. Deliveries applied
# after it (by a run killed before its evaluation, or with --no-evaluate) are evaluated
# by the next ingest, so a crash never leaves the anomalies behind the register.
META_EVALUATED = "evaluated_through_delivery"


@dataclass
class IngestReport:
    results: list[DeliveryResult] = field(default_factory=list)
    waiting: list[DeliveryResult] = field(default_factory=list)   # still being written: left for later
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
    def open(cls, home: Home, *, create: bool = True) -> "Station":
        """Validate rules.yaml and the home folder (raises ConfigError / HomeError).
        ``create=False``: a folder that is no station's home is a HomeError, and nothing
        is created in it."""
        if not create:
            from ..home import check_local
            check_local(home.root)        # a home on a share: say that first
            home.require()
        cfg = home.config()
        from ..rules.engine import rule_settings
        rule_settings(cfg)            # a bad rule parameter fails now, with its line
        home.ensure()
        setup_log(home.root)
        return cls(home, cfg)

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.home.db_path)          # upgrades an older register
            from ..review.log import seal_legacy
            seal_legacy(conn)         # entries of an older release: sealed once, after the upgrade
            self._local.conn = conn
        return conn

    def set_office(self, office: str) -> None:
        """Record the 填报单位 in the home's rules.yaml (made from the default when the
        home has none), checked before it replaces the file."""
        from ..config import default_rules_text, load_config, with_office
        from ..export.files import atomic_write
        path = self.home.rules_path
        existed = path.exists()
        text = path.read_text(encoding="utf-8") if existed else default_rules_text()
        body = with_office(text, office).encode("utf-8")
        atomic_write(path, lambda f: f.write(body))
        try:
            self.cfg = load_config(path)
        except Exception:                 # never leave a rules.yaml that does not load
            if existed:
                atomic_write(path, lambda f: f.write(text.encode("utf-8")))
            else:
                path.unlink()
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ ingest

    def pending_files(self) -> list[Path]:
        return inbox_files(self.home)

    def inbox_links(self) -> list[str]:
        """Links in the inbox (a department folder linked to a share): never followed."""
        from ..inbox.pipeline import inbox_links
        return inbox_links(self.home)

    def links_note(self) -> str | None:
        """What the user must know about links in the inbox (Chinese), or None."""
        links = self.inbox_links()
        if not links:
            return None
        shown = "、".join(links[:5]) + ("……" if len(links) > 5 else "")
        return (f"收件箱中的 {shown} 是链接（快捷方式），本站不跟随链接，其中的文件不会被导入。"
                "请把文件直接复制到收件箱的部门文件夹中。")

    def ingest(self, files: Iterable[Path] | None = None, *, as_of: dt.date | None = None,
               evaluate: bool = True, on_result: Callable[[DeliveryResult], None] | None = None,
               on_progress: Progress | None = None, wait_for_complete: bool = False) -> IngestReport:
        """Apply ``files`` (default: everything in the inbox), then re-run the rules that
        the kinds applied since the last evaluation can change (this run's, and those of
        an earlier run that was killed or ran with ``evaluate=False``).

        A disk or database failure raises :class:`StorageError` (Chinese message): the
        file being applied stays in the inbox with nothing of it kept; files before it
        are applied and reported through ``on_result``. ``wait_for_complete`` (the
        watcher) leaves a file that looks cut off and was written just now for later; a
        file still changing is always left (both in ``report.waiting``)."""
        pipeline = Pipeline(self.home, self.cfg, self.conn, on_progress=on_progress,
                            wait_for_complete=wait_for_complete)
        report = IngestReport()
        for path in (inbox_files(self.home) if files is None else files):
            last_id = self._last_delivery_id()
            try:
                result = pipeline.process(Path(path))
            except (sqlite3.Error, OSError) as e:
                raise self._ingest_failure(Path(path), e, last_id, pipeline._relative(Path(path))) from e
            if result is None:          # another station process has this file
                continue
            if result.status == "waiting":
                report.waiting.append(result)
                continue
            for r in (result, *result.members):      # a zip, then each file in it
                report.results.append(r)
                self._log_result(r)
                if on_result:
                    on_result(r)
        t0 = time.perf_counter()
        try:
            built = pipeline.finish()
        except (sqlite3.Error, OSError) as e:
            raise storage_error(e, "建立登记库索引") from e
        if built:
            log.info("deferred indexes built: %d seconds=%.2f", len(built), time.perf_counter() - t0)
        if evaluate:
            through, kinds = self.pending_evaluation()
            if kinds:
                report.evaluation = self._evaluate_logged(as_of, kinds, through,
                                                          self._changed_ids(report, through))
        return report

    def _last_delivery_id(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]

    def _ingest_failure(self, path: Path, e: BaseException, last_id: int, relative: str) -> StorageError:
        """The Chinese message for a disk or database failure while applying ``path``: the
        delivery either was not kept at all (rolled back), or was committed and only the
        move of the original failed (the next run finishes the move)."""
        name = _safe_name(path.name)
        kind = storage_kind(e)
        try:
            committed = self.conn.execute(      # this file's entry, not another program's
                "SELECT 1 FROM deliveries WHERE id > ? AND original_path = ?", (last_id, relative)
            ).fetchone() is not None
        except sqlite3.Error:
            committed = False
        log.error("delivery %s: storage error kind=%s class=%s", "committed, original not moved" if committed
                  else "not applied", kind, type(e).__name__)
        if not committed:
            return storage_error(e, f"导入文件「{name}」")
        from ..register.db import STORAGE_ADVICE
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return StorageError(
            f"文件「{name}」已导入登记库，但把原件移到 processed/ 或 rejected/ 时失败（{detail}）。"
            f"原件仍在收件箱中；问题解决后再次导入会自动补完归档，不会重复导入。{STORAGE_ADVICE[kind]}", kind)

    def _evaluated_through(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (META_EVALUATED,)).fetchone()
        return int(row[0]) if row and str(row[0]).isdigit() else 0

    def pending_evaluation(self) -> tuple[int, set[str]]:
        """(highest ledger id, kinds applied since the last evaluation that saw them)."""
        done = self._evaluated_through()
        through = self.conn.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
        kinds = {k for (k,) in self.conn.execute(
            "SELECT DISTINCT kind FROM deliveries WHERE id > ? AND status = 'applied' AND kind IS NOT NULL",
            (done,))}
        return through, kinds

    def _changed_ids(self, report: IngestReport, through: int) -> set[str] | None:
        """The IDs written by the deliveries awaiting evaluation, when this run applied all
        of them and each said which IDs it wrote (rules about one ID at a time then
        re-evaluate only those: station.rules.scope); otherwise None (evaluate everything)."""
        pending = {i for (i,) in self.conn.execute(
            "SELECT id FROM deliveries WHERE id > ? AND id <= ? AND status = 'applied' AND kind IS NOT NULL",
            (self._evaluated_through(), through))}
        written = {r.delivery_id: r.changed_ids for r in report.applied}
        if not pending or any(written.get(i) is None for i in pending):
            return None
        return set().union(*(written[i] for i in pending))

    def _log_result(self, r: DeliveryResult) -> None:
        sha = ""
        if r.delivery_id is not None:
            row = self.conn.execute("SELECT substr(sha256, 1, 12) FROM deliveries WHERE id = ?",
                                    (r.delivery_id,)).fetchone()
            sha = row[0] if row else ""
        if r.status == "applied":
            log.info("delivery %s applied%s kind=%s department=%s rows applied=%d rejected=%d skipped=%d"
                     " sha=%s seconds=%.2f", r.delivery_id, " (move finished after a crash)" if r.recovered else "",
                     r.kind, r.department, r.rows_applied, r.rows_rejected, r.rows_skipped, sha, r.seconds)
        elif r.status == "duplicate":
            log.info("delivery %s duplicate of %s sha=%s", r.delivery_id, r.duplicate_of, sha)
        elif r.status == "unpacked":
            log.info("delivery %s is a zip of %d file(s) sha=%s", r.delivery_id, len(r.members), sha)
        elif r.status == "held":
            log.info("delivery %s held for confirmation kind=%s sha=%s", r.delivery_id, r.kind or "-", sha)
        elif r.delivery_id is None:
            log.warning("a file could not be read and stays in the inbox (no ledger entry)")
        else:
            log.info("delivery %s rejected sha=%s (reason in the ledger)", r.delivery_id, sha or "-")

    def _evaluate_logged(self, as_of, kinds, through=None, ids=None):
        from ..rules.engine import evaluate
        try:
            ev = evaluate(self.conn, self.cfg, as_of, kinds=kinds, through_delivery=through, ids=ids)
        except (sqlite3.Error, OSError) as e:
            log.error("evaluation failed: storage error kind=%s class=%s", storage_kind(e), type(e).__name__)
            raise storage_error(e, "比对（重新运行规则）") from e
        self.flag_amount_changes()
        log.info("evaluation as_of=%s rules=%d scoped_ids=%s new=%d cleared=%d reopened=%d open=%d seconds=%.2f"
                 " (statistics %.2f)", ev.as_of, len(ev.rules), "-" if ids is None else len(ids), ev.new,
                 ev.cleared, ev.reopened, ev.open_count, ev.seconds, ev.analyze_seconds)
        return ev

    # ------------------------------------------------------------------ rules

    def evaluate(self, as_of: dt.date | None = None, kinds: Iterable[str] | None = None):
        """Re-run the rules (all, or those that read ``kinds``)."""
        if kinds is None:       # every rule: everything applied so far has been seen
            through = self.conn.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
            return self._evaluate_logged(as_of, None, through)
        return self._evaluate_logged(as_of, set(kinds))

    # ------------------------------------------------------------------ status

    def flag_amount_changes(self) -> list[int]:
        """Anomalies whose amount changed after a decision go back to the reviewer with a
        金额已变化 entry in the review log (station.review.log.flag_amount_changes). Run
        after every evaluation; one cut short by a crash is caught up by the next."""
        from ..review.log import ReviewError, flag_amount_changes
        try:
            return flag_amount_changes(self.conn, incremental=True)
        except ReviewError as e:        # the log's head disagrees: verify names it
            log.warning("amount changes not flagged: %s", type(e).__name__)
            return []
        except (sqlite3.Error, OSError) as e:
            raise storage_error(e, "记录疑点金额变化") from e

    def status(self, recent: int = 10) -> dict:
        from ..register.queries import register_status
        from ..register.schema import register_info
        out = register_status(self.conn, recent=recent)
        out["register"] = register_info(self.conn)
        return out
