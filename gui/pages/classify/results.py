"""The results table: a QAbstractTableModel over one row per input file, plus the proxy
that sorts it and filters it by decision.

A row holds the file's path and, once classified, its frozen ``core`` Prediction; until
then a short state says why it has none (queued, waiting for the model, cancelled, no
model). Labels and messages come from ``core``; this module only displays them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPixmap
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from core.answers.evidence import LOW_EVIDENCE
from core.answers.inference import Prediction
from core.model.card import INDETERMINATE, NEGATIVE, NOT_ASSESSED, POSITIVE
from gui.i18n import number, translate
from gui.i18n.core_text import core_text

SORT_ROLE = Qt.ItemDataRole.UserRole
DECISION_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

# Row states before a prediction exists (English keys, shown translated).
QUEUED = QT_TRANSLATE_NOOP("ResultsModel", "queued")
WAITING = QT_TRANSLATE_NOOP("ResultsModel", "loading model…")
CANCELLED = QT_TRANSLATE_NOOP("ResultsModel", "cancelled")
NO_MODEL = QT_TRANSLATE_NOOP("ResultsModel", "no model")
DONE = "done"

#: Filter choices shown to the user (English, translated by :func:`filter_text`);
#: ``None`` means all rows.
ERRORS = "Errors"
FILTERS: tuple[tuple[str, str | None], ...] = (
    (QT_TRANSLATE_NOOP("ResultsModel", "All decisions"), None),
    (POSITIVE, POSITIVE),
    (NEGATIVE, NEGATIVE),
    (INDETERMINATE, INDETERMINATE),
    (NOT_ASSESSED, NOT_ASSESSED),
    (QT_TRANSLATE_NOOP("ResultsModel", "Errors only"), ERRORS),
)


def filter_text(text: str) -> str:
    """A filter choice of :data:`FILTERS` in the window's language."""
    return core_text(text) if text in (POSITIVE, NEGATIVE, INDETERMINATE, NOT_ASSESSED) else translate(
        "ResultsModel", text)

_ORDER = {POSITIVE: 0, NEGATIVE: 1, INDETERMINATE: 2, NOT_ASSESSED: 3}
#: Shown beside the decision of a film that is unusual for the model.
UNUSUAL_MARK = "⚠"
_RED = QColor("#c62828")
_AMBER = QColor("#9a6700")
_GREY = QColor("#6b6b6b")


def _flagged(p: Prediction | None) -> bool:
    """An assessed film that deserves a second look: unusual for the model, or its heat
    map lies mostly outside the lung fields."""
    if p is None:
        return False
    low = p.lung_evidence is not None and p.lung_evidence < LOW_EVIDENCE
    return bool(p.unusual or (low and p.label != NOT_ASSESSED))


@dataclass
class Row:
    path: Path
    prediction: Prediction | None = None
    state: str = QUEUED
    note: str = ""

    @property
    def label(self) -> str:
        """The decision shown, or "" while the file is still on its way."""
        if self.prediction is not None:
            return self.prediction.label
        return NOT_ASSESSED if self.state in (CANCELLED, NO_MODEL) else ""

    @property
    def status_text(self) -> str:
        p = self.prediction
        if p is None:
            state = translate("ResultsModel", self.state)
            return f"{state}: {core_text(self.note)}" if self.note else state
        if not p.ok:
            return translate("ResultsModel", "error: {0}").format(core_text(p.message))
        return core_text(p.message) or translate("ResultsModel", "ok")


