"""The Dataset box of the training page: the folder, images per class and split, the
positive class, the check's progress and what stops training. It shows the session's
``dataset`` and hands it what the user does; it keeps no state of its own."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import integer, translate
from gui.i18n.core_text import core_text
from gui.pages.train.session import TrainingSession
from gui.pages.train.tables import CountsModel

MAX_LISTED = 200  # unreadable files / duplicate pairs listed one per row

SKIP_TIP = QT_TRANSLATE_NOOP("DatasetPanel",
                             "Leave unreadable files out of training (they are listed above).")
DUPS_TIP = QT_TRANSLATE_NOOP(
    "DatasetPanel", "Train although the same picture sits in two splits. Validation and test "
    "scores will then be too optimistic.")


class DatasetPanel(QGroupBox):
    """Choose a folder; see its classes, counts, positive class and problems."""

    def __init__(self, session: TrainingSession, settings: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(translate("DatasetPanel", "Dataset"), parent)
        self.session = session
        self.settings = settings
        self.folder_edit = QLineEdit()
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText(translate("DatasetPanel", "one sub-folder per class"))
        self.choose_button = QPushButton(translate("DatasetPanel", "Choose folder…"))
        self.choose_button.setToolTip(
            translate("DatasetPanel", "A folder with one sub-folder per class (e.g. COVID, Normal), optionally inside "
            "train/val/test folders, with an optional manifest.csv"))
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.choose_button)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        self.split_label.setStyleSheet("color: palette(placeholder-text);")
        self.counts_model = CountsModel(self)
        self.counts_view = _counts_view(self.counts_model)
        self.positive_combo = QComboBox()
        self.positive_combo.setToolTip(translate("DatasetPanel", "The class the model calls COVID; every other class is "
                                       "NOT COVID"))
        self.positive_combo.setPlaceholderText(translate("DatasetPanel", "— choose —"))
        pos_row = QHBoxLayout()
        pos_row.addWidget(QLabel(translate("DatasetPanel", "Positive class:")))
        pos_row.addWidget(self.positive_combo, 1)
        self.check_progress = QProgressBar()
        self.check_progress.setVisible(False)
        self.problems_list = QListWidget()
        self.problems_list.setWordWrap(True)
        self.problems_list.setMinimumHeight(60)
        self.problems_list.setMaximumHeight(110)
        self.problems_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.skip_check = QCheckBox(translate("DatasetPanel", "Skip unreadable files"))
        self.skip_check.setToolTip(translate("DatasetPanel", SKIP_TIP))
        self.dups_check = QCheckBox(translate("DatasetPanel", "Train despite near-duplicates across splits"))
        self.dups_check.setToolTip(translate("DatasetPanel", DUPS_TIP))
        for c in (self.skip_check, self.dups_check):
            c.setVisible(False)
        dv = QVBoxLayout(self)
        dv.addLayout(row)
        dv.addWidget(self.split_label)
        dv.addWidget(self.counts_view)
        dv.addLayout(pos_row)
        dv.addWidget(self.check_progress)
        dv.addWidget(self.problems_list)
        dv.addWidget(self.skip_check)
        dv.addWidget(self.dups_check)

        dataset = session.dataset
        self.choose_button.clicked.connect(self.choose_folder)
        self.positive_combo.activated.connect(self._on_positive_chosen)
        self.skip_check.toggled.connect(dataset.set_skip_unreadable)
        self.dups_check.toggled.connect(dataset.set_ignore_duplicates)
        dataset.checkProgressed.connect(self._on_check_progress)
        session.datasetChanged.connect(self.show_dataset)
        session.stateChanged.connect(self.update_controls)

    @Slot()
    def choose_folder(self) -> None:
        start = self.folder_edit.text() or (self.settings.last_folder if self.settings else "")
        folder = QFileDialog.getExistingDirectory(
            self, translate("DatasetPanel", "Choose a dataset folder (one sub-folder per class)"), start)
        if folder:
            self.session.set_dataset(folder)

    @Slot(int)
    def _on_positive_chosen(self, i: int) -> None:
        if i >= 0:
            self.session.set_positive(self.positive_combo.itemText(i))

    @Slot(int, int, str)
    def _on_check_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.check_progress.setRange(0, total)
            self.check_progress.setValue(done)
            self.check_progress.setFormat(f"{translate('TrainJobs', message)}: %v / %m")
        else:
            self.check_progress.setRange(0, 0)
            self.check_progress.setFormat(translate("TrainJobs", message))

    @Slot()
    def show_dataset(self) -> None:
        """Show the folder, its counts, its positive class and its problems."""
        d = self.session.dataset
        folder = str(d.folder) if d.folder is not None else ""
        self.folder_edit.setText(folder)
        self.folder_edit.setToolTip(folder)
        index = d.scan.index if d.scan is not None else None
        self.counts_model.set_index(index, d.positive_known or index is None)
        self.positive_combo.clear()
        if index is not None:
            self.positive_combo.addItems(index.classes)
            self.positive_combo.setCurrentIndex(
                index.classes.index(index.positive) if d.positive_known else -1)
        self.split_label.setText(translate("DatasetPanel", "Splits: {0}.").format(
            core_text(index.split_source)) if index else "")
        for box, checked in ((self.skip_check, d.skip_unreadable),
                             (self.dups_check, d.ignore_duplicates)):
            box.blockSignals(True)
            box.setChecked(checked)
            box.blockSignals(False)
        if d.checking and self.check_progress.isHidden():
            self.check_progress.setRange(0, 0)
            self.check_progress.setFormat(translate("DatasetPanel", "checking images…"))
        self.check_progress.setVisible(d.checking)
        self._show_problems()

    def _show_problems(self) -> None:
        d = self.session.dataset
        blocking, notes = d.problems()
        lst = self.problems_list
        lst.clear()
        style = self.style()
        icons = {
            "error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            "ok": style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
        }
        for text in blocking:
            lst.addItem(QListWidgetItem(icons["error"], text))
        for text in notes:
            lst.addItem(QListWidgetItem(icons["warning"], text))
        c = d.check
        if c is not None:
            for path, why in c.unreadable[:MAX_LISTED]:
                item = QListWidgetItem(f"    {path.name}: {core_text(why)}")
                item.setToolTip(str(path))
                lst.addItem(item)
            for a, b, sim in c.duplicates[:MAX_LISTED]:
                item = QListWidgetItem(f"    {a.name} ≈ {b.name} ({sim:.3f})")
                item.setToolTip(f"{a}\n{b}")
                lst.addItem(item)
            hidden = (max(len(c.unreadable) - MAX_LISTED, 0)
                      + max(len(c.duplicates) - MAX_LISTED, 0))
            if hidden:
                lst.addItem("    " + translate("DatasetPanel", "… and {0} more").format(hidden))
        if c is not None and not blocking and not notes:
            n = sum(len(s.labels) for s in c.decoded.splits.values())
            lst.addItem(QListWidgetItem(icons["ok"], translate(
                "DatasetPanel", "All {0} images read; no problems found.").format(integer(n))))
        self.skip_check.setVisible(bool(c and c.unreadable))
        self.dups_check.setVisible(bool(c and c.duplicates))

    @Slot()
    def update_controls(self) -> None:
        training, d = self.session.training, self.session.dataset
        for w in (self.choose_button, self.skip_check, self.dups_check):
            w.setEnabled(not training)
        self.positive_combo.setEnabled(not training and not d.busy and d.scan is not None)


def _counts_view(model: CountsModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    hh = view.horizontalHeader()
    hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    view.setMaximumHeight(150)
    return view
