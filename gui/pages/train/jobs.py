"""The jobs the training session runs on workers: plain functions over ``core.files.dataset``
and ``core.training.fit``.

Each takes a :class:`gui.services.workers.Control` first and never touches a widget. Training
reports its epochs, batch losses and stages as typed values through one callable the
session hands in (its worker's ``yielded.emit``, so a replaced run's reports are dropped
with its other signals). TensorFlow is imported only inside ``core.training.fit``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP

from core.errors import Cancelled, CovidCXRError, DatasetError, OutOfMemory, is_out_of_memory
from core.files.dataset import DatasetIndex, class_folders, find_positive, scan
from core.model.cache import Decoded, decode, near_duplicates
from core.model.cache import relabel as relabel_decoded
from core.model.preprocess import PreprocessSpec
from gui.i18n import translate
from gui.services.workers import Control

#: How often batch losses reach the GUI (they are buffered in between, none is lost).
BATCH_INTERVAL_S = 0.1


@dataclass(frozen=True)
class DatasetCheck:
    """A scanned folder, its images decoded once (unreadable ones left out and listed) and
    the near-duplicate pairs that sit in different splits."""

    index: DatasetIndex
    decoded: Decoded
    spec: PreprocessSpec
    duplicates: list[tuple[Path, Path, float]] = field(default_factory=list)

    @property
    def unreadable(self) -> list[tuple[Path, str]]:
        return self.decoded.unreadable


@dataclass(frozen=True)
class Scanned:
    index: DatasetIndex
    #: No folder name said which class is positive; the user must choose it.
    positive_guessed: bool = False


def scan_job(control: Control, root: str, positive: str | None = None) -> Scanned:
    """Index the folder (no pixels read). When no class folder name says "covid", index
    it with a provisional positive class so the tab can show the classes and ask."""
    try:
        return Scanned(scan(root, positive=positive))
    except DatasetError:
        classes = class_folders(Path(root))
        if positive is not None or len(classes) < 2 or _positive_known(classes):
            raise
    return Scanned(scan(root, positive=classes[0]), positive_guessed=True)


def _positive_known(classes: list[str]) -> bool:
    try:
        find_positive(classes, None)
    except DatasetError:
        return False
    return True


#: What core's training and checking say as they progress (shown translated by the page).
PROGRESS_MESSAGES = (
    QT_TRANSLATE_NOOP("TrainJobs", "reading images"),
    QT_TRANSLATE_NOOP("TrainJobs", "looking for near-duplicates across splits"),
    QT_TRANSLATE_NOOP("TrainJobs", "calibrating and fitting the OOD detector"),
    QT_TRANSLATE_NOOP("TrainJobs", "evaluating on the test split"),
    QT_TRANSLATE_NOOP("TrainJobs", "backbone features of the training images"),
    QT_TRANSLATE_NOOP("TrainJobs", "backbone features of the validation images"),
)


def check_job(control: Control, index: DatasetIndex, spec: PreprocessSpec) -> DatasetCheck:
    """Decode every image at the model's input size (kept for training) and look for
    unreadable files and cross-split near-duplicates."""
    decoded = decode(index, spec, skip_unreadable=True, on_progress=control.progress,
                     should_stop=control.should_stop)
    control.check()
    control.progress(0, 0, "looking for near-duplicates across splits")
    return DatasetCheck(index, decoded, spec, near_duplicates(decoded))


def relabel(check: DatasetCheck, index: DatasetIndex) -> DatasetCheck:
    """The checked images relabelled for another positive class (nothing decoded again)."""
    return DatasetCheck(index, relabel_decoded(check.decoded, index), check.spec,
                        check.duplicates)


@dataclass(frozen=True)
class EpochEnded:
    """One epoch ended: the ``core.training.fit`` epoch report."""

    report: dict


@dataclass(frozen=True)
class BatchLosses:
    """Batch losses since the last report: (epoch, batch, loss), both counted from 0."""

    points: list[tuple[int, int, float]]


@dataclass(frozen=True)
class StageChanged:
    """The run moved on to another stage ("reading images", "calibrating", ...)."""

    message: str


@dataclass
class TrainingRequest:
    """Everything one run needs; ``stop`` is the Stop button (keep the best weights), as
    opposed to the worker's cancel (the window is closing: abandon the run). ``report``
    receives an :class:`EpochEnded`, :class:`BatchLosses` or :class:`StageChanged`."""

    index: DatasetIndex
    config: Any  # core.training.recipe.TrainConfig
    decoded: Decoded | None = None
    report: Callable[[EpochEnded | BatchLosses | StageChanged], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)


def train_job(control: Control, req: TrainingRequest) -> Any:
    """Run ``core.training.fit.train`` and return its ``TrainResult``.

    Core's own errors come back as they are (:class:`core.errors.Cancelled` for a Stop
    with nothing to keep, :class:`core.errors.OutOfMemory`, ``DatasetError``); an
    ``OSError`` becomes a ``DatasetError`` that names the folder. A cancel of the worker
    (the window is closing) ends the job silently.
    """
    from core.training.fit import train

    report = req.report or (lambda _value: None)
    buffer: list[tuple[int, int, float]] = []
    last_flush = [time.monotonic()]
    stage = [""]

    def flush() -> None:
        if buffer:
            report(BatchLosses(buffer[:]))
        buffer.clear()
        last_flush[0] = time.monotonic()

    def on_batch(b: dict) -> None:
        buffer.append((int(b["epoch"]), int(b["batch"]), float(b["batch_loss"])))
        if time.monotonic() - last_flush[0] >= BATCH_INTERVAL_S:
            flush()

    def on_epoch(e: dict) -> None:
        flush()
        report(EpochEnded(e))

    def on_progress(done: int, total: int, message: str) -> None:
        if control.should_stop():
            raise Cancelled  # the window is closing: skip calibration and evaluation
        if message != stage[0]:
            stage[0] = message
            report(StageChanged(message))
        control.progress(done, total, message)

    def should_stop() -> bool:
        return req.stop.is_set() or control.should_stop()

    root = Path(req.index.root)
    try:
        return train(req.index, req.config, on_progress=on_progress, on_batch=on_batch,
                     on_epoch=on_epoch, should_stop=should_stop, decoded=req.decoded)
    except Exception as exc:
        if control.should_stop():
            raise Cancelled from None
        if isinstance(exc, CovidCXRError):
            raise
        if is_out_of_memory(exc):
            raise OutOfMemory() from None
        if not root.is_dir():
            raise DatasetError(translate(
                "TrainJobs", "The dataset folder {0} is no longer there (moved, deleted or its "
                "drive disconnected?). Training stopped; nothing was saved.").format(root)
            ) from None
        if isinstance(exc, OSError):
            raise DatasetError(translate(
                "TrainJobs", "Could not read the dataset: {0} ({1}). Nothing was saved.")
                .format(exc.strerror or exc, exc.filename or root)) from None
        raise


@dataclass(frozen=True)
class Saved:
    path: Path
    name: str


def save_job(control: Control, store: Any, result: Any, name: str, notes: str) -> Saved:
    """Write the trained model and its card into the user's model folder."""
    path = store.save(result.keras_model, result.card, result.ood, name, notes)
    return Saved(path, result.card.name)


def compare_job(control: Control, start_path: Path, result: Any, index: Any) -> dict | None:
    """The start model ("before") and a just-trained one ("after", not yet saved) on the
    folder's test part, through the validation engine
    (``core.evaluation.validation.compare``): a ``SiteMetrics`` for each."""
    from core.evaluation.validation import compare
    from core.files.labelled import labelled_from_split
    from core.model.loading import LoadedModel, bundled_anatomy, load_model

    before = load_model(start_path)
    after = LoadedModel(result.keras_model, result.card, result.ood, None, bundled_anatomy())
    return compare({"before": before, "after": after}, labelled_from_split(index, "test"),
                   on_progress=control.progress, should_stop=control.should_stop)
