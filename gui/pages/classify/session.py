"""The classify queue: the model, the files still to classify and the run that classifies
them, kept apart from any widget (the classify page only shows what this object says).

Files come in (:meth:`ClassifySession.open_paths`), are listed in the :class:`ResultsModel`
at once and classified on a worker as soon as the model is ready; rows fill in as results
arrive. A new model classifies every listed file again, so a table and its CSV always come
from one model. The model load and the classify run each live in a :class:`TaskSlot`: a
replaced or cancelled task delivers nothing, so no result needs checking for staleness.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.files.discovery import Skipped
from gui.i18n import translate
from gui.pages.classify import jobs
from gui.pages.classify.results import CANCELLED, NO_MODEL, QUEUED, WAITING, ResultsModel
from gui.services.workers import TaskSlot, Worker, WorkerSet

# Model states.
LOADING, READY, MISSING = "loading", "ready", "missing"

# What the queue is doing, as the progress bar shows it.
LOADING_MODEL, FINDING, IDLE, COUNTING = "loading model", "finding files", "idle", "counting"


@dataclass(frozen=True)
class QueueProgress:
    """Where the queue stands: one of the phases above and the batch's counts."""

    phase: str
    done: int = 0
    total: int = 0
    waiting: int = 0  # files waiting for the model to load (phase LOADING_MODEL)
    rate: float | None = None  # images per second in this batch, once one is done
    cancellable: bool = False  # there is a run or a queue that cancel would stop


