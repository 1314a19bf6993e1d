"""The run controls of the training page: the one Start/Stop button, the progress bar and
the message line, which shows the session's news and, in one place, its failures."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from gui.i18n import integer, translate
from gui.pages.train.session import RunPlan, TrainingSession
from gui.widgets.banner import set_banner


class RunPanel(QWidget):
    """Start/Stop, where the run stands, and the page's message line."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.run_button = QPushButton(translate("RunPanel", "Start training"))
        self.run_button.setMinimumHeight(34)
        f = self.run_button.font()
        f.setBold(True)
        self.run_button.setFont(f)
        self.progress = QProgressBar()
        self._show_progress(1, 0, translate("RunPanel", "idle"))
        self.message = QLabel(translate("RunPanel", "Choose a dataset folder to begin."))
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.show_message(translate("RunPanel", "Choose a dataset folder to begin."), "info")
        box = QVBoxLayout(self)
        box.setContentsMargins(6, 0, 0, 0)
        box.addWidget(self.run_button)
        box.addWidget(self.progress)
        box.addWidget(self.message)

        self.run_button.clicked.connect(self.toggle_run)
        session.told.connect(self.show_message)
        session.failed.connect(self.show_message)
        session.runStarted.connect(self._on_run_started)
        session.stageChanged.connect(self._on_stage)
        session.progressed.connect(self._on_progress)
        session.batchesArrived.connect(self._on_batches)
        session.runFinished.connect(self._on_run_finished)
        session.stateChanged.connect(self.update_controls)

    @Slot()
    def toggle_run(self) -> None:
        """The one Start/Stop button."""
        if self.session.training:
            self.session.stop()
        else:
            self.session.start()

    @Slot(str, str)
    def show_message(self, text: str, level: str = "info") -> None:
        """The page's one place for news: info, ok, warning or error (never a traceback)."""
        set_banner(self.message, text, level)

    @property
    def message_level(self) -> str:
        return str(self.message.property("level") or "")

    def _show_progress(self, total: int, done: int, text: str) -> None:
        """``total`` 0: busy, with no end in sight."""
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(text)

    @Slot(object)
    def _on_run_started(self, _plan: RunPlan) -> None:
        self._show_progress(0, 0, translate("RunPanel", "starting…"))

    @Slot(str)
    def _on_stage(self, message: str) -> None:
        if message and message != "reading images":
            self._show_progress(0, 0, translate("TrainJobs", message) + "…")

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, message: str) -> None:
        if message == "reading images" and total > 0:
            self._show_progress(total, done, translate("RunPanel", "reading images: {0} / {1}")
                                .format(integer(done), integer(total)))

    @Slot(object)
    def _on_batches(self, _points: Any) -> None:
        at, plan = self.session.position, self.session.plan
        if at is None:
            return
        self._show_progress(at.total, min(at.done, at.total),
                            translate("RunPanel", "epoch {0} / {1}, batch {2} / {3}").format(
                                at.epoch + 1, plan.epochs, min(at.batch + 1, plan.steps),
                                plan.steps))

    @Slot(object)
    def _on_run_finished(self, result: Any) -> None:
        done = result is not None
        self._show_progress(1, int(done), translate("RunPanel", "done") if done
                            else translate("RunPanel", "idle"))

    @Slot()
    def update_controls(self) -> None:
        s = self.session
        training, stopping = s.training, s.stopping
        self.run_button.setText(translate("RunPanel", "Stopping…") if stopping
                                else translate("RunPanel", "Stop") if training
                                else translate("RunPanel", "Start training"))
        self.run_button.setToolTip(
            translate("RunPanel", "Stop after this batch and keep the best epoch so far")
            if training else translate("RunPanel", "Train with this dataset and recipe"))
        self.run_button.setEnabled(not stopping and (training or s.can_start()))
