"""The training tab: retrain the network on a hospital's own images, without a terminal.

Left: the dataset, the recipe and the models, over one Start/Stop button and the message
line. Right: live loss and accuracy curves, then the confusion matrix, ROC, threshold,
metrics and unusual-film cut-offs, with "Save as…" and "Use this model". The state and the
running tasks live in a :class:`TrainingSession`; each box is a panel over it; this module
only lays the panels out and wires the session to the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QScrollArea, QSplitter, QVBoxLayout, QWidget

from core.training.recipe import TrainConfig
from gui.i18n import translate
from gui.pages.train.dataset_panel import DatasetPanel
from gui.pages.train.models_panel import ModelsPanel
from gui.pages.train.recipe_choice import IMAGENET, SCRATCH
from gui.pages.train.recipe_panel import RecipePanel
from gui.pages.train.run_panel import RunPanel
from gui.pages.train.save_dialog import SaveModelDialog
from gui.pages.train.session import TrainingSession
from gui.services.model_library import ModelLibrary
from gui.services.workers import WorkerSet
from gui.widgets.lazy_page import LazyPage

__all__ = ["IMAGENET", "SCRATCH", "TrainingTab", "install"]

class TrainingTab(LazyPage):
    """Choose a dataset, set the recipe, train, look at the results, save and use.

    ``input_size`` and ``max_train_batches`` override the from-scratch input size and cap
    the batches per epoch (tests and quick trials; not shown in the tab).
    """

    #: The user chose to classify with this model (path of its ``.keras`` file).
    model_activated = Signal(str)
    #: The dataset was scanned and its images checked (or that failed: see ``problems``).
    datasetChecked = Signal()
    #: One epoch ended: the ``core.training.fit`` epoch report.
    epochFinished = Signal(object)
    #: A run ended: its ``core.training.finalise.TrainResult``, or None (failed or cancelled).
    trainingFinished = Signal(object)
    #: A trained model was written (its path).
    modelSaved = Signal(str)
    #: After "Fine-tune on this site": {"before": ..., "after": ...}, each a
    #: ``core.evaluation.validation.SiteMetrics``.
    siteCompared = Signal(object)

    def __init__(self, store: ModelLibrary | None = None, workers: WorkerSet | None = None,
                 settings: Any = None, input_size: int | None = None,
                 max_train_batches: int | None = None, lazy: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else ModelLibrary()
        self._own_workers = workers is None
        self.workers = workers if workers is not None else WorkerSet(self)
        self.settings = settings
        self.session = TrainingSession(self.store, self.workers, scratch_size=input_size,
                                       max_train_batches=max_train_batches, parent=self)
        if not lazy:
            self.ensure_built()

    def build(self) -> None:
        # The plots import pyqtgraph: only when the page is first shown.
        from gui.pages.train.live_panel import LivePanel
        from gui.pages.train.results_panel import ResultsPanel

        s = self.session
        self.dataset_panel = DatasetPanel(s, self.settings)
        self.recipe_panel = RecipePanel(s)
        self.models_panel = ModelsPanel(s)
        self.run_panel = RunPanel(s)
        self.live_panel = LivePanel(s)
        self.results_panel = ResultsPanel(s)
        self._lay_out()
        s.activated.connect(self.model_activated)
        s.datasetChecked.connect(self.datasetChecked)
        s.epochEnded.connect(self.epochFinished)
        s.runFinished.connect(self.trainingFinished)
        s.saved.connect(lambda saved: self.modelSaved.emit(str(saved.path)))
        s.compared.connect(self.siteCompared)
        s.setup.refresh()

    def _lay_out(self) -> None:
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 6, 6)
        lv.addWidget(self.dataset_panel)
        lv.addWidget(self.recipe_panel)
        lv.addWidget(self.models_panel)
        lv.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Wide enough for the counts table and the folder row, so nothing is clipped.
        scroll.setMinimumWidth(max(380, left.minimumSizeHint().width())
                               + scroll.verticalScrollBar().sizeHint().width() + 4)
        # Start/Stop, progress and news stay in sight however the panel scrolls.
        left_column = QWidget()
        lc = QVBoxLayout(left_column)
        lc.setContentsMargins(0, 0, 6, 6)
        lc.addWidget(scroll, 1)
        lc.addWidget(self.run_panel)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(self.live_panel)
        self.right_splitter.addWidget(self.results_panel)
        self.right_splitter.setStretchFactor(0, 1)
        self.right_splitter.setStretchFactor(1, 1)
        self.right_splitter.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left_column)
        self.splitter.addWidget(self.right_splitter)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([420, 900])
        self.layout().addWidget(self.splitter)

    # ---------------------------------------------------------------- dataset
    @Slot()
    def choose_folder(self) -> None:
        self.ensure_built()
        self.dataset_panel.choose_folder()

    def set_dataset(self, folder: str | Path) -> None:
        """Scan ``folder`` and check its images (both on workers)."""
        self.ensure_built()
        self.session.set_dataset(folder)

    def prefill_site(self, folder: str | Path, positive: str, model_path: str | Path) -> None:
        """"Fine-tune on this site" (Validate page): this folder, its positive class, and
        the model that was validated as the start point; after training, the start model
        and the new one are both measured on the folder's kept-apart test part."""
        self.ensure_built()
        self.session.prefill_site(folder, positive, model_path)

    def set_positive(self, name: str) -> None:
        """Make ``name`` the positive (COVID) class."""
        self.session.set_positive(name)

    def problems(self) -> tuple[list[str], list[str]]:
        """(what stops training, what only deserves a warning), in the tab's words."""
        return self.session.problems()

    # ---------------------------------------------------------------- recipe
    @Slot()
    def config(self) -> TrainConfig:
        """The recipe as ``core.training.recipe.TrainConfig``."""
        return self.session.config()

    def set_start_point(self, path: str | Path | None) -> None:
        """Start from this model's weights, from scratch (None), or from the ImageNet
        backbone (``IMAGENET``)."""
        key = SCRATCH if path is None else IMAGENET if path == IMAGENET else str(path)
        self.session.setup.set_start_point(key)

    # ---------------------------------------------------------------- training
    @property
    def training(self) -> bool:
        return self.session.training

    @Slot()
    def toggle_run(self) -> None:
        """The one Start/Stop button."""
        self.run_panel.toggle_run()

    def can_start(self) -> bool:
        return self.session.can_start()

    def start(self) -> bool:
        """Start training with the recipe; False (and a message) when it cannot start."""
        self.ensure_built()
        return self.session.start()

    @Slot()
    def stop(self) -> None:
        """End the run within one batch, keeping the best weights so far."""
        self.session.stop()

    # ---------------------------------------------------------------- save & use
    @Slot()
    def open_save_dialog(self) -> SaveModelDialog | None:
        return self.results_panel.open_save_dialog()

    @property
    def save_dialog(self) -> SaveModelDialog | None:
        return self.results_panel.save_dialog

    def save_as(self, name: str, notes: str = "") -> None:
        """Write the trained model and its card (atomically) on a worker."""
        self.session.save_as(name, notes)

    @Slot()
    def use_model(self, path: str | Path | None) -> None:
        """Make ``path`` the active model (remembered) and tell the classify window."""
        self.ensure_built()
        self.session.use_model(path)

    def set_active_path(self, path: str | Path) -> None:
        """Show which model the classify window uses (without activating anything)."""
        self.session.setup.set_active_path(path)

    @property
    def active_path(self) -> Path:
        return self.session.setup.active

    @property
    def message_level(self) -> str:
        return self.run_panel.message_level

    def shutdown(self) -> None:
        """Stop every task of this tab and wait for them (the window is closing; a window
        that shares its WorkerSet with the tab also stops the tasks a newer one replaced)."""
        self.session.shutdown()
        if self._own_workers:
            self.workers.stop_all()


def install(window: Any, library: ModelLibrary | None = None, **kwargs: Any) -> TrainingTab:
    """Add the training tab to the main window (built when first shown): a model it
    activates is loaded by the classify page, it shows which model that page uses, and
    the window's close stops its workers (they share the window's WorkerSet)."""
    library = library if library is not None else ModelLibrary(window.settings.q)
    classify = window.classify
    tab = TrainingTab(library, window.workers, window.settings, lazy=True, parent=window,
                      **kwargs)
    tab.set_active_path(classify.model_path)
    window.add_tab(tab, translate("TrainingTab", "Train"))
    tab.model_activated.connect(classify.set_model_path)
    classify.modelChanged.connect(lambda _model: tab.set_active_path(classify.model_path))
    return tab