class ClassifySession(QObject):
    """The classify page's state and running tasks, testable without a window.

    Signals: ``modelLoading()`` (a model load began), ``modelChanged(model)`` (it ended:
    a ``LoadedModel``, or None when there is none; sent after the waiting files were
    started or marked), ``progressChanged(QueueProgress)``, ``workingOn(message)`` (the
    file being read), ``classified(row)`` (a row got its prediction), ``queued(rows)``
    (files found by :meth:`open_paths` were queued), ``message(text, timeout_ms)`` (for
    the status bar; 0 keeps it) and ``idle()`` (every queued file has a result, or the
    queue was cancelled).
    """

    modelLoading = Signal()
    modelChanged = Signal(object)
    progressChanged = Signal(object)
    workingOn = Signal(str)
    classified = Signal(int)
    queued = Signal(list)
    message = Signal(str, int)
    idle = Signal()
    #: A run of files ended with a site check (core.model.site.SiteCheck, folder they share)
    siteChecked = Signal(object, object)

    def __init__(self, workers: WorkerSet, model_path: str | Path,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workers = workers
        self.results = ResultsModel(self)
        self._model_path = Path(model_path)
        self._model: Any = None
        self._model_state = LOADING
        self._model_note = ""
        self._device = ""
        self._model_started = False
        self._loader = TaskSlot(workers, self)
        self._run = TaskSlot(workers, self)

        self._queue: list[int] = []  # rows waiting for a classify run
        self._run_rows: list[int] = []  # rows the current run was given
        self._discovering = 0
        self._batch_total = 0
        self._batch_done = 0
        self._batch_start = 0.0
        self._closed = False

    # ---------------------------------------------------------------- state
    @property
    def model(self) -> Any:
        """The loaded ``core.model.loading.LoadedModel``, or None."""
        return self._model

    @property
    def model_path(self) -> Path:
        return self._model_path

    @property
    def model_state(self) -> str:
        """LOADING, READY or MISSING."""
        return self._model_state

    @property
    def model_note(self) -> str:
        """Why there is no model (MISSING), else ""."""
        return self._model_note

    @property
    def device(self) -> str:
        """Where the loaded model runs ("CPU (…)", a GPU's name), "" before it loaded."""
        return self._device

    @property
    def discovering(self) -> int:
        """How many folder scans are still running."""
        return self._discovering

    @property
    def busy(self) -> bool:
        return self._run.busy() or bool(self._queue) or self._discovering > 0

    # ---------------------------------------------------------------- the model
    def load_model(self) -> None:
        """Start loading the model, unless it is loading or loaded already (the first call
        imports TensorFlow, which is why the window calls it only after its first paint)."""
        if self._model_started or self._closed:
            return
        self._model_started = True
        path = self._model_path
        if not path.is_file():
            # Do not even import TensorFlow: there is nothing to load.
            self._set_no_model(translate("ClassifySession", "{0} not found").format(_short(path)))
            return
        self._model_state = LOADING
        self.modelLoading.emit()
        # TensorFlow creates its thread pools on this thread, and they inherit its lower
        # priority: the network's number crunching then yields the CPU to the event loop.
        worker = Worker(jobs.load_model_job, path, low_priority=True, parent=self)
        self._loader.start(worker, returned=self._on_model_loaded,
                           errored=lambda exc: self._set_no_model(str(exc)))

    def set_model_path(self, path: str | Path) -> None:
        """Use another model: load it in the background, then classify every listed file
        again with it (so a table and its CSV always come from one model)."""
        self._model_path = Path(path)
        self._model, self._model_state, self._model_note = None, LOADING, ""
        self._loader.cancel()  # a model still loading is no longer wanted
        self._run.cancel()  # none of its results, from the old model, arrives any more
        self._run_rows = []
        rows = list(range(len(self.results.rows)))
        self.results.set_state(rows, QUEUED)
        self._queue = rows
        self._batch_total, self._batch_done = len(rows), 0
        self._model_started = False
        self.load_model()
        self._pump()

    def _on_model_loaded(self, ready: jobs.ModelReady) -> None:
        self._model, self._model_state, self._device = ready.model, READY, ready.device
        self._pump()
        self.modelChanged.emit(ready.model)

    def _set_no_model(self, note: str) -> None:
        self._model, self._model_state, self._model_note = None, MISSING, note
        self._pump()
        self.modelChanged.emit(None)

    # ---------------------------------------------------------------- files
    def open_paths(self, paths: list[str]) -> None:
        """List and classify files and folders (folders recursively, non-images skipped)."""
        if not paths:
            return
        self.load_model()
        self._discovering += 1
        self._update_progress()
        worker = Worker(jobs.discover_job, paths, parent=self)
        worker.returned.connect(lambda res, p=paths: self._on_discovered(p, *res))
        worker.errored.connect(lambda exc: self.message.emit(
            translate("ClassifySession", "cannot list files: {0}").format(exc), 0))
        worker.finished.connect(self._on_discovery_finished)
        self.workers.start(worker)

    def _on_discovered(self, given: list[str], found: list[Path], skipped: Skipped) -> None:
        if self._closed:
            return
        if not found:
            left_out = f": {skipped.describe()}" if skipped.total else ""
            self.message.emit(translate("ClassifySession", "no image files in {0}")
                              .format(", ".join(given)) + left_out, 8000)
            return
        if skipped.total:  # said, so that no file disappears unnoticed
            found_text = translate("ClassifySession", "1 file found") if len(found) == 1 else \
                translate("ClassifySession", "{0} files found").format(len(found))
            self.message.emit(f"{found_text}; {skipped.describe()}", 8000)
        rows = self.results.add_paths(found)
        pending = set(self._queue) | set(self._run_rows)
        rows = [i for i in rows if self.results.row(i).prediction is None and i not in pending]
        if not rows:
            return
        if self._batch_total == 0:  # a new batch: the rate counts from its first run
            self._batch_total, self._batch_done, self._batch_start = 0, 0, 0.0
        self._batch_total += len(rows)
        self._queue.extend(rows)
        self.results.set_state(rows, QUEUED)
        self._pump()
        self.queued.emit(rows)

    def _on_discovery_finished(self) -> None:
        self._discovering -= 1
        self._update_progress()
        self._maybe_idle()

    # ---------------------------------------------------------------- the run
    def cancel(self) -> None:
        """Stop classifying: queued and unfinished files are marked cancelled, finished
        rows keep their result."""
        if self._queue:
            self.results.set_state(self._queue, CANCELLED)
            self._queue = []
        if self._run.busy():
            self._run.cancel()
            self._end_run()
        else:
            self._maybe_idle()

    def shutdown(self) -> None:
        """Stop for good (the window is closing): forget the queue and cancel the load and
        the run; the owner of the WorkerSet waits for their threads."""
        self._closed = True
        self._queue = []
        self._loader.cancel()
        self._run.cancel()

    def _pump(self) -> None:
        """Start the next classify run if the model allows and none is running."""
        if self._run.busy() or not self._queue or self._closed:
            self._update_progress()
            return
        if self._model_state == LOADING:
            self.results.set_state(self._queue, WAITING)
            self._update_progress()
            return
        if self._model_state == MISSING:
            self.results.set_state(self._queue, NO_MODEL, self._model_note)
            self._queue = []
            self._update_progress()
            self._maybe_idle()
            return
        rows, self._queue = self._queue, []
        self.results.set_state(rows, QUEUED)
        paths = [self.results.row(i).path for i in rows]
        self._run_rows = rows
        if not self._batch_start:
            self._batch_start = time.monotonic()
        # Low priority (with the decode threads it starts): on LiteRT the job is native
        # compute that releases the GIL, and the window's thread no longer waits for a CPU
        # behind it (bench_gui_startup, 4 runs each: worst stall 26-39 ms, median 28.5,
        # against 38-46 ms, median 44, at normal priority).
        worker = Worker(jobs.classify_job, paths, self._model, low_priority=True, parent=self)
        self._run.start(worker, yielded=self._on_prediction, progress=self._on_run_progress,
                        returned=lambda res, p=paths: self._on_site_check(res, p),
                        errored=self._on_run_error, finished=self._end_run)
        self._update_progress()

    def _on_prediction(self, pred: Any) -> None:
        i = self.results.set_prediction(pred)
        self._batch_done += 1
        self._update_progress()
        if i is not None:
            self.classified.emit(i)

    def _on_site_check(self, result: Any, paths: list[Path]) -> None:
        """The run's films taken together: said with the folder they share, so the window
        can offer to validate the model there."""
        folder = Path(os.path.commonpath([str(p.parent) for p in paths])) if paths else None
        self.siteChecked.emit(result, folder)

    def _on_run_progress(self, _done: int, _total: int, message: str) -> None:
        # Counting is done per result; progress only names the file being worked on.
        if message:
            self.workingOn.emit(message)

    def _on_run_error(self, exc: BaseException) -> None:
        self.message.emit(translate("ClassifySession", "classification stopped: {0}").format(exc),
                          10000)

    def _end_run(self) -> None:
        """The run ended by itself, failed, or was cancelled: rows it left without a result
        (and not queued again) are cancelled; then the next run, or idle."""
        queued = set(self._queue)
        leftover = [i for i in self._run_rows if self.results.row(i).prediction is None
                    and i not in queued]
        if leftover:
            self.results.set_state(leftover, CANCELLED)
        self._run_rows = []
        self._pump()
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self.busy:
            self._batch_total = self._batch_done = 0
            self._batch_start = 0.0
            self._update_progress()
            self.idle.emit()

    def progress(self) -> QueueProgress:
        """Where the queue stands now."""
        total, done = self._batch_total, self._batch_done
        running = self._run.busy()
        if self._model_state == LOADING and self._queue and not running:
            return QueueProgress(LOADING_MODEL, waiting=len(self._queue), cancellable=True)
        cancellable = running or bool(self._queue)
        if total == 0:
            return QueueProgress(FINDING if self._discovering else IDLE,
                                 cancellable=cancellable)
        elapsed = time.monotonic() - self._batch_start if self._batch_start else 0.0
        rate = done / elapsed if done and elapsed > 0 else None
        return QueueProgress(COUNTING, done, total, rate=rate, cancellable=cancellable)

    def _update_progress(self) -> None:
        self.progressChanged.emit(self.progress())


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
