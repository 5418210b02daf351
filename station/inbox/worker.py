"""Reading and mapping a large CSV delivery in a second process, while this one writes.

A county's roster or month of payroll spends about as long being read and normalised as
being written to SQLite. :func:`mapped_batches` starts a child process that reads the
file and maps it batch by batch (exactly what :meth:`RowMapper.map_batch` gives in
process) and sends the results through a pipe; the caller writes each batch while the
child maps the next. The child maps at most a few batches ahead (``AHEAD``), so memory
stays bounded. It does so only when a core is free (:func:`spare_core`): on a
machine whose cores are busy, passing rows between processes only adds work.

The child only reads the file: the register, its transaction and the ledger stay with
the caller. An exception in the child (an unreadable line, a bug) is raised again in the
caller, where the pipeline handles it as it would in process. A child that cannot start
or dies before its first batch raises :class:`WorkerUnavailable` (the caller then maps in
process); one that dies later without a word (killed from outside) raises OSError, which
leaves the file in the inbox.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import threading
from contextlib import contextmanager
from itertools import dropwhile, islice
from pathlib import Path
from typing import Iterator

from ..kinds.mapping import BatchResult, row_mapper
from ..kinds.recognise import Recognition

# Files from this size on are mapped in a second process (CSV only: Excel sheets are
# read whole by calamine, and JSON is small). Below it, starting Python costs more than
# it saves.
WORKER_MIN_BYTES = 16 * 1024 * 1024
_END = b""
AHEAD = 8                      # batches the child may map ahead of the caller


# Mapping and writing a file allocate millions of short-lived tuples and strings; with
# Python's default threshold (700 allocations) the collector runs every few rows and
# scans every batch still in flight. None of these objects form cycles, so during bulk
# work it runs a hundred times less often (bench, 4 months of payroll, 5 alternating
# runs: the mapping process's CPU 10.9 s -> 9.7 s; read and map in one process 10-15%).
BULK_GC_THRESHOLD = 70_000
_bulk_lock = threading.Lock()
_bulk_depth = 0
_saved_threshold: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the garbage collector less often inside (thread-safe, nestable); the old
    thresholds come back when the last user leaves."""
    global _bulk_depth, _saved_threshold
    with _bulk_lock:
        if _bulk_depth == 0:
            _saved_threshold = gc.get_threshold()
            gc.set_threshold(BULK_GC_THRESHOLD, *_saved_threshold[1:])
        _bulk_depth += 1
    try:
        yield
    finally:
        with _bulk_lock:
            _bulk_depth -= 1
            if _bulk_depth == 0:
                gc.set_threshold(*_saved_threshold)


def spare_core() -> bool:
    """Whether a second process would get a core of its own: on a machine whose cores
    are all busy already, passing the rows between processes only adds work."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores >= 2
    return cores >= 2 and load < cores - 0.5


class WorkerUnavailable(OSError):
    """The child could not be started, or exited before sending its first batch: the
    caller has received nothing and can map in process instead."""

    def __init__(self, cause: str):
        super().__init__(f"读取进程未能启动（{cause}）")
        self.cause = cause


class _Failure:
    def __init__(self, exc: BaseException):
        try:
            pickle.dumps(exc)
            self.exc = exc
        except Exception:
            self.exc = RuntimeError(f"{type(exc).__name__}: {exc}")


def _context():
    """Children forked from a server process that imported the mapping code once, where
    the platform has one. A spawned child starts a new interpreter and imports that code,
    and the ``station`` command's own modules, again for every file (measured through
    ``station ingest``: 0.25 s a file more)."""
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:
        return multiprocessing.get_context("spawn")
    ctx.set_forkserver_preload([__name__, "station.formats"])
    return ctx


def mapped_batches(path: Path, rec: Recognition, limits: dict, delivery_id: int,
                   batch_rows: int) -> Iterator[BatchResult]:
    """(rows, rejected, skipped) for each batch of the body of ``path`` (the rows after
    the header ``rec`` found), mapped in a child process."""
    try:
        ctx = _context()
        receiver, sender = ctx.Pipe(duplex=False)
    except Exception as e:     # noqa: BLE001
        raise WorkerUnavailable(type(e).__name__) from None
    try:
        proc = ctx.Process(target=_work, args=(sender, str(path), rec, limits, delivery_id, batch_rows),
                           name="station-map", daemon=True)
        proc.start()
    except Exception as e:     # noqa: BLE001 — whatever stops the child from starting
        # (inside Textual: "ValueError: bad value(s) in fds_to_keep", its stdout and stderr
        # are not real files), the caller maps in process: never a rejected delivery.
        receiver.close()
        sender.close()
        raise WorkerUnavailable(type(e).__name__) from None
    sender.close()
    received = False
    try:
        while True:
            try:
                data = receiver.recv_bytes()
            except (EOFError, OSError):
                # EOFError between messages; OSError ("got end of file during message")
                # when the child died while sending one. Either way it is gone.
                proc.join(5)
                if not received:
                    raise WorkerUnavailable(f"exit code {proc.exitcode}") from None
                raise OSError(f"读取进程意外退出（退出码 {proc.exitcode}）") from None
            received = True
            if data == _END:
                return
            result = pickle.loads(data)
            if isinstance(result, _Failure):
                raise result.exc
            yield result
    finally:
        receiver.close()
        if proc.is_alive():
            proc.terminate()
        proc.join(10)


def _work(sender, path: str, rec: Recognition, limits: dict, delivery_id: int, batch_rows: int) -> None:
    from ..formats import open_rows
    gc.set_threshold(BULK_GC_THRESHOLD, *gc.get_threshold()[1:])   # see fewer_collections
    # A thread sends while the main thread maps the next batches: the caller takes a batch
    # only between its writes, and without this queue the child would wait at the pipe
    # for each one instead of mapping (measured: a 1M-row roster 17 s -> 11 s).
    out: queue.Queue = queue.Queue(maxsize=AHEAD)
    sending = threading.Thread(target=_send_all, args=(sender, out), daemon=True)
    sending.start()
    try:
        mapper = row_mapper(rec)
        with open_rows(path, **limits) as source:
            body = dropwhile(lambda row: row[0] <= rec.header_row, source)
            while batch := list(islice(body, batch_rows)):
                if not _put(out, sending, pickle.dumps(mapper.map_batch(batch, delivery_id), protocol=5)):
                    return
        _put(out, sending, _END)
    except KeyboardInterrupt:
        pass
    except BaseException as e:        # noqa: BLE001 — every failure goes to the caller
        try:
            failure = pickle.dumps(_Failure(e), protocol=5)
        except Exception:  # noqa: BLE001
            failure = pickle.dumps(_Failure(RuntimeError(type(e).__name__)), protocol=5)
        _put(out, sending, failure)
    finally:
        _put(out, sending, None)      # the sender's stop sign
        sending.join()
        sender.close()


def _put(out: queue.Queue, sending: threading.Thread, item) -> bool:
    """Queue ``item`` for the sender; False once the sender has stopped (the caller
    stopped reading), so that the child stops mapping too."""
    while sending.is_alive():
        try:
            out.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _send_all(sender, out: queue.Queue) -> None:
    try:
        while (data := out.get()) is not None:
            sender.send_bytes(data)
    except OSError:                   # BrokenPipeError: the caller stopped reading
        pass
