"""Watching the inbox: watchdog events as hints, periodic full scans as the truth.

NOTES.md § Files arriving in a folder: the kernel queue can overflow and drop events,
PollingObserver dies for good on an OSError, copy tools fire "created" before the copy is
complete. So: a full scan at start and every ``rescan_seconds``; a file is taken only when
its size and mtime are unchanged across two checks ``settle_seconds`` apart; a dead
observer (or a vanished share) is noticed and the observer restarted when it is back.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..home import Home
from .pipeline import inbox_files, is_ignored


@dataclass
class WatcherState:
    mode: str = "stopped"            # watching | polling | waiting-for-folder | stopped
    observer_alive: bool = False
    waiting: int = 0                 # files seen but not yet complete
    last_scan: float | None = None
    last_delivery: float | None = None
    restarts: int = 0


class _Hints(FileSystemEventHandler):
    def __init__(self, sink: Callable[[Path], None]):
        self.sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
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
                 settle_seconds: float = 1.0, rescan_seconds: float = 30.0, tick: float = 0.25):
        self.home = home
        self.process = process
        self.poll = poll
        self.settle = settle_seconds
        self.rescan_every = rescan_seconds
        self.tick = tick
        self.state = WatcherState()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._hints: set[Path] = set()
        self._seen: dict[Path, tuple[int, int, float]] = {}   # path -> (size, mtime_ns, first seen)
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

    def _start_observer(self) -> None:
        self._stop_observer()
        if not self.home.inbox.is_dir():
            self.state.mode = "waiting-for-folder"
            self.state.observer_alive = False
            return
        observer = PollingObserver(timeout=2) if self.poll else Observer()
        observer.schedule(_Hints(self._hint), str(self.home.inbox), recursive=True)
        observer.daemon = True
        try:
            observer.start()
        except OSError:
            self.state.mode = "waiting-for-folder"
            return
        self._observer = observer
        self.state.mode = "polling" if self.poll else "watching"
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
                if self._observer is None or not self._observer.is_alive() or not self.home.inbox.is_dir():
                    if self._observer is not None:
                        self.state.restarts += 1
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
                    self.process(ready)
                    self.state.last_delivery = time.time()
                self._stop.wait(self.tick)
        finally:
            self._stop_observer()
            self.state.mode = "stopped"
            self.state.observer_alive = False

    def scan_once(self) -> None:
        """Queue every file in the inbox now (e.g. the user pressed 'rescan')."""
        for p in inbox_files(self.home):
            self._hint(p)

    def _ready(self, now: float) -> list[Path]:
        with self._lock:
            hints, self._hints = self._hints, set()
        processed = self.home.processed.resolve()
        rejected = self.home.rejected.resolve()
        for p in hints:
            try:
                rp = p.resolve()
            except OSError:
                continue
            if processed in rp.parents or rejected in rp.parents or is_ignored(p):
                continue
            if p not in self._seen:
                self._seen[p] = (-1, -1, now)
        ready = []
        for p, (size, mtime, first) in list(self._seen.items()):
            try:
                st = p.stat()
            except OSError:
                del self._seen[p]          # gone (moved, deleted, renamed by its writer)
                continue
            sig = (st.st_size, st.st_mtime_ns)
            if sig == (size, mtime) and now - first >= self.settle:
                ready.append(p)
                del self._seen[p]
            elif sig != (size, mtime):
                self._seen[p] = (sig[0], sig[1], now)
        self.state.waiting = len(self._seen)
        ready.sort(key=lambda p: (p.stat().st_mtime_ns if p.exists() else 0, str(p)))
        return [p for p in ready if p.exists()]
