"""The training tab: retrain the network on a hospital's own images, without a terminal.

Left: the dataset (classes, counts per split, positive class, problems), the recipe (the
seed's values by default) and one Start/Stop button. Right: live loss and accuracy curves,
then the confusion matrix, ROC, threshold, metrics and unusual-film cut-offs, with "Save as…" and
"Use this model". Scanning, decoding, training and saving run on ``gui.workers.Worker``;
the numbers come from ``core`` (``core.training.recipe.TrainConfig`` defaults, the model cards).
Nothing is written, and the active model does not change, until the user saves and
chooses to use the new model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.errors import Cancelled, CovidCXRError, user_message
from core.evaluation import targets
from core.evaluation.evaluate import Evaluation
from core.evaluation.metrics import Metrics
from core.model.card import read_card
from core.model.ood import RULE
from core.training.recipe import TrainConfig, transfer_recipe
from gui import training_jobs as tj
from gui.banner import set_banner
from gui.lazy_page import LazyPage
from gui.model_store import ModelStore
from gui.validate_tab import RowsModel, make_table
from gui.workers import Worker, WorkerSet

DEFAULTS = TrainConfig()  # the seed's recipe
TRANSFER = transfer_recipe()  # the bundled model's recipe (ImageNet backbone)
SCRATCH = "scratch"
IMAGENET = "imagenet"
MAX_LISTED = 200  # unreadable files / duplicate pairs listed one per row

def _augment_key(cfg: TrainConfig) -> str:
    """The augmentation combo's entry for a recipe."""
    return "strong" if cfg.strong_augment else "flip" if cfg.flip else "none"


TIPS = {
    "start": "Start from the weights of an existing model (fine-tuning: fastest, needs fewer "
             "images; its input size and preprocessing are kept), from the ImageNet backbone "
             "(EfficientNet-Lite0: the head is fitted first, then the top blocks are "
             "fine-tuned; the recipe of the bundled model), or from random weights.",
    "epochs": "The most passes over the training images. Early stopping usually ends sooner.",
    "batch": "Images per training step. Smaller uses less memory (try it after an out-of-"
             "memory error); larger is smoother but may generalise worse.",
    "lr": "Adam learning rate: how big each weight update is. Too high and the loss "
          "jumps about; too low and training crawls.",
    "patience": "Early stopping: stop after this many epochs without the validation loss "
                "improving by at least the minimum change. The best epoch's weights are kept.",
    "delta": "Early stopping: the smallest drop in validation loss that counts as progress.",
    "augment": "Random changes to the training images so the network learns the lungs, not "
               "one scanner's look. Flips: the seed's left-right flips. Strong: flips plus "
               "contrast, gamma, blur, noise, JPEG, crop/scale and small rotations.",
    "strategy": "Where to train (TensorFlow's tf.distribute). The batch size is per device, "
                "so with two GPUs each step sees twice as many images. Several machines: "
                "covidcxr train --strategy multiworker (see the README).",
    "weights": "Weight each class by its rarity so an imbalanced dataset does not teach the "
               "network to always answer the larger class.",
    "skip": "Leave unreadable files out of training (they are listed above).",
    "dups": "Train although the same picture sits in two splits. Validation and test "
            "scores will then be too optimistic.",
}


class _TrainingEvents(QObject):
    """Signals the training job emits from its thread (Qt queues them to the GUI)."""

    epoch = Signal(object)
    batches = Signal(object)
    stage = Signal(str)


class CountsModel(QAbstractTableModel):
    """Images per class and split, with the positive class marked."""

    HEADERS = ("Class", "Role", "Train", "Val", "Test", "Total")
    SPLITS = ("train", "val", "test")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str, list[int]]] = []

    def set_index(self, index: Any | None, positive_known: bool = True) -> None:
        self.beginResetModel()
        self._rows = []
        if index is not None:
            counts = index.counts()
            for c in index.classes:
                n = [counts[s][c] for s in self.SPLITS]
                role = ("?" if not positive_known else
                        "positive" if c == index.positive else "negative")
                self._rows.append((c, role, [*n, sum(n)]))
            totals = [sum(r[2][i] for r in self._rows) for i in range(4)]
            self._rows.append(("All classes", "", totals))
        self.endResetModel()

    def count(self, split: str, class_name: str) -> int | None:
        """The number shown for a class and split (``split`` may be ``total``)."""
        col = {"train": 0, "val": 1, "test": 2, "total": 3}[split]
        for name, _, n in self._rows:
            if name == class_name:
                return n[col]
        return None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        name, kind, n = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return name if col == 0 else kind if col == 1 else n[col - 2]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and (kind == "positive" or not kind):
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and col >= 2 and n[col - 2] == 0 and kind:
            return "no images of this class in this split"
        return None


