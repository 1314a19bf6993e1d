"""The live part of the training page: where the run is (epoch, best epoch, time left) over
the loss and accuracy curves. It follows the session's run signals."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.i18n import number, translate
from gui.pages.train.plots import LiveTrainingPlots
from gui.pages.train.session import RunPlan, TrainingSession


class LivePanel(QWidget):
    """The run's headline and time left, and :class:`LiveTrainingPlots`."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.plots = LiveTrainingPlots()
        self.epoch_label = QLabel(translate("LivePanel", "No training yet."))
        self.eta_label = QLabel("")
        self.eta_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # Wrapped, not one long line: an unwrapped label's width is the window's minimum,
        # and these lines are longer in Spanish than the page is wide.
        for label in (self.epoch_label, self.eta_label):
            label.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.epoch_label, 1)
        head.addWidget(self.eta_label)
        tv = QVBoxLayout(self)
        tv.setContentsMargins(6, 6, 6, 0)
        tv.addLayout(head)
        tv.addWidget(self.plots, 1)

        session.runStarted.connect(self._on_run_started)
        session.stageChanged.connect(self._on_stage)
        session.epochEnded.connect(self._on_epoch)
        session.batchesArrived.connect(self._on_batches)
        session.trained.connect(self._on_trained)
        session.runFinished.connect(self._on_run_finished)

    @Slot(object)
    def _on_run_started(self, plan: RunPlan) -> None:
        self.plots.reset()
        self.plots.steps_per_epoch = plan.steps
        self.epoch_label.setText(translate("LivePanel", "Starting TensorFlow…"))
        self.eta_label.setText("")

    @Slot(str)
    def _on_stage(self, message: str) -> None:
        if message and message != "reading images":
            message = translate("TrainJobs", message)
            self.epoch_label.setText(message[0].upper() + message[1:] + "…")

    @Slot(object)
    def _on_epoch(self, e: dict) -> None:
        self.plots.add_epoch(e)
        best = e.get("best_epoch", -1) + 1
        vals = "  ".join(f"{k} {number(e[k], 3)}" for k in ("loss", "val_loss", "val_accuracy")
                         if k in e)
        text = translate("LivePanel", "Epoch {0} of at most {1}").format(
            e["epoch"] + 1, self.session.plan.epochs)
        if best > 0:
            text += " · " + translate("LivePanel", "best so far: {0}").format(best)
        self.epoch_label.setText(f"{text} · {vals}")

    @Slot(object)
    def _on_batches(self, points: list[tuple[int, int, float]]) -> None:
        self.plots.add_batches(points)
        at = self.session.position
        if at is not None and at.left is not None:
            self.eta_label.setText(translate(
                "LivePanel", "{0} elapsed · at most {1} left (early stopping may end sooner)")
                .format(_duration(at.elapsed), _duration(at.left)))

    @Slot(object)
    def _on_trained(self, result: Any) -> None:
        self.plots.set_best(result.best_epoch + 1)
        t = result.card.training
        run, best = t.get("epochs_run", len(result.history.get("loss", []))), result.best_epoch + 1
        why = (translate("LivePanel", "you stopped it") if result.stopped_by_user else
               translate("LivePanel", "early stopping") if run < self.session.plan.epochs
               else translate("LivePanel", "all epochs done"))
        self.epoch_label.setText(translate(
            "LivePanel", "Finished after {0} epoch(s) ({1}); the weights of epoch {2} are kept.")
            .format(run, why, best))

    @Slot(object)
    def _on_run_finished(self, result: Any) -> None:
        self.eta_label.setText("")
        if result is None:
            cancelled = self.session.outcome == "cancelled"
            self.epoch_label.setText(translate("LivePanel", "Cancelled.") if cancelled
                                     else translate("LivePanel", "Training failed."))


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
