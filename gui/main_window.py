"""The main window: a tab widget whose first tab is the classify page.

Files come in (menu, drag and drop, command line), are listed at once and classified on a
worker as soon as the model is ready; rows fill in as results arrive. Selecting a row shows
the image, its heat map and its facts. Everything slow runs on ``gui.workers.Worker``; this
module only moves results into widgets.

Other tabs (training) plug in with :meth:`MainWindow.add_tab`, and can activate a new model
with :meth:`MainWindow.set_model_path`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.files.discovery import IMAGE_SUFFIXES, Skipped
from core.model.gradcam import HEATMAP_NOTE
from core.resources import default_model_path
from gui import jobs
from gui.about import AboutDialog
from gui.metadata import MetadataPanel
from gui.results_model import (
    CANCELLED,
    FILTERS,
    NO_MODEL,
    QUEUED,
    WAITING,
    ElideRightDelegate,
    ResultsModel,
    ResultsProxy,
)
from gui.settings import Settings
from gui.viewer import CONTROLS_HELP, CONTROLS_SHORT, ScoreBadge, XRayViewer
from gui.workers import Worker, WorkerSet

TITLE = "CovidCXR"
FILE_FILTER = ("Images (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ");;"
               "All files (*)")

# Model states.
LOADING, READY, MISSING = "loading", "ready", "missing"


class MainWindow(QMainWindow):
    #: The first time the window paints (start-up benchmark; starts the model load).
    firstPainted = Signal()
    #: A model finished loading (LoadedModel) or failed to (None).
    modelChanged = Signal(object)
    #: Every queued file has a result (or the run was cancelled): the window is idle.
    classificationFinished = Signal()
    #: The selected image (and its heat map, when there is a model) is on screen.
    imageShown = Signal(str)
    heatmapShown = Signal(str)

    def __init__(self, settings: Settings | None = None, model_path: str | Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.setWindowTitle(f"{TITLE} — chest X-ray classifier (research use only)")
        self.setAcceptDrops(True)
        self.workers = WorkerSet(self)

        self._model_path = Path(model_path) if model_path else default_model_path()
        self._model: Any = None
        self._model_state = LOADING
        self._model_note = ""
        self._device = ""
        self._model_started = False

        self._queue: list[int] = []  # rows waiting for a classify run
        self._run: Worker | None = None
        self._run_rows: list[int] = []
        self._discovering = 0
        self._batch_total = 0
        self._batch_done = 0
        self._batch_start = 0.0
        self._painted = False
        self._closing = False

        self._view_token = 0
        self._current_row: int | None = None

        self.results = ResultsModel(self)
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.results)

        self._build_ui()
        self._build_actions()
        self._start_loops()
        self._restore_settings()
        self._show_model_status()

    # ---------------------------------------------------------------- construction
    def _build_ui(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setTabBarAutoHide(True)
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)

        page = self.classify_page = QWidget()
        # Left: buttons, filter, table, progress.
        self.open_files_button = QPushButton("Open files…")
        self.open_folder_button = QPushButton("Open folder…")
        self.filter_combo = QComboBox()
        for text, value in FILTERS:
            self.filter_combo.addItem(text, value)
        self.filter_combo.setToolTip("Show only rows with this decision")
        self.filter_combo.currentIndexChanged.connect(self._on_filter_changed)
        top = QHBoxLayout()
        top.addWidget(self.open_files_button)
        top.addWidget(self.open_folder_button)
        top.addStretch(1)
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter_combo)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # input order until asked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setIconSize(QSize(jobs.THUMB_PIXELS, jobs.THUMB_PIXELS))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(jobs.THUMB_PIXELS + 4)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(ResultsModel.THUMB, jobs.THUMB_PIXELS + 8)
        header.resizeSection(ResultsModel.FILE, 205)
        header.resizeSection(ResultsModel.PROB, 70)
        header.resizeSection(ResultsModel.DECISION, 104)
        self.table.setItemDelegateForColumn(ResultsModel.STATUS, ElideRightDelegate(self.table))
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.rate_label = QLabel("")
        self.rate_label.setMinimumWidth(90)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop classifying (files already done keep their result)")
        self.cancel_button.clicked.connect(self.cancel)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.rate_label)
        bottom.addWidget(self.cancel_button)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 3, 6)
        lv.addLayout(top)
        lv.addWidget(self.table, 1)
        lv.addLayout(bottom)

        # Right: badge, viewer, heat-map controls, metadata.
        self.badge = ScoreBadge()
        self.viewer = XRayViewer()
        self.viewer.setMinimumSize(240, 240)
        self.heat_check = QCheckBox("Heat map (H)")
        self.heat_check.setToolTip(HEATMAP_NOTE)
        self.heat_check.toggled.connect(self.viewer.set_heat_visible)
        self.viewer.heatToggled.connect(self._sync_heat_check)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setMaximumWidth(160)
        self.opacity_slider.setToolTip("Heat-map opacity")
        self.opacity_slider.valueChanged.connect(lambda v: self.viewer.set_opacity(v / 100))
        self.heat_status = QLabel("")
        controls = QHBoxLayout()
        controls.addWidget(self.heat_check)
        controls.addWidget(QLabel("Opacity"))
        controls.addWidget(self.opacity_slider)
        controls.addWidget(self.heat_status, 1)
        self.heat_note = QLabel(HEATMAP_NOTE)
        self.heat_note.setWordWrap(True)
        self.heat_note.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
        self.help_label = QLabel(CONTROLS_SHORT)
        self.help_label.setToolTip(CONTROLS_HELP)
        self.help_label.setWordWrap(True)
        self.help_label.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")

        viewer_box = QWidget()
        vv = QVBoxLayout(viewer_box)
        vv.setContentsMargins(3, 6, 6, 0)
        vv.addWidget(self.badge)
        vv.addWidget(self.viewer, 1)
        vv.addLayout(controls)
        vv.addWidget(self.heat_note)
        vv.addWidget(self.help_label)

        self.metadata = MetadataPanel()
        meta_box = QWidget()
        mv = QVBoxLayout(meta_box)
        mv.setContentsMargins(3, 0, 6, 6)
        mv.addWidget(self.metadata)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(viewer_box)
        self.right_splitter.addWidget(meta_box)
        self.right_splitter.setStretchFactor(0, 3)
        self.right_splitter.setStretchFactor(1, 1)
        self.right_splitter.setChildrenCollapsible(False)
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(left)
        self.main_splitter.addWidget(self.right_splitter)
        self.main_splitter.setStretchFactor(0, 1)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setChildrenCollapsible(False)
        pv = QVBoxLayout(page)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(self.main_splitter)
        self.tabs.addTab(page, "Classify")

        bar = self.statusBar()
        self.model_label = QLabel()
        self.device_label = QLabel()
        self.count_label = QLabel("0 done")
        for i, label in enumerate((self.model_label, self.device_label, self.count_label)):
            if i:
                line = QFrame()
                line.setFrameShape(QFrame.Shape.VLine)
                line.setFrameShadow(QFrame.Shadow.Sunken)
                bar.addPermanentWidget(line)
            bar.addPermanentWidget(label)

    def _build_actions(self) -> None:
        def action(text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
            a = QAction(text, self)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.open_files_action = action("&Open files…", self.choose_files,
                                        QKeySequence.StandardKey.Open)
        self.open_folder_action = action("Open &folder…", self.choose_folder, "Ctrl+Shift+O",
                                         "Classify every image in a folder and its subfolders")
        self.export_action = action("&Export predicted.csv…", self.choose_export, "Ctrl+E",
                                    "Write the results as the command line does")
        self.cancel_action = action("&Cancel classification", self.cancel, "Esc")
        # Esc belongs to the classify page only (other tabs may use it for their own work).
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.classify_page.addAction(self.cancel_action)
        quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.open_files_button.clicked.connect(self.choose_files)
        self.open_folder_button.clicked.connect(self.choose_folder)
        file_menu = self.menuBar().addMenu("&File")
        for a in (self.open_files_action, self.open_folder_action, None, self.export_action,
                  None, self.cancel_action, None, quit_action):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)

        # Viewer keys work anywhere on the classify page (table or image focused).
        page_actions = [
            action("&Invert", self.viewer.toggle_invert, "I"),
            action("&Reset view", self.viewer.reset, "Space",
                   "Original contrast, not inverted, whole image"),
            action("&Fit to window", self.viewer.fit, "="),
        ]
        self.heat_action = action("&Heat map", lambda: self.viewer.toggle_heat(), "H")
        page_actions.append(self.heat_action)
        view_menu = self.menuBar().addMenu("&View")
        for a in page_actions:
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.classify_page.addAction(a)
            view_menu.addAction(a)

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(action("&Viewer controls", self._show_controls_help, "F1"))
        help_menu.addAction(action("&About CovidCXR…", self.show_about))

    def _start_loops(self) -> None:
        self._thumb_requests = jobs.Requests()
        self._view_requests = jobs.Requests(latest_only=True)
        self._thumb_worker = Worker(jobs.thumbnail_loop, self._thumb_requests, parent=self)
        self._thumb_worker.result.connect(self._on_thumbnail)
        self._view_worker = Worker(jobs.image_loop, self._view_requests, parent=self)
        self._view_worker.result.connect(self._on_view_result)
        self.results.thumbnailWanted.connect(self._thumb_requests.put)
        # The loops idle on a condition variable; they start with the first request.
        self._loops_started = False

    def _ensure_loops(self) -> None:
        if not self._loops_started and not self._closing:
            self._loops_started = True
            self.workers.start(self._thumb_worker)
            self.workers.start(self._view_worker)

    def _restore_settings(self) -> None:
        s = self.settings
        if (g := s.geometry()) is not None:
            self.restoreGeometry(g)
        else:
            self.resize(1280, 800)
        if (st := s.window_state()) is not None:
            self.restoreState(st)
        for name, splitter in self._splitters().items():
            if (state := s.splitter(name)) is not None:
                splitter.restoreState(state)
            else:
                splitter.setSizes([680, 720] if name == "main" else [600, 230])
        self.opacity_slider.setValue(round(s.overlay_opacity * 100))
        self.viewer.set_opacity(s.overlay_opacity)

    def _splitters(self) -> dict[str, QSplitter]:
        return {"main": self.main_splitter, "right": self.right_splitter}

    # ---------------------------------------------------------------- public API
    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a page (e.g. training) after the classify page; returns its index."""
        return self.tabs.addTab(widget, title)

    @property
    def model(self) -> Any:
        """The loaded ``core.model.loading.LoadedModel``, or None."""
        return self._model

    @property
    def model_path(self) -> Path:
        return self._model_path

    @property
    def busy(self) -> bool:
        return self._run is not None or bool(self._queue) or self._discovering > 0

    @Slot(str)
    def set_model_path(self, path: str | Path) -> None:
        """Use another model: load it in the background, then classify every listed file
        again with it (so a table and its CSV always come from one model)."""
        self._model_path = Path(path)
        self._model, self._model_state, self._model_note = None, LOADING, ""
        if self._run is not None:
            self._run.cancel()
        rows = list(range(len(self.results.rows)))
        self.results.set_state(rows, QUEUED)
        self._queue = rows
        self._batch_total, self._batch_done = len(rows), 0
        self._model_started = False
        self._start_model_load()
        self._refresh_selection()

    @Slot()
    def start(self) -> None:
        """Begin loading the model and build the image view: called after the first paint,
        so the window shows before TensorFlow and pyqtgraph are imported."""
        self._start_model_load()
        self.viewer.ensure_view()

    def open_paths(self, paths: list[str] | list[Path]) -> None:
        """List and classify files and folders (folders recursively, non-images skipped)."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return
        self._start_model_load()
        first = Path(paths[0])
        self.settings.last_folder = str(first if first.is_dir() else first.parent)
        self._discovering += 1
        self._update_progress()
        worker = Worker(jobs.discover_job, paths, parent=self)
        worker.result.connect(lambda res, p=paths: self._on_discovered(p, *res))
        worker.errored.connect(lambda exc: self.statusBar().showMessage(f"cannot list files: {exc}"))
        worker.finished.connect(self._on_discovery_finished)
        self.workers.start(worker)

    @Slot()
    def cancel(self) -> None:
        """Stop classifying: queued files are marked cancelled, finished rows stay."""
        if self._queue:
            self.results.set_state(self._queue, CANCELLED)
            self._queue = []
        if self._run is not None:
            self._run.cancel()  # _on_run_finished reports the end
            self.progress.setFormat("cancelling…")
        else:
            self._maybe_idle()

    def export_csv(self, path: str | Path) -> int:
        """Write predicted.csv (``core.files.export.write_csv``) for every finished file."""
        from core.files.export import write_csv

        name = self._model.display_name if self._model is not None else ""
        n = write_csv(path, self.results.predictions(), name, self._device)
        pending = len(self.results.rows) - n
        extra = f" ({pending} files have no result yet)" if pending else ""
        self.statusBar().showMessage(f"wrote {n} rows to {path}{extra}", 8000)
        return n

    # ---------------------------------------------------------------- file choosers
    @Slot()
    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open X-ray images",
                                                self.settings.last_folder, FILE_FILTER)
        if files:
            self.open_paths(files)

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of X-ray images",
                                                  self.settings.last_folder)
        if folder:
            self.open_paths([folder])

    @Slot()
    def choose_export(self) -> None:
        if not self.results.predictions():
            QMessageBox.information(self, "Export predicted.csv", "There are no results yet.")
            return
        start = str(Path(self.settings.last_folder) / "predicted.csv")
        path, _ = QFileDialog.getSaveFileName(self, "Export predicted.csv", start,
                                              "CSV files (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            QMessageBox.warning(self, "Export predicted.csv",
                                f"Could not write {path}:\n{exc.strerror or exc}")

    # ---------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)
        else:
            event.ignore()

    # ---------------------------------------------------------------- model loading
    def _start_model_load(self) -> None:
        if self._model_started or self._closing:
            return
        self._model_started = True
        path = self._model_path
        if not path.is_file():
            # Do not even import TensorFlow: there is nothing to load.
            self._set_no_model(f"{_short(path)} not found")
            return
        self._model_state = LOADING
        self._show_model_status()
        # TensorFlow creates its thread pools on this thread, and they inherit its lower
        # priority: the network's number crunching then yields the CPU to the event loop.
        worker = Worker(jobs.load_model_job, path, low_priority=True, parent=self)
        worker.result.connect(self._on_model_loaded)
        worker.errored.connect(lambda exc, p=path: self._on_model_failed(p, exc))
        self.workers.start(worker)

    @Slot(object)
    def _on_model_loaded(self, ready: jobs.ModelReady) -> None:
        if ready.path != self._model_path:  # a newer model was chosen meanwhile
            return
        self._model, self._model_state, self._device = ready.model, READY, ready.device
        self._show_model_status()
        self.modelChanged.emit(ready.model)
        self._pump()
        self._refresh_selection()

    def _on_model_failed(self, path: Path, exc: BaseException) -> None:
        if path != self._model_path:
            return
        self._set_no_model(str(exc))

    def _set_no_model(self, note: str) -> None:
        self._model, self._model_state, self._model_note = None, MISSING, note
        self._show_model_status()
        self.modelChanged.emit(None)
        self._pump()

    def _show_model_status(self) -> None:
        if self._model_state == READY:
            m = self._model
            self.model_label.setText(f"Model: {m.display_name} · threshold {m.threshold:.3f}")
            self.model_label.setToolTip(str(self._model_path))
            self.device_label.setText(f"Device: {self._device}")
        elif self._model_state == LOADING:
            self.model_label.setText("Loading model…")
            self.device_label.setText("Device: starting TensorFlow…")
        else:
            self.model_label.setText(f"No model: {self._model_note}")
            self.model_label.setToolTip(f"{self._model_path}\n{self._model_note}")
            self.device_label.setText("Device: —")
        self.count_label.setText(f"{self.results.count_done()} done")

    # ---------------------------------------------------------------- classification
    def _on_discovered(self, given: list[str], found: list[Path], skipped: Skipped) -> None:
        if self._closing:
            return
        if not found:
            left_out = f": {skipped.describe()}" if skipped.total else ""
            self.statusBar().showMessage("no image files in " + ", ".join(given) + left_out, 8000)
            return
        if skipped.total:  # said, so that no file disappears unnoticed
            self.statusBar().showMessage(f"{len(found)} file{'s' * (len(found) != 1)} found; {skipped.describe()}", 8000)
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
        if self.table.selectionModel().currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)

    @Slot()
    def _on_discovery_finished(self) -> None:
        self._discovering -= 1
        self._update_progress()
        self._maybe_idle()

    def _pump(self) -> None:
        """Start the next classify run if the model allows and none is running."""
        if self._run is not None or not self._queue or self._closing:
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
        model = self._model
        worker = Worker(jobs.classify_job, paths, model, parent=self)
        worker.result.connect(lambda pred, m=model: self._on_prediction(pred, m))
        worker.progress.connect(self._on_run_progress)
        worker.errored.connect(self._on_run_error)
        worker.finished.connect(lambda w=worker: self._on_run_finished(w))
        self._run, self._run_rows = worker, rows
        if not self._batch_start:
            self._batch_start = time.monotonic()
        self.cancel_button.setEnabled(True)
        self.workers.start(worker)
        self._update_progress()

    def _on_prediction(self, pred: Any, model: Any) -> None:
        if model is not self._model:  # a result of a model that was replaced meanwhile
            return
        i = self.results.set_prediction(pred)
        self._batch_done += 1
        self.count_label.setText(f"{self.results.count_done()} done")
        self._update_progress()
        if i is not None and i == self._current_row:
            self._refresh_selection()

    @Slot(int, int, str)
    def _on_run_progress(self, done: int, total: int, message: str) -> None:
        # Counting is done per result; progress only names the file being worked on.
        if message:
            self.progress.setToolTip(message)

    def _on_run_error(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"classification stopped: {exc}", 10000)

    def _on_run_finished(self, worker: Worker) -> None:
        if worker is not self._run:
            return
        queued = set(self._queue)
        leftover = [i for i in self._run_rows if self.results.row(i).prediction is None
                    and i not in queued]
        if leftover:
            self.results.set_state(leftover, CANCELLED)
        self._run, self._run_rows = None, []
        self.cancel_button.setEnabled(bool(self._queue))
        self._pump()
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if not self.busy:
            self._batch_total = self._batch_done = 0
            self._batch_start = 0.0
            self.cancel_button.setEnabled(False)
            self._update_progress()
            self._show_model_status()
            self.classificationFinished.emit()

    def _update_progress(self) -> None:
        total, done = self._batch_total, self._batch_done
        if self._model_state == LOADING and self._queue and self._run is None:
            self.progress.setRange(0, 0)
            self.progress.setFormat("loading model…")
            self.rate_label.setText(f"{len(self._queue)} waiting")
            self.cancel_button.setEnabled(True)
            return
        if total == 0:
            if self._discovering:
                self.progress.setRange(0, 0)
                self.progress.setFormat("finding files…")
            else:
                self.progress.setRange(0, 1)
                self.progress.setValue(0)
                self.progress.setFormat("idle")
                self.rate_label.setText("")
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        self.progress.setFormat(f"{done} / {total}")
        elapsed = time.monotonic() - self._batch_start if self._batch_start else 0.0
        if done and elapsed > 0:
            self.rate_label.setText(f"{done / elapsed:.1f} img/s")

    # ---------------------------------------------------------------- selection & viewer
    @Slot(int)
    def _on_filter_changed(self, index: int) -> None:
        self.proxy.set_decision(self.filter_combo.itemData(index))

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self._current_row = None
            self.badge.set_prediction(None)
            self.metadata.clear()
            self.viewer.show_message("Select a row to see the image.")
            return
        self._current_row = self.proxy.mapToSource(rows[0]).row()
        self._refresh_selection()

    def select_source_row(self, row: int) -> None:
        """Select the row of the source model's ``row`` (tests, programmatic selection)."""
        index = self.proxy.mapFromSource(self.results.index(row, 0))
        if index.isValid():
            self.table.selectRow(index.row())

    def _refresh_selection(self) -> None:
        i = self._current_row
        if i is None or i >= len(self.results.rows):
            return
        row = self.results.row(i)
        pred = row.prediction
        self.badge.set_prediction(pred, note=f"{row.path.name}: {row.status_text}")
        self.metadata.set_file(str(row.path), pred, pred.info if pred is not None else None)
        model = self._model if pred is not None and pred.ok and self._model is not None else None
        if model is None:
            why = ("no model" if self._model_state == MISSING else
                   "waiting for the result" if pred is None else
                   "file could not be read" if not pred.ok else "")
            self.heat_status.setText(f"no heat map: {why}" if why else "")
        else:
            self.heat_status.setText("heat map: computing…")
        self._view_token += 1
        self._ensure_loops()
        # The heat map always explains P(COVID), the score shown, whatever the decision: for
        # a one-output network the "NOT COVID" map is only where that evidence is negative.
        self._view_requests.put(jobs.ViewRequest(self._view_token, str(row.path), model))

    @Slot(object)
    def _on_view_result(self, item: jobs.LoadedImage | jobs.HeatMap) -> None:
        if item.token != self._view_token:
            return  # the user has moved on to another row
        if isinstance(item, jobs.LoadedImage):
            if item.pixels is None:
                self.viewer.show_message(f"Cannot show {Path(item.path).name}:\n{item.error}")
            else:
                self.viewer.set_image(item.pixels)
                i = self._current_row
                if i is not None:
                    row = self.results.row(i)
                    self.metadata.set_file(str(row.path), row.prediction, item.info)
            self.imageShown.emit(item.path)
        else:
            if item.heat is None:
                self.heat_status.setText(item.error)
            else:
                self.viewer.set_heatmap(item.heat, item.box)
                if float(item.heat.max()) > 0.0:
                    self.heat_status.setText(f"heat map: evidence for {item.explains}")
                else:
                    self.heat_status.setText(f"heat map: no region raised P({item.explains})")
            self.heatmapShown.emit(item.path)

    @Slot(object)
    def _on_thumbnail(self, item: tuple[str, QImage | None]) -> None:
        path, image = item
        if image is not None:
            self.results.set_thumbnail(path, image)

    @Slot(bool)
    def _sync_heat_check(self, visible: bool) -> None:
        if self.heat_check.isChecked() != visible:
            self.heat_check.setChecked(visible)

    # ---------------------------------------------------------------- help
    @Slot()
    def _show_controls_help(self) -> None:
        QMessageBox.information(self, "Viewer controls", CONTROLS_HELP.replace(" · ", "\n"))

    def about_dialog(self) -> AboutDialog:
        card, note = None, self._model_note
        if self._model is not None:
            card = self._model.card
        else:
            from core.errors import ModelError
            from core.model.card import read_card

            try:
                card = read_card(self._model_path)
                note = note or "the model is still loading"
            except ModelError as exc:
                note = note or str(exc)
        return AboutDialog(card, note, self._device, self)

    @Slot()
    def show_about(self) -> None:
        self.about_dialog().exec()

    # ---------------------------------------------------------------- events
    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.firstPainted.emit()
            QTimer.singleShot(0, self.start)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Save the layout, then stop every worker and wait for it (no thread outlives us)."""
        if not self._closing:
            self._closing = True
            self.settings.save_window(
                self.saveGeometry(), self.saveState(),
                {n: s.saveState() for n, s in self._splitters().items()})
            self.settings.overlay_opacity = self.opacity_slider.value() / 100
            self.settings.sync()
            self.hide()
            self._queue = []
            self.workers.stop_all()
        event.accept()


def _short(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
