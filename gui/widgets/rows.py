"""A read-only table of strings with tooltips, and the view the pages show it in (the
Validate page's summary tables, the Train page's before/after comparison)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt
from PySide6.QtWidgets import QHeaderView, QTableView

from gui.i18n import translate


class RowsModel(QAbstractTableModel):
    """Rows of strings under ``headers``, English keys translated in ``context`` when shown
    (mark them with ``QT_TRANSLATE_NOOP(context, ...)``)."""

    def __init__(self, headers: tuple[str, ...], context: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = headers
        self.context = context
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
            return translate(self.context, self.headers[section])
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
    """A view of ``model``: no selection, no editing, columns fitted to their contents."""
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
