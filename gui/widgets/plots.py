"""Plots the pages share: the plot in the window's palette, its legend, the confusion
matrix and the ROC curve (the Train page's results and the Validate page draw them).

Every curve, image and label is created once; updates call ``setData`` / ``setImage`` /
``setText`` (pyqtgraph ``examples/PanningPlot.py``). Tests read the curves back with
``getData()``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QWidget

from core.model.card import NEGATIVE, POSITIVE
from gui.i18n import integer, number, percent, translate
from gui.i18n.core_text import core_text

if TYPE_CHECKING:
    from core.evaluation.metrics import Metrics

# Colour-blind-safe pairs (Okabe-Ito): training blue, validation orange, best green.
TRAIN = "#0072B2"
VALID = "#E69F00"
BEST = "#009E73"
OPERATING = "#D55E00"


def make_plot(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    """A plot drawn in the window's palette (not pyqtgraph's black), mouse zoom off."""
    pal = QPalette()
    w = pg.PlotWidget(background=pal.color(QPalette.ColorRole.Base))
    p = w.getPlotItem()
    text = pal.color(QPalette.ColorRole.Text)
    p.setTitle(title, color=text.name(), size="10pt")
    for side, label in (("bottom", x_label), ("left", y_label)):
        axis = p.getAxis(side)
        axis.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Mid)))
        axis.setTextPen(pg.mkPen(text))
        axis.setLabel(label, color=text.name())
        axis.enableAutoSIPrefix(False)
    p.showGrid(x=True, y=True, alpha=0.15)
    p.setMenuEnabled(False)
    w.setMinimumSize(200, 160)
    return w


def add_legend(plot: pg.PlotWidget) -> pg.LegendItem:
    text = QPalette().color(QPalette.ColorRole.Text)
    return plot.getPlotItem().addLegend(offset=(-6, 6), labelTextColor=text,
                                        labelTextSize="8pt", brush=pg.mkBrush(255, 255, 255, 200))


def _fmt_pct(n: int, total: int) -> str:
    return percent(n / total) if total else "–"


class ConfusionMatrixPlot(pg.PlotWidget):
    """Counts and row percentages (share of each true class) as a 2 x 2 picture.

    Rows: true COVID, true NOT COVID; columns: predicted COVID, predicted NOT COVID, so the
    cells read TP FN / FP TN like ``covidcxr evaluate``.
    """

    CELLS = (("tp", QT_TRANSLATE_NOOP("TrainPlots", "true positive")),
             ("fn", QT_TRANSLATE_NOOP("TrainPlots", "false negative")),
             ("fp", QT_TRANSLATE_NOOP("TrainPlots", "false positive")),
             ("tn", QT_TRANSLATE_NOOP("TrainPlots", "true negative")))

    def __init__(self, parent: QWidget | None = None) -> None:
        pal = QPalette()
        super().__init__(parent, background=pal.color(QPalette.ColorRole.Base))
        p = self.getPlotItem()
        text = pal.color(QPalette.ColorRole.Text)
        p.setTitle(translate("TrainPlots", "Confusion matrix"), color=text.name(), size="10pt")
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.invertY(True)
        p.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(
            pg.ColorMap([0.0, 1.0], [(247, 251, 255), (8, 81, 156)]).getLookupTable(nPts=256))
        p.addItem(self.image)
        classes = [(0.5, core_text(POSITIVE)), (1.5, core_text(NEGATIVE))]
        left, bottom = p.getAxis("left"), p.getAxis("bottom")
        left.setTicks([classes])
        bottom.setTicks([classes])
        for axis, label in ((left, translate("TrainPlots", "true class")),
                            (bottom, translate("TrainPlots", "predicted"))):
            axis.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Mid)))
            axis.setTextPen(pg.mkPen(text))
            axis.setLabel(label, color=text.name())
            axis.setStyle(tickLength=0)
        font = QFont()
        font.setPointSize(10)
        self.texts: dict[str, pg.TextItem] = {}
        for i, (key, _) in enumerate(self.CELLS):
            t = pg.TextItem(anchor=(0.5, 0.5))
            t.setFont(font)
            t.setPos(0.5 + i % 2, 0.5 + i // 2)
            p.addItem(t)
            self.texts[key] = t
        p.setXRange(0, 2, padding=0.02)
        p.setYRange(0, 2, padding=0.02)
        self.setMinimumSize(220, 200)
        self.counts: dict[str, int] = {}
        self.set_confusion(None)

    def set_confusion(self, c: dict[str, int] | None) -> None:
        """``{tp, fp, tn, fn}`` from ``core.evaluation.metrics.confusion``, or None to clear."""
        self.counts = dict(c or {})
        c = c or {"tp": 0, "fn": 0, "fp": 0, "tn": 0}
        rows = ((c["tp"], c["fn"]), (c["fp"], c["tn"]))
        share = np.array([[v / max(sum(r), 1) for v in r] for r in rows], np.float32)
        self.image.setImage(share, levels=(0.0, 1.0))
        self.image.setRect(0, 0, 2, 2)  # after setImage: the rect scales the current image
        for i, (key, name) in enumerate(self.CELLS):
            row = rows[i // 2]
            n = row[i % 2]
            dark = share[i // 2, i % 2] > 0.55
            color = "#ffffff" if dark else "#1a1a1a"
            body = "" if not self.counts else (
                f"<span style='font-size:15pt; font-weight:600'>{integer(n)}</span><br>"
                f"{_fmt_pct(n, sum(row))}<br>")
            self.texts[key].setHtml(
                f"<div style='text-align:center; color:{color}'>{body}"
                f"<span style='font-size:8pt'>{translate('TrainPlots', name)}</span></div>")


class RocPlot(pg.PlotWidget):
    """The ROC curve with its AUC, the chance line and the chosen operating point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        pal = QPalette()
        super().__init__(parent, background=pal.color(QPalette.ColorRole.Base))
        p = self.getPlotItem()
        self._text_color = pal.color(QPalette.ColorRole.Text).name()
        p.setMenuEnabled(False)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.showGrid(x=True, y=True, alpha=0.15)
        for side, label in (
                ("bottom", translate("TrainPlots", "1 − specificity (false-positive rate)")),
                ("left", translate("TrainPlots", "sensitivity (true-positive rate)"))):
            axis = p.getAxis(side)
            axis.setPen(pg.mkPen(pal.color(QPalette.ColorRole.Mid)))
            axis.setTextPen(pg.mkPen(self._text_color))
            axis.setLabel(label, color=self._text_color)
        p.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DashLine))
        self.curve = p.plot([], [], pen=pg.mkPen(TRAIN, width=2.5))
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(OPERATING),
                                        pen=pg.mkPen("w", width=1))
        p.addItem(self.point)
        self.point_label = pg.TextItem(anchor=(1, 1))
        self.point_label.setPos(1.0, 0.02)
        p.addItem(self.point_label)
        p.setXRange(0, 1, padding=0.02)
        p.setYRange(0, 1, padding=0.02)
        p.setAspectLocked(True)
        self.setMinimumSize(220, 200)
        self.auc: float | None = None
        self.set_metrics(None)

    def set_metrics(self, m: Metrics | None, split: str = "") -> None:
        """A split's :class:`core.evaluation.metrics.Metrics` (its ROC points and chosen
        threshold), or None to clear."""
        if m is None or not m.roc:
            self.set_curve(None, None)
            return
        self.set_curve([r.fpr for r in m.roc], [r.tpr for r in m.roc],
                       float(m.auc), f", {split} (n = {integer(m.n)})" if split else "")
        self.set_point(m.sensitivity, m.specificity, m.threshold)

    def set_curve(self, fpr, tpr, auc: float | None = None, where: str = "") -> None:
        """The curve and its AUC in the title; ``fpr`` None clears the plot."""
        p = self.getPlotItem()
        if fpr is None:
            self.auc = None
            self.curve.setData([], [])
            self.point.setData([], [])
            self.point_label.setText("")
            p.setTitle(translate("TrainPlots", "ROC"), color=self._text_color, size="10pt")
            return
        self.curve.setData(np.asarray(fpr), np.asarray(tpr))
        self.auc = auc
        p.setTitle(f"ROC{where}: AUC {number(auc, 3)}", color=self._text_color, size="10pt")

    def set_point(self, sensitivity: float, specificity: float, threshold: float) -> None:
        """The operating point and its label (hidden when undefined)."""
        x, y = 1.0 - specificity, sensitivity
        if math.isfinite(x) and math.isfinite(y):
            self.point.setData([x], [y])
            # In the bottom-right corner: below the chance line, where a ROC never is.
            self.point_label.setHtml(
                f"<div style='text-align:right; color:{OPERATING}'>● "
                + translate("TrainPlots", "threshold {0}<br>sensitivity {1}, specificity {2}")
                .format(number(threshold, 3), number(y, 2), number(1 - x, 2)) + "</div>")
        else:
            self.point.setData([], [])
            self.point_label.setText("")
