"""The metadata panel: the selected file's facts and its result.

Facts come from ``core.files.reader.describe`` (size, bit depth, DICOM modality, view position,
photometric interpretation...). Identifying DICOM fields (patient name, ID, birth date)
stay hidden unless the user ticks "Show identifying fields"; the choice is not remembered.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHeaderView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.answers.inference import Prediction
from core.files.reader import describe
from core.files.xray import ImageInfo
from gui.i18n import number, translate
from gui.i18n.core_text import core_text


class MetadataPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._info: ImageInfo | None = None
        self._pred: Prediction | None = None
        self._path = ""
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([translate("MetadataPanel", "Field"),
                                   translate("MetadataPanel", "Value")])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(False)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.identifying = QCheckBox(translate("MetadataPanel", "Show identifying fields"))
        self.identifying.setToolTip(translate(
            "MetadataPanel",
            "Show patient name, ID and birth date from DICOM files. Off by default; not "
            "remembered between sessions."))
        self.identifying.toggled.connect(self._refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.identifying)

    def set_file(self, path: str, prediction: Prediction | None, info: ImageInfo | None) -> None:
        self._path, self._pred, self._info = path, prediction, info
        self._refresh()

    def clear(self) -> None:
        self.set_file("", None, None)

    def facts(self) -> dict[str, str]:
        """What the panel shows, as field -> value (for tests and copy/paste)."""
        out: dict[str, str] = {}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.text(1):
                out[item.text(0)] = item.text(1)
        return out

    @Slot()
    def _refresh(self) -> None:
        self.tree.clear()
        if not self._path:
            return
        rows: list[tuple[str, str]] = []
        p = self._pred
        if p is not None:
            rows.append((translate("MetadataPanel", "Decision"), core_text(p.label)))
            if p.probability is not None:
                rows.append(("P(COVID)", number(p.probability, 4)))
            if p.threshold is not None:
                rows.append((translate("MetadataPanel", "Threshold"), number(p.threshold, 4)))
            if p.ood_score is not None:
                rows.append((translate("MetadataPanel", "Unusual for this model"),
                             translate("MetadataPanel", "yes") if p.unusual
                             else translate("MetadataPanel", "no")))
                rows.append((translate("MetadataPanel", "Distance score"),
                             translate("MetadataPanel", "{0} (above 1 = unusual)")
                             .format(number(p.ood_score, 3))))
            if p.message:
                rows.append((translate("MetadataPanel", "Message"), core_text(p.message)))
        info = self._info if self._info is not None else (p.info if p is not None else None)
        if info is not None:
            rows.extend((core_text(str(k)), str(v)) for k, v in describe(info).items())
            if self.identifying.isChecked():
                rows.extend((core_text(str(k)), str(v)) for k, v in info.identifying.items())
        rows.append((translate("MetadataPanel", "Path"), self._path))
        for key, value in rows:
            item = QTreeWidgetItem([key, value])
            item.setToolTip(1, value)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.tree.addTopLevelItem(item)
