"""The dialog that names a trained model and takes notes on it (both go into its card)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from gui.i18n import translate


class SaveModelDialog(QDialog):
    """Name and notes for a trained model (both go into its card)."""

    def __init__(self, name: str, folder: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("SaveDialog", "Save trained model"))
        self.name_edit = QLineEdit(name)
        self.name_edit.setToolTip(translate("SaveDialog", "Shown in the model list and the classify window"))
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText(translate("SaveDialog", "What data, which hospital, why this run…"))
        self.notes_edit.setTabChangesFocus(True)
        where = QLabel(translate("SaveDialog", "Saved in {0} with its model card.").format(folder))
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
        form.addRow(translate("SaveDialog", "Name:"), self.name_edit)
        form.addRow(translate("SaveDialog", "Notes:"), self.notes_edit)
        form.addRow(where)
        form.addRow(buttons)
        self.resize(460, 260)

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    @property
    def notes(self) -> str:
        return self.notes_edit.toPlainText().strip()
