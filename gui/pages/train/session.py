"""The training page's state and running tasks, kept apart from any widget (the panels only
show what this object says and hand it what the user does).

A folder is scanned, then its images decoded and checked (``session.dataset``, a
:class:`DatasetState`); the start point and the recipe become a
``core.training.recipe.TrainConfig`` (``session.setup``, a :class:`RunSetup`, which also
keeps the model list); a run trains, then (after "Fine-tune on this site") the start model
and the new one are measured on the site's test part; a result is saved, and a saved model
made the active one. Nothing is written, and the active model does not change, until the
user saves and chooses to use the new model.

Tasks run in four :class:`TaskSlot` s, one per kind of work, because kinds may overlap while
each kind must not: the dataset's (scan, then check: a newer folder or positive class
replaces the chain), the training run, the before/after comparison (the next run replaces
it) and the save (it may run beside a comparison). A replaced or cancelled task delivers
nothing, so no result needs checking for staleness.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.errors import Cancelled, ModelError, user_message
from core.training.recipe import TrainConfig
from gui.i18n import translate
from gui.i18n.core_text import core_text
from gui.pages.train import jobs as tj
from gui.pages.train.dataset_state import DatasetState
from gui.pages.train.recipe_choice import TRANSFER
from gui.pages.train.run_setup import RunSetup
from gui.services.model_library import ModelLibrary
from gui.services.workers import TaskSlot, Worker, WorkerSet


@dataclass(frozen=True)
class RunPlan:
    """The most a run can take: epochs, and batches per epoch."""

    epochs: int
    steps: int


@dataclass(frozen=True)
class RunPosition:
    """Where a run stands after its latest batch (epoch and batch counted from 0)."""

    epoch: int
    batch: int
    done: int  # batches done in the whole run
    total: int  # the most batches the run can take (early stopping may end it sooner)
    elapsed: float  # seconds since the first batch

    @property
    def left(self) -> float | None:
        """Seconds left at most, once there is a rate to tell."""
        if self.done > 1 and self.elapsed > 0:
            return self.elapsed / self.done * (self.total - self.done)
        return None


class TrainingSession(QObject):
    """The training page's state and tasks, testable without a window.

    ``dataset`` (a :class:`DatasetState`) holds the folder, its scan and its check. Signals:
    ``datasetChanged()`` (the folder, its tasks, its problems or the switches that excuse
    them changed), ``datasetScanned(Scanned)``, ``datasetChecked()`` (checked, relabelled,
    or unreadable: see :meth:`problems`), ``recipeChanged(Recipe)``, ``modelsChanged()``
    (the model list or the active model), ``activated(path)`` (the user chose to classify
    with this model), ``runStarted(RunPlan)``, ``stageChanged(message)``, ``progressed(done,
    total, message)``, ``epochEnded(report dict)``, ``batchesArrived([(epoch, batch,
    loss)])``, ``trained(TrainResult)``, ``runFinished(TrainResult or None)`` (None after a
    failure or a Stop with nothing to keep), ``comparing(bool)``, ``compared({"before":
    SiteMetrics, "after": SiteMetrics})``, ``saved(Saved)``, ``told(text, level)`` (news
    for the message line),
    ``failed(text, level)`` (the one way an error reaches the user: "error", or "warning"
    when a run ended with nothing to keep), ``busyChanged(bool)`` and ``stateChanged()``
    (anything the controls depend on changed).
    """

    datasetChanged = Signal()
    datasetScanned = Signal(object)
    datasetChecked = Signal()
    recipeChanged = Signal(object)
    modelsChanged = Signal()
    activated = Signal(str)
    runStarted = Signal(object)
    stageChanged = Signal(str)
    progressed = Signal(int, int, str)
    epochEnded = Signal(object)
    batchesArrived = Signal(object)
    trained = Signal(object)
    runFinished = Signal(object)
    comparing = Signal(bool)
    compared = Signal(object)
    saved = Signal(object)
    told = Signal(str, str)
    failed = Signal(str, str)
    busyChanged = Signal(bool)
    stateChanged = Signal()

    def __init__(self, store: ModelLibrary, workers: WorkerSet, *,
                 scratch_size: int | None = None, max_train_batches: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setup = RunSetup(store, scratch_size, max_train_batches, self)
        self.setup.modelsChanged.connect(self.modelsChanged)
        self.setup.modelsChanged.connect(self.stateChanged)
        self.setup.recipeChanged.connect(self.recipeChanged)
        self.dataset = DatasetState(workers, lambda: self.config().spec, self)
        self.dataset.changed.connect(self._on_dataset_changed)
        self.dataset.scanned.connect(self.datasetScanned)
        self.dataset.checked.connect(self.datasetChecked)
        self.dataset.errored.connect(lambda exc: self._fail(exc, self.dataset.error))
        self._train_task = TaskSlot(workers, self)
        self._compare_task = TaskSlot(workers, self)  # replaced by the next run
        self._save_task = TaskSlot(workers, self)  # may run beside a comparison
        self._slots = (self.dataset.task, self._train_task, self._compare_task,
                       self._save_task)
        self._busy = False
        for slot in self._slots:
            slot.busyChanged.connect(self._on_busy_changed)

        self._request: tj.TrainingRequest | None = None
        self._plan = RunPlan(0, 1)
        self._position: RunPosition | None = None
        self._t_first_batch = 0.0
        self._outcome = ""
        self._result: Any = None
        self._saved: Path | None = None
        self._site: tuple[str, str, Path] | None = None  # folder, positive, validated model
        self._comparison: Any = None

    # ---------------------------------------------------------------- what it holds
    @property
    def plan(self) -> RunPlan:
        return self._plan

    @property
    def position(self) -> RunPosition | None:
        return self._position

    @property
    def outcome(self) -> str:
        """How the last run ended: "trained", "failed" or "cancelled" ("" before)."""
        return self._outcome

    @property
    def result(self) -> Any:
        """The last run's ``core.training.finalise.TrainResult`` (None during a run)."""
        return self._result

    @property
    def saved_path(self) -> Path | None:
        """Where the shown result was saved, or None."""
        return self._saved

    @property
    def comparison(self) -> Any:
        """{"before": ..., "after": ...} ``SiteMetrics`` after "Fine-tune on this site", or
        None."""
        return self._comparison

    @property
    def training(self) -> bool:
        return self._train_task.busy()

    @property
    def stopping(self) -> bool:
        return self.training and self._request is not None and self._request.stop.is_set()

    @property
    def saving(self) -> bool:
        return self._save_task.busy()

    @property
    def busy(self) -> bool:
        return any(slot.busy() for slot in self._slots)

    def _on_busy_changed(self, _busy: bool) -> None:
        if self.busy != self._busy:
            self._busy = self.busy
            self.busyChanged.emit(self._busy)
        self.stateChanged.emit()

    # ---------------------------------------------------------------- the dataset
    def set_dataset(self, folder: str | Path) -> None:
        """Scan ``folder``, then check its images (both on workers)."""
        self.dataset.set_folder(folder)

    def set_positive(self, name: str) -> None:
        self.dataset.set_positive(name)

    def problems(self) -> tuple[list[str], list[str]]:
        """(what stops training, what only deserves a warning), in the page's words."""
        return self.dataset.problems()

    def _on_dataset_changed(self) -> None:
        """Tell the panels, and say on the message line what the dataset allows."""
        self.datasetChanged.emit()
        d = self.dataset
        if d.scanning:
            self.told.emit(translate("TrainingSession", "Reading the folder…"), "info")
        elif d.scan is not None or d.error:
            if self.problems()[0]:
                self.told.emit(translate("TrainingSession",
                                         "Fix the dataset problems listed above to train."),
                               "warning")
            elif d.check is None:
                self.told.emit(translate("TrainingSession", "Checking the images…"), "info")
            elif not self.training:
                self.told.emit(translate("TrainingSession", "Ready to train."), "info")
        self.stateChanged.emit()

    # ---------------------------------------------------------------- recipe and models
    def config(self) -> TrainConfig:
        """The recipe as ``core.training.recipe.TrainConfig``. A starting model brings its own
        architecture, input size and preprocessing (``TrainConfig.starting_from``)."""
        d = self.dataset
        return self.setup.config(positive=d.scan.index.positive if d.scan else None,
                                 ignore_duplicates=d.ignore_duplicates,
                                 skip_unreadable=d.skip_unreadable)

    def use_model(self, path: str | Path | None) -> None:
        """Make ``path`` the active model (remembered) and tell the classify page."""
        if not path:
            return
        try:
            entry = self.setup.activate(path)
        except ModelError as exc:
            self._fail(exc)
            return
        self.told.emit(translate("TrainingSession", "Classifying with “{0}” from now on.")
                       .format(entry.name), "ok")
        self.activated.emit(str(entry.path))

    # ---------------------------------------------------------------- the run
    def can_start(self) -> bool:
        return (not self.training and self.dataset.check is not None
                and not self.dataset.busy and not self.problems()[0])

    def start(self) -> bool:
        """Start training with the recipe; False (and a message) when it cannot start."""
        if not self.can_start():
            blocking = self.problems()[0]
            self.failed.emit(blocking[0] if blocking else
                             translate("TrainingSession", "Choose a dataset folder first."),
                             "warning")
            return False
        check = self.dataset.check
        if not Path(check.index.root).is_dir():
            self.failed.emit(translate("TrainingSession",
                                       "The dataset folder {0} is no longer there.")
                             .format(check.index.root), "error")
            return False
        cfg = self.config()
        req = tj.TrainingRequest(check.index, cfg,
                                 check.decoded if check.spec == cfg.spec else None)
        steps = max(1, math.ceil(len(check.decoded.splits["train"].labels) / cfg.batch_size))
        self._plan = RunPlan(cfg.epochs, min(steps, cfg.max_train_batches or steps))
        self._position, self._t_first_batch, self._outcome = None, 0.0, ""
        self._result = self._saved = self._comparison = None
        self._compare_task.cancel()
        worker = Worker(tj.train_job, req, parent=self)
        req.report = worker.yielded.emit
        self._request = req
        self._train_task.start(worker, yielded=self._on_report, returned=self._on_trained,
                               errored=self._on_train_error, progress=self.progressed.emit,
                               finished=self._on_run_finished)
        self.runStarted.emit(self._plan)
        self.told.emit(translate("TrainingSession", "Training… the active model is unchanged "
                                 "until you save and use the new one."), "info")
        self.stateChanged.emit()
        return True

    def stop(self) -> None:
        """End the run within one batch, keeping the best weights so far."""
        if self._request is None or self._request.stop.is_set():
            return
        self._request.stop.set()
        self.told.emit(translate("TrainingSession", "Stopping after this batch…"), "info")
        self.stateChanged.emit()

    def _on_report(self, report: Any) -> None:
        if isinstance(report, tj.EpochEnded):
            self.epochEnded.emit(report.report)
        elif isinstance(report, tj.BatchLosses) and report.points:
            now = time.monotonic()
            self._t_first_batch = self._t_first_batch or now
            epoch, batch, _ = report.points[-1]
            steps = self._plan.steps
            self._position = RunPosition(
                epoch, batch, done=epoch * steps + min(batch + 1, steps),
                total=self._plan.epochs * steps, elapsed=now - self._t_first_batch)
            self.batchesArrived.emit(report.points)
        elif isinstance(report, tj.StageChanged):
            self.stageChanged.emit(report.message)

    def _on_trained(self, result: Any) -> None:
        self._result, self._saved, self._outcome = result, None, "trained"
        self.trained.emit(result)
        self.told.emit(translate("TrainingSession", "Training finished. Look at the results, "
                                 "then “Save as…” to keep the model; the active model is "
                                 "unchanged until you use it."), "ok")
        self._start_compare(result)

    def _on_train_error(self, exc: BaseException) -> None:
        self._outcome = "cancelled" if isinstance(exc, Cancelled) else "failed"
        self._fail(exc)

    def _on_run_finished(self) -> None:
        self._request = None
        self.runFinished.emit(self._result)
        self.stateChanged.emit()

    # ---------------------------------------------------------------- fine-tune on a site
    def prefill_site(self, folder: str | Path, positive: str, model_path: str | Path) -> None:
        """"Fine-tune on this site": this folder, its positive class, and the model that
        was validated as the start point. The seeded patient-grouped split keeps a test
        part apart; after training, the start model and the new one are both measured on it."""
        from core.model.disk import base_weights, is_profile, read_profile

        start = Path(model_path)
        if is_profile(start):
            start = base_weights(start, read_profile(start))
        self._site = (str(folder), positive, Path(model_path))
        self.dataset.set_folder(folder, positive)
        try:
            self.setup.set_start_point(str(start))
        except ValueError:
            self.told.emit(translate("TrainingSession", "{0} is not among the models this "
                                     "page can start from; choose a start point.")
                           .format(start.name), "warning")
            return
        card = self.setup.start_card
        if card is not None and card.architecture == TRANSFER.architecture:
            # Fine-tuning the ImageNet-based model: its own recipe, not the seed's
            # (a learning rate of 1e-3 would undo what the backbone learnt).
            self.setup.use_schedule_of(TRANSFER)
        self.told.emit(translate(
            "TrainingSession", "Fine-tuning on this site: starting from the validated model. "
            "A test part, split by patient, is kept out of training; when training ends, the "
            "start model and the fine-tuned one are both measured on it."), "info")

    def _start_compare(self, result: Any) -> None:
        """After a fine-tune on a site: both models on the site's kept-apart test part."""
        site, scanned = self._site, self.dataset.scan
        if site is None or scanned is None or str(scanned.index.root) != site[0]:
            return
        if not scanned.index.of_split("test"):
            return
        worker = Worker(tj.compare_job, site[2], result, scanned.index, low_priority=True,
                        parent=self)
        self._compare_task.start(
            worker, returned=self._on_compared,
            errored=lambda exc: self._fail(
                exc, prefix=translate("TrainingSession", "Before/after comparison failed")),
            finished=lambda: self.comparing.emit(False))
        self.comparing.emit(True)

    def _on_compared(self, compared: Any) -> None:
        if compared:
            self._comparison = compared
            self.compared.emit(compared)

    # ---------------------------------------------------------------- save
    def save_as(self, name: str, notes: str = "") -> None:
        """Write the trained model and its card (atomically) on a worker."""
        if self._result is None or self.saving:
            return
        worker = Worker(tj.save_job, self.store, self._result, name, notes, parent=self)
        self._save_task.start(
            worker, returned=self._on_saved,
            errored=lambda exc: self._fail(
                exc, prefix=translate("TrainingSession", "Could not save the model")))
        self.told.emit(translate("TrainingSession", "Saving “{0}”…").format(name), "info")

    def _on_saved(self, saved: tj.Saved) -> None:
        self._saved = saved.path
        self.setup.refresh()
        self.told.emit(translate("TrainingSession", "Saved “{0}” as {1}. “Use this model” to "
                                 "classify with it.").format(saved.name, saved.path), "ok")
        self.saved.emit(saved)

    # ---------------------------------------------------------------- errors, closing
    def _fail(self, exc: BaseException, message: str = "", prefix: str = "") -> None:
        """The one place a task's error becomes words for the user: core's message (never a
        traceback), a warning when a run ended with nothing to keep (a Stop before the
        first epoch), else an error."""
        level = "warning" if isinstance(exc, Cancelled) else "error"
        text = message or core_text(user_message(exc))
        self.failed.emit(_sentence(f"{prefix}: {text}" if prefix else text), level)

    def shutdown(self) -> None:
        """Cancel every task and wait for its thread (the window is closing)."""
        running = [slot.current for slot in self._slots if slot.current is not None]
        for slot in self._slots:
            slot.cancel()
        for worker in running:
            worker.wait()


def _sentence(text: str) -> str:
    """A message as a sentence for the message line: capital first, full stop last."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
