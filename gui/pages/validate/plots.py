"""The validate page's figures: ROC and precision-recall with the operating point, the
reliability diagram, the score distribution per class, the confusion matrix.

The operating point moves by dragging along the ROC curve or dragging the threshold line
over the score distribution; either emits ``thresholdPicked``. Curves are created once and
updated with ``setData`` (tests read them back with ``getData()``). The same widgets, drawn
off-screen, are the figures of the PDF report.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QGridLayout, QWidget

from core.evaluation.validation import OperatingPoint, SiteAnalysis, SiteMetrics
from gui.i18n import integer, number, translate
from gui.widgets.plots import (
    OPERATING,
    TRAIN,
    VALID,
    ConfusionMatrixPlot,
    RocPlot,
    add_legend,
    make_plot,
)

HIST_BINS = 20


class PickableRoc(RocPlot):
    """The ROC plot; pressing or dragging on it picks the nearest point of the curve."""

    picked = Signal(int)  # index into the curve's points

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(translate("ValidationPlots", "Click or drag along the curve to move the operating point"))

    def nearest(self, fpr: float, tpr: float) -> int | None:
        x, y = self.curve.getData()
        if x is None or not len(x):
            return None
        return int(np.argmin((x - fpr) ** 2 + (y - tpr) ** 2))

    def pick_at(self, fpr: float, tpr: float) -> None:
        i = self.nearest(fpr, tpr)
        if i is not None:
            self.picked.emit(i)

    def _pick_event(self, event) -> None:
        pos = self.getPlotItem().vb.mapSceneToView(self.mapToScene(event.position().toPoint()))
        self.pick_at(pos.x(), pos.y())

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton:
            self._pick_event(event)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick_event(event)
        super().mouseMoveEvent(event)


class ValidationPlots(QWidget):
    """All five figures for one analysis; ``set_point`` moves the operating point."""

    thresholdPicked = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        text = QPalette().color(QPalette.ColorRole.Text).name()
        self.roc = PickableRoc()
        self.roc.picked.connect(self._on_roc_picked)

        self.pr = make_plot(translate("ValidationPlots", "Precision-recall"),
                            translate("ValidationPlots", "sensitivity (recall)"),
                            translate("ValidationPlots", "PPV (precision)"))
        self.pr_curve = self.pr.plot([], [], pen=pg.mkPen(TRAIN, width=2.5))
        self.pr_point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(OPERATING),
                                           pen=pg.mkPen("w", width=1))
        self.pr.addItem(self.pr_point)
        self.pr.setXRange(0, 1, padding=0.02)
        self.pr.setYRange(0, 1, padding=0.02)

        self.reliability = make_plot(translate("ValidationPlots", "Reliability (calibration)"),
                                     translate("ValidationPlots", "predicted P(COVID)"),
                                     translate("ValidationPlots", "observed share COVID"))
        self.reliability.plot([0, 1], [0, 1], pen=pg.mkPen("#999999", width=1,
                                                           style=Qt.PenStyle.DashLine))
        self.reliability_curve = self.reliability.plot(
            [], [], pen=pg.mkPen(TRAIN, width=2), symbol="o", symbolSize=7,
            symbolBrush=TRAIN)
        self.reliability.setXRange(0, 1, padding=0.02)
        self.reliability.setYRange(0, 1, padding=0.02)

        self.scores = make_plot(translate("ValidationPlots", "Scores by true class"), "P(COVID)",
                                translate("ValidationPlots", "share of the class"))
        add_legend(self.scores)
        self.hist_pos = pg.PlotDataItem([], [], stepMode="center", fillLevel=0,
                                        pen=pg.mkPen(OPERATING, width=2),
                                        brush=pg.mkBrush(213, 94, 0, 60), name="COVID")
        self.hist_neg = pg.PlotDataItem([], [], stepMode="center", fillLevel=0,
                                        pen=pg.mkPen(TRAIN, width=2),
                                        brush=pg.mkBrush(0, 114, 178, 60),
                                        name=translate("ValidationPlots", "not COVID"))
        self.scores.addItem(self.hist_neg)
        self.scores.addItem(self.hist_pos)
        self.threshold_line = pg.InfiniteLine(
            0.5, angle=90, movable=True, bounds=(0, 1),
            pen=pg.mkPen(VALID, width=2), hoverPen=pg.mkPen(VALID, width=4),
            label=" ", labelOpts={"position": 0.92, "color": text})
        # The label in the locale's numbers (pyqtgraph's own format would write 0.201).
        self.threshold_line.sigPositionChanged.connect(self._label_threshold)
        self._label_threshold(self.threshold_line)
        self.threshold_line.setToolTip(translate("ValidationPlots", "Drag to move the operating point"))
        self.threshold_line.sigPositionChangeFinished.connect(
            lambda line: self.thresholdPicked.emit(float(line.value())))
        self.scores.addItem(self.threshold_line)
        self.scores.setXRange(0, 1, padding=0.02)

        self.confusion = ConfusionMatrixPlot()

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.roc, 0, 0)
        grid.addWidget(self.pr, 0, 1)
        grid.addWidget(self.confusion, 0, 2)
        grid.addWidget(self.scores, 1, 0, 1, 2)
        grid.addWidget(self.reliability, 1, 2)
        self._thresholds = np.zeros(0)
        self._analysis: SiteAnalysis | None = None

    # ---------------------------------------------------------------- data
    def set_analysis(self, analysis: SiteAnalysis | None, m: SiteMetrics | None) -> None:
        self._analysis = analysis
        if analysis is None or m is None:
            self.roc.set_metrics(None)
            for item in (self.pr_curve, self.reliability_curve, self.hist_pos, self.hist_neg):
                item.setData([], [])
            self.pr_point.setData([], [])
            self.confusion.set_confusion(None)
            self._thresholds = np.zeros(0)
            return
        fpr, tpr, thr = analysis.roc()
        self._thresholds = thr
        recall, precision = analysis.precision_recall()
        self.pr_curve.setData(recall, precision)
        rel = [r for r in m.reliability if r["count"]]
        self.reliability_curve.setData([r["mean_predicted"] for r in rel],
                                       [r["observed_positive"] for r in rel])
        self.reliability.setTitle(translate("ValidationPlots", "Reliability (calibration): ECE {0}")
                                  .format(number(m.ece, 3)))
        edges = np.linspace(0, 1, HIST_BINS + 1)
        for item, cls in ((self.hist_pos, 1), (self.hist_neg, 0)):
            scores = analysis.p[analysis.y == cls]
            counts, _ = np.histogram(scores, edges)
            item.setData(edges, counts / max(len(scores), 1))
        self.roc.set_curve(fpr, tpr, m.auc.value, translate(
            "ValidationPlots", ", assessed films (n = {0})").format(integer(analysis.y.size)))
        self.set_point(m.point)

    def set_point(self, pt: OperatingPoint) -> None:
        """Move the marks to an operating point (the curves stay)."""
        if self._analysis is None:
            return
        self.roc.set_point(pt.sensitivity.value, pt.specificity.value, pt.threshold)
        ppv = pt.tp / (pt.tp + pt.fp) if pt.tp + pt.fp else math.nan
        if math.isfinite(ppv):
            self.pr_point.setData([pt.sensitivity.value], [ppv])
        else:
            self.pr_point.setData([], [])
        # setValue emits sigPositionChanged (the label follows), never ...ChangeFinished.
        self.threshold_line.setValue(min(max(pt.threshold, 0.0), 1.0))
        self.confusion.set_confusion({"tp": pt.tp, "fn": pt.fn, "fp": pt.fp, "tn": pt.tn})

    def _label_threshold(self, line: pg.InfiniteLine) -> None:
        text = translate("ValidationPlots", "threshold {0}").format(number(line.value(), 3))
        line.label.setFormat(text.replace("{", "{{").replace("}", "}}"))

    def _on_roc_picked(self, i: int) -> None:
        if not len(self._thresholds):
            return
        t = self._thresholds[i]
        if not math.isfinite(t):  # the (0, 0) corner: call nothing positive
            t = float(np.nextafter(self._thresholds[1], np.inf)) if len(self._thresholds) > 1 \
                else 1.0
        self.thresholdPicked.emit(float(t))

    def figure_images(self, width: int = 920) -> dict[str, QImage]:
        """Each figure drawn at ``width`` pixels wide for the report (pyqtgraph's image
        exporter renders the plot's scene, shown on screen or not)."""
        from pyqtgraph.exporters import ImageExporter

        out = {}
        for name, widget in (("roc", self.roc), ("pr", self.pr), ("scores", self.scores),
                             ("reliability", self.reliability), ("confusion", self.confusion)):
            item = widget.getPlotItem()
            # The item's own geometry, not the (hidden) widget's: a hidden widget's resize
            # waits for a show that never comes.
            square = name in ("roc", "confusion")  # aspect-locked plots
            item.setGeometry(QRectF(0, 0, 440 if square else 460, 440 if square else 380))
            exporter = ImageExporter(item)
            exporter.parameters()["width"] = width
            out[name] = exporter.export(toBytes=True)
        return out
