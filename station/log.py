"""The station log: ``<home>/station.log``, what the station did, without personal data.

It records events for the office and for whoever maintains the station: a delivery
applied (ledger id, kind, department, row counts, the first 12 characters of its
SHA-256), a duplicate or a rejection (ledger id and hash prefix: the reason may quote
file contents, and file names may carry names, so neither is logged — the ledger and
the ``.reason.txt`` have them), an evaluation (counts), a decision (log seqs, anomaly
ids and action: not the reviewer, not the note), watcher trouble, storage errors (their
class and cause, not paths) and backups.

Never log an ID number, a person's name, a file name, a cell or a note here. The test
``tests/test_reliability_data.py`` greps the log after an ingest and decisions.

The file is owner-only (0600) and rotates at 1 MB, keeping 5 old files.
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from pathlib import Path

LOG_NAME = "station.log"
MAX_BYTES = 1 << 20
BACKUPS = 5

log = logging.getLogger("station")
_lock = threading.Lock()
_handler_path: Path | None = None


class _OwnerOnlyHandler(logging.handlers.RotatingFileHandler):
    def _open(self):
        old = os.umask(0o077)
        try:
            stream = super()._open()
        finally:
            os.umask(old)
        try:
            os.chmod(self.baseFilename, 0o600)
        except OSError:
            pass
        return stream


def setup(home_root: Path) -> None:
    """Send the ``station`` logger to ``<home>/station.log`` (once per process and home).

    A log that cannot be opened (read-only home) is not an error: the station works
    without it, and the operation that needs the disk reports the problem itself."""
    global _handler_path
    path = Path(home_root) / LOG_NAME
    with _lock:
        if _handler_path == path:
            return
        for h in list(log.handlers):
            if isinstance(h, _OwnerOnlyHandler):
                log.removeHandler(h)
                h.close()
        try:
            handler = _OwnerOnlyHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                        encoding="utf-8", delay=False)
        except OSError:
            _handler_path = None
            return
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s pid=%(process)d %(message)s", "%Y-%m-%dT%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        _handler_path = path


def close() -> None:
    """Detach the file handler (tests; a home that goes away)."""
    global _handler_path
    with _lock:
        for h in list(log.handlers):
            if isinstance(h, _OwnerOnlyHandler):
                log.removeHandler(h)
                h.close()
        _handler_path = None


def ids_text(ids, limit: int = 20) -> str:
    """Anomaly ids for a log line: the first ``limit`` and how many in all."""
    ids = list(ids)
    shown = ",".join(str(i) for i in ids[:limit])
    return shown + (f",…({len(ids)} in all)" if len(ids) > limit else "")
