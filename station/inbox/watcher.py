"""Watching the inbox: watchdog events as hints, periodic full scans as the truth.

NOTES.md § Files arriving in a folder: the kernel queue can overflow and drop events,
PollingObserver dies for good on an OSError, copy tools fire "created" before the copy is
complete, and a quiet period is no proof that a copy has finished (a USB stick or a share
pauses for seconds mid-file). So: a full scan at start and every ``rescan_seconds``; a
file is taken

- when its writer has closed it (inotify's close-write, watchdog's ``FileClosedEvent``)
  and its size and mtime have not changed for ``settle_seconds`` since — at once, in
  practice, so an ordinary drop reaches the queue within two seconds;
- otherwise (polling a share, or a file found by a scan) only once its size and mtime
  have been unchanged for ``quiet_seconds`` (several seconds; ``limits.quiet_seconds``).

The pipeline then checks the rest (:mod:`station.inbox.taking`): the bytes did not
change while they were read, the file's own structure says it is complete, and the
original is let go only if it did not change until then. A dead observer (or a vanished
share) is noticed and the observer restarted when it is back.

A file that is still in the inbox after ``process`` (the register or the disk failed:
database locked, disk full, unreadable file) is retried after ``retry_seconds``, doubling
up to ``retry_max_seconds`` — never in a hot loop (reading a file fires watchdog events
of its own). A changed file (new size or mtime) is tried again at once. An exception
from ``process`` is logged and passed to ``on_error``; the watcher keeps running.
"""
from __future__ import annotations

import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..home import Home
from ..log import log
from .pipeline import inbox_files, is_ignored


@dataclass
class WatcherState:
    mode: str = "stopped"            # watching | polling | waiting-for-folder | stopped
    observer_alive: bool = False
    waiting: int = 0                 # files seen but not yet complete
    last_scan: float | None = None
    last_delivery: float | None = None
    restarts: int = 0
    backing_off: int = 0             # files waiting to be retried after a failure
    last_error: str | None = None    # the last failure, as process() raised it


_CLOSED_NOW = -2      # a close event not yet matched with the file's size


class _Hints(FileSystemEventHandler):
    def __init__(self, sink: Callable[[Path], None], closed: Callable[[Path], None]):
        self.sink = sink
        self.closed = closed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.event_type == "closed":      # closed after writing (not our own reads)
            p = event.src_path
            self.closed(Path(p if isinstance(p, str) else p.decode()))
            return
        if event.event_type == "moved" and event.dest_path:
            # Renamed into place (a copy to x.part renamed to x, an editor's save): its
            # writer closed it under the old name, whose close was not about this name.
            p = event.dest_path
            self.closed(Path(p if isinstance(p, str) else p.decode()))
        for attr in ("src_path", "dest_path"):
            p = getattr(event, attr, None)
            if p:
                self.sink(Path(p if isinstance(p, str) else p.decode()))


