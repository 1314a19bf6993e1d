"""The training page's live plots: loss and accuracy per batch and per epoch.

Every curve is created once; updates call ``setData`` (pyqtgraph
``examples/PanningPlot.py``). Tests read the curves back with ``getData()``.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QWidget

from gui.i18n import translate
from gui.widgets.plots import BEST, TRAIN, VALID, add_legend, make_plot

#: Weight of the past in the displayed batch-loss curve (exponential moving average).
BATCH_SMOOTHING = 0.8


class LiveTrainingPlots(QWidget):
    """Loss and accuracy per epoch (training and validation), a smoothed per-batch loss,
    and a marker on early stopping's best epoch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = make_plot(translate("TrainPlots", "Loss"), translate("TrainPlots", "epoch"),
                                   translate("TrainPlots", "binary cross-entropy"))
        self.acc_plot = make_plot(translate("TrainPlots", "Accuracy"),
                                  translate("TrainPlots", "epoch"),
                                  translate("TrainPlots", "accuracy"))
        add_legend(self.loss_plot)
        add_legend(self.acc_plot)
        lp, ap = self.loss_plot.getPlotItem(), self.acc_plot.getPlotItem()

        def curve(plot, name, color, style=Qt.PenStyle.SolidLine, width=2, symbol="o"):
            return plot.plot([], [], name=name, pen=pg.mkPen(color, width=width, style=style),
                             symbol=symbol, symbolSize=5, symbolBrush=color,
                             symbolPen=pg.mkPen(color))

        # The epoch curves keep Keras's own names (loss, val_loss...), as the card records them.
        self.batch_loss = curve(lp, translate("TrainPlots", "loss per batch (smoothed)"),
                                QColor(TRAIN).lighter(150),
                                width=1, symbol=None)
        self.loss = curve(lp, "loss", TRAIN)
        self.val_loss = curve(lp, "val_loss", VALID)
        self.accuracy = curve(ap, "accuracy", TRAIN)
        self.val_accuracy = curve(ap, "val_accuracy", VALID)
        ap.setYRange(0.0, 1.02, padding=0)

        self.best_lines = []
        for p in (lp, ap):
            pen = pg.mkPen(BEST, width=1.5, style=Qt.PenStyle.DashLine)
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            line.setVisible(False)
            p.addItem(line, ignoreBounds=True)
            self.best_lines.append(line)
            # An empty curve with the line's pen gives the marker its legend entry.
            p.plot([], [], name=translate("TrainPlots", "best epoch (weights kept)"), pen=pen)
        self.best_point = pg.ScatterPlotItem(size=11, symbol="star", brush=pg.mkBrush(BEST),
                                             pen=pg.mkPen(BEST))
        lp.addItem(self.best_point)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.acc_plot)
        self.reset()

    def reset(self) -> None:
        self.best_epoch: int | None = None
        self._epochs: list[float] = []
        self._values: dict[str, list[float]] = {k: [] for k in
                                                ("loss", "val_loss", "accuracy", "val_accuracy")}
        self._bx: list[float] = []
        self._by: list[float] = []
        self._ema = 0.0
        self._ema_n = 0
        self.steps_per_epoch = 1
        for c in (self.batch_loss, self.loss, self.val_loss, self.accuracy, self.val_accuracy):
            c.setData([], [])
        self.best_point.setData([], [])
        for line in self.best_lines:
            line.setVisible(False)
        for p in (self.loss_plot, self.acc_plot):
            p.getPlotItem().setXRange(0, 1, padding=0.02)
        self.loss_plot.getPlotItem().enableAutoRange(axis="y")

    def add_batches(self, points: list[tuple[int, int, float]]) -> None:
        """(epoch, batch, loss of that batch) -> a smoothed curve at fractional epochs, so
        the batches of epoch 1 fall between 0 and 1 and meet its point at x = 1."""
        steps = max(self.steps_per_epoch, 1)
        for epoch, batch, loss in points:
            if not math.isfinite(loss):
                continue
            self._ema = BATCH_SMOOTHING * self._ema + (1 - BATCH_SMOOTHING) * loss
            self._ema_n += 1
            self._bx.append(epoch + min(batch + 1, steps) / steps)
            self._by.append(self._ema / (1 - BATCH_SMOOTHING ** self._ema_n))  # de-biased
        self.batch_loss.setData(np.asarray(self._bx), np.asarray(self._by))
        self._fit_x()

    def add_epoch(self, e: dict) -> None:
        """One ``on_epoch`` report from ``core.training.fit.train`` (epoch counted from 0)."""
        self._epochs.append(float(e["epoch"] + 1))
        x = np.asarray(self._epochs)
        for key, c in (("loss", self.loss), ("val_loss", self.val_loss),
                       ("accuracy", self.accuracy), ("val_accuracy", self.val_accuracy)):
            self._values[key].append(float(e.get(key, np.nan)))
            c.setData(x, np.asarray(self._values[key]))
        best = e.get("best_epoch", -1)
        if best is not None and best >= 0:
            self.set_best(best + 1)
        self._fit_x()

    def set_best(self, epoch: int) -> None:
        """Mark the best epoch (1-based): the weights that are kept."""
        self.best_epoch = epoch
        for line in self.best_lines:
            line.setValue(epoch)
            line.setVisible(True)
        i = epoch - 1
        if 0 <= i < len(self._values["val_loss"]):
            self.best_point.setData([epoch], [self._values["val_loss"][i]])

    def _fit_x(self) -> None:
        right = max(self._epochs[-1] if self._epochs else 0.0, self._bx[-1] if self._bx else 0.0)
        right = max(1.0, math.ceil(right))
        for p in (self.loss_plot, self.acc_plot):
            # A little room after the last epoch, so a best-epoch line there stays visible.
            p.getPlotItem().setXRange(0, right + 0.04 * right, padding=0)
