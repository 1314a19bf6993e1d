"""The one worker abstraction: run a function or a generator function on its own QThread.

Modelled on superqt's ``WorkerBase`` / ``GeneratorWorker``. The job is a plain function
that receives a :class:`Control` first, so it can hand ``control.progress`` and
``control.should_stop`` straight to core functions that take ``on_progress`` and
``should_stop`` callables. A generator function's values arrive one by one as ``yielded``
(results reach the GUI as they come); a plain function's return value arrives once as
``returned``. Workers only emit signals; only GUI code touches widgets.

    worker = Worker(job, paths)
    worker.yielded.connect(table.add)
    worker.start()
    ...
    worker.cancel(); worker.wait()

A page that runs one task at a time starts it in a :class:`TaskSlot` (Orange3's
``ConcurrentMixin.start``): a new task cancels the previous one and cuts its signals off,
so a stale result can never arrive.
"""

from __future__ import annotations

import inspect
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from core.errors import Cancelled


class Control:
    """What a job sees of its worker: a cancel flag to poll and a throttled progress report."""

    def __init__(self, emit_progress: Callable[[int, int, str], None], interval: float) -> None:
        self._stop = threading.Event()
        self._emit = emit_progress
        self._interval = interval
        self._last = 0.0
        self._last_value: tuple[int, int] | None = None

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def check(self) -> None:
        """Raise :class:`core.errors.Cancelled` when a cancel was requested."""
        if self._stop.is_set():
            raise Cancelled

    def progress(self, done: int, total: int = -1, message: str = "") -> None:
        """Report progress; emitted only when the value changed and at most every
        ``interval`` seconds, except for the last step, which always gets through."""
        if (done, total) == self._last_value:
            return
        now = time.monotonic()
        if done != total and now - self._last < self._interval:
            return
        self._last, self._last_value = now, (done, total)
        self._emit(done, total, message)

    def _cancel(self) -> None:
        self._stop.set()


class Worker(QThread):
    """Run ``fn(control, *args, **kwargs)`` on a new thread.

    Signals, all delivered on the GUI thread: ``started()``, ``progress(done, total,
    message)``, ``yielded(object)`` (each value a generator job yields), ``returned
    (object)`` (a plain job's return value, once, unless cancelled), ``errored
    (exception)``, ``finished()`` (always last, also after a cancel or an error).

    ``low_priority`` lowers the CPU priority of the thread and of every thread it starts.
    Use it for a job that creates compute threads (the first TensorFlow call creates
    TensorFlow's thread pools), not for jobs that run much Python or Pillow code: those
    hold the GIL, and a low-priority thread holding it makes the GUI thread wait longer.
    """

    progress = Signal(int, int, str)
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    # ``started`` and ``finished`` are QThread's own signals.

    #: How much lower than the GUI thread a ``low_priority`` job runs (Unix nice increment).
    LOW_PRIORITY_NICE = 5

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        progress_interval: float = 0.05,
        low_priority: bool = False,
        parent: QObject | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parent)
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._low_priority = low_priority
        self.control = Control(self.progress.emit, progress_interval)
        name = getattr(fn, "__name__", "job")
        self.setObjectName(f"worker:{name}")

    def cancel(self) -> None:
        """Ask the job to stop at its next check; returns at once (use :meth:`wait`)."""
        self.control._cancel()

    @property
    def cancelled(self) -> bool:
        return self.control.should_stop()

    def run(self) -> None:  # runs on the new thread
        if self._low_priority:
            _lower_this_thread(self.LOW_PRIORITY_NICE)
        try:
            out = self._fn(self.control, *self._args, **self._kwargs)
            if inspect.isgenerator(out):
                while True:
                    try:
                        item = next(out)
                    except StopIteration as end:
                        # a generator's own return value (superqt's GeneratorWorker does
                        # the same): the classify job's site check, say
                        if end.value is not None and not self.control.should_stop():
                            self.returned.emit(end.value)
                        break
                    self.yielded.emit(item)
                    if self.control.should_stop():
                        out.close()
                        break
            elif not self.control.should_stop():
                self.returned.emit(out)
        except Cancelled as exc:
            # A cancel of this worker ends it silently; a job that stopped by itself (the
            # user's Stop with nothing to keep) reports it like any other outcome.
            if not self.control.should_stop():
                self.errored.emit(exc)
        except Exception as exc:  # the job's failure is reported, never raised into Qt
            self.errored.emit(exc)