class InboxWatcher:
    """Finds complete deliveries in ``home.inbox`` and hands them to ``process``.

    ``run()`` blocks until ``stop()``; call it from a thread of its own. ``process`` is
    called from that thread with a list of complete files, oldest first.
    """

    def __init__(self, home: Home, process: Callable[[list[Path]], None], *, poll: bool = False,
                 settle_seconds: float = 0.5, quiet_seconds: float = 5.0,
                 rescan_seconds: float = 30.0, tick: float = 0.25,
                 retry_seconds: float = 5.0, retry_max_seconds: float = 300.0,
                 on_error: Callable[[BaseException], None] | None = None):
        self.home = home
        self.process = process
        self.on_error = on_error
        self.poll = poll
        self.retry_base = retry_seconds
        self.retry_max = retry_max_seconds
        # path -> (failures, due at (monotonic), (size, mtime_ns) when it failed)
        self._backoff: dict[Path, tuple[int, float, tuple[int, int]]] = {}
        self._inotify_failed = False
        self._next_start = 0.0
        self._start_failures = 0
        self.settle = settle_seconds
        self.quiet = max(quiet_seconds, settle_seconds)
        self.rescan_every = rescan_seconds
        self.tick = tick
        self.state = WatcherState()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._hints: set[Path] = set()
        self._closed: set[Path] = set()     # closed by their writer since the last tick
        # path -> (size, mtime_ns, when they last changed, its size when its writer closed
        # it: None before a close, or once it grew after one — a writer wrote more)
        self._seen: dict[Path, tuple[int, int, float, int | None]] = {}
        self._observer = None

    # ------------------------------------------------------------------ control

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _hint(self, path: Path) -> None:
        with self._lock:
            self._hints.add(path)

    def _closed_hint(self, path: Path) -> None:
        with self._lock:
            self._hints.add(path)
            self._closed.add(path)

    def _start_observer(self) -> None:
        self._stop_observer()
        if not self.home.inbox.is_dir():
            if self.state.mode != "waiting-for-folder":
                log.warning("inbox folder missing: waiting for it to come back")
            self.state.mode = "waiting-for-folder"
            self.state.observer_alive = False
            return
        polling = self.poll or self._inotify_failed
        observer = PollingObserver(timeout=2) if polling else Observer()
        try:
            observer.schedule(_Hints(self._hint, self._closed_hint), str(self.home.inbox), recursive=True)
            observer.daemon = True
            observer.start()
        except OSError as e:
            # The folder went away again, or inotify is out of watches (errno ENOSPC):
            # fall back to polling rather than retrying inotify every tick.
            if self.home.inbox.is_dir() and not polling:
                self._inotify_failed = True
                log.warning("inotify observer failed (%s): polling the inbox instead", e.strerror or type(e).__name__)
            self._start_failures += 1
            self._next_start = time.monotonic() + min(30.0, 0.5 * 2 ** min(self._start_failures, 6))
            self.state.mode = "waiting-for-folder"
            return
        self._observer = observer
        self._start_failures = 0
        self.state.mode = "polling" if polling else "watching"
        self.state.observer_alive = True

    def _stop_observer(self) -> None:
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(timeout=2)
            except Exception:  # an observer that already died cannot be stopped cleanly
                pass
            self._observer = None

    # ------------------------------------------------------------------ loop

    def run(self) -> None:
        self._start_observer()
        next_scan = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if ((self._observer is None or not self._observer.is_alive() or not self.home.inbox.is_dir())
                        and now >= self._next_start):
                    if self._observer is not None:
                        self.state.restarts += 1
                        log.warning("inbox observer stopped (or its folder went away): restarting it")
                    self.state.observer_alive = False
                    self._start_observer()
                    next_scan = 0.0
                if now >= next_scan and self.home.inbox.is_dir():
                    for p in inbox_files(self.home):
                        self._hint(p)
                    self.state.last_scan = time.time()
                    next_scan = now + self.rescan_every
                ready = self._ready(now)
                if ready:
                    self._process(ready)
                self._stop.wait(self.tick)
        finally:
            self._stop_observer()
            self.state.mode = "stopped"
            self.state.observer_alive = False

    def _process(self, ready: list[Path]) -> None:
        try:
            self.process(ready)
            self.state.last_delivery = time.time()
        except Exception as e:          # the register or the disk: keep watching, back off
            self.state.last_error = str(e)
            log.error("applying %d file(s) failed: %s", len(ready), type(e).__name__)
            if self.on_error is not None:
                try:
                    self.on_error(e)
                except Exception:
                    pass
        now = time.monotonic()
        for p in ready:
            try:
                st = p.lstat()
            except OSError:
                self._backoff.pop(p, None)          # moved away: done
                continue
            failures = self._backoff.get(p, (0, 0.0, (0, 0)))[0] + 1
            delay = min(self.retry_max, self.retry_base * 2 ** (failures - 1))
            self._backoff[p] = (failures, now + delay, (st.st_size, st.st_mtime_ns))
            log.warning("a file is still in the inbox after %d attempt(s): next try in %.0f s",
                        failures, delay)
        self.state.backing_off = len(self._backoff)

    def scan_once(self) -> None:
        """Queue every file in the inbox now (e.g. the user pressed 'rescan')."""
        for p in inbox_files(self.home):
            self._hint(p)

    def _ready(self, now: float) -> list[Path]:
        with self._lock:
            hints, self._hints = self._hints, set()
            closed, self._closed = self._closed, set()
        kept = [d.resolve() for d in self.home.kept_folders()]
        for p in hints:
            try:
                rp = p.resolve()
            except OSError:
                continue
            if any(d in rp.parents for d in kept) or is_ignored(p):
                continue
            if p in self._backoff and not self._backoff_over(p, now):
                continue
            if p not in self._seen:
                self._seen[p] = (-1, -1, now, None)
            if p in closed:
                size, mtime, changed, _ = self._seen[p]
                self._seen[p] = (size, mtime, changed, _CLOSED_NOW)
        for p in [p for p, (_, due, _) in self._backoff.items() if due <= now and p not in self._seen]:
            if self._backoff_over(p, now):      # due again, even without a hint
                # It was complete enough to be taken before, and has not changed since.
                self._seen[p] = (-1, -1, now, _CLOSED_NOW)
        ready = []
        for p, (size, mtime, changed, closed_size) in list(self._seen.items()):
            try:
                st = p.lstat()
            except OSError:
                del self._seen[p]          # gone (moved, deleted, renamed by its writer)
                continue
            if not stat.S_ISREG(st.st_mode):   # links, pipes, devices are never taken
                del self._seen[p]
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if closed_size == _CLOSED_NOW:
                closed_size = st.st_size
            elif closed_size is not None and st.st_size != closed_size:
                closed_size = None        # written again after the close: wait for the next one
            # Only the mtime changed after the close (a copy tool setting the original's):
            # the close still counts, once the file has settled again.
            settled = sig == (size, mtime)
            self._seen[p] = (*sig, changed if settled else now, closed_size)
            if settled and now - changed >= (self.settle if closed_size is not None else self.quiet):
                ready.append(p)
                del self._seen[p]
        self.state.waiting = len(self._seen)
        self.state.backing_off = len(self._backoff)
        ready.sort(key=lambda p: (p.stat().st_mtime_ns if p.exists() else 0, str(p)))
        return [p for p in ready if p.exists()]

    def _backoff_over(self, p: Path, now: float) -> bool:
        """Whether a file that failed may be tried again: its delay is over, or it has
        changed since (a new copy). A file that is gone leaves the back-off list."""
        failures, due, sig = self._backoff[p]
        try:
            st = p.lstat()
        except OSError:
            del self._backoff[p]
            return False
        if (st.st_size, st.st_mtime_ns) != sig:
            del self._backoff[p]
            return True
        return due <= now
