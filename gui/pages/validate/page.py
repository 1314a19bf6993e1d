"""The Validate page: measure the active model on the site's own labelled films, choose an
operating point, keep the evidence (site profile, PDF report), and adapt when it falls short.

A thin skin over :mod:`core.evaluation.validation`: the :class:`ValidateSession` holds the
state and runs the work on a worker (the bootstrap is drawn once per run; moving the
operating point recomputes only the rates); this page and its panels only show it.
Nothing is written until the user saves a profile or a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.evaluation.validation import SiteAnalysis, SiteMetrics
from gui.i18n import integer, number, translate
from gui.pages.validate.dialog import SaveProfileDialog
from gui.pages.validate.panels import PointPanel, ProfilesPanel, ResultTables
from gui.pages.validate.session import ValidateSession
from gui.services.model_library import ModelLibrary
from gui.services.workers import WorkerSet
from gui.widgets.banner import set_banner
from gui.widgets.buttons import push_button
from gui.widgets.lazy_page import LazyPage


class ValidateTab(LazyPage):
    """Open a labelled folder, validate, move the operating point, save and report.

    Built when first shown; ``session`` works before that (the site check's "Validate on
    these films…" may hand it a folder at any time)."""

    def __init__(self, library: ModelLibrary, workers: WorkerSet | None = None,
                 model: Any = None, model_path: Path | None = None, lazy: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        workers = workers if workers is not None else WorkerSet(self)
        self.session = ValidateSession(library, workers, model, model_path, self)
        if not lazy:
            self.ensure_built()

    def build(self) -> None:
        s = self.session
        self._build_ui()
        s.message.connect(self._show_message)
        s.labelsRead.connect(self._on_labels_read)
        s.analysisChanged.connect(self._show_analysis)
        s.pointChanged.connect(self._show_point)
        s.progress.connect(self._show_progress)
        s.stateChanged.connect(self._update_controls)
        # What the session holds already (a folder handed over before the page was shown).
        self.folder_edit.setText(s.folder)
        if s.labelled is not None:
            self._on_labels_read(s.labelled)
        if s.analysis is not None:
            self._show_analysis(s.analysis)
            if s.metrics is not None:
                self._show_point(s.metrics)
        self.profiles.refresh()
        self._update_controls()

    # ---------------------------------------------------------------- construction
    def _build_ui(self) -> None:
        s = self.session
        self.folder_edit = QLineEdit()
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText(translate(
            "ValidateTab", "A labelled folder: one sub-folder per class, or any folder with "
            "a labels CSV"))
        self.choose_button = push_button(translate("ValidateTab", "Choose folder…"),
                                         self.choose_folder)
        self.csv_button = push_button(
            translate("ValidateTab", "Labels CSV…"), self.choose_labels_csv, translate(
                "ValidateTab", "Optional: a CSV of filename,label (and patient, scanner, site "
                "or view columns), names relative to the folder"))
        self.positive_combo = QComboBox()
        self.positive_combo.setToolTip(translate(
            "ValidateTab", "The label that means COVID; every other label is not COVID"))
        self.positive_combo.activated.connect(
            lambda _i: s.choose_positive(self.positive_combo.currentText()))
        self.run_button = push_button(translate("ValidateTab", "Validate"), self.toggle_run)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        top = QHBoxLayout()
        top.addWidget(QLabel(translate("ValidateTab", "Folder")))
        top.addWidget(self.folder_edit, 1)
        top.addWidget(self.choose_button)
        top.addWidget(self.csv_button)
        top.addWidget(QLabel(translate("ValidateTab", "COVID is")))
        top.addWidget(self.positive_combo)
        top.addWidget(self.run_button)
        top.addWidget(self.progress)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_banner(self.message, translate(
            "ValidateTab", "Validate the active model on your own labelled X-rays before "
            "relying on its numbers: choose a folder."), "info")

        self.point = PointPanel(s)
        self.tables = ResultTables()
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)

        self.save_button = push_button(
            translate("ValidateTab", "Save as site profile…"), self.open_save_dialog, translate(
                "ValidateTab", "Keep this threshold (and the evidence behind it) as a profile "
                "of the model; the weights are not changed"))
        self.report_button = push_button(translate("ValidateTab", "Write report…"),
                                         self.choose_report)
        self.adapt_button = push_button(
            translate("ValidateTab", "Fine-tune on this site…"), s.request_fine_tune, translate(
                "ValidateTab", "Open the Train page with this folder and the active model; a "
                "patient-grouped test part is kept apart and used for a before/after "
                "comparison"))
        actions = QHBoxLayout()
        for b in (self.save_button, self.report_button, self.adapt_button):
            actions.addWidget(b)

        self.profiles = ProfilesPanel(s)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.point)
        lv.addWidget(self.summary_label)
        lv.addWidget(self.tables, 1)
        lv.addLayout(actions)
        lv.addWidget(self.profiles)

        from gui.pages.validate.plots import ValidationPlots

        self.plots = ValidationPlots()
        self.plots.thresholdPicked.connect(s.set_threshold)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("validateSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.plots)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)

        layout = self.layout()
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.splitter, 1)

    # ---------------------------------------------------------------- what the user does
    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, translate("ValidateTab", "Choose a labelled folder"), self.folder_edit.text())
        if folder:
            self.set_folder(folder)

    @Slot()
    def choose_labels_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, translate("ValidateTab", "Choose a labels CSV (filename,label)"),
            self.folder_edit.text(), translate("ValidateTab", "CSV (*.csv)"))
        if path:
            self.set_folder(self.folder_edit.text() or str(Path(path).parent), path)

    def set_folder(self, folder: str | Path, labels_csv: str | Path | None = None) -> None:
        """Show the page's folder and have the session read its labels."""
        self.ensure_built()
        self.folder_edit.setText(str(folder))
        self.positive_combo.clear()
        self.session.set_folder(folder, labels_csv)

    @Slot()
    def toggle_run(self) -> None:
        if self.session.running:
            self.session.cancel()
        else:
            self.session.start()

    @Slot()
    def open_save_dialog(self) -> SaveProfileDialog | None:
        m = self.session.metrics
        if m is None:
            return None
        dialog = SaveProfileDialog(m.point.threshold, self)
        dialog.accepted.connect(lambda: self.session.save_profile(
            dialog.name_edit.text(), dialog.recalibrate.isChecked()))
        dialog.open()
        return dialog

    @Slot()
    def choose_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, translate("ValidateTab", "Write the validation report"),
            "validation-report.pdf", translate("ValidateTab", "PDF (*.pdf)"))
        if path:
            self.write_report(path)

    def write_report(self, path: str | Path) -> Path | None:
        try:
            return self.session.write_report(path)
        except OSError as exc:
            QMessageBox.warning(self, translate("ValidateTab", "Report not written"),
                                translate("ValidateTab", "Could not write {0}: {1}")
                                .format(path, exc))
            return None

    # ---------------------------------------------------------------- what the session says
    @Slot(str, str)
    def _show_message(self, text: str, level: str) -> None:
        set_banner(self.message, text, level)

    def _on_labels_read(self, labelled: Any) -> None:
        if labelled is None:
            return
        self.positive_combo.clear()
        self.positive_combo.addItems(list(labelled.classes))
        self.positive_combo.setCurrentText(labelled.positive)

    def _show_progress(self, done: int, total: int, what: str) -> None:
        bar = self.progress
        if total > 0:
            bar.setRange(0, total)
            bar.setValue(done)
            bar.setFormat(f"{integer(done)}/{integer(total)} {what if '…' in what else ''}")
        elif what:  # a task starts
            bar.setFormat(what)
        else:  # it ended
            bar.setFormat("")
            bar.setRange(0, 1)
            bar.setValue(0)

    def _show_analysis(self, analysis: SiteAnalysis | None) -> None:
        m = self.session.metrics
        if analysis is None or m is None:
            self.plots.set_analysis(None, None)
            self.tables.clear_rows()
            self.summary_label.setText("")
            return
        self.plots.set_analysis(analysis, m)
        self.tables.show_analysis(analysis, m)

    def _show_point(self, m: SiteMetrics) -> None:
        pt = m.point
        self.point.show_threshold(pt.threshold)
        self.tables.show_point(m)
        prev = (translate("ValidateTab", "typed prevalence {0}") if pt.prevalence_given
                else translate("ValidateTab", "this folder's prevalence {0}")).format(
            number(pt.prevalence, 3))
        self.summary_label.setText(translate(
            "ValidateTab", "At threshold {0}: TP {1}, FN {2}, FP {3}, TN {4}. PPV and NPV at "
            "{5}. Calibration error (ECE) {6}.").format(
                number(pt.threshold, 4), integer(pt.tp), integer(pt.fn), integer(pt.fp),
                integer(pt.tn), prev, number(m.ece, 3)))
        self.plots.set_point(pt)

    def _update_controls(self) -> None:
        s = self.session
        running, has = s.running, s.analysis is not None
        self.run_button.setText(translate("ValidateTab", "Cancel") if running
                                else translate("ValidateTab", "Validate"))
        self.run_button.setEnabled(running or (s.labelled is not None and s.model is not None))
        self.run_button.setToolTip("" if s.model is not None
                                   else translate("ValidateTab", "The model is loading"))
        for w in (self.choose_button, self.csv_button, self.positive_combo):
            w.setEnabled(not running)
        self.point.set_enabled(has and not running)
        for w in (self.save_button, self.report_button, self.adapt_button):
            w.setEnabled(has and not running)
        self.profiles.update_buttons()

    def shutdown(self) -> None:
        """Stop this page's task and wait for it (the window is closing)."""
        self.session.shutdown()
