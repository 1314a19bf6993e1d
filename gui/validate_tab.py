"""The Validate page: measure the active model on the site's own labelled films, choose an
operating point, keep the evidence (site profile, PDF report), and adapt when it falls short.

A thin skin over :mod:`core.evaluation.validation`: the files are classified by the classify engine on
a worker, the bootstrap is drawn once per run, and moving the operating point recomputes
only the rates. Nothing is written until the user saves a profile or a report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.evaluation.validation import (
    LabelledSet,
    SiteAnalysis,
    SiteMetrics,
    analyse,
    indeterminate,
    not_assessed,
    open_labelled,
    provenance,
    run_validation,
)
from gui.banner import set_banner
from gui.i18n import integer, interval_text, interval_texts, number, translate
from gui.i18n.core_text import core_text
from gui.lazy_page import LazyPage
from gui.model_store import ModelStore
from gui.workers import Control, TaskSlot, Worker, WorkerSet

# ---------------------------------------------------------------------------------------
# Jobs (worker threads)


def scan_labels_job(control: Control, folder: str, labels_csv: str | None,
                    positive: str | None) -> LabelledSet:
    return open_labelled(folder, labels_csv, positive)


def validate_job(control: Control, model: Any, labelled: LabelledSet) -> SiteAnalysis | None:
    run = run_validation(model, labelled, on_progress=control.progress,
                         should_stop=control.should_stop)
    if run is None:
        return None
    control.progress(len(labelled.files), len(labelled.files),
                     translate("ValidateTab", "drawing the bootstrap…"))
    return analyse(run)


# ---------------------------------------------------------------------------------------
# Tables


class RowsModel(QAbstractTableModel):
    """A read-only table of strings with tooltips (the page's small summary tables)."""

    def __init__(self, headers: tuple[str, ...], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = headers
        self.rows: list[tuple[str, ...]] = []
        self.tips: list[str] = []

    def set_rows(self, rows: list[tuple[str, ...]], tips: list[str] | None = None) -> None:
        self.beginResetModel()
        self.rows = [tuple(str(c) for c in r) for r in rows]
        self.tips = tips or [""] * len(rows)
        self.endResetModel()

    def cell(self, row_label: str, column: int) -> str:
        for r in self.rows:
            if r[0] == row_label:
                return r[column]
        raise KeyError(row_label)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return translate("ValidateTab", self.headers[section])
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tips[index.row()] or None
        return None


def make_table(model: RowsModel, stretch_last: bool = True) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().hide()
    view.setSelectionMode(QTableView.SelectionMode.NoSelection)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(stretch_last)
    return view


METRIC_TIPS = {
    "ROC AUC": QT_TRANSLATE_NOOP(
        "ValidateTab", "How well the scores rank COVID above not-COVID films, at any threshold"),
    "Sensitivity": QT_TRANSLATE_NOOP(
        "ValidateTab", "Share of COVID films called COVID at this threshold"),
    "Specificity": QT_TRANSLATE_NOOP(
        "ValidateTab", "Share of not-COVID films called NOT COVID at this threshold"),
    "PPV": QT_TRANSLATE_NOOP(
        "ValidateTab",
        "Of the films called COVID, the share that are COVID (at the prevalence shown)"),
    "NPV": QT_TRANSLATE_NOOP(
        "ValidateTab",
        "Of the films called NOT COVID, the share that are not COVID (at the prevalence)"),
    "Accuracy": QT_TRANSLATE_NOOP("ValidateTab", "Share of all assessed films called right"),
}
#: The metrics table's row names (English keys, translated when shown).
METRIC_NAMES = (
    QT_TRANSLATE_NOOP("ValidateTab", "ROC AUC"),
    QT_TRANSLATE_NOOP("ValidateTab", "Threshold"),
    QT_TRANSLATE_NOOP("ValidateTab", "Sensitivity"),
    QT_TRANSLATE_NOOP("ValidateTab", "Specificity"),
    QT_TRANSLATE_NOOP("ValidateTab", "PPV"),
    QT_TRANSLATE_NOOP("ValidateTab", "NPV"),
    QT_TRANSLATE_NOOP("ValidateTab", "Accuracy"),
)


class SaveProfileDialog(QDialog):
    """Name the site; optionally refit the calibration on its films."""

    def __init__(self, threshold: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("ValidateTab", "Save as site profile"))
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(translate("ValidateTab", "e.g. St Mary's ICU, portable films"))
        self.recalibrate = QCheckBox(translate("ValidateTab", "Refit the probabilities' calibration on these films"))
        self.recalibrate.setToolTip(
            translate("ValidateTab", "The same films are called COVID either way; the probabilities shown become "
            "those observed at this site. Fitted on the films it is then judged on, so its "
            "calibration looks better here than it will on new films."))
        form = QFormLayout(self)
        form.addRow(translate("ValidateTab", "Site name"), self.name_edit)
        form.addRow(QLabel(translate(
            "ValidateTab", "Threshold {0}. The model's weights and its own card are not "
            "changed; the profile is a new card beside them.").format(number(threshold, 4))))
        form.addRow(self.recalibrate)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.name_edit.textChanged.connect(lambda t: buttons.button(
            QDialogButtonBox.StandardButton.Save).setEnabled(bool(t.strip())))
        buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)


# ---------------------------------------------------------------------------------------
# The page


class ValidateTab(LazyPage):
    """Open a labelled folder, validate, move the operating point, save and report."""

    #: The labels were read (a LabelledSet) or could not be (None; see ``message``).
    labelsRead = Signal(object)
    #: A validation finished: its SiteAnalysis, or None (failed or cancelled).
    validated = Signal(object)
    #: The operating point moved: the new SiteMetrics.
    pointChanged = Signal(object)
    profileSaved = Signal(str)
    #: The user chose to classify with this model or profile (its path).
    model_activated = Signal(str)
    reportWritten = Signal(str)
    #: "Fine-tune on this site": (folder, positive class, model path).
    fineTuneRequested = Signal(str, str, str)

    def __init__(self, store: ModelStore, workers: WorkerSet | None = None,
                 model: Any = None, model_path: Path | None = None, lazy: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.workers = workers if workers is not None else WorkerSet(self)
        self._model, self._model_path = model, model_path
        self._labelled: LabelledSet | None = None
        self._labels_csv: str | None = None
        self._analysis: SiteAnalysis | None = None
        self._metrics: SiteMetrics | None = None
        self._task = TaskSlot(self.workers, self)  # reading labels, or validating
        # The model (path and card) behind the results shown, which may no longer be the
        # active one: profiles and reports name what was measured.
        self._run_model_path: Path | None = None
        self._run_card: Any = None
        self._pending: tuple[Path | None, Any] = (None, None)
        self._threshold = 0.5
        self._on_cancel: Any = None
        if not lazy:
            self.ensure_built()

    def build(self) -> None:
        self._build_ui()
        self._refresh_profiles()
        self._update_controls()

    # ---------------------------------------------------------------- construction
    def _build_ui(self) -> None:
        self.folder_edit = QLineEdit()
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText(translate("ValidateTab", "A labelled folder: one sub-folder per class, "
                                            "or any folder with a labels CSV"))
        self.choose_button = QPushButton(translate("ValidateTab", "Choose folder…"))
        self.choose_button.clicked.connect(self.choose_folder)
        self.csv_button = QPushButton(translate("ValidateTab", "Labels CSV…"))
        self.csv_button.setToolTip(translate("ValidateTab", "Optional: a CSV of filename,label (and patient, scanner, "
                                   "site or view columns), names relative to the folder"))
        self.csv_button.clicked.connect(self.choose_labels_csv)
        self.positive_combo = QComboBox()
        self.positive_combo.setToolTip(translate("ValidateTab", "The label that means COVID; every other label is "
                                       "not COVID"))
        self.positive_combo.activated.connect(self._on_positive_chosen)
        self.run_button = QPushButton(translate("ValidateTab", "Validate"))
        self.run_button.clicked.connect(self.toggle_run)
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
        set_banner(self.message, translate("ValidateTab", "Validate the active model on your own labelled X-rays "
                   "before relying on its numbers: choose a folder."), "info")

        # Operating point
        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setDecimals(4)
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setKeyboardTracking(False)
        # The spin box shows 4 decimals; the operating point keeps the exact value picked
        # on the curve (a film scoring 0.49528 must not change sides at 0.4953).
        self.threshold_spin.valueChanged.connect(self.set_threshold)
        self.sens_spin = QDoubleSpinBox()
        self.sens_spin.setRange(0.0, 1.0)
        self.sens_spin.setSingleStep(0.01)
        self.sens_spin.setValue(0.95)
        self.sens_button = QPushButton(translate("ValidateTab", "Meet"))
        self.sens_button.setToolTip(translate("ValidateTab", "The most specific threshold with at least this "
                                    "sensitivity on these films"))
        self.sens_button.clicked.connect(lambda: self.meet_target(
            sensitivity=self.sens_spin.value()))
        self.spec_spin = QDoubleSpinBox()
        self.spec_spin.setRange(0.0, 1.0)
        self.spec_spin.setSingleStep(0.01)
        self.spec_spin.setValue(0.90)
        self.spec_button = QPushButton(translate("ValidateTab", "Meet"))
        self.spec_button.setToolTip(translate("ValidateTab", "The most sensitive threshold with at least this "
                                    "specificity on these films"))
        self.spec_button.clicked.connect(lambda: self.meet_target(
            specificity=self.spec_spin.value()))
        self.model_threshold_button = QPushButton(translate("ValidateTab", "Model's threshold"))
        self.model_threshold_button.clicked.connect(self.reset_threshold)
        self.prevalence_check = QCheckBox(translate("ValidateTab", "Expected prevalence"))
        self.prevalence_check.setToolTip(translate("ValidateTab", "PPV and NPV depend on how common COVID is among the "
                                         "films you will screen; unchecked, the folder's own "
                                         "share is used"))
        self.prevalence_spin = QDoubleSpinBox()
        self.prevalence_spin.setRange(0.001, 0.999)
        self.prevalence_spin.setDecimals(3)
        self.prevalence_spin.setSingleStep(0.01)
        self.prevalence_spin.setValue(0.10)
        self.prevalence_spin.setKeyboardTracking(False)
        self.prevalence_check.toggled.connect(self._on_prevalence_changed)
        self.prevalence_spin.valueChanged.connect(self._on_prevalence_changed)
        point = QGridLayout()
        point.addWidget(QLabel(translate("ValidateTab", "Threshold")), 0, 0)
        point.addWidget(self.threshold_spin, 0, 1)
        point.addWidget(self.model_threshold_button, 0, 2)
        point.addWidget(QLabel(translate("ValidateTab", "Target sensitivity")), 1, 0)
        point.addWidget(self.sens_spin, 1, 1)
        point.addWidget(self.sens_button, 1, 2)
        point.addWidget(QLabel(translate("ValidateTab", "Target specificity")), 2, 0)
        point.addWidget(self.spec_spin, 2, 1)
        point.addWidget(self.spec_button, 2, 2)
        point.addWidget(self.prevalence_check, 3, 0)
        point.addWidget(self.prevalence_spin, 3, 1)
        point_box = QGroupBox(translate("ValidateTab", "Operating point (or drag on the ROC curve or the threshold line)"))
        point_box.setLayout(point)

        # Headers are translated when shown (RowsModel.headerData).
        self.metrics_model = RowsModel((QT_TRANSLATE_NOOP("ValidateTab", "Measure"), QT_TRANSLATE_NOOP("ValidateTab", "Value"),
                                        QT_TRANSLATE_NOOP("ValidateTab", "95% interval")), self)
        self.classes_model = RowsModel((
            QT_TRANSLATE_NOOP("ValidateTab", "Class"), QT_TRANSLATE_NOOP("ValidateTab", "Images"),
            QT_TRANSLATE_NOOP("ValidateTab", "Assessed"), QT_TRANSLATE_NOOP("ValidateTab", "Not assessed"),
            QT_TRANSLATE_NOOP("ValidateTab", "Errors")), self)
        self.subgroups_model = RowsModel((
            QT_TRANSLATE_NOOP("ValidateTab", "Sub-group"), "COVID", QT_TRANSLATE_NOOP("ValidateTab", "Not COVID"),
            QT_TRANSLATE_NOOP("ValidateTab", "Not assessed"), QT_TRANSLATE_NOOP("ValidateTab", "AUC (95% CI)"),
            QT_TRANSLATE_NOOP("ValidateTab", "Sensitivity"), QT_TRANSLATE_NOOP("ValidateTab", "Specificity")), self)
        self.left_model = RowsModel((QT_TRANSLATE_NOOP("ValidateTab", "File"), QT_TRANSLATE_NOOP("ValidateTab", "Class"),
                                     QT_TRANSLATE_NOOP("ValidateTab", "Why")), self)
        self.metrics_view = make_table(self.metrics_model)
        self.tables = QTabWidget()
        self.tables.addTab(self.metrics_view, translate("ValidateTab", "Metrics"))
        self.tables.addTab(make_table(self.classes_model), translate("ValidateTab", "Data"))
        self.tables.addTab(make_table(self.subgroups_model), translate("ValidateTab", "By sub-group"))
        self.tables.addTab(make_table(self.left_model), translate("ValidateTab", "Not assessed"))
        self.indeterminate_model = RowsModel((
            QT_TRANSLATE_NOOP("ValidateTab", "File"), QT_TRANSLATE_NOOP("ValidateTab", "Class"),
            QT_TRANSLATE_NOOP("ValidateTab", "P(COVID)"),
            QT_TRANSLATE_NOOP("ValidateTab", "Interval over views")), self)
        self.tables.addTab(make_table(self.indeterminate_model),
                           translate("ValidateTab", "Indeterminate"))
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)

        self.save_button = QPushButton(translate("ValidateTab", "Save as site profile…"))
        self.save_button.setToolTip(translate("ValidateTab", "Keep this threshold (and the evidence behind it) as a "
                                    "profile of the model; the weights are not changed"))
        self.save_button.clicked.connect(self.open_save_dialog)
        self.report_button = QPushButton(translate("ValidateTab", "Write report…"))
        self.report_button.clicked.connect(self.choose_report)
        self.adapt_button = QPushButton(translate("ValidateTab", "Fine-tune on this site…"))
        self.adapt_button.setToolTip(translate("ValidateTab", "Open the Train page with this folder and the active "
                                     "model; a patient-grouped test part is kept apart and "
                                     "used for a before/after comparison"))
        self.adapt_button.clicked.connect(self.request_fine_tune)
        actions = QHBoxLayout()
        for b in (self.save_button, self.report_button, self.adapt_button):
            actions.addWidget(b)

        self.profiles_combo = QComboBox()
        self.use_profile_button = QPushButton(translate("ValidateTab", "Use"))
        self.use_profile_button.clicked.connect(self.use_selected_profile)
        self.remove_profile_button = QPushButton(translate("ValidateTab", "Remove"))
        self.remove_profile_button.clicked.connect(self.remove_selected_profile)
        self.profiles_combo.currentIndexChanged.connect(lambda _i: self._update_controls())
        prof = QHBoxLayout()
        prof.addWidget(self.profiles_combo, 1)
        prof.addWidget(self.use_profile_button)
        prof.addWidget(self.remove_profile_button)
        prof_box = QGroupBox(translate("ValidateTab", "Site profiles"))
        prof_box.setLayout(prof)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(point_box)
        lv.addWidget(self.summary_label)
        lv.addWidget(self.tables, 1)
        lv.addLayout(actions)
        lv.addWidget(prof_box)

        from gui.validation_plots import ValidationPlots

        self.plots = ValidationPlots()
        self.plots.thresholdPicked.connect(self.set_threshold)
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

    # ---------------------------------------------------------------- model
    def set_model(self, model: Any, path: Path | None) -> None:
        """The model the classify page uses (None while it loads)."""
        changed = path != self._model_path
        self._model, self._model_path = model, path
        if not self._built:
            return
        if changed and self._analysis is not None:
            set_banner(self.message, translate(
                "ValidateTab", "The results below were measured with {0}; the active model is "
                "now {1}. Validate again to measure it.").format(
                    self._analysis.run.model_name, getattr(model, "display_name", path)),
                "warning")
        self._refresh_profiles()
        self._update_controls()

    # ---------------------------------------------------------------- data
    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, translate("ValidateTab", "Choose a labelled folder"),
                                                  self.folder_edit.text())
        if folder:
            self.set_folder(folder)

    @Slot()
    def choose_labels_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, translate("ValidateTab", "Choose a labels CSV (filename,label)"),
                                              self.folder_edit.text(),
                                              translate("ValidateTab", "CSV (*.csv)"))
        if path:
            folder = self.folder_edit.text() or str(Path(path).parent)
            self.set_folder(folder, path)

    def set_folder(self, folder: str | Path, labels_csv: str | Path | None = None,
                   positive: str | None = None) -> None:
        """Read the labels of ``folder`` (on a worker); nothing is classified yet."""
        self.ensure_built()
        self.folder_edit.setText(str(folder))
        self._labels_csv = str(labels_csv) if labels_csv else None
        self._labelled = None
        self._set_analysis(None)
        self.positive_combo.clear()
        self._start(Worker(scan_labels_job, str(folder), self._labels_csv, positive,
                           parent=self), self._on_labels_read,
                    translate("ValidateTab", "reading the labels…"))

    @Slot(int)
    def _on_positive_chosen(self, _index: int) -> None:
        name = self.positive_combo.currentText()
        if self._labelled is not None and name and name != self._labelled.positive:
            self.set_folder(self.folder_edit.text(), self._labels_csv, name)

    def _on_labels_read(self, labelled: LabelledSet) -> None:
        self._labelled = labelled
        self.positive_combo.clear()
        self.positive_combo.addItems(list(labelled.classes))
        self.positive_combo.setCurrentText(labelled.positive)
        counts = ", ".join(f"{k} {integer(v)}" for k, v in labelled.counts().items())
        text = (translate("ValidateTab", "{0} labelled images ({1}; {2}, patients named).")
                if labelled.grouped else
                translate("ValidateTab", "{0} labelled images ({1}; {2}).")).format(
            integer(len(labelled.files)), counts, core_text(labelled.layout))
        if labelled.subgroup_keys:
            text += " " + translate("ValidateTab", "Sub-groups: {0}.").format(
                ", ".join(labelled.subgroup_keys))
        if labelled.warnings:
            set_banner(self.message, text + "<br>" + "<br>".join(map(core_text, labelled.warnings)), "warning")
        else:
            set_banner(self.message, text + " " + translate("ValidateTab", "Press Validate."),
                       "info")
        self.labelsRead.emit(labelled)

    # ---------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        return self._task.busy()

    @Slot()
    def toggle_run(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.start()

    def start(self) -> bool:
        if self._labelled is None or self._model is None:
            return False
        self._set_analysis(None)
        self._pending = (self._model_path, self._model.card)
        self.progress.setRange(0, len(self._labelled.files))
        self._start(Worker(validate_job, self._model, self._labelled, low_priority=True,
                           parent=self), self._on_validated,
                    translate("ValidateTab", "classifying…"),
                    on_cancel=lambda: self._on_validated(None))
        return True

    @Slot()
    def cancel(self) -> None:
        """Stop the task; a validation stopped before its result says nothing was measured."""
        if not self._task.busy():
            return
        self._task.cancel()
        on_cancel, self._on_cancel = self._on_cancel, None
        if on_cancel is not None:
            on_cancel()
        self._ended()

    def _start(self, worker: Worker, on_result: Any, what: str, on_cancel: Any = None) -> None:
        """One task at a time: the slot cancels the last and cuts its signals off.
        ``on_cancel`` runs when the user cancels this task before it returns a result."""
        self._on_cancel = on_cancel
        self._task.start(worker, returned=lambda r: self._got(r, on_result),
                         errored=self._on_error, progress=self._on_progress,
                         finished=self._ended)
        self.progress.setFormat(what)
        self._update_controls()

    def _got(self, result: Any, on_result: Any) -> None:
        self._on_cancel = None  # it finished: a late cancel has nothing to undo
        on_result(result)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{integer(done)}/{integer(total)} "
                                    f"{message if '…' in message else ''}")

    def _on_validated(self, analysis: SiteAnalysis | None) -> None:
        if analysis is None:
            set_banner(self.message, translate("ValidateTab", "Validation cancelled; nothing was measured."), "info")
        else:
            self._run_model_path, self._run_card = self._pending
        self._set_analysis(analysis)
        self.validated.emit(analysis)

    def _on_error(self, exc: BaseException) -> None:
        set_banner(self.message, str(exc), "error")
        # Reading the labels failed, or (with labels read) the validation did.
        (self.labelsRead if self._labelled is None else self.validated).emit(None)

    def _ended(self) -> None:
        """The task ended by itself, failed, or was cancelled."""
        self._on_cancel = None
        self.progress.setFormat("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._update_controls()

    # ---------------------------------------------------------------- results
    def _set_analysis(self, analysis: SiteAnalysis | None) -> None:
        self._analysis = analysis
        self._metrics = None
        if analysis is None:
            self.plots.set_analysis(None, None)
            for m in (self.metrics_model, self.classes_model, self.subgroups_model,
                      self.left_model, self.indeterminate_model):
                m.set_rows([])
            self.summary_label.setText("")
            self._update_controls()
            return
        self._show_threshold(analysis.run.threshold)
        self._recompute()
        m = self._metrics
        assert m is not None
        self.plots.set_analysis(analysis, m)
        self.classes_model.set_rows([
            (c.name + (" (COVID)" if c.positive else ""), integer(c.total), integer(c.assessed),
             integer(c.refused), integer(c.errors)) for c in m.classes])
        left = [(f.path.name, f.class_name, core_text(p.message))
                for f, p in not_assessed(analysis.run)]
        left += [(Path(p).name, "", core_text(why)) for p, why in analysis.run.labelled.excluded]
        self.left_model.set_rows(left)
        self.tables.setTabText(3, translate("ValidateTab", "Not assessed ({0})")
                               .format(integer(len(left))))
        # no hard call (issue #21): listed apart; they stay in the metrics by their score
        apart = indeterminate(analysis.run)
        self.indeterminate_model.set_rows([
            (f.path.name, f.class_name, number(p.probability or 0.0, 3),
             f"{number(p.p_low or 0.0, 2)}–{number(p.p_high or 0.0, 2)}") for f, p in apart])
        self.tables.setTabText(4, translate("ValidateTab", "Indeterminate ({0})")
                               .format(integer(len(apart))))
        level = "warning" if m.warnings else "ok"
        text = (translate("ValidateTab", "Measured {0} on {1} assessed films (95% intervals "
                          "from {2} bootstrap resamples of patients).") if m.grouped else
                translate("ValidateTab", "Measured {0} on {1} assessed films (95% intervals "
                          "from {2} bootstrap resamples of images).")).format(
            analysis.run.model_name, integer(m.assessed), integer(m.resamples))
        if m.warnings:
            text += "<br>" + "<br>".join(map(core_text, m.warnings))
        set_banner(self.message, text, level)
        self._update_controls()

    def _recompute(self) -> None:
        a = self._analysis
        if a is None:
            return
        prevalence = self.prevalence_spin.value() if self.prevalence_check.isChecked() else None
        m = a.metrics(self._threshold, prevalence)
        self._metrics = m
        pt = m.point
        rows = [("ROC AUC", *interval_texts(m.auc)), ("Threshold", number(pt.threshold, 4), "")]
        for label, iv in (("Sensitivity", pt.sensitivity), ("Specificity", pt.specificity),
                          ("PPV", pt.ppv), ("NPV", pt.npv), ("Accuracy", pt.accuracy)):
            rows.append((label, *interval_texts(iv)))
        tips = [translate("ValidateTab", METRIC_TIPS[r[0]]) if r[0] in METRIC_TIPS else ""
                for r in rows]
        self.metrics_model.set_rows(
            [(translate("ValidateTab", r[0]), *r[1:]) for r in rows], tips)
        self.subgroups_model.set_rows([
            (f"{s.key} = {s.value}", integer(s.positives), integer(s.negatives),
             integer(s.not_assessed), interval_text(s.auc), interval_text(s.sensitivity),
             interval_text(s.specificity)) for s in m.subgroups])
        prev = (translate("ValidateTab", "typed prevalence {0}") if pt.prevalence_given
                else translate("ValidateTab", "this folder's prevalence {0}")).format(
            number(pt.prevalence, 3))
        self.summary_label.setText(translate(
            "ValidateTab", "At threshold {0}: TP {1}, FN {2}, FP {3}, TN {4}. PPV and NPV at "
            "{5}. Calibration error (ECE) {6}.").format(
                number(pt.threshold, 4), integer(pt.tp), integer(pt.fn), integer(pt.fp),
                integer(pt.tn), prev, number(m.ece, 3)))
        self.plots.set_point(pt)
        self.pointChanged.emit(m)

    @Slot(float)
    def set_threshold(self, threshold: float) -> None:
        """Move the operating point (spin box, ROC drag, threshold line, targets)."""
        self._show_threshold(threshold)
        self._recompute()
        self._update_controls()

    def _show_threshold(self, threshold: float) -> None:
        self._threshold = float(threshold)
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(threshold)
        self.threshold_spin.blockSignals(False)

    def meet_target(self, sensitivity: float | None = None,
                    specificity: float | None = None) -> None:
        if self._analysis is not None:
            self.set_threshold(self._analysis.threshold_for(sensitivity, specificity))

    @Slot()
    def reset_threshold(self) -> None:
        if self._analysis is not None:
            self.set_threshold(self._analysis.run.threshold)

    @Slot()
    def _on_prevalence_changed(self, *_: Any) -> None:
        self.prevalence_spin.setEnabled(self.prevalence_check.isChecked())
        self._recompute()

    @property
    def analysis(self) -> SiteAnalysis | None:
        return self._analysis

    @property
    def metrics(self) -> SiteMetrics | None:
        return self._metrics

    # ---------------------------------------------------------------- profiles
    def _rule(self) -> str:
        a, m = self._analysis, self._metrics
        if a is None or m is None:
            return ""
        if abs(m.point.threshold - a.run.threshold) < 1e-12:
            # Kept in the profile (a file other sites read): English, as the CSV.
            return "the model's own threshold, confirmed on the site's films"
        return (f"threshold {m.point.threshold:.4f} chosen on the site's films (sensitivity "
                f"{m.point.sensitivity.value:.3f}, specificity {m.point.specificity.value:.3f})")

    @Slot()
    def open_save_dialog(self) -> SaveProfileDialog | None:
        if self._metrics is None:
            return None
        dialog = SaveProfileDialog(self._metrics.point.threshold, self)
        dialog.accepted.connect(lambda: self.save_profile(dialog.name_edit.text(),
                                                          dialog.recalibrate.isChecked()))
        dialog.open()
        return dialog

    def save_profile(self, site: str, recalibrate: bool = False) -> Path | None:
        """Write a site profile of the model that was validated (not of whichever model is
        active now) with the current operating point."""
        from core.model.calibration import fit_platt
        from core.model.profiles import make_profile, profile_path, save_profile

        a, m = self._analysis, self._metrics
        if a is None or m is None or self._run_model_path is None:
            return None
        try:
            card = make_profile(self._run_model_path, site, m.point.threshold,
                                provenance(a, m, self._rule()),
                                fit_platt(a.y, a.p) if recalibrate else None)
            # the films validated here become the site check's reference for this profile
            ref = a.run.site.as_reference(f"site profile {site.strip()}") if a.run.site else None
            path = save_profile(card, profile_path(self.store.profiles_dir, site), ref)
        except Exception as exc:  # a disk or model problem: say it, keep the results
            set_banner(self.message, translate("ValidateTab", "Could not save the profile: {0}")
                       .format(exc), "error")
            return None
        self._refresh_profiles(select=path)
        set_banner(self.message, translate(
            "ValidateTab", "Saved site profile “{0}” (threshold {1}). Press Use to classify "
            "with it.").format(card.name, number(card.threshold, 4)), "ok")
        self.profileSaved.emit(str(path))
        return path

    def _refresh_profiles(self, select: Path | None = None) -> None:
        current = select or self.profiles_combo.currentData()
        self.profiles_combo.blockSignals(True)
        self.profiles_combo.clear()
        for e in self.store.profiles():
            mark = "✓ " if self._model_path is not None and e.path == self._model_path else ""
            self.profiles_combo.addItem(mark + e.label, str(e.path))
            self.profiles_combo.setItemData(self.profiles_combo.count() - 1,
                                            f"{e.path}\n{e.notes}", Qt.ItemDataRole.ToolTipRole)
        if not self.profiles_combo.count():
            self.profiles_combo.setPlaceholderText(translate("ValidateTab", "none yet: validate, then save one"))
        i = self.profiles_combo.findData(str(current)) if current else -1
        self.profiles_combo.setCurrentIndex(max(i, 0) if self.profiles_combo.count() else -1)
        self.profiles_combo.blockSignals(False)
        self._update_controls()

    @Slot()
    def use_selected_profile(self) -> None:
        path = self.profiles_combo.currentData()
        if not path:
            return
        entry = self.store.entry(path)
        if not entry.usable:
            set_banner(self.message, translate("ValidateTab", "Cannot use {0}: {1}")
                       .format(entry.name, core_text(entry.problem)), "error")
            return
        self.store.set_active(path)
        set_banner(self.message, translate("ValidateTab", "Classifying with “{0}” from now on.")
                   .format(entry.name), "ok")
        self.model_activated.emit(str(path))

    @Slot()
    def remove_selected_profile(self) -> None:
        from core.model.profiles import remove_profile

        path = self.profiles_combo.currentData()
        if not path:
            return
        if self._model_path is not None and Path(path) == self._model_path:
            set_banner(self.message, translate("ValidateTab", "This profile is in use: choose another model or "
                       "profile first."), "warning")
            return
        remove_profile(path)
        self._refresh_profiles()

    # ---------------------------------------------------------------- report & adapt
    @Slot()
    def choose_report(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, translate("ValidateTab", "Write the validation report"),
                                              "validation-report.pdf",
                                              translate("ValidateTab", "PDF (*.pdf)"))
        if path:
            self.write_report(path)

    def write_report(self, path: str | Path) -> Path | None:
        from gui.report import write_report

        a, m = self._analysis, self._metrics
        if a is None or m is None or self._run_card is None:
            return None
        try:
            out = write_report(path, a, m, self._run_card, self._run_model_path or "")
        except OSError as exc:
            QMessageBox.warning(self, translate("ValidateTab", "Report not written"),
                                translate("ValidateTab", "Could not write {0}: {1}")
                                .format(path, exc))
            return None
        set_banner(self.message, translate("ValidateTab", "Wrote the report to {0}.").format(out),
                   "ok")
        self.reportWritten.emit(str(out))
        return out

    @Slot()
    def request_fine_tune(self) -> None:
        if self._labelled is None or self._run_model_path is None:
            return
        self.fineTuneRequested.emit(str(self._labelled.root), self._labelled.positive,
                                    str(self._run_model_path))

    # ---------------------------------------------------------------- state
    def _update_controls(self) -> None:
        running = self.running
        has = self._analysis is not None
        self.run_button.setText(translate("ValidateTab", "Cancel") if running
                                else translate("ValidateTab", "Validate"))
        self.run_button.setEnabled(running or (self._labelled is not None
                                               and self._model is not None))
        self.run_button.setToolTip("" if self._model is not None
                                   else translate("ValidateTab", "The model is loading"))
        for w in (self.choose_button, self.csv_button, self.positive_combo):
            w.setEnabled(not running)
        for w in (self.threshold_spin, self.sens_button, self.spec_button,
                  self.model_threshold_button, self.prevalence_check, self.save_button,
                  self.report_button, self.adapt_button):
            w.setEnabled(has and not running)
        self.prevalence_spin.setEnabled(has and self.prevalence_check.isChecked())
        selected = self.profiles_combo.currentData()
        self.use_profile_button.setEnabled(bool(selected) and (
            self._model_path is None or Path(selected) != self._model_path))
        self.remove_profile_button.setEnabled(bool(selected))

    def shutdown(self) -> None:
        """Stop this page's task and wait for it (the window is closing)."""
        current = self._task.current
        self._task.cancel()
        if current is not None:
            current.wait()


def install(window: Any, store: ModelStore, training: Any = None) -> ValidateTab:
    """Add the Validate page to the main window (built when first shown): it measures the
    model the classify page uses, a profile it activates is loaded there, and "Fine-tune on
    this site" hands the folder to the Train page (``training``)."""
    tab = ValidateTab(store, window.workers, window.model, window.model_path, lazy=True,
                      parent=window)
    window.add_tab(tab, translate("ValidateTab", "Validate"))
    window.modelChanged.connect(lambda model: tab.set_model(model, window.model_path))
    tab.model_activated.connect(window.set_model_path)

    def validate_here(folder: str) -> None:  # the site check's "Validate on these films…"
        window.tabs.setCurrentWidget(tab)
        if folder:
            tab.set_folder(folder)

    window.validateRequested.connect(validate_here)
    if training is not None:
        def fine_tune(folder: str, positive: str, model_path: str) -> None:
            training.prefill_site(folder, positive, model_path)
            window.tabs.setCurrentWidget(training)

        tab.fineTuneRequested.connect(fine_tune)
    return tab