class ResultsModel(QAbstractTableModel):
    """One row per file, in the order the files were opened."""

    COLUMNS = (
        QT_TRANSLATE_NOOP("ResultsModel", "Image"),
        QT_TRANSLATE_NOOP("ResultsModel", "File"),
        QT_TRANSLATE_NOOP("ResultsModel", "P(COVID)"),
        QT_TRANSLATE_NOOP("ResultsModel", "Decision"),
        QT_TRANSLATE_NOOP("ResultsModel", "Status"),
    )
    THUMB, FILE, PROB, DECISION, STATUS = range(5)

    #: A row's thumbnail is needed (first time it is shown); the window loads it.
    thumbnailWanted = Signal(str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._thumbs: dict[str, QIcon] = {}
        self._asked: set[str] = set()
        self._done = 0  # rows with a prediction, kept up to date (no scan per result)

    # Qt model interface --------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return translate("ResultsModel", self.COLUMNS[section])
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return {
                self.PROB: translate(
                    "ResultsModel",
                    "Probability of COVID-19 given by the model; near the threshold, in "
                    "brackets, its range over mirrored, shifted and zoomed views"),
                self.DECISION: translate(
                    "ResultsModel",
                    "Probability compared with the model's threshold; INDETERMINATE when "
                    "the range of its views straddles the threshold; NOT ASSESSED when the "
                    "file could not be read or is not a frontal chest X-ray; {0} when the "
                    "film is unusual for this model or its heat map lies mostly outside "
                    "the lungs (assessed, but review it; the status says why)"
                ).format(UNUSUAL_MARK),
            }.get(section)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        p = row.prediction
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.FILE:
                return row.path.name
            if col == self.PROB:
                if p is None or p.probability is None:
                    return ""
                if p.p_low is not None and p.p_high is not None:
                    return (f"{number(p.probability, 3)} ({number(p.p_low, 2)}"
                            f"–{number(p.p_high, 2)})")
                return number(p.probability, 3)
            if col == self.DECISION:
                label = core_text(row.label)
                return f"{label}  {UNUSUAL_MARK}" if _flagged(p) else label
            if col == self.STATUS:
                return row.status_text
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == self.THUMB:
            key = str(row.path)
            image = self._thumbs.get(key)
            if image is None and key not in self._asked:
                self._asked.add(key)
                self.thumbnailWanted.emit(key)
            return image
        if role == SORT_ROLE:
            if col == self.FILE:
                return row.path.name.lower()
            if col == self.PROB:
                return -1.0 if p is None or p.probability is None else p.probability
            if col == self.DECISION:
                return _ORDER.get(row.label, 3)
            if col == self.STATUS:
                return row.status_text.lower()
            return index.row()
        if role == DECISION_ROLE:
            return row.label
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{row.path}\n{row.status_text}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.DECISION and row.label == POSITIVE:
                return _RED
            if col in (self.PROB, self.DECISION, self.STATUS) and row.label in (
                    NOT_ASSESSED, INDETERMINATE):
                return _AMBER
            if col == self.STATUS and _flagged(p):
                return _AMBER
            if p is None and col == self.STATUS:
                return _GREY
        if role == Qt.ItemDataRole.FontRole and col == self.DECISION and row.label == POSITIVE:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.PROB:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    # Our interface -------------------------------------------------------------------
    @property
    def rows(self) -> list[Row]:
        return self._rows

    def row(self, i: int) -> Row:
        return self._rows[i]

    def add_paths(self, paths: list[Path], state: str = QUEUED, note: str = "") -> list[int]:
        """Append new files; files already listed are not added twice. Returns the rows
        (new or existing) of every path given, so the caller can queue them."""
        fresh = [p for p in dict.fromkeys(Path(p) for p in paths) if str(p) not in self._index]
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for p in fresh:
                self._index[str(p)] = len(self._rows)
                self._rows.append(Row(p, None, state, note))
            self.endInsertRows()
        return [self._index[str(Path(p))] for p in dict.fromkeys(paths)]

    def set_prediction(self, prediction: Prediction) -> int | None:
        i = self._index.get(prediction.path)
        if i is None:
            return None
        row = self._rows[i]
        self._done += row.prediction is None
        row.prediction, row.state, row.note = prediction, DONE, ""
        self._changed(i)
        return i

    def set_state(self, rows: list[int], state: str, note: str = "") -> None:
        """Set the state of rows that have no prediction yet (or all given rows when
        ``state`` is QUEUED, used to classify again with another model)."""
        for i in rows:
            row = self._rows[i]
            if state == QUEUED:
                self._done -= row.prediction is not None
                row.prediction = None
            elif row.prediction is not None:
                continue
            row.state, row.note = state, note
        if rows:
            self.dataChanged.emit(self.index(min(rows), 0),
                                  self.index(max(rows), len(self.COLUMNS) - 1))

    def predictions(self) -> list[Prediction]:
        """Finished predictions in the order the files were opened (the CSV order)."""
        return [r.prediction for r in self._rows if r.prediction is not None]

    def count_done(self) -> int:
        return self._done

    def set_thumbnail(self, path: str, image: QImage) -> None:
        # The same picture when selected: the default selected icon tints the X-ray.
        pixmap = QPixmap.fromImage(image)
        icon = QIcon()
        for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
            icon.addPixmap(pixmap, mode)
        self._thumbs[path] = icon
        i = self._index.get(path)
        if i is not None:
            idx = self.index(i, self.THUMB)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def _changed(self, i: int) -> None:
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))


class ResultsProxy(QSortFilterProxyModel):
    """Sorts by each column's natural value and keeps only the chosen decision."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._decision: str | None = None
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    @property
    def decision(self) -> str | None:
        return self._decision

    def set_decision(self, decision: str | None) -> None:
        self.beginFilterChange()
        self._decision = decision
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int,
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self._decision is None:
            return True
        row: Row = self.sourceModel().row(source_row)
        if self._decision == ERRORS:
            return row.prediction is not None and not row.prediction.ok
        return row.label == self._decision


class ElideRightDelegate(QStyledItemDelegate):
    """Messages read from the left: cut their end, not their middle (file names keep the
    view's middle elision, which shows their distinctive ends)."""

    def initStyleOption(self, option: QStyleOptionViewItem,  # noqa: N802
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight
