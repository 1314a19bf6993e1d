"""The Models box of the training page: the models one can classify with (the bundled one
and those saved), which one is in use, and buttons to switch. It shows the session's model
list and hands it the user's choice."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from gui.i18n import translate
from gui.pages.train.session import TrainingSession


class ModelsPanel(QGroupBox):
    """The model list (✓ = in use), "Use" and "Restore bundled model"."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(translate("ModelsPanel", "Models"), parent)
        self.session = session
        self.models_combo = QComboBox()
        self.models_combo.setToolTip(translate("ModelsPanel", "Models you can classify with: the bundled model and "
                                     "the ones you saved (✓ = in use)"))
        self.models_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.models_combo.setMinimumContentsLength(16)
        self.use_selected_button = QPushButton(translate("ModelsPanel", "Use"))
        self.use_selected_button.setToolTip(translate("ModelsPanel", "Classify with the selected model"))
        self.restore_button = QPushButton(translate("ModelsPanel", "Restore bundled model"))
        self.restore_button.setToolTip(translate("ModelsPanel", "Classify with the model that ships with CovidCXR"))
        mv = QVBoxLayout(self)
        mrow = QHBoxLayout()
        mrow.addWidget(self.models_combo, 1)
        mrow.addWidget(self.use_selected_button)
        mv.addLayout(mrow)
        mv.addWidget(self.restore_button)

        self.use_selected_button.clicked.connect(
            lambda: session.use_model(self.models_combo.currentData()))
        self.restore_button.clicked.connect(lambda: session.use_model(session.store.bundled))
        self.models_combo.currentIndexChanged.connect(lambda _: self.update_controls())
        session.modelsChanged.connect(self.show_models)
        session.stateChanged.connect(self.update_controls)

    @Slot()
    def show_models(self) -> None:
        """List the models, marking the active one; the selection stays where it was."""
        setup, combo = self.session.setup, self.models_combo
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for e in setup.entries:
            mark = "✓ " if e.path == setup.active else ""
            combo.addItem(mark + e.label, str(e.path))
            tip = str(e.path) + (f"\n{e.notes}" if e.notes else "")
            combo.setItemData(combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        i = combo.findData(current if current else str(setup.active))
        combo.setCurrentIndex(max(i, 0))
        combo.blockSignals(False)

    @Slot()
    def update_controls(self) -> None:
        setup = self.session.setup
        selected = self.models_combo.currentData()
        self.use_selected_button.setEnabled(bool(selected) and Path(selected) != setup.active
                                            and setup.usable(selected))
        bundled = self.session.store.bundled
        self.restore_button.setEnabled(setup.active != bundled and bundled.is_file())
