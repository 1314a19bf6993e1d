"""The classify page: open films, classify them on a worker, show each with its heat map.

The :class:`ClassifySession` holds the model, the files and the run, without widgets;
the :class:`TablePanel` and :class:`ViewerPanel` only show them; :class:`Viewing` follows
the selection into the viewer and :class:`Exports` files the results. This page wires
them, owns the page's actions (the window puts them in its menus) and its status-bar
labels, and says what the session reports. Everything slow runs on workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QSplitter, QVBoxLayout, QWidget

from core.files.discovery import image_suffixes
from core.model.site import TOO_FEW
from gui.i18n import integer, number, percent, translate
from gui.i18n.core_text import core_text
from gui.pages.classify.exports import Exports
from gui.pages.classify.pacs import PacsLink
from gui.pages.classify.panels import TablePanel, ViewerPanel
from gui.pages.classify.results import ResultsProxy
from gui.pages.classify.session import LOADING, READY, ClassifySession
from gui.pages.classify.viewing import Viewing
from gui.services.workers import Worker, WorkerSet
from gui.widgets.banner import set_banner


def file_filter() -> str:
    """The Open dialog's filter, in the window's language."""
    patterns = " ".join(f"*{s}" for s in sorted(image_suffixes()))
    return translate("ClassifyPage", "Images ({0});;All files (*)").format(patterns)


class ClassifyPage(QWidget):
    """The table of films beside the viewer, and the run behind them."""

    #: A model finished loading (LoadedModel) or failed to (None).
    modelChanged = Signal(object)
    #: Every queued file has a result (or the run was cancelled): the page is idle.
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
    #: A line for the window's status bar: (text, milliseconds; 0 until replaced).
    status = Signal(str, int)

    def __init__(self, settings: Any, workers: WorkerSet, model_path: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.session = ClassifySession(workers, model_path, self)
        self.results = self.session.results
        self.proxy = ResultsProxy(self)
        self.proxy.setSourceModel(self.results)
        #: The last run's site check (core.model.site.SiteCheck) and the folder it covered.
        self.site_check: Any = None
        self._site_folder: Any = None

        self.table_panel = TablePanel(self.proxy)
        self.viewer_panel = ViewerPanel()
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(self.table_panel)
        self.main_splitter.addWidget(self.viewer_panel)
        self.main_splitter.setStretchFactor(0, 1)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.main_splitter)

        self.viewing = Viewing(self.session, self.proxy, self.table_panel, self.viewer_panel,
                               workers, self)
        self.viewing.imageShown.connect(self.imageShown)
        self.viewing.heatmapShown.connect(self.heatmapShown)
        self.exports = Exports(self.session, workers, settings, self)
        self.exports.status.connect(self.status)
        self.exports.dicomExported.connect(self.dicomExported)
        # Films retrieved from a PACS are classified as if they were dropped on the window.
        self.pacs = PacsLink(self.session, workers, self)
        self.pacs.filesRetrieved.connect(self.add_files)
        self.pacs.status.connect(self.status)
        self._build_actions()
        self._build_status()
        self._connect_session()
        self.show_model_status()

    # ---------------------------------------------------------------- construction
    def _action(self, text: str, slot: Any, shortcut: Any = None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        return a

    def _build_actions(self) -> None:
        """The File menu's classify actions, and the viewer's keys (View menu), which work
        anywhere on this page (table or image focused) and nowhere else."""
        act = self._action
        self.open_files_action = act(translate("ClassifyPage", "&Open files…"), self.choose_files,
                                     QKeySequence.StandardKey.Open)
        self.open_folder_action = act(
            translate("ClassifyPage", "Open &folder…"), self.choose_folder, "Ctrl+Shift+O",
            translate("ClassifyPage", "Classify every image in a folder and its subfolders"))
        self.export_action = act(
            translate("ClassifyPage", "&Export predicted.csv…"), self.exports.choose_csv, "Ctrl+E",
            translate("ClassifyPage", "Write the results as the command line does"))
        self.export_dicom_action = act(
            translate("ClassifyPage", "Export &DICOM results…"), self.exports.choose_dicom, None,
            translate("ClassifyPage", "For each DICOM film: a Structured Report and a heat-map "
                      "Secondary Capture in its study, to file in a PACS"))
        self.exports.dicomReady.connect(self.export_dicom_action.setEnabled)
        self.pacs_action = act(
            translate("ClassifyPage", "&PACS…"), self.pacs.show_dialog, "Ctrl+P",
            translate("ClassifyPage", "Find studies in the hospital's PACS and classify their "
                      "films; the node's settings"))
        self.send_pacs_action = act(
            translate("ClassifyPage", "&Send results to PACS…"), self.pacs.choose_send, None,
            translate("ClassifyPage", "Write each DICOM film's Structured Report and heat-map "
                      "capture and send them to the PACS (C-STORE)"))
        self.retry_pacs_action = act(
            translate("ClassifyPage", "&Retry sending results"), self.pacs.retry, None,
            translate("ClassifyPage", "Send again the results the PACS did not take"))
        self.retry_pacs_action.setEnabled(False)
        self.pacs.retryReady.connect(self.retry_pacs_action.setEnabled)
        self.cancel_action = act(translate("ClassifyPage", "&Cancel classification"),
                                 self.cancel, "Esc")
        # Esc belongs to the classify page only (other tabs may use it for their own work).
        self.cancel_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.cancel_action)
        self.file_actions = [self.open_files_action, self.open_folder_action, None,
                             self.export_action, self.export_dicom_action, None,
                             self.pacs_action, self.send_pacs_action, self.retry_pacs_action,
                             None, self.cancel_action]
        self.table_panel.open_files_button.clicked.connect(self.choose_files)
        self.table_panel.open_folder_button.clicked.connect(self.choose_folder)
        self.table_panel.cancel_button.clicked.connect(self.cancel)

        v = self.viewer_panel.viewer
        self.heat_action = act(translate("ClassifyPage", "&Heat map"), lambda: v.toggle_heat(), "H")
        self.view_actions = [
            act(translate("ClassifyPage", "&Invert"), v.toggle_invert, "I"),
            act(translate("ClassifyPage", "&Reset view"), v.reset, "Space",
                translate("ClassifyPage", "Original contrast, not inverted, whole image")),
            act(translate("ClassifyPage", "&Fit to window"), v.fit, "="),
            self.heat_action,
            act(translate("ClassifyPage", "&Lung outline"), lambda: v.toggle_lungs(), "L",
                translate("ClassifyPage", "The lung fields the segmenter found, over the image")),
        ]
        for a in self.view_actions:
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(a)

    def _build_status(self) -> None:
        """The model, the device and the count: the window's status bar shows them."""
        self.model_label = QLabel()
        self.device_label = QLabel()
        self.count_label = QLabel(translate("ClassifyPage", "{0} done").format(integer(0)))
        self.status_widgets = [self.model_label, self.device_label, self.count_label]

    def _connect_session(self) -> None:
        s = self.session
        s.modelLoading.connect(self.show_model_status)
        s.modelChanged.connect(self._on_model_changed)
        s.progressChanged.connect(self.table_panel.show_progress)
        s.workingOn.connect(self.table_panel.show_working)
        s.classified.connect(self._on_classified)
        s.queued.connect(lambda _rows: self.viewing.select_first_if_none())
        s.message.connect(self.status)
        s.idle.connect(self._on_idle)
        s.siteChecked.connect(self._on_site_checked)
        self.table_panel.site_button.clicked.connect(
            lambda: self.validateRequested.emit(str(self._site_folder or "")))

    # ---------------------------------------------------------------- settings
    def restore_settings(self) -> None:
        s = self.settings
        for name, splitter in self.splitters().items():
            if (state := s.splitter(name)) is not None:
                splitter.restoreState(state)
            else:
                splitter.setSizes([680, 720] if name == "main" else [600, 230])
        self.viewer_panel.opacity_slider.setValue(round(s.overlay_opacity * 100))
        self.viewer_panel.viewer.set_opacity(s.overlay_opacity)

    def splitters(self) -> dict[str, QSplitter]:
        """The splitters whose state the window saves, by settings name."""
        # "right": the viewer above the facts (the ViewerPanel is that splitter)
        return {"main": self.main_splitter, "right": self.viewer_panel}

    def save_settings(self) -> dict[str, Any]:
        """Keep the overlay's opacity; returns the splitters' states for the window's save."""
        self.settings.overlay_opacity = self.viewer_panel.opacity_slider.value() / 100
        return {n: s.saveState() for n, s in self.splitters().items()}

    # ---------------------------------------------------------------- public API
    @property
    def model(self) -> Any:
        """The loaded ``core.model.loading.LoadedModel``, or None."""
        return self.session.model

    @property
    def model_path(self) -> Path:
        return self.session.model_path

    @property
    def busy(self) -> bool:
        return self.session.busy

    @Slot(str)
    def set_model_path(self, path: str | Path) -> None:
        """Use another model: load it in the background, then classify every listed file
        again with it (so a table and its CSV always come from one model)."""
        self.session.set_model_path(path)
        self.viewing.refresh()

    @Slot()
    def start(self) -> None:
        """Begin loading the model and build the image view: called after the window's
        first paint, so it shows before TensorFlow and pyqtgraph are imported."""
        self.session.load_model()
        self.viewer_panel.viewer.ensure_view()

    def open_paths(self, paths: list[str] | list[Path]) -> None:
        """List and classify files and folders (folders recursively, non-images skipped)."""
        paths = [str(p) for p in paths if str(p)]
        if not paths:
            return
        first = Path(paths[0])
        self.settings.last_folder = str(first if first.is_dir() else first.parent)
        self.session.open_paths(paths)

    @Slot(list)
    def add_files(self, paths: list[str]) -> None:
        """Classify these files as if they were dropped on the window (films retrieved from
        a PACS, say)."""
        self.open_paths(paths)

    @Slot()
    def cancel(self) -> None:
        """Stop classifying: queued files are marked cancelled, finished rows stay."""
        self.session.cancel()

    def select_source_row(self, row: int) -> None:
        self.viewing.select_source_row(row)

    def export_csv(self, path: str | Path) -> int:
        return self.exports.export_csv(path)

    def export_dicom(self, folder: str | Path) -> Worker | None:
        return self.exports.export_dicom(folder)

    @Slot()
    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, translate("ClassifyPage", "Open X-ray images"), self.settings.last_folder,
            file_filter())
        if files:
            self.open_paths(files)

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, translate("ClassifyPage", "Open a folder of X-ray images"),
            self.settings.last_folder)
        if folder:
            self.open_paths([folder])

    def shutdown(self) -> None:
        """Stop the run and the loops (the window is closing)."""
        self.viewing.close()
        self.session.shutdown()

    # ---------------------------------------------------------------- what the session says
    @Slot(object)
    def _on_model_changed(self, model: Any) -> None:
        self.show_model_status()
        self.modelChanged.emit(model)
        if model is not None:
            self.viewing.refresh()

    @Slot(object, object)
    def _on_site_checked(self, result: Any, folder: Any) -> None:
        """The banner above the table: a new site is a warning with the way to validate
        there; a familiar one a short note; too few films nothing."""
        self._site_folder = folder
        self.site_check = result
        if result is None or result.verdict == TOO_FEW:
            self.table_panel.site_box.setVisible(False)
        elif result.is_new:
            set_banner(self.table_panel.site_banner, translate(
                "ClassifyPage",
                "Site check: new site, {0} of {1} films unlike the reference: these films "
                "differ from those the model was checked on; its threshold is not valid here: "
                "validate it on your own labelled films (distance {2} against {3}; called "
                "COVID {4})").format(
                    integer(result.unlike), integer(result.n), number(result.statistic, 2),
                    number(result.cut, 2), percent(result.covid_share)), "warning")
            self.table_panel.site_button.setVisible(True)
            self.table_panel.site_box.setVisible(True)
        else:
            where = result.source[len("site profile "):] if result.source.startswith(
                "site profile ") else ""
            text = translate("ClassifyPage", "Site check: familiar, matches site profile {0} "
                             "({1} films)").format(where, integer(result.n)) if where else \
                translate("ClassifyPage", "Site check: familiar: these films resemble those "
                          "the model was checked on ({0} films)").format(integer(result.n))
            set_banner(self.table_panel.site_banner, text, "ok")
            self.table_panel.site_button.setVisible(False)
            self.table_panel.site_box.setVisible(True)
        self.siteShown.emit(result)

    def show_model_status(self) -> None:
        s = self.session
        if s.model_state == READY:
            m = s.model
            text = translate("ClassifyPage", "Model: {0} · threshold {1}").format(
                m.display_name, number(m.threshold, 3))
            if not m.card.site:
                text += translate("ClassifyPage", " · threshold from public collections, not "
                                  "validated at this site")
            if m.frontal is None:
                text += translate("ClassifyPage", " · frontal-film check: lung anatomy only "
                                  "(no classifier fitted for this model)")
            self.model_label.setText(text)
            self.model_label.setToolTip(str(s.model_path))
            self.device_label.setText(translate("ClassifyPage", "Device: {0}").format(s.device))
        elif s.model_state == LOADING:
            self.model_label.setText(translate("ClassifyPage", "Loading model…"))
            self.device_label.setText(translate("ClassifyPage", "Device: starting TensorFlow…"))
        else:
            self.model_label.setText(translate("ClassifyPage", "No model: {0}")
                                     .format(core_text(s.model_note)))
            self.model_label.setToolTip(f"{s.model_path}\n{core_text(s.model_note)}")
            self.device_label.setText(translate("ClassifyPage", "Device: —"))
        self._show_count()

    def _show_count(self) -> None:
        self.count_label.setText(translate("ClassifyPage", "{0} done")
                                 .format(integer(self.results.count_done())))

    @Slot(int)
    def _on_classified(self, row: int) -> None:
        self._show_count()
        if row == self.viewing.current_row:
            self.viewing.refresh()

    @Slot()
    def _on_idle(self) -> None:
        self.show_model_status()
        self.classificationFinished.emit()