def _lower_this_thread(increment: int) -> None:
    """Give the calling thread (and the threads it starts: decode pools, TensorFlow's
    intra-op pool) a lower CPU priority than the GUI thread, so a busy machine still
    schedules the event loop first. Linux nice values are per thread; QThread.setPriority
    has no effect under the default Linux scheduler."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except OSError:
        pass  # not permitted or not supported: run at normal priority


def stop_all(workers: list[Worker] | set[Worker], timeout_ms: int | None = None) -> bool:
    """Cancel every worker, then wait for each; True when none is still running."""
    for w in workers:
        w.cancel()
    ok = True
    for w in workers:
        if w.isRunning():
            ok = (w.wait() if timeout_ms is None else w.wait(timeout_ms)) and ok
    return ok


class WorkerSet(QObject):
    """Keeps running workers alive (a QThread collected while running aborts the process)
    and lets the owner stop them all, e.g. when its window closes."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        self._running.add(worker)
        worker.finished.connect(lambda w=worker: self._forget(w))
        worker.start()
        return worker

    def _forget(self, worker: Worker) -> None:
        worker.wait()  # ``finished`` comes just before the thread really ends
        self._running.discard(worker)

    def __len__(self) -> int:
        return len(self._running)

    def busy(self) -> bool:
        return any(w.isRunning() for w in self._running)

    def stop_all(self) -> None:
        """Cancel and wait for every worker (blocking: jobs check for a cancel often)."""
        stop_all(self._running)
        self._running.clear()


class TaskSlot(QObject):
    """One task at a time, without tokens.

    :meth:`start` cancels the task running in the slot, disconnects every handler the
    slot connected to it, and only then starts the new one; each handler is also guarded,
    so even a signal already queued by the old thread is dropped. The replaced worker
    stays in the :class:`WorkerSet` until its thread ends (a running QThread must not be
    collected). ``busyChanged`` says when the slot starts or stops holding a task.
    """

    busyChanged = Signal(bool)

    def __init__(self, workers: WorkerSet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = workers
        self._current: Worker | None = None
        self._connections: list[tuple[Any, Callable[..., None]]] = []

    @property
    def current(self) -> Worker | None:
        return self._current

    def busy(self) -> bool:
        return self._current is not None

    def start(
        self,
        worker: Worker,
        *,
        returned: Callable[[Any], None] | None = None,
        yielded: Callable[[Any], None] | None = None,
        errored: Callable[[BaseException], None] | None = None,
        progress: Callable[[int, int, str], None] | None = None,
        finished: Callable[[], None] | None = None,
    ) -> Worker:
        """Cancel the task in the slot and start ``worker`` with these handlers;
        ``finished`` runs after the others, when the task ends by itself or fails (not
        when a newer task replaced it or :meth:`cancel` cut it off)."""
        self._release(cancel=True)
        self._current = worker
        for signal, handler in (
            (worker.returned, returned),
            (worker.yielded, yielded),
            (worker.errored, errored),
            (worker.progress, progress),
        ):
            if handler is not None:
                self._connect(worker, signal, handler)
        self._connect(worker, worker.finished, lambda: self._ended(finished))
        self._workers.start(worker)
        self.busyChanged.emit(True)
        return worker

    def cancel(self) -> None:
        """Ask the task to stop and forget it at once: none of its handlers runs again."""
        if self._release(cancel=True):
            self.busyChanged.emit(False)

    def wait(self) -> None:
        """Block until the current task's thread has ended (for closing a window)."""
        if self._current is not None:
            self._current.wait()

    def _connect(self, worker: Worker, signal: Any, handler: Callable[..., None]) -> None:
        def guarded(*args: Any) -> None:
            if self._current is worker:
                handler(*args)

        signal.connect(guarded)
        self._connections.append((signal, guarded))

    def _ended(self, finished: Callable[[], None] | None) -> None:
        self._release(cancel=False)
        self.busyChanged.emit(False)
        if finished is not None:
            finished()

    def _release(self, cancel: bool) -> bool:
        worker, self._current = self._current, None
        for signal, handler in self._connections:
            signal.disconnect(handler)
        self._connections.clear()
        if worker is not None and cancel:
            worker.cancel()
        return worker is not None
