"""The training page's table models: images per class and split, and the metrics of a run.

Both are ``QAbstractTableModel`` s over plain values from core (a ``DatasetIndex``, the
``Metrics`` of each split); the targets in the tooltips come from
``core.evaluation.targets``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtGui import QFont

from core.evaluation import targets
from core.evaluation.metrics import Metrics
from gui.i18n import integer, number, percent, translate


class CountsModel(QAbstractTableModel):
    """Images per class and split, with the positive class marked."""

    HEADERS = (QT_TRANSLATE_NOOP("TrainModels", "Class"), QT_TRANSLATE_NOOP("TrainModels", "Role"),
               QT_TRANSLATE_NOOP("TrainModels", "Train"), QT_TRANSLATE_NOOP("TrainModels", "Val"), QT_TRANSLATE_NOOP("TrainModels", "Test"),
               QT_TRANSLATE_NOOP("TrainModels", "Total"))
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
                        QT_TRANSLATE_NOOP("TrainModels", "positive") if c == index.positive
                        else QT_TRANSLATE_NOOP("TrainModels", "negative"))
                self._rows.append((c, role, [*n, sum(n)]))
            totals = [sum(r[2][i] for r in self._rows) for i in range(4)]
            self._rows.append((QT_TRANSLATE_NOOP("TrainModels", "All classes"), "", totals))
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
            return translate("TrainModels", self.HEADERS[section])
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        name, kind, n = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:  # a class is named by its folder; the total row by us
                return name if kind else translate("TrainModels", name)
            return translate("TrainModels", kind) if col == 1 else n[col - 2]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and (kind == "positive" or not kind):
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and col >= 2 and n[col - 2] == 0 and kind:
            return translate("TrainModels", "no images of this class in this split")
        return None


def _num(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return translate("Numbers", "n/a")
    return number(v, digits)


def _pct(v: Any) -> str:
    return translate("Numbers", "n/a") if v is None or not math.isfinite(v) else percent(v)


def _ood(m: Metrics, name: str) -> str:
    value = getattr(m.ood, name, None) if m.ood is not None else None
    return "" if value is None else _pct(value)


class MetricsModel(QAbstractTableModel):
    """The metrics table: one row per measure, one column per split. A column holds the
    split's metrics and, for the test split, the probes and refusal rates."""

    #: (English row name, tooltip, value; the tooltip's {0} is the row's target from
    #: core.evaluation.targets). Names and tips are translated when shown.
    ROWS: tuple[tuple[str, str, Callable[[Metrics], str]], ...] = (
        (QT_TRANSLATE_NOOP("TrainModels", "Images"), QT_TRANSLATE_NOOP("TrainModels", "positive + negative"),
         lambda m: f"{integer(m.n)} ({integer(m.positives)} + {integer(m.negatives)})"),
        ("ROC AUC", QT_TRANSLATE_NOOP("TrainModels", "area under the ROC curve (threshold-free)"),
         lambda m: _num(m.auc)),
        (QT_TRANSLATE_NOOP("TrainModels", "Threshold"),
         QT_TRANSLATE_NOOP("TrainModels", "probability at or above which an image is called COVID"),
         lambda m: _num(m.threshold)),
        (QT_TRANSLATE_NOOP("TrainModels", "Sensitivity"), QT_TRANSLATE_NOOP("TrainModels", "share of COVID images called COVID"),
         lambda m: _num(m.sensitivity)),
        (QT_TRANSLATE_NOOP("TrainModels", "Specificity"),
         QT_TRANSLATE_NOOP("TrainModels", "share of other images called NOT COVID"),
         lambda m: _num(m.specificity)),
        (QT_TRANSLATE_NOOP("TrainModels", "Precision"), QT_TRANSLATE_NOOP("TrainModels", "share of COVID calls that are right"),
         lambda m: _num(m.precision)),
        (QT_TRANSLATE_NOOP("TrainModels", "Accuracy"), QT_TRANSLATE_NOOP("TrainModels", "share of all calls that are right"),
         lambda m: _num(m.accuracy)),
        ("F1", QT_TRANSLATE_NOOP("TrainModels", "harmonic mean of precision and sensitivity"),
         lambda m: _num(m.f1)),
        (QT_TRANSLATE_NOOP("TrainModels", "Calibration error"),
         QT_TRANSLATE_NOOP("TrainModels", "expected calibration error (ECE): how far probabilities are from "
            "observed frequencies"), lambda m: _num(m.ece)),
        (QT_TRANSLATE_NOOP("TrainModels", "AUC, lungs hidden"),
         QT_TRANSLATE_NOOP("TrainModels", "shortcut probe: AUC with the central 70% blacked out. Near 0.5 is "
            "good; high means the model reads something outside the lungs ({0})"),
         lambda m: _num(m.probe.lungs_hidden_auc) if m.probe else ""),
        (QT_TRANSLATE_NOOP("TrainModels", "AUC, lungs only"),
         QT_TRANSLATE_NOOP("TrainModels", "shortcut probe: AUC with only the central 70% shown ({0})"),
         lambda m: _num(m.probe.lungs_only_auc) if m.probe else ""),
        (QT_TRANSLATE_NOOP("TrainModels", "X-rays refused"),
         QT_TRANSLATE_NOOP("TrainModels", "share of this split's X-rays refused as not a frontal chest X-ray "
            "(NOT ASSESSED; {0})"),
         lambda m: _ood(m, "xray_refused")),
        (QT_TRANSLATE_NOOP("TrainModels", "X-rays flagged unusual"),
         QT_TRANSLATE_NOOP("TrainModels", "share of this split's X-rays assessed but flagged unusual for the "
            "model (far from its training images)"),
         lambda m: _ood(m, "xray_unusual")),
        (QT_TRANSLATE_NOOP("TrainModels", "Non-X-rays refused"),
         QT_TRANSLATE_NOOP("TrainModels", "share of synthetic non-X-ray pictures refused as not a frontal "
            "chest X-ray ({0})"),
         lambda m: _ood(m, "non_xray_refused")),
    )
    #: The target each row is measured against (core.evaluation.targets), where it has one.
    TARGETS = {
        "AUC, lungs hidden": targets.LUNGS_HIDDEN_AUC,
        "AUC, lungs only": targets.LUNGS_ONLY_AUC,
        "X-rays refused": targets.XRAY_REFUSED,
        "Non-X-rays refused": targets.NON_XRAY_REFUSED,
    }

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cols: list[tuple[str, Metrics]] = []

    def set_metrics(self, columns: list[tuple[str, Metrics | None]]) -> None:
        self.beginResetModel()
        self._cols = [(name, m) for name, m in columns if m is not None]
        self.endResetModel()

    def value(self, row_label: str, column: str) -> str:
        for r, (label, _, _) in enumerate(self.ROWS):
            if label == row_label:
                for c, (name, _) in enumerate(self._cols):
                    if name == column:
                        return self.data(self.index(r, c + 1))
        raise KeyError((row_label, column))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() or not self._cols else len(self.ROWS)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else 1 + len(self._cols)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return translate("TrainModels", "Measure") if section == 0 \
                else translate("TrainModels", self._cols[section - 1][0])
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        label, tip, fn = self.ROWS[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return translate("TrainModels", label)
            return fn(self._cols[col - 1][1])
        if role == Qt.ItemDataRole.ToolTipRole:
            target = self.TARGETS.get(label)
            return translate("TrainModels", tip).format(target.text() if target else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and col > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
