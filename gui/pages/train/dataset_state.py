"""The dataset the training page trains on: the chosen folder, its index, its decoded and
checked images, and what stops training, kept apart from any widget.

Scanning and checking run one after the other in one :class:`TaskSlot`: a newer folder
or another positive class replaces the chain, so a stale index or check never arrives.
``phase`` says which of the two is under way; it ends with the task's result (the slot
itself stays busy until the thread has finished, a moment later).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.errors import CovidCXRError
from core.model.preprocess import PreprocessSpec
from gui.i18n import translate
from gui.pages.train import jobs as tj
from gui.services.workers import TaskSlot, Worker, WorkerSet


class DatasetState(QObject):
    """The folder, its scan and its check: read the attributes, change them through the
    methods. ``spec`` gives the preprocessing the images are decoded with (the recipe's,
    asked when the check starts).

    Signals: ``changed()`` (the folder, a task, the scan, the check or the switches that
    excuse a problem changed), ``scanned(Scanned)``, ``checkProgressed(done, total,
    message)``, ``checked()`` (the images were checked or relabelled, or the folder could
    not be read: see :meth:`problems`), ``errored(exception)`` (before that ``checked``).
    """

    changed = Signal()
    scanned = Signal(object)
    checkProgressed = Signal(int, int, str)
    checked = Signal()
    errored = Signal(object)

    def __init__(self, workers: WorkerSet, spec: Callable[[], PreprocessSpec],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._spec = spec
        self._task = TaskSlot(workers, self)
        self.phase = ""  # "scanning", "checking", or "" when neither is under way
        self.folder: Path | None = None
        self.scan: tj.Scanned | None = None
        self.check: tj.DatasetCheck | None = None
        self.error = ""  # why the folder could not be read
        self.skip_unreadable = False
        self.ignore_duplicates = False
        self._positive_chosen = False
        self._pending_positive: str | None = None

    @property
    def busy(self) -> bool:
        return bool(self.phase)

    @property
    def checking(self) -> bool:
        return self.phase == "checking"

    @property
    def scanning(self) -> bool:
        return self.phase == "scanning"

    @property
    def positive_known(self) -> bool:
        """A folder name said which class is COVID, or the user chose it."""
        return self.scan is not None and (not self.scan.positive_guessed
                                          or self._positive_chosen)

    @property
    def task(self) -> TaskSlot:
        return self._task

    def set_folder(self, folder: str | Path, positive: str | None = None) -> None:
        """Scan ``folder``, then check its images; ``positive`` names the COVID class
        when the folder names do not say it (e.g. a validated site's folder)."""
        self.folder = Path(folder)
        self.scan, self.check, self.error = None, None, ""
        self.skip_unreadable = self.ignore_duplicates = False
        self._positive_chosen = False
        self._pending_positive = positive
        self._scan(self.folder, None)

    def set_positive(self, name: str) -> None:
        """Make ``name`` the positive (COVID) class: the folder is indexed again and the
        decoded images keep their pixels with new labels."""
        if self.scan is None:
            return
        self._positive_chosen = True
        if name == self.scan.index.positive and not self.scan.positive_guessed:
            self.changed.emit()
            return
        self._scan(self.scan.index.root, name)

    def set_skip_unreadable(self, skip: bool) -> None:
        self.skip_unreadable = skip
        self.changed.emit()

    def set_ignore_duplicates(self, ignore: bool) -> None:
        self.ignore_duplicates = ignore
        self.changed.emit()

    def _scan(self, folder: Path, positive: str | None) -> None:
        worker = Worker(tj.scan_job, str(folder), positive, parent=self)
        self._task.start(worker, returned=self._on_scanned, errored=self._on_error)
        self.phase = "scanning"
        self.changed.emit()

    def _on_scanned(self, scan: tj.Scanned) -> None:
        index = scan.index
        pending, self._pending_positive = self._pending_positive, None
        if pending and pending in index.classes and pending != index.positive:
            self._positive_chosen = True
            self._scan(index.root, pending)
            return
        self.scan, self.phase = scan, ""
        self.scanned.emit(scan)
        if self.check is not None:  # another positive class: the same images, new labels
            self._on_checked(tj.relabel(self.check, index))
            return
        worker = Worker(tj.check_job, index, self._spec(), parent=self)
        self._task.start(worker, returned=self._on_checked, errored=self._on_error,
                         progress=self.checkProgressed.emit)
        self.phase = "checking"
        self.changed.emit()

    def _on_checked(self, check: tj.DatasetCheck) -> None:
        self.check, self.phase = check, ""
        self.changed.emit()
        self.checked.emit()

    def _on_error(self, exc: BaseException) -> None:
        self.error, self.phase = dataset_problem(exc, self.folder or Path()), ""
        self.errored.emit(exc)
        self.changed.emit()
        self.checked.emit()

    def problems(self) -> tuple[list[str], list[str]]:
        """(what stops training, what only deserves a warning), in the page's words."""
        if self.error:
            return [self.error], []
        if self.scan is None:
            return [], []
        blocking = [p[0].upper() + p[1:] + "." for p in self.scan.index.problems()]
        notes: list[str] = []
        if not self.positive_known:
            blocking.append(translate("TrainDataset", "No folder name says which class is "
                                      "COVID: choose the positive class."))
        c = self.check
        if c is not None and c.unreadable:
            n = len(c.unreadable)
            if self.skip_unreadable:
                notes.append(translate("TrainDataset", "{0} unreadable file(s), listed below: "
                                       "they will be skipped.").format(n))
            else:
                blocking.append(translate("TrainDataset", "{0} unreadable file(s), listed "
                                          "below: remove them or tick “Skip unreadable "
                                          "files”.").format(n))
        if c is not None and c.duplicates:
            n = len(c.duplicates)
            if self.ignore_duplicates:
                notes.append(translate(
                    "TrainDataset", "{0} near-duplicate image pair(s) across splits (listed "
                    "below): test images leak into training; training anyway as asked, "
                    "scores will be optimistic.").format(n))
            else:
                blocking.append(translate(
                    "TrainDataset", "{0} near-duplicate image pair(s) across splits (listed "
                    "below): test images leak into training. Remove one of each pair, or tick "
                    "“Train despite near-duplicates”.").format(n))
        return blocking, notes


def dataset_problem(exc: BaseException, folder: Path) -> str:
    """Why a folder could not be scanned or checked, in the page's words."""
    if isinstance(exc, CovidCXRError):
        return str(exc)
    if not folder.is_dir():
        return translate("TrainDataset", "The folder {0} is no longer there.").format(folder)
    if isinstance(exc, OSError):
        return translate("TrainDataset", "Cannot read {0}: {1}").format(
            exc.filename or folder, exc.strerror or exc)
    return translate("TrainDataset", "Cannot read this folder: {0}: {1}").format(
        type(exc).__name__, exc)
