"""The main window: a tab widget whose first tab is the classify page.

The window wires three things: the :class:`ClassifyQueue` (the model, the files to
classify and the run, without widgets), the :class:`ClassifyPage` (its layout) and the
viewer's loaders, which show the selected image and its heat map. It owns the menus, the
status bar, the settings and the window state. Everything slow runs on
``gui.workers.Worker``; this module only moves results into widgets.

Other tabs (training) plug in with :meth:`MainWindow.add_tab`, and can activate a new model
with :meth:`MainWindow.set_model_path`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QWidget,
)

from core.files.discovery import IMAGE_SUFFIXES
from core.model.site import TOO_FEW
from core.resources import default_model_path
from gui import jobs
from gui.about import AboutDialog
from gui.banner import set_banner
from gui.classify_page import ClassifyPage
from gui.classify_queue import LOADING, MISSING, READY, ClassifyQueue
from gui.i18n import ENGLISH, SPANISH, SYSTEM, integer, number, percent, translate
from gui.i18n.core_text import core_text
from gui.results_model import ResultsProxy
from gui.settings import Settings
from gui.viewer import controls_help
from gui.workers import TaskSlot, Worker, WorkerSet

TITLE = "CovidCXR"


def file_filter() -> str:
    """The Open dialog's filter, in the window's language."""
    patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    return translate("MainWindow", "Images ({0});;All files (*)").format(patterns)


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
    #: An "Export DICOM results" ended: its ExportSummary, or None when it failed.
    dicomExported = Signal(object)
    #: "Validate on these films…": the Validate page opens on this folder.
    validateRequested = Signal(str)
    #: The last run's site check was shown (core.model.site.SiteCheck).
    siteShown = Signal(object)

    def __init__(self, settings: Settings | None = None, model_path: str | Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.setWindowTitle(translate(
            "MainWindow", "{0} — chest X-ray classifier (research use only)").format(TITLE))
        self.setAcceptDrops(True)
        self.workers = WorkerSet(self)
        self._dicom_export = TaskSlot(self.workers, self)
        #: The last run's site check (core.model.site.SiteCheck) and the folder it covered.
        self.site_check: Any = None
        self._site_folder: Any = None
        self.queue = ClassifyQueue(
            self.workers, Path(model_path) if model_path else default_model_path(), self)
        self.results = self.queue.results
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.results)

        self._painted = False
        self._closing = False
        # The viewer's loop is one long-lived worker serving a queue of requests: an image
        # it is still reading when the selection moves arrives after the new request was
        # made, and the token is how the window recognises it.
        self._view_token = 0
        self._current_row: int | None = None

        self._build_ui()
        self._build_actions()
        self._start_loops()
        self._connect_queue()
        self._restore_settings()
        self._show_model_status()

    # ---------------------------------------------------------------- construction
    def _build_ui(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setTabBarAutoHide(True)
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)

        page = self.classify_page = ClassifyPage(self.proxy)
        # The page's widgets, under the names the tests, scripts and other tabs use.
        self.open_files_button = page.open_files_button
        self.open_folder_button = page.open_folder_button
        self.filter_combo = page.filter_combo
        self.table = page.table
        self.progress = page.progress
        self.rate_label = page.rate_label
        self.cancel_button = page.cancel_button
        self.badge = page.badge
        self.viewer = page.viewer
        self.heat_check = page.heat_check
        self.opacity_slider = page.opacity_slider
        self.heat_status = page.heat_status
        self.heat_note = page.heat_note
        self.help_label = page.help_label
        self.metadata = page.metadata
        self.main_splitter = page.main_splitter
        self.right_splitter = page.right_splitter
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.cancel_button.clicked.connect(self.cancel)
        self.tabs.addTab(page, translate("MainWindow", "Classify"))

        bar = self.statusBar()
        self.model_label = QLabel()
        self.device_label = QLabel()
        self.count_label = QLabel(translate("MainWindow", "{0} done").format(integer(0)))
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

        self.open_files_action = action(translate("MainWindow", "&Open files…"), self.choose_files,
                                        QKeySequence.StandardKey.Open)
        self.open_folder_action = action(
            translate("MainWindow", "Open &folder…"), self.choose_folder, "Ctrl+Shift+O",
            translate("MainWindow", "Classify every image in a folder and its subfolders"))
        self.export_action = action(
            translate("MainWindow", "&Export predicted.csv…"), self.choose_export, "Ctrl+E",
            translate("MainWindow", "Write the results as the command line does"))
        self.export_dicom_action = action(
            translate("MainWindow", "Export &DICOM results…"), self.choose_dicom_export, None,
            translate("MainWindow", "For each DICOM film: a Structured Report and a heat-map "
                      "Secondary Capture in its study, to file in a PACS"))
        self.cancel_action = action(translate("MainWindow", "&Cancel classification"),
                                    self.cancel, "Esc")
        # Esc belongs to the classify page only (other tabs may use it for their own work).
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.classify_page.addAction(self.cancel_action)
        quit_action = action(translate("MainWindow", "&Quit"), self.close,
                             QKeySequence.StandardKey.Quit)
        self.open_files_button.clicked.connect(self.choose_files)
        self.open_folder_button.clicked.connect(self.choose_folder)
        file_menu = self.menuBar().addMenu(translate("MainWindow", "&File"))
        for a in (self.open_files_action, self.open_folder_action, None, self.export_action,
                  self.export_dicom_action, None, self.cancel_action, None, quit_action):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)

        # Viewer keys work anywhere on the classify page (table or image focused).
        page_actions = [
            action(translate("MainWindow", "&Invert"), self.viewer.toggle_invert, "I"),
            action(translate("MainWindow", "&Reset view"), self.viewer.reset, "Space",
                   translate("MainWindow", "Original contrast, not inverted, whole image")),
            action(translate("MainWindow", "&Fit to window"), self.viewer.fit, "="),
        ]
        self.heat_action = action(translate("MainWindow", "&Heat map"),
                                  lambda: self.viewer.toggle_heat(), "H")
        page_actions.append(self.heat_action)
        page_actions.append(action(translate("MainWindow", "&Lung outline"),
                                   lambda: self.viewer.toggle_lungs(), "L",
                                   translate("MainWindow", "The lung fields the segmenter "
                                             "found, over the image")))
        view_menu = self.menuBar().addMenu(translate("MainWindow", "&View"))
        for a in page_actions:
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.classify_page.addAction(a)
            view_menu.addAction(a)
        view_menu.addSeparator()
        self._build_language_menu(view_menu.addMenu(translate("MainWindow", "&Language")))

        help_menu = self.menuBar().addMenu(translate("MainWindow", "&Help"))
        help_menu.addAction(action(translate("MainWindow", "&Viewer controls"),
                                   self._show_controls_help, "F1"))
        help_menu.addAction(action(translate("MainWindow", "&About CovidCXR…"), self.show_about))

    def _build_language_menu(self, menu: Any) -> None:
        """System / English / Español, kept in the settings; applies at the next start (the
        whole window would otherwise have to rebuild its texts), which the menu says."""
        group = QActionGroup(self)
        group.setExclusive(True)
        self.language_actions: dict[str, QAction] = {}
        # Each language is named in its own words, so it can be found in any language.
        for code, text in ((SYSTEM, translate("MainWindow", "System language")),
                           (ENGLISH, "English"), (SPANISH, "Español")):
            a = QAction(text, self)
            a.setCheckable(True)
            a.setChecked(code == self.settings.language)
            a.triggered.connect(lambda _checked=False, c=code: self.set_language(c))
            group.addAction(a)
            menu.addAction(a)
            self.language_actions[code] = a
        menu.addSeparator()
        note = menu.addAction(translate("MainWindow", "Applies when CovidCXR starts again"))
        note.setEnabled(False)

    def _start_loops(self) -> None:
        self._thumb_requests = jobs.Requests()
        self._view_requests = jobs.Requests(latest_only=True)
        self._thumb_worker = Worker(jobs.thumbnail_loop, self._thumb_requests, parent=self)
        self._thumb_worker.yielded.connect(self._on_thumbnail)
        self._view_worker = Worker(jobs.image_loop, self._view_requests, parent=self)
        self._view_worker.yielded.connect(self._on_view_result)
        self.results.thumbnailWanted.connect(self._thumb_requests.put)
        # The loops idle on a condition variable; they start with the first request.
        self._loops_started = False

    def _connect_queue(self) -> None:
        q, page = self.queue, self.classify_page
        q.modelLoading.connect(self._show_model_status)
        q.modelChanged.connect(self._on_model_changed)
        q.progressChanged.connect(page.show_progress)
        q.workingOn.connect(page.show_working)
        q.classified.connect(self._on_classified)
        q.queued.connect(self._on_queued)
        q.message.connect(self.statusBar().showMessage)
        q.idle.connect(self._on_idle)
        q.siteChecked.connect(self._on_site_checked)
        self.classify_page.site_button.clicked.connect(
            lambda: self.validateRequested.emit(str(self._site_folder or "")))

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
        return self.classify_page.splitters()

    # ---------------------------------------------------------------- public API
    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a page (e.g. training) after the classify page; returns its index."""
        return self.tabs.addTab(widget, title)

    @property
    def model(self) -> Any:
        """The loaded ``core.model.loading.LoadedModel``, or None."""
        return self.queue.model

    @property
    def model_path(self) -> Path:
        return self.queue.model_path

    @property
    def busy(self) -> bool:
        return self.queue.busy

    @Slot(str)
    def set_model_path(self, path: str | Path) -> None:
        """Use another model: load it in the background, then classify every listed file
        again with it (so a table and its CSV always come from one model)."""
        self.queue.set_model_path(path)
        self._refresh_selection()

    @Slot()
    def start(self) -> None:
        """Begin loading the model and build the image view: called after the first paint,
        so the window shows before TensorFlow and pyqtgraph are imported."""
        self.queue.load_model()
        self.viewer.ensure_view()

    def open_paths(self, paths: list[str] | list[Path]) -> None:
        """List and classify files and folders (folders recursively, non-images skipped)."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return
        first = Path(paths[0])
        self.settings.last_folder = str(first if first.is_dir() else first.parent)
        self.queue.open_paths(paths)

    @Slot()
    def cancel(self) -> None:
        """Stop classifying: queued files are marked cancelled, finished rows stay."""
        self.queue.cancel()

    def export_csv(self, path: str | Path) -> int:
        """Write predicted.csv (``core.files.export.write_csv``) for every finished file."""
        from core.files.export import write_csv

        model = self.queue.model
        name = model.display_name if model is not None else ""
        n = write_csv(path, self.results.predictions(), name, self.queue.device)
        pending = len(self.results.rows) - n
        text = (translate("MainWindow", "wrote 1 row to {1}") if n == 1 else
                translate("MainWindow", "wrote {0} rows to {1}")).format(integer(n), path)
        if pending:
            text += (translate("MainWindow", " (1 file has no result yet)") if pending == 1 else
                     translate("MainWindow", " ({0} files have no result yet)")
                     .format(integer(pending)))
        self.statusBar().showMessage(text, 8000)
        return n

    def export_dicom(self, folder: str | Path) -> Worker | None:
        """Write the DICOM results (``core.model.dicom_results``) of every DICOM film into
        ``folder`` on a worker: each film is read again and explained, which takes a
        moment per film. The status bar says what was written; returns the worker (tests
        wait for its ``finished``), or None when there is no model."""
        model = self.queue.model
        if model is None:
            return None
        self.export_dicom_action.setEnabled(False)
        self.statusBar().showMessage(translate("MainWindow", "writing DICOM results…"))
        worker = Worker(jobs.dicom_export_job, self.results.predictions(), model, Path(folder),
                        parent=self)
        self._dicom_export.start(
            worker, returned=lambda summary: self._on_dicom_exported(summary, Path(folder)),
            errored=lambda exc: self._on_dicom_export_failed(exc, Path(folder)),
            finished=lambda: self.export_dicom_action.setEnabled(True))
        return worker

    def _on_dicom_exported(self, summary: Any, folder: Path) -> None:
        """Say what the export did: results written, inputs that get none and why."""
        n = len(summary.written)
        parts = [(translate("MainWindow", "1 DICOM result (SR + SC) written to {1}") if n == 1
                  else translate("MainWindow", "{0} DICOM results (SR + SC) written to {1}"))
                 .format(integer(n), folder)]
        if summary.not_dicom:
            parts.append((translate("MainWindow", "1 non-DICOM input gets none")
                          if summary.not_dicom == 1 else
                          translate("MainWindow", "{0} non-DICOM inputs get none"))
                         .format(integer(summary.not_dicom)))
        if summary.unreadable:
            parts.append(translate("MainWindow", "{0} unreadable")
                         .format(integer(summary.unreadable)))
        if summary.failed:
            parts.append(translate("MainWindow", "{0} failed")
                         .format(integer(len(summary.failed))))
            details = "\n".join(f"{Path(p).name}: {core_text(why)}" for p, why in summary.failed)
            QMessageBox.warning(self, translate("MainWindow", "Export DICOM results"),
                                "; ".join(parts) + "\n\n" + details)
        self.statusBar().showMessage("; ".join(parts), 15000)
        self.dicomExported.emit(summary)

    def _on_dicom_export_failed(self, exc: BaseException, folder: Path) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.statusBar().clearMessage()
        QMessageBox.warning(self, translate("MainWindow", "Export DICOM results"),
                            translate("MainWindow", "Could not write to {0}:\n{1}")
                            .format(folder, why))
        self.dicomExported.emit(None)

    # ---------------------------------------------------------------- file choosers
    @Slot()
    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, translate("MainWindow", "Open X-ray images"), self.settings.last_folder,
            file_filter())
        if files:
            self.open_paths(files)

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, translate("MainWindow", "Open a folder of X-ray images"),
            self.settings.last_folder)
        if folder:
            self.open_paths([folder])

    @Slot()
    def choose_export(self) -> None:
        title = translate("MainWindow", "Export predicted.csv")
        if not self.results.predictions():
            QMessageBox.information(self, title,
                                    translate("MainWindow", "There are no results yet."))
            return
        start = str(Path(self.settings.last_folder) / "predicted.csv")
        path, _ = QFileDialog.getSaveFileName(self, title, start,
                                              translate("MainWindow", "CSV files (*.csv)"))
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            QMessageBox.warning(self, title, translate("MainWindow", "Could not write {0}:\n{1}")
                                .format(path, exc.strerror or exc))

    @Slot()
    def choose_dicom_export(self) -> None:
        title = translate("MainWindow", "Export DICOM results")
        from core.model.dicom_results import is_candidate

        preds = self.results.predictions()
        if not any(is_candidate(p) for p in preds):
            QMessageBox.information(self, title, translate(
                "MainWindow", "There is no DICOM film with a result yet: only DICOM inputs "
                "get DICOM results."))
            return
        if self.queue.model is None:
            QMessageBox.information(self, title, translate("MainWindow", "No model is loaded."))
            return
        folder = QFileDialog.getExistingDirectory(
            self, translate("MainWindow", "Folder for the DICOM results"),
            self.settings.last_folder)
        if folder:
            self.export_dicom(folder)

    @Slot(str)
    def set_language(self, language: str) -> None:
        """Keep the language chosen in View > Language; the window speaks it from its next
        start."""
        self.settings.language = language
        self.settings.sync()
        self.statusBar().showMessage(
            translate("MainWindow", "The language changes when CovidCXR starts again."), 8000)

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

    # ---------------------------------------------------------------- what the queue says
    @Slot(object)
    def _on_model_changed(self, model: Any) -> None:
        self._show_model_status()
        self.modelChanged.emit(model)
        if model is not None:
            self._refresh_selection()

    @Slot(object, object)
    def _on_site_checked(self, result: Any, folder: Any) -> None:
        """The banner above the table: a new site is a warning with the way to validate
        there; a familiar one a short note; too few films nothing."""
        page = self.classify_page
        self._site_folder = folder
        self.site_check = result
        if result is None or result.verdict == TOO_FEW:
            page.site_box.setVisible(False)
        elif result.is_new:
            set_banner(page.site_banner, translate(
                "MainWindow",
                "Site check: these films differ from those the model was checked on; its "
                "threshold is not valid here: validate it on your own labelled films "
                "({0} films; distance {1} against {2}; called COVID {3})").format(
                    integer(result.n), number(result.statistic, 2), number(result.cut, 2),
                    percent(result.covid_share)), "warning")
            page.site_button.setVisible(True)
            page.site_box.setVisible(True)
        else:
            where = result.source[len("site profile "):] if result.source.startswith(
                "site profile ") else ""
            text = translate("MainWindow", "Site check: familiar, matches site profile {0} "
                             "({1} films)").format(where, integer(result.n)) if where else \
                translate("MainWindow", "Site check: familiar: these films resemble those "
                          "the model was checked on ({0} films)").format(integer(result.n))
            set_banner(page.site_banner, text, "ok")
            page.site_button.setVisible(False)
            page.site_box.setVisible(True)
        self.siteShown.emit(result)

    def _show_model_status(self) -> None:
        q = self.queue
        if q.model_state == READY:
            m = q.model
            text = translate("MainWindow", "Model: {0} · threshold {1}").format(
                m.display_name, number(m.threshold, 3))
            if not m.card.site:
                text += translate("MainWindow", " · threshold from public collections, not "
                                  "validated at this site")
            self.model_label.setText(text)
            self.model_label.setToolTip(str(q.model_path))
            self.device_label.setText(translate("MainWindow", "Device: {0}").format(q.device))
        elif q.model_state == LOADING:
            self.model_label.setText(translate("MainWindow", "Loading model…"))
            self.device_label.setText(translate("MainWindow", "Device: starting TensorFlow…"))
        else:
            self.model_label.setText(translate("MainWindow", "No model: {0}")
                                     .format(core_text(q.model_note)))
            self.model_label.setToolTip(f"{q.model_path}\n{core_text(q.model_note)}")
            self.device_label.setText(translate("MainWindow", "Device: —"))
        self._show_count()

    def _show_count(self) -> None:
        self.count_label.setText(translate("MainWindow", "{0} done")
                                 .format(integer(self.results.count_done())))

    @Slot(int)
    def _on_classified(self, row: int) -> None:
        self._show_count()
        if row == self._current_row:
            self._refresh_selection()

    @Slot(list)
    def _on_queued(self, _rows: list[int]) -> None:
        if self.table.selectionModel().currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)

    @Slot()
    def _on_idle(self) -> None:
        self._show_model_status()
        self.classificationFinished.emit()

    # ---------------------------------------------------------------- selection & viewer
    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self._current_row = None
            self.badge.set_prediction(None)
            self.metadata.clear()
            self.viewer.show_message(translate("MainWindow", "Select a row to see the image."))
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
        loaded = self.queue.model
        model = loaded if pred is not None and pred.ok and loaded is not None else None
        if model is None:
            why = (translate("MainWindow", "no heat map: no model")
                   if self.queue.model_state == MISSING else
                   translate("MainWindow", "no heat map: waiting for the result")
                   if pred is None else
                   translate("MainWindow", "no heat map: file could not be read")
                   if not pred.ok else "")
            self.heat_status.setText(why)
        else:
            self.heat_status.setText(translate("MainWindow", "heat map: computing…"))
        self._view_token += 1
        self._ensure_loops()
        # The heat map always explains P(COVID), the score shown, whatever the decision: for
        # a one-output network the "NOT COVID" map is only where that evidence is negative.
        self._view_requests.put(jobs.ViewRequest(self._view_token, str(row.path), model))

    @Slot(object)
    def _on_view_result(self, item: jobs.LoadedImage | jobs.ExplainedImage) -> None:
        if item.token != self._view_token:
            return  # the user has moved on to another row
        if isinstance(item, jobs.LoadedImage):
            if item.pixels is None:
                self.viewer.show_message(translate("MainWindow", "Cannot show {0}:\n{1}")
                                         .format(Path(item.path).name, core_text(item.error)))
            else:
                self.viewer.set_image(item.pixels)
                i = self._current_row
                if i is not None:
                    row = self.results.row(i)
                    self.metadata.set_file(str(row.path), row.prediction, item.info)
            self.imageShown.emit(item.path)
        else:
            found = item.heatmap
            if found is None:
                self.heat_status.setText(core_text(item.error))
            else:
                self.viewer.set_heatmap(found.heat, found.box)
                if found.lungs is not None:
                    self.viewer.set_lungs(found.lungs)
                if float(found.heat.max()) > 0.0:
                    self.heat_status.setText(translate("MainWindow", "heat map: evidence for {0}")
                                             .format(core_text(found.explains)))
                else:
                    self.heat_status.setText(
                        translate("MainWindow", "heat map: no region raised P({0})")
                        .format(found.explains))
            self.heatmapShown.emit(item.path)

    @Slot(object)
    def _on_thumbnail(self, item: tuple[str, QImage | None]) -> None:
        path, image = item
        if image is not None:
            self.results.set_thumbnail(path, image)

    # ---------------------------------------------------------------- help
    @Slot()
    def _show_controls_help(self) -> None:
        QMessageBox.information(self, translate("MainWindow", "Viewer controls"),
                                controls_help().replace(" · ", "\n"))

    def about_dialog(self) -> AboutDialog:
        q = self.queue
        card, note = None, q.model_note
        if q.model is not None:
            card = q.model.card
        else:
            from core.errors import ModelError
            from core.model.card import read_card

            try:
                card = read_card(q.model_path)
                note = note or translate("MainWindow", "the model is still loading")
            except ModelError as exc:
                note = note or str(exc)
        return AboutDialog(card, note, q.device, self)

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
            self.queue.shutdown()
            self.workers.stop_all()
        event.accept()
