"""The "Save as site profile" dialog: name the site; optionally refit the calibration."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from gui.i18n import number, translate


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
