"""The results of a run on the training page: the confusion matrix, ROC and metrics of a
split, the threshold and unusual-film cut-offs, the before/after table of a site
fine-tune, and "Save as…" / "Use this model". It shows the session's result."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.model.ood import RULE
from gui.i18n import integer, interval_text, number, translate
from gui.pages.train.save_dialog import SaveModelDialog
from gui.pages.train.session import TrainingSession
from gui.pages.train.tables import MetricsModel
from gui.widgets.plots import ConfusionMatrixPlot, RocPlot
from gui.widgets.rows import RowsModel, make_table


class ResultsPanel(QStackedWidget):
    """A placeholder until a run ends, then its results."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.save_dialog: SaveModelDialog | None = None
        self.split_combo = QComboBox()
        self.split_combo.setToolTip(translate("ResultsPanel", "Which split the confusion matrix and ROC describe"))
        self.save_button = QPushButton(translate("ResultsPanel", "Save as…"))
        self.save_button.setToolTip(translate("ResultsPanel", "Write the model and its card to your model folder"))
        self.use_button = QPushButton(translate("ResultsPanel", "Use this model"))
        self.use_button.setToolTip(translate("ResultsPanel", "Classify with the model you just saved (the previous one "
                                   "stays in the model list)"))
        self.result_title = QLabel("")
        f = self.result_title.font()
        f.setBold(True)
        self.result_title.setFont(f)
        rhead = QHBoxLayout()
        rhead.addWidget(self.result_title, 1)
        rhead.addWidget(QLabel(translate("ResultsPanel", "Show:")))
        rhead.addWidget(self.split_combo)
        rhead.addWidget(self.save_button)
        rhead.addWidget(self.use_button)
        self.confusion = ConfusionMatrixPlot()
        self.roc = RocPlot()
        self.metrics_model = MetricsModel(self)
        self.metrics_view = _metrics_view(self.metrics_model)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setSizePolicy(QSizePolicy.Policy.Preferred,
                                         QSizePolicy.Policy.Minimum)
        grid = QHBoxLayout()
        grid.addWidget(self.confusion, 3)
        grid.addWidget(self.roc, 3)
        grid.addWidget(self.metrics_view, 4)
        results = QWidget()
        rv = QVBoxLayout(results)
        rv.setContentsMargins(6, 0, 6, 6)
        rv.addLayout(rhead)
        rv.addLayout(grid, 1)
        rv.addWidget(self.summary_label)
        # "Fine-tune on this site": the start model and the new one on the kept-apart part.
        self.compare_title = QLabel("")
        self.compare_title.setWordWrap(True)
        self.compare_model = RowsModel((QT_TRANSLATE_NOOP("ValidateTab", "Measure"),
                                        QT_TRANSLATE_NOOP("ValidateTab", "Before"),
                                        QT_TRANSLATE_NOOP("ValidateTab", "After")), "ValidateTab", self)
        self.compare_view = make_table(self.compare_model)
        self.compare_view.setMaximumHeight(140)
        for w in (self.compare_title, self.compare_view):
            w.setVisible(False)
            rv.addWidget(w)
        placeholder = QLabel(translate("ResultsPanel", "The confusion matrix, ROC curve, threshold and metrics appear "
                             "here when training ends."))
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setWordWrap(True)
        placeholder.setStyleSheet("color: palette(placeholder-text);")
        self.addWidget(placeholder)
        self.addWidget(results)
        self._connect()

    def _connect(self) -> None:
        session = self.session
        self.split_combo.currentIndexChanged.connect(self._show_split)
        self.save_button.clicked.connect(self.open_save_dialog)
        self.use_button.clicked.connect(lambda: session.use_model(session.saved_path))
        session.runStarted.connect(self.clear)
        session.trained.connect(self.show_result)
        session.comparing.connect(self._on_comparing)
        session.compared.connect(self._show_comparison)
        session.stateChanged.connect(self.update_controls)

    @Slot()
    def clear(self) -> None:
        self.setCurrentIndex(0)
        self.confusion.set_confusion(None)
        self.roc.set_metrics(None)
        self.metrics_model.set_metrics([])
        self.summary_label.setText("")
        self.compare_model.set_rows([])
        for w in (self.compare_title, self.compare_view):
            w.setVisible(False)

    @Slot(object)
    def show_result(self, result: Any) -> None:
        """The metrics of both splits, the threshold and cut-offs, and the test split's
        confusion matrix and ROC (the validation split's when there is no test split)."""
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        if result.test:
            self.split_combo.addItem(translate("ResultsPanel", "Test split"), "test")
        if result.val:
            self.split_combo.addItem(translate("ResultsPanel", "Validation split"), "val")
        self.split_combo.blockSignals(False)
        # Column keys, translated by MetricsModel's header.
        self.metrics_model.set_metrics([(QT_TRANSLATE_NOOP("TrainModels", "Validation"),
                                         result.val), ("Test", result.test)])
        card, ood = result.card, result.ood
        # The card's threshold rule and core's OOD rule are recorded data: shown as written.
        lines = [translate("ResultsPanel", "<b>Threshold {0}</b>: {1}.").format(
            number(card.threshold, 3), card.threshold_rule)]
        if ood is not None:
            lines.append(translate(
                "ResultsPanel", "<b>Unusual-film cut-offs</b>: feature distance {0}, thumbnail "
                "residual {1}; structure {2}. <b>The rule</b>: {3}.").format(
                    f"{ood.feat_cut:.3g}", f"{ood.thumb_cut:.3g}", f"{ood.structure_cut:.3g}",
                    RULE))
        warnings = card.training.get("warnings") or []
        if warnings:
            lines.append(translate("ResultsPanel", "<b>Warnings</b>: {0}.").format(
                "; ".join(warnings)))
        self.summary_label.setText("<br>".join(lines))
        self.setCurrentIndex(1)
        self._show_split()
        self.update_controls()

    @Slot()
    def _show_split(self, *_: Any) -> None:
        r = self.session.result
        if r is None:
            return
        key = self.split_combo.currentData() or "val"
        m = r.test if key == "test" else r.val
        name = translate("ResultsPanel", "test split") if key == "test" \
            else translate("ResultsPanel", "validation split")
        self.result_title.setText(translate("ResultsPanel", "Results on the {0}").format(name))
        self.confusion.set_confusion(asdict(m.confusion) if m else None)
        self.roc.set_metrics(m, name)

    @Slot(bool)
    def _on_comparing(self, running: bool) -> None:
        if running:
            self.compare_title.setText(translate("ResultsPanel", "Measuring the start model and the fine-tuned one on "
                                       "this site's test part…"))
            self.compare_title.setVisible(True)
        elif self.session.comparison is None:  # it failed: the message line says why
            self.compare_title.setVisible(False)

    @Slot(object)
    def _show_comparison(self, compared: Any) -> None:
        before, after = compared["before"], compared["after"]
        rows = []
        for label, get in (("ROC AUC", lambda m: m.auc),
                           (translate("ResultsPanel", "Sensitivity"),
                            lambda m: m.point.sensitivity),
                           (translate("ResultsPanel", "Specificity"),
                            lambda m: m.point.specificity),
                           (translate("ResultsPanel", "Accuracy"), lambda m: m.point.accuracy)):
            rows.append((label, interval_text(get(before)), interval_text(get(after))))
        rows.append((translate("ResultsPanel", "Threshold"),
                     number(before.point.threshold, 4), number(after.point.threshold, 4)))
        rows.append((translate("ResultsPanel", "Assessed films"),
                     integer(before.assessed), integer(after.assessed)))
        self.compare_model.set_rows(rows)
        self.compare_title.setText(translate(
            "ResultsPanel", "<b>Before/after on this site's test part</b> (kept out of "
            "training; 95% bootstrap intervals): before = {0}, after = the fine-tuned model. "
            "Overlapping intervals mean the data cannot tell them apart.").format(
                before.model_name))
        self.compare_view.setVisible(True)

    @Slot()
    def open_save_dialog(self) -> SaveModelDialog | None:
        """Ask for a name and notes, then save (on a worker)."""
        result = self.session.result
        if result is None:
            return None
        dialog = SaveModelDialog(result.card.name, self.session.store.user_dir, self)
        dialog.accepted.connect(lambda: self.session.save_as(dialog.name, dialog.notes))
        dialog.open()
        self.save_dialog = dialog
        return dialog

    @Slot()
    def update_controls(self) -> None:
        s = self.session
        has_result = s.result is not None and not s.training
        self.save_button.setEnabled(has_result and not s.saving)
        self.use_button.setEnabled(has_result and s.saved_path is not None
                                   and s.saved_path != s.setup.active)
        self.split_combo.setEnabled(has_result)


def _metrics_view(model: MetricsModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(20)
    view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    mh = view.horizontalHeader()
    mh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    mh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    view.setMinimumWidth(260)
    return view