def _sentence(text: str) -> str:
    """A core message as a sentence for the banner: capital first, full stop last."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.{digits}f}"


def _pct(v: Any) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.1%}"


def _ood(e: Evaluation | None, name: str) -> str:
    value = getattr(e.ood, name, None) if e is not None and e.ood is not None else None
    return "" if value is None else _pct(value)


class MetricsModel(QAbstractTableModel):
    """The metrics table: one row per measure, one column per split. A column holds the
    split's metrics and, for the test split, the probes and refusal rates."""

    ROWS: tuple[tuple[str, str, Callable[[Metrics, Evaluation | None], str]], ...] = (
        ("Images", "positive + negative",
         lambda m, e: f"{m.n} ({m.positives} + {m.negatives})"),
        ("ROC AUC", "area under the ROC curve (threshold-free)", lambda m, e: _num(m.auc)),
        ("Threshold", "probability at or above which an image is called COVID",
         lambda m, e: _num(m.threshold)),
        ("Sensitivity", "share of COVID images called COVID", lambda m, e: _num(m.sensitivity)),
        ("Specificity", "share of other images called NOT COVID",
         lambda m, e: _num(m.specificity)),
        ("Precision", "share of COVID calls that are right", lambda m, e: _num(m.precision)),
        ("Accuracy", "share of all calls that are right", lambda m, e: _num(m.accuracy)),
        ("F1", "harmonic mean of precision and sensitivity", lambda m, e: _num(m.f1)),
        ("Calibration error", "expected calibration error (ECE): how far probabilities are "
         "from observed frequencies", lambda m, e: _num(m.ece)),
        ("AUC, lungs hidden", "shortcut probe: AUC with the central 70% blacked out. Near "
         "0.5 is good; high means the model reads something outside the lungs "
         f"({targets.LUNGS_HIDDEN_AUC.text()})",
         lambda m, e: _num(e.probe.lungs_hidden_auc) if e else ""),
        ("AUC, lungs only", "shortcut probe: AUC with only the central 70% shown "
         f"({targets.LUNGS_ONLY_AUC.text()})",
         lambda m, e: _num(e.probe.lungs_only_auc) if e else ""),
        ("X-rays refused", "share of this split's X-rays refused as not a frontal chest "
         f"X-ray (NOT ASSESSED; {targets.XRAY_REFUSED.text()})",
         lambda m, e: _ood(e, "xray_refused")),
        ("X-rays flagged unusual", "share of this split's X-rays assessed but flagged "
         "unusual for the model (far from its training images)",
         lambda m, e: _ood(e, "xray_unusual")),
        ("Non-X-rays refused", "share of synthetic non-X-ray pictures refused as not a "
         f"frontal chest X-ray ({targets.NON_XRAY_REFUSED.text()})",
         lambda m, e: _ood(e, "non_xray_refused")),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cols: list[tuple[str, Metrics, Evaluation | None]] = []

    def set_metrics(self, columns: list[tuple[str, Metrics | Evaluation | None]]) -> None:
        self.beginResetModel()
        self._cols = [
            (name, r.metrics, r) if isinstance(r, Evaluation) else (name, r, None)
            for name, r in columns if r is not None
        ]
        self.endResetModel()

    def value(self, row_label: str, column: str) -> str:
        for r, (label, _, _) in enumerate(self.ROWS):
            if label == row_label:
                for c, (name, _, _) in enumerate(self._cols):
                    if name == column:
                        return self.data(self.index(r, c + 1))
        raise KeyError((row_label, column))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() or not self._cols else len(self.ROWS)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else 1 + len(self._cols)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return "Measure" if section == 0 else self._cols[section - 1][0]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        label, tip, fn = self.ROWS[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return label
            _, metrics, evaluation = self._cols[col - 1]
            return fn(metrics, evaluation)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tip
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class SaveModelDialog(QDialog):
    """Name and notes for a trained model (both go into its card)."""

    def __init__(self, name: str, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save trained model")
        self.name_edit = QLineEdit(name)
        self.name_edit.setToolTip("Shown in the model list and the classify window")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("What data, which hospital, why this run…")
        self.notes_edit.setTabChangesFocus(True)
        where = QLabel(f"Saved in {folder} with its model card.")
        where.setWordWrap(True)
        where.setStyleSheet("color: palette(placeholder-text);")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.name_edit.textChanged.connect(
            lambda t: buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(
                bool(t.strip())))
        form = QFormLayout(self)
        form.addRow("Name:", self.name_edit)
        form.addRow("Notes:", self.notes_edit)
        form.addRow(where)
        form.addRow(buttons)
        self.resize(460, 260)

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def notes(self) -> str:
        return self.notes_edit.toPlainText().strip()


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
    #: After "Fine-tune on this site": [before, after] ``core.evaluation.validation.Compared``.
    siteCompared = Signal(object)

    def __init__(self, store: ModelStore | None = None, workers: WorkerSet | None = None,
                 settings: Any = None, input_size: int | None = None,
                 max_train_batches: int | None = None, lazy: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else ModelStore()
        self.workers = workers if workers is not None else WorkerSet(self)
        self.settings = settings
        self._scratch_size = input_size or DEFAULTS.input_size
        self._transfer_recipe_shown = False
        self._max_train_batches = max_train_batches

        self._token = 0  # dataset generation: results of an older folder are ignored
        self._scanner: Worker | None = None
        self._checker: Worker | None = None
        self._scanned: tj.Scanned | None = None
        self._check: tj.DatasetCheck | None = None
        self._scan_error = ""
        self._positive_chosen = False

        self._trainer: Worker | None = None
        self._request: tj.TrainingRequest | None = None
        self._run_result: Any = None
        self._result: Any = None
        self._saver: Worker | None = None
        self._saved: Path | None = None
        self._active = self.store.active_path()
        self._steps = 1
        self._epochs_total = 0
        self._t_first_batch = 0.0

        self._site: tuple[str, str, Path] | None = None  # folder, positive, validated model
        self._pending_positive: str | None = None
        self._mine: set[Worker] = set()
        self._events = _TrainingEvents(self)
        self._events.epoch.connect(self._on_epoch)
        self._events.batches.connect(self._on_batches)
        self._events.stage.connect(self._on_stage)

        if not lazy:
            self.ensure_built()

    def build(self) -> None:
        self._build_ui()
        self._refresh_models()
        self._update_controls()

    # ---------------------------------------------------------------- construction
    def _build_ui(self) -> None:
        from gui.training_plots import ConfusionMatrixPlot, LiveTrainingPlots, RocPlot

        # Dataset ----------------------------------------------------------------------
        self.folder_edit = QLineEdit()
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText("one sub-folder per class")
        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.setToolTip(
            "A folder with one sub-folder per class (e.g. COVID, Normal), optionally inside "
            "train/val/test folders, with an optional manifest.csv")
        self.choose_button.clicked.connect(self.choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.choose_button)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        self.split_label.setStyleSheet("color: palette(placeholder-text);")
        self.counts_model = CountsModel(self)
        self.counts_view = QTableView()
        self.counts_view.setModel(self.counts_model)
        self.counts_view.verticalHeader().setVisible(False)
        self.counts_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.counts_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        hh = self.counts_view.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.counts_view.setMaximumHeight(150)
        self.positive_combo = QComboBox()
        self.positive_combo.setToolTip("The class the model calls COVID; every other class is "
                                       "NOT COVID")
        self.positive_combo.setPlaceholderText("— choose —")
        self.positive_combo.activated.connect(self._on_positive_chosen)
        pos_row = QHBoxLayout()
        pos_row.addWidget(QLabel("Positive class:"))
        pos_row.addWidget(self.positive_combo, 1)
        self.check_progress = QProgressBar()
        self.check_progress.setVisible(False)
        self.problems_list = QListWidget()
        self.problems_list.setWordWrap(True)
        self.problems_list.setMinimumHeight(60)
        self.problems_list.setMaximumHeight(110)
        self.problems_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.skip_check = QCheckBox("Skip unreadable files")
        self.skip_check.setToolTip(TIPS["skip"])
        self.dups_check = QCheckBox("Train despite near-duplicates across splits")
        self.dups_check.setToolTip(TIPS["dups"])
        for c in (self.skip_check, self.dups_check):
            c.setVisible(False)
            c.toggled.connect(self._show_problems)
        data_box = QGroupBox("Dataset")
        dv = QVBoxLayout(data_box)
        dv.addLayout(row)
        dv.addWidget(self.split_label)
        dv.addWidget(self.counts_view)
        dv.addLayout(pos_row)
        dv.addWidget(self.check_progress)
        dv.addWidget(self.problems_list)
        dv.addWidget(self.skip_check)
        dv.addWidget(self.dups_check)

        # Recipe -----------------------------------------------------------------------
        self.start_combo = QComboBox()
        self.start_combo.setToolTip(TIPS["start"])
        self.start_combo.currentIndexChanged.connect(self._on_start_point_changed)
        self.input_label = QLabel("")
        self.input_label.setWordWrap(True)
        self.input_label.setStyleSheet("color: palette(placeholder-text);")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10_000)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.patience_spin = QSpinBox()
        self.patience_spin.setRange(1, 10_000)
        self.delta_spin = QDoubleSpinBox()
        self.delta_spin.setDecimals(4)
        self.delta_spin.setRange(0.0, 10.0)
        self.delta_spin.setSingleStep(0.001)
        self.augment_combo = QComboBox()
        self.augment_combo.addItem("Off", "none")
        self.augment_combo.addItem("Left-right flips", "flip")
        self.augment_combo.addItem("Strong (flips, contrast, blur, noise…)", "strong")
        self.weights_check = QCheckBox("Balance classes")
        self.strategy_combo = QComboBox()
        self.strategy_combo.addItem("Automatic (every GPU when there are several)", "auto")
        self.strategy_combo.addItem("One device", "one")
        self.strategy_combo.addItem("Every GPU of this computer (mirrored)", "mirrored")
        self.defaults_button = QPushButton("Seed defaults")
        self.defaults_button.setToolTip("Put back the seed recipe's values")
        self.defaults_button.clicked.connect(self.reset_recipe)
        recipe_box = QGroupBox("Recipe")
        form = QFormLayout(recipe_box)
        for label, widget, tip in (
            ("Start from:", self.start_combo, "start"),
            ("", self.input_label, "start"),
            ("Epochs (at most):", self.epochs_spin, "epochs"),
            ("Batch size:", self.batch_spin, "batch"),
            ("Learning rate:", self.lr_spin, "lr"),
            ("Early-stop patience:", self.patience_spin, "patience"),
            ("Early-stop min change:", self.delta_spin, "delta"),
            ("Augmentation:", self.augment_combo, "augment"),
            ("Class weights:", self.weights_check, "weights"),
            ("Devices:", self.strategy_combo, "strategy"),
        ):
            widget.setToolTip(TIPS[tip])
            if label:
                lab = QLabel(label)
                lab.setToolTip(TIPS[tip])
                form.addRow(lab, widget)
            else:
                form.addRow(widget)
        form.addRow(self.defaults_button)
        self.reset_recipe()

        # Run --------------------------------------------------------------------------
        self.run_button = QPushButton("Start training")
        self.run_button.setMinimumHeight(34)
        f = self.run_button.font()
        f.setBold(True)
        self.run_button.setFont(f)
        self.run_button.clicked.connect(self.toggle_run)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.message = QLabel("Choose a dataset folder to begin.")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._set_message("Choose a dataset folder to begin.", "info")

        # Models -----------------------------------------------------------------------
        self.models_combo = QComboBox()
        self.models_combo.setToolTip("Models you can classify with: the bundled model and "
                                     "the ones you saved (✓ = in use)")
        self.models_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.models_combo.setMinimumContentsLength(16)
        self.use_selected_button = QPushButton("Use")
        self.use_selected_button.setToolTip("Classify with the selected model")
        self.use_selected_button.clicked.connect(
            lambda: self.use_model(self.models_combo.currentData()))
        self.models_combo.currentIndexChanged.connect(lambda _: self._update_controls())
        self.restore_button = QPushButton("Restore bundled model")
        self.restore_button.setToolTip("Classify with the model that ships with CovidCXR")
        self.restore_button.clicked.connect(lambda: self.use_model(self.store.bundled))
        models_box = QGroupBox("Models")
        mv = QVBoxLayout(models_box)
        mrow = QHBoxLayout()
        mrow.addWidget(self.models_combo, 1)
        mrow.addWidget(self.use_selected_button)
        mv.addLayout(mrow)
        mv.addWidget(self.restore_button)

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 6, 6, 6)
        lv.addWidget(data_box)
        lv.addWidget(recipe_box)
        lv.addWidget(models_box)
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
        run_box = QVBoxLayout()
        run_box.setContentsMargins(6, 0, 0, 0)
        run_box.addWidget(self.run_button)
        run_box.addWidget(self.progress)
        run_box.addWidget(self.message)
        lc.addLayout(run_box)

        # Right: live plots over results ---------------------------------------------
        self.plots = LiveTrainingPlots()
        self.epoch_label = QLabel("No training yet.")
        self.eta_label = QLabel("")
        self.eta_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head = QHBoxLayout()
        head.addWidget(self.epoch_label, 1)
        head.addWidget(self.eta_label)
        top = QWidget()
        tv = QVBoxLayout(top)
        tv.setContentsMargins(6, 6, 6, 0)
        tv.addLayout(head)
        tv.addWidget(self.plots, 1)

        self.split_combo = QComboBox()
        self.split_combo.setToolTip("Which split the confusion matrix and ROC describe")
        self.split_combo.currentIndexChanged.connect(self._show_split)
        self.save_button = QPushButton("Save as…")
        self.save_button.setToolTip("Write the model and its card to your model folder")
        self.save_button.clicked.connect(self.open_save_dialog)
        self.use_button = QPushButton("Use this model")
        self.use_button.setToolTip("Classify with the model you just saved (the previous one "
                                   "stays in the model list)")
        self.use_button.clicked.connect(self.use_trained_model)
        self.result_title = QLabel("")
        f = self.result_title.font()
        f.setBold(True)
        self.result_title.setFont(f)
        rhead = QHBoxLayout()
        rhead.addWidget(self.result_title, 1)
        rhead.addWidget(QLabel("Show:"))
        rhead.addWidget(self.split_combo)
        rhead.addWidget(self.save_button)
        rhead.addWidget(self.use_button)
        self.confusion = ConfusionMatrixPlot()
        self.roc = RocPlot()
        self.metrics_model = MetricsModel(self)
        self.metrics_view = QTableView()
        self.metrics_view.setModel(self.metrics_model)
        self.metrics_view.verticalHeader().setVisible(False)
        self.metrics_view.verticalHeader().setDefaultSectionSize(20)
        self.metrics_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        mh = self.metrics_view.horizontalHeader()
        mh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        mh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.metrics_view.setMinimumWidth(260)
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
        self.compare_model = RowsModel(("Measure", "Before", "After"), self)
        self.compare_view = make_table(self.compare_model)
        self.compare_view.setMaximumHeight(140)
        for w in (self.compare_title, self.compare_view):
            w.setVisible(False)
            rv.addWidget(w)
        placeholder = QLabel("The confusion matrix, ROC curve, threshold and metrics appear "
                             "here when training ends.")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setWordWrap(True)
        placeholder.setStyleSheet("color: palette(placeholder-text);")
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(placeholder)
        self.results_stack.addWidget(results)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.addWidget(top)
        self.right_splitter.addWidget(self.results_stack)
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

    # ---------------------------------------------------------------- recipe
    @Slot()
    def reset_recipe(self) -> None:
        """The seed's values (``core.training.recipe.TrainConfig`` defaults)."""
        self.epochs_spin.setValue(DEFAULTS.epochs)
        self.batch_spin.setValue(DEFAULTS.batch_size)
        self.lr_spin.setValue(DEFAULTS.learning_rate)
        self.patience_spin.setValue(DEFAULTS.patience)
        self.delta_spin.setValue(DEFAULTS.min_delta)
        self.augment_combo.setCurrentIndex(self.augment_combo.findData(_augment_key(DEFAULTS)))
        self.weights_check.setChecked(DEFAULTS.class_weights)

    def _start_card(self) -> Any | None:
        """The card of the chosen starting model, or None (from scratch / unreadable)."""
        data = self.start_combo.currentData()
        if not data or data in (SCRATCH, IMAGENET):
            return None
        try:
            return read_card(data)
        except CovidCXRError:
            return None

    def config(self) -> TrainConfig:
        """The recipe as ``core.training.recipe.TrainConfig``. A starting model brings its own
        architecture, input size and preprocessing (``TrainConfig.starting_from``)."""
        card = self._start_card()
        if self.start_combo.currentData() == IMAGENET:
            arch, size, crop, eq = (TRANSFER.architecture, TRANSFER.input_size, TRANSFER.crop,
                                    TRANSFER.equalize)
        else:
            arch, size, crop, eq = (DEFAULTS.architecture, self._scratch_size, DEFAULTS.crop,
                                    DEFAULTS.equalize)
        aug = self.augment_combo.currentData()
        index = self._scanned.index if self._scanned else None
        cfg = TrainConfig(
            architecture=arch, input_size=size, epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(), learning_rate=self.lr_spin.value(),
            patience=self.patience_spin.value(), min_delta=self.delta_spin.value(),
            flip=aug != "none", strong_augment=aug == "strong",
            class_weights=self.weights_check.isChecked(), crop=crop, equalize=eq,
            start_from=DEFAULTS.start_from, unfreeze_from=TRANSFER.unfreeze_from,
            positive=index.positive if index else None,
            ignore_duplicates=self.dups_check.isChecked(),
            skip_unreadable=self.skip_check.isChecked(),
            max_train_batches=self._max_train_batches,
            strategy=self.strategy_combo.currentData() or DEFAULTS.strategy)
        if card is not None:
            cfg = cfg.starting_from(card, str(self.start_combo.currentData()))
        return cfg

    def set_start_point(self, path: str | Path | None) -> None:
        """Start from this model's weights, from scratch (None), or from the ImageNet
        backbone (``IMAGENET``)."""
        key = SCRATCH if path is None else IMAGENET if path == IMAGENET else str(path)
        i = self.start_combo.findData(key)
        if i < 0:
            raise ValueError(f"{key} is not a usable starting point")
        self.start_combo.setCurrentIndex(i)

    @Slot(int)
    def _on_start_point_changed(self, _index: int) -> None:
        imagenet = self.start_combo.currentData() == IMAGENET
        if imagenet != self._transfer_recipe_shown:
            # The ImageNet backbone has its own recipe (low learning rate, strong
            # augmentation, few epochs); switching away restores the seed's.
            recipe = TRANSFER if imagenet else DEFAULTS
            self.lr_spin.setValue(recipe.learning_rate)
            self.epochs_spin.setValue(recipe.epochs)
            self.patience_spin.setValue(recipe.patience)
            self.augment_combo.setCurrentIndex(self.augment_combo.findData(_augment_key(recipe)))
            self._transfer_recipe_shown = imagenet
        cfg = self.config()
        source = (
            "the starting model's card" if cfg.init_from
            else "the ImageNet transfer recipe" if imagenet else "the seed recipe"
        )
        crop = "whole image" if cfg.crop >= 1.0 else f"central {cfg.crop:.0%}"
        eq = ", histogram equalised" if cfg.equalize else ""
        self.input_label.setText(f"{cfg.architecture} network, {cfg.input_size} × "
                                 f"{cfg.input_size} px input, {crop}{eq} (from {source})")

    # ---------------------------------------------------------------- dataset
    @Slot()
    def choose_folder(self) -> None:
        start = self.folder_edit.text() or (self.settings.last_folder if self.settings else "")
        folder = QFileDialog.getExistingDirectory(
            self, "Choose a dataset folder (one sub-folder per class)", start)
        if folder:
            self.set_dataset(folder)

    def set_dataset(self, folder: str | Path) -> None:
        """Scan ``folder`` and check its images (both on workers)."""
        self.ensure_built()
        self._token += 1
        for w in (self._scanner, self._checker):
            if w is not None:
                w.cancel()
        self._scanner = self._checker = None
        self._scanned, self._check, self._scan_error = None, None, ""
        self._positive_chosen = False
        self.folder_edit.setText(str(folder))
        self.folder_edit.setToolTip(str(folder))
        self.counts_model.set_index(None)
        self.positive_combo.clear()
        self.split_label.setText("")
        self.skip_check.setChecked(False)
        self.dups_check.setChecked(False)
        self._start_scan(str(folder), None)

    def _start_scan(self, folder: str, positive: str | None) -> None:
        token = self._token
        worker = Worker(tj.scan_job, folder, positive, parent=self)
        worker.returned.connect(lambda s, t=token: self._on_scanned(t, s))
        worker.errored.connect(lambda e, t=token: self._on_dataset_error(t, e))
        self._scanner = worker
        self._set_message("Reading the folder…", "info")
        self._start_worker(worker)
        self._update_controls()

    def prefill_site(self, folder: str | Path, positive: str, model_path: str | Path) -> None:
        """"Fine-tune on this site" (Validate page): this folder, its positive class, and
        the model that was validated as the start point. The seeded patient-grouped split
        keeps a test part apart; after training, the start model and the new one are both
        measured on it (:meth:`_start_compare`)."""
        from core.model.profiles import base_weights, is_profile, read_profile

        self.ensure_built()
        start = Path(model_path)
        if is_profile(start):
            start = base_weights(start, read_profile(start))
        self._site = (str(folder), positive, Path(model_path))
        self._pending_positive = positive
        self.set_dataset(folder)
        try:
            self.set_start_point(start)
        except ValueError:
            self._set_message(f"{start.name} is not among the models this page can start "
                              "from; choose a start point.", "warning")
            return
        card = self._start_card()
        if card is not None and card.architecture == TRANSFER.architecture:
            # Fine-tuning the ImageNet-based model: its own recipe, not the seed's
            # (a learning rate of 1e-3 would undo what the backbone learnt).
            self.lr_spin.setValue(TRANSFER.learning_rate)
            self.epochs_spin.setValue(TRANSFER.epochs)
            self.patience_spin.setValue(TRANSFER.patience)
            self.augment_combo.setCurrentIndex(self.augment_combo.findData(_augment_key(TRANSFER)))
        self._set_message(
            "Fine-tuning on this site: starting from the validated model. A test part, split "
            "by patient, is kept out of training; when training ends, the start model and "
            "the fine-tuned one are both measured on it.", "info")

    def _on_scanned(self, token: int, scanned: tj.Scanned) -> None:
        if token != self._token:
            return
        self._scanner = None
        pending, self._pending_positive = self._pending_positive, None
        if pending and pending in scanned.index.classes and pending != scanned.index.positive:
            self._positive_chosen = True
            self._start_scan(str(scanned.index.root), pending)
            return
        first = self._scanned is None
        self._scanned = scanned
        index = scanned.index
        known = not scanned.positive_guessed or self._positive_chosen
        self.counts_model.set_index(index, known)
        self.positive_combo.clear()
        self.positive_combo.addItems(index.classes)
        self.positive_combo.setCurrentIndex(index.classes.index(index.positive) if known else -1)
        self.split_label.setText(f"Splits: {index.split_source}.")
        if first:
            self._start_check(token)
        elif self._check is not None:
            # Another positive class: the same images with new labels.
            self._check = tj.relabel(self._check, index)
            self._show_problems()
            self.datasetChecked.emit()
        self._update_controls()

    def _start_check(self, token: int) -> None:
        index = self._scanned.index
        spec = self.config().spec
        worker = Worker(tj.check_job, index, spec, parent=self)
        worker.returned.connect(lambda c, t=token: self._on_checked(t, c))
        worker.errored.connect(lambda e, t=token: self._on_dataset_error(t, e))
        worker.progress.connect(lambda d, n, m, t=token: self._on_check_progress(t, d, n, m))
        self._checker = worker
        self.check_progress.setRange(0, 0)
        self.check_progress.setFormat("checking images…")
        self.check_progress.setVisible(True)
        self._show_problems()
        self._start_worker(worker)

    def _on_check_progress(self, token: int, done: int, total: int, message: str) -> None:
        if token != self._token:
            return
        if total > 0:
            self.check_progress.setRange(0, total)
            self.check_progress.setValue(done)
            self.check_progress.setFormat(f"{message}: %v / %m")
        else:
            self.check_progress.setRange(0, 0)
            self.check_progress.setFormat(message)

    def _on_checked(self, token: int, check: tj.DatasetCheck) -> None:
        if token != self._token:
            return
        self._checker = None
        if check.index is not self._scanned.index:  # the positive class changed meanwhile
            check = tj.relabel(check, self._scanned.index)
        self._check = check
        self.check_progress.setVisible(False)
        self._show_problems()
        self._update_controls()
        self.datasetChecked.emit()

    def _on_dataset_error(self, token: int, exc: BaseException) -> None:
        if token != self._token:
            return
        self._scanner = self._checker = None
        self.check_progress.setVisible(False)
        folder = Path(self.folder_edit.text())
        if isinstance(exc, CovidCXRError):
            self._scan_error = str(exc)
        elif not folder.is_dir():
            self._scan_error = f"The folder {folder} is no longer there."
        elif isinstance(exc, OSError):
            self._scan_error = f"Cannot read {exc.filename or folder}: {exc.strerror or exc}"
        else:
            self._scan_error = f"Cannot read this folder: {type(exc).__name__}: {exc}"
        self._show_problems()
        self._update_controls()
        self.datasetChecked.emit()

    @Slot(int)
    def _on_positive_chosen(self, i: int) -> None:
        if self._scanned is None or i < 0:
            return
        name = self.positive_combo.itemText(i)
        self.set_positive(name)

    def set_positive(self, name: str) -> None:
        """Make ``name`` the positive (COVID) class: the folder is indexed again and the
        decoded images keep their pixels with new labels."""
        if self._scanned is None:
            return
        self._positive_chosen = True
        if name == self._scanned.index.positive and not self._scanned.positive_guessed:
            self._show_problems()
            return
        self._start_scan(str(self._scanned.index.root), name)

    def problems(self) -> tuple[list[str], list[str]]:
        """(what stops training, what only deserves a warning), in the tab's words."""
        blocking: list[str] = []
        notes: list[str] = []
        if self._scan_error:
            return [self._scan_error], []
        if self._scanned is None:
            return [], []
        index = self._scanned.index
        blocking += [p[0].upper() + p[1:] + "." for p in index.problems()]
        if self._scanned.positive_guessed and not self._positive_chosen:
            blocking.append("No folder name says which class is COVID: choose the positive "
                            "class.")
        c = self._check
        if c is not None:
            if c.unreadable:
                msg = f"{len(c.unreadable)} unreadable file(s), listed below"
                if self.skip_check.isChecked():
                    notes.append(msg + ": they will be skipped.")
                else:
                    blocking.append(msg + ": remove them or tick “Skip unreadable files”.")
            if c.duplicates:
                msg = (f"{len(c.duplicates)} near-duplicate image pair(s) across splits "
                       "(listed below): test images leak into training")
                if self.dups_check.isChecked():
                    notes.append(msg + "; training anyway as asked, scores will be optimistic.")
                else:
                    blocking.append(msg + ". Remove one of each pair, or tick “Train despite "
                                    "near-duplicates”.")
        return blocking, notes

    @Slot()
    def _show_problems(self) -> None:
        blocking, notes = self.problems()
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
        c = self._check
        if c is not None:
            for path, why in c.unreadable[:MAX_LISTED]:
                item = QListWidgetItem(f"    {path.name}: {why}")
                item.setToolTip(str(path))
                lst.addItem(item)
            for a, b, sim in c.duplicates[:MAX_LISTED]:
                item = QListWidgetItem(f"    {a.name} ≈ {b.name} ({sim:.3f})")
                item.setToolTip(f"{a}\n{b}")
                lst.addItem(item)
            hidden = (max(len(c.unreadable) - MAX_LISTED, 0)
                      + max(len(c.duplicates) - MAX_LISTED, 0))
            if hidden:
                lst.addItem(f"    … and {hidden} more")
        if c is not None and not blocking and not notes:
            n = sum(len(s.labels) for s in c.decoded.splits.values())
            lst.addItem(QListWidgetItem(icons["ok"], f"All {n} images read; no problems found."))
        self.skip_check.setVisible(bool(c and c.unreadable))
        self.dups_check.setVisible(bool(c and c.duplicates))
        if self._scanned is not None or self._scan_error:
            if blocking:
                self._set_message("Fix the dataset problems listed above to train.", "warning")
            elif c is None:
                self._set_message("Checking the images…", "info")
            elif not self.training:
                self._set_message("Ready to train.", "info")
        self._update_controls()

    # ---------------------------------------------------------------- training
    @property
    def training(self) -> bool:
        return self._trainer is not None

    @Slot()
    def toggle_run(self) -> None:
        """The one Start/Stop button."""
        if self.training:
            self.stop()
        else:
            self.start()

    def can_start(self) -> bool:
        return (not self.training and self._check is not None and self._scanner is None
                and self._checker is None and not self.problems()[0])

    def start(self) -> bool:
        """Start training with the recipe; False (and a message) when it cannot start."""
        self.ensure_built()
        if not self.can_start():
            blocking = self.problems()[0]
            self._set_message(blocking[0] if blocking else "Choose a dataset folder first.",
                              "warning")
            return False
        root = self._check.index.root
        if not Path(root).is_dir():
            self._set_message(f"The dataset folder {root} is no longer there.", "error")
            return False
        cfg = self.config()
        decoded = self._check.decoded if self._check.spec == cfg.spec else None
        req = tj.TrainingRequest(self._check.index, cfg, decoded,
                                 on_epoch=self._events.epoch.emit,
                                 on_batches=self._events.batches.emit,
                                 on_stage=self._events.stage.emit)
        n_train = len(self._check.decoded.splits["train"].labels)
        self._steps = max(1, math.ceil(n_train / cfg.batch_size))
        if cfg.max_train_batches:
            self._steps = min(self._steps, cfg.max_train_batches)
        self._epochs_total = cfg.epochs
        self._t_first_batch = 0.0
        self._run_result = None
        self._clear_results()
        self.plots.reset()
        self.plots.steps_per_epoch = self._steps
        self.epoch_label.setText("Starting TensorFlow…")
        self.eta_label.setText("")
        worker = Worker(tj.train_job, req, parent=self)
        worker.progress.connect(self._on_train_progress)
        worker.returned.connect(self._on_trained)
        worker.errored.connect(self._on_train_error)
        worker.finished.connect(lambda w=worker: self._on_train_finished(w))
        self._trainer, self._request = worker, req
        self.progress.setRange(0, 0)
        self.progress.setFormat("starting…")
        self._set_message("Training… the active model is unchanged until you save and use "
                          "the new one.", "info")
        self._start_worker(worker)
        self._update_controls()
        return True

    @Slot()
    def stop(self) -> None:
        """End the run within one batch, keeping the best weights so far."""
        if self._request is None or self._request.stop.is_set():
            return
        self._request.stop.set()
        self._set_message("Stopping after this batch…", "info")
        self._update_controls()

    @Slot(object)
    def _on_epoch(self, e: dict) -> None:
        self.plots.add_epoch(e)
        best = e.get("best_epoch", -1) + 1
        vals = "  ".join(f"{k} {e[k]:.3f}" for k in ("loss", "val_loss", "val_accuracy")
                         if k in e)
        self.epoch_label.setText(f"Epoch {e['epoch'] + 1} of at most {self._epochs_total}"
                                 + (f" · best so far: {best}" if best > 0 else "")
                                 + f" · {vals}")
        self.epochFinished.emit(e)

    @Slot(object)
    def _on_batches(self, points: list[tuple[int, int, float]]) -> None:
        if not points:
            return
        now = time.monotonic()
        if not self._t_first_batch:
            self._t_first_batch = now
        self.plots.add_batches(points)
        epoch, batch, _ = points[-1]
        total = self._epochs_total * self._steps
        done = epoch * self._steps + min(batch + 1, self._steps)
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        self.progress.setFormat(f"epoch {epoch + 1} / {self._epochs_total}, "
                                f"batch {min(batch + 1, self._steps)} / {self._steps}")
        elapsed = now - self._t_first_batch
        if done > 1 and elapsed > 0:
            left = elapsed / done * (total - done)
            self.eta_label.setText(f"{_duration(elapsed)} elapsed · at most {_duration(left)} "
                                   "left (early stopping may end sooner)")

    @Slot(str)
    def _on_stage(self, message: str) -> None:
        if message and message != "reading images":
            self.progress.setRange(0, 0)
            self.progress.setFormat(message + "…")
            self.epoch_label.setText(message[0].upper() + message[1:] + "…")

    @Slot(int, int, str)
    def _on_train_progress(self, done: int, total: int, message: str) -> None:
        if message == "reading images" and total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"reading images: {done} / {total}")

    @Slot(object)
    def _on_trained(self, result: Any) -> None:
        self._run_result = self._result = result
        self._saved = None
        self.plots.set_best(result.best_epoch + 1)
        t = result.card.training
        run, best = t.get("epochs_run", len(result.history.get("loss", []))), result.best_epoch + 1
        why = ("you stopped it" if result.stopped_by_user else
               "early stopping" if run < self._epochs_total else "all epochs done")
        self.epoch_label.setText(f"Finished after {run} epoch(s) ({why}); the weights of "
                                 f"epoch {best} are kept.")
        self._show_results(result)
        self._set_message("Training finished. Look at the results, then “Save as…” to keep "
                          "the model; the active model is unchanged until you use it.", "ok")
        self._start_compare(result)

    def _start_compare(self, result: Any) -> None:
        """After a fine-tune on a site: both models on the site's kept-apart test part."""
        site, scanned = self._site, self._scanned
        if site is None or scanned is None or str(scanned.index.root) != site[0]:
            return
        if not scanned.index.of_split("test"):
            return
        self.compare_title.setText("Measuring the start model and the fine-tuned one on this "
                                   "site's test part…")
        self.compare_title.setVisible(True)
        worker = Worker(tj.compare_job, site[2], result, scanned.index, low_priority=True,
                        parent=self)
        worker.returned.connect(self._on_compared)
        worker.errored.connect(lambda e: self.compare_title.setText(
            f"Before/after comparison failed: {e}"))
        self._start_worker(worker)

    def _on_compared(self, compared: Any) -> None:
        if not compared:
            return
        before, after = compared
        rows = []
        for label, get in (("ROC AUC", lambda m: m.auc),
                           ("Sensitivity", lambda m: m.point.sensitivity),
                           ("Specificity", lambda m: m.point.specificity),
                           ("Accuracy", lambda m: m.point.accuracy)):
            rows.append((label, get(before.metrics).text(), get(after.metrics).text()))
        rows.append(("Threshold", f"{before.metrics.point.threshold:.4f}",
                     f"{after.metrics.point.threshold:.4f}"))
        rows.append(("Assessed films", str(before.metrics.assessed), str(after.metrics.assessed)))
        self.compare_model.set_rows(rows)
        self.compare_title.setText(
            f"<b>Before/after on this site's test part</b> (kept out of training; 95% "
            f"bootstrap intervals): before = {before.model_name}, after = the fine-tuned "
            "model. Overlapping intervals mean the data cannot tell them apart.")
        self.compare_view.setVisible(True)
        self.siteCompared.emit(compared)

    @Slot(object)
    def _on_train_error(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self._set_message(_sentence(user_message(exc)), "warning")
            self.epoch_label.setText("Cancelled.")
        else:
            self._set_message(_sentence(user_message(exc)), "error")
            self.epoch_label.setText("Training failed.")

    def _on_train_finished(self, worker: Worker) -> None:
        if worker is not self._trainer:
            return
        self._trainer, self._request = None, None
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self._run_result is not None else 0)
        self.progress.setFormat("done" if self._run_result is not None else "idle")
        self.eta_label.setText("")
        self._update_controls()
        self.trainingFinished.emit(self._run_result)

    # ---------------------------------------------------------------- results
    def _clear_results(self) -> None:
        self._result, self._saved = None, None
        self.results_stack.setCurrentIndex(0)
        self.confusion.set_confusion(None)
        self.roc.set_metrics(None)
        self.metrics_model.set_metrics([])
        self.summary_label.setText("")
        self.compare_model.set_rows([])
        for w in (self.compare_title, self.compare_view):
            w.setVisible(False)

    def _show_results(self, result: Any) -> None:
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        if result.test:
            self.split_combo.addItem("Test split", "test")
        if result.val:
            self.split_combo.addItem("Validation split", "val")
        self.split_combo.blockSignals(False)
        self.metrics_model.set_metrics([("Validation", result.val), ("Test", result.test)])
        card, ood = result.card, result.ood
        lines = [f"<b>Threshold {card.threshold:.3f}</b>: {card.threshold_rule}."]
        if ood is not None:
            lines.append(f"<b>Unusual-film cut-offs</b>: feature distance "
                         f"{ood.feat_cut:.3g}, thumbnail residual {ood.thumb_cut:.3g}; "
                         f"structure {ood.structure_cut:.3g}. <b>The rule</b>: {RULE}.")
        warnings = card.training.get("warnings") or []
        if warnings:
            lines.append("<b>Warnings</b>: " + "; ".join(warnings) + ".")
        self.summary_label.setText("<br>".join(lines))
        self.results_stack.setCurrentIndex(1)
        self._show_split()
        self._update_controls()

    @Slot()
    def _show_split(self, *_: Any) -> None:
        r = self._result
        if r is None:
            return
        key = self.split_combo.currentData() or "val"
        m = r.test if key == "test" else r.val
        name = "test split" if key == "test" else "validation split"
        self.result_title.setText(f"Results on the {name}")
        metrics = m.metrics if isinstance(m, Evaluation) else m
        self.confusion.set_confusion(asdict(metrics.confusion) if metrics else None)
        self.roc.set_metrics(metrics, name)

    # ---------------------------------------------------------------- save & use
    @Slot()
    def open_save_dialog(self) -> SaveModelDialog | None:
        if self._result is None:
            return None
        dialog = SaveModelDialog(self._result.card.name, self.store.user_dir, self)
        dialog.accepted.connect(lambda: self.save_as(dialog.name, dialog.notes))
        dialog.open()
        self.save_dialog = dialog
        return dialog

    def save_as(self, name: str, notes: str = "") -> None:
        """Write the trained model and its card (atomically) on a worker."""
        if self._result is None or self._saver is not None:
            return
        worker = Worker(tj.save_job, self.store, self._result, name, notes, parent=self)
        worker.returned.connect(self._on_saved)
        worker.errored.connect(lambda exc: self._set_message(
            f"Could not save the model: {getattr(exc, 'strerror', None) or exc}", "error"))
        worker.finished.connect(self._on_save_finished)
        self._saver = worker
        self._set_message(f"Saving “{name}”…", "info")
        self._start_worker(worker)
        self._update_controls()

    @Slot(object)
    def _on_saved(self, saved: tj.Saved) -> None:
        self._saved = saved.path
        self._refresh_models()
        self._set_message(f"Saved “{saved.name}” as {saved.path}. “Use this model” to "
                          "classify with it.", "ok")
        self.modelSaved.emit(str(saved.path))

    @Slot()
    def _on_save_finished(self) -> None:
        self._saver = None
        self._update_controls()

    @Slot()
    def use_trained_model(self) -> None:
        if self._saved is not None:
            self.use_model(self._saved)

    def use_model(self, path: str | Path | None) -> None:
        """Make ``path`` the active model (remembered) and tell the classify window."""
        if not path:
            return
        self.ensure_built()
        entry = self.store.entry(path)
        if not entry.usable:
            self._set_message(f"Cannot use {entry.name}: {entry.problem}", "error")
            return
        self.store.set_active(entry.path)
        self._active = entry.path
        self._refresh_models()
        self._set_message(f"Classifying with “{entry.name}” from now on.", "ok")
        self.model_activated.emit(str(entry.path))

    def set_active_path(self, path: str | Path) -> None:
        """Show which model the classify window uses (without activating anything)."""
        self._active = Path(path)
        if self._built:
            self._refresh_models()

    @property
    def active_path(self) -> Path:
        return self._active

    def _refresh_models(self) -> None:
        entries = self.store.entries()
        current = self.models_combo.currentData()
        self.models_combo.blockSignals(True)
        self.models_combo.clear()
        for e in entries:
            mark = "✓ " if e.path == self._active else ""
            self.models_combo.addItem(mark + e.label, str(e.path))
            tip = str(e.path) + (f"\n{e.notes}" if e.notes else "")
            self.models_combo.setItemData(self.models_combo.count() - 1, tip,
                                          Qt.ItemDataRole.ToolTipRole)
        i = self.models_combo.findData(current if current else str(self._active))
        self.models_combo.setCurrentIndex(max(i, 0))
        self.models_combo.blockSignals(False)

        start = self.start_combo.currentData()
        self.start_combo.blockSignals(True)
        self.start_combo.clear()
        for e in entries:
            if e.usable:
                self.start_combo.addItem(e.label, str(e.path))
        self.start_combo.addItem("ImageNet backbone (EfficientNet-Lite0)", IMAGENET)
        self.start_combo.addItem("Scratch (random weights)", SCRATCH)
        i = self.start_combo.findData(start) if start else -1
        if i < 0:  # default: the bundled model when it is there
            i = self.start_combo.findData(str(self.store.bundled))
        self.start_combo.setCurrentIndex(i if i >= 0 else self.start_combo.count() - 1)
        self.start_combo.blockSignals(False)
        self._on_start_point_changed(self.start_combo.currentIndex())
        self._update_controls()

    # ---------------------------------------------------------------- state
    def _update_controls(self) -> None:
        training = self.training
        stopping = training and self._request is not None and self._request.stop.is_set()
        self.run_button.setText("Stopping…" if stopping else "Stop" if training
                                else "Start training")
        self.run_button.setToolTip("Stop after this batch and keep the best epoch so far"
                                   if training else "Train with this dataset and recipe")
        self.run_button.setEnabled(not stopping and (training or self.can_start()))
        busy_data = self._scanner is not None or self._checker is not None
        for w in (self.choose_button, self.start_combo, self.epochs_spin, self.batch_spin,
                  self.lr_spin, self.patience_spin, self.delta_spin, self.augment_combo,
                  self.weights_check, self.strategy_combo, self.defaults_button,
                  self.skip_check, self.dups_check):
            w.setEnabled(not training)
        self.positive_combo.setEnabled(not training and not busy_data
                                       and self._scanned is not None)
        has_result = self._result is not None and not training
        self.save_button.setEnabled(has_result and self._saver is None)
        self.use_button.setEnabled(has_result and self._saved is not None
                                   and self._saved != self._active)
        self.split_combo.setEnabled(has_result)
        selected = self.models_combo.currentData()
        self.use_selected_button.setEnabled(bool(selected) and Path(selected) != self._active
                                            and self.store.entry(selected).usable)
        self.restore_button.setEnabled(self._active != self.store.bundled
                                       and self.store.bundled.is_file())

    def _set_message(self, text: str, level: str = "info") -> None:
        """The tab's one place for news: info, ok, warning or error (never a traceback)."""
        set_banner(self.message, text, level)

    @property
    def message_level(self) -> str:
        return str(self.message.property("level") or "")

    def _start_worker(self, worker: Worker) -> None:
        self._mine = {w for w in self._mine if w.isRunning()}
        self._mine.add(worker)
        self.workers.start(worker)

    def shutdown(self) -> None:
        """Stop every worker this tab started and wait for them (the window is closing;
        a window that shares its WorkerSet with the tab stops them itself)."""
        for w in self._mine:
            w.cancel()
        for w in self._mine:
            w.wait()
        self._mine.clear()


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def install(window: Any, store: ModelStore | None = None, **kwargs: Any) -> TrainingTab:
    """Add the training tab to the main window (built when first shown): a model it
    activates is loaded by the classify page, it shows which model that page uses, and
    the window's close stops its workers (they share the window's WorkerSet)."""
    store = store if store is not None else ModelStore(window.settings.q)
    tab = TrainingTab(store, window.workers, window.settings, lazy=True, parent=window,
                      **kwargs)
    tab.set_active_path(window.model_path)
    window.add_tab(tab, "Train")
    tab.model_activated.connect(window.set_model_path)
    window.modelChanged.connect(lambda _model: tab.set_active_path(window.model_path))
    return tab
