"""The X-ray viewer: full-resolution image, zoom/pan, window/level, invert, a Grad-CAM
overlay and the probability badge.

The image is a pyqtgraph ``ImageItem`` in a ``ViewBox`` (wheel zoom, left-drag pan); the
heat map is a second ``ImageItem`` with a colour map whose low values are transparent, so
the anatomy stays visible, placed over the crop box the network actually saw.

pyqtgraph costs a few hundred milliseconds to import, so the graphics view is built after
the window's first paint (:meth:`XRayViewer.ensure_view`), not at start-up.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QT_TRANSLATE_NOOP, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QPainter, QPalette, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedLayout, QVBoxLayout, QWidget

from core.answers.evidence import LOW_EVIDENCE
from core.answers.inference import Prediction
from core.model.card import NEGATIVE, POSITIVE
from gui.i18n import number, translate
from gui.i18n.core_text import core_text

CONTROLS_SHORT = QT_TRANSLATE_NOOP(
    "XRayViewer",
    "Wheel zoom · drag pan · right-drag window/level · I invert · Space reset · = fit · "
    "H heat map · L lung outline"
)
CONTROLS_HELP = QT_TRANSLATE_NOOP(
    "XRayViewer",
    "Mouse wheel: zoom · left-drag: pan · right-drag: window/level (left-right = width, "
    "up-down = level) · i: invert · space: reset · =: fit to window · h: heat map · "
    "l: lung outline"
)


def controls_short() -> str:
    """The viewer's keys in one line, in the window's language."""
    return translate("XRayViewer", CONTROLS_SHORT)


def controls_help() -> str:
    """The viewer's mouse and keys, in the window's language."""
    return translate("XRayViewer", CONTROLS_HELP)

# Window/level change per screen pixel of right-drag (the image spans 0..1).
_WL_PER_PIXEL = 0.002
_MIN_WIDTH = 0.01
_BADGE_HEIGHT = 54


#: A film is shown at most this many pixels along its longer side (a 4,000 px film is
#: 16 screen pixels a pixel at 4x zoom on a 1,000 px viewer; 2,048 keeps 2x zoom sharp).
DISPLAY_MAX_SIDE = 2048


def display_pixels(pixels: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """A film (float32 [0, 1], any size) as the viewer keeps it: at most ``max_side`` along
    its longer side (area-averaged), as uint16. Sixteen bits, not eight: window/level on a
    12-bit film stays exact (a narrow window of 8-bit data shows bands); a quarter of the
    float32 full-size array's memory, or less, and faster to re-level on every drag."""
    h, w = pixels.shape[:2]
    if max(h, w) > max_side:
        k = max_side / max(h, w)
        size = (max(1, round(w * k)), max(1, round(h * k)))
        pixels = np.asarray(Image.fromarray(np.asarray(pixels, np.float32), mode="F")
                            .resize(size, Image.Resampling.BOX), np.float32)
    return np.clip(np.rint(np.asarray(pixels, np.float32) * 65535.0), 0, 65535).astype(np.uint16)


def _gray_lut(inverted: bool) -> np.ndarray:
    ramp = np.arange(256, dtype=np.uint8)
    return ramp[::-1].copy() if inverted else ramp


def _heat_lut(pg: Any) -> np.ndarray:
    """Turbo colours with an alpha ramp: weak activations are fully transparent and only
    the strongest regions are close to opaque, so the overlay never hides the whole chest."""
    colors = pg.colormap.get("turbo").getLookupTable(0.0, 1.0, 256, alpha=True)
    v = np.linspace(0.0, 1.0, 256)
    colors[:, 3] = np.clip((v - 0.2) / 0.6, 0.0, 1.0) * 230
    return colors.astype(np.uint8)


#: Side of the outline image: the 128 px mask is drawn smoothly at this size.
_OUTLINE_SIZE = 512


def lung_outline(lungs: np.ndarray) -> np.ndarray:
    """RGBA (512, 512) image of the lung fields' border (transparent elsewhere), from the
    segmenter's probability map: smoothed up to 512 px, thresholded, edge kept."""
    from PIL import Image

    big = np.asarray(Image.fromarray(np.asarray(lungs, np.float32), mode="F").resize(
        (_OUTLINE_SIZE, _OUTLINE_SIZE), Image.Resampling.BILINEAR)) > 0.5
    inner = big.copy()
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1), (2, 0), (-2, 0), (0, 2), (0, -2)):
        inner &= np.roll(np.roll(big, dy, axis=0), dx, axis=1)
    edge = big & ~inner
    rgba = np.zeros((_OUTLINE_SIZE, _OUTLINE_SIZE, 4), np.uint8)
    rgba[edge] = (0, 230, 118, 255)
    return rgba


@functools.cache
def _image_view_box_class(pg: Any) -> type:
    """A ViewBox whose right-drag sets window/level instead of zooming."""

    class ImageViewBox(pg.ViewBox):
        windowLevelDragged = Signal(float, float)

        def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt override)
            if ev.button() == Qt.MouseButton.RightButton:
                ev.accept()
                delta = ev.screenPos() - ev.lastScreenPos()
                self.windowLevelDragged.emit(delta.x(), delta.y())
                return
            super().mouseDragEvent(ev, axis)

    return ImageViewBox


class ScoreBadge(QWidget):
    """Decision, probability and a 0..1 score bar with the threshold marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pred: Prediction | None = None
        self._text = translate("ScoreBadge", "No image selected")
        self.setMinimumHeight(_BADGE_HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(translate("ScoreBadge", "P(COVID) from the model; the tick marks the "
                                  "model's decision threshold (from its model card)"))

    @property
    def text(self) -> str:
        return self._text

    def set_prediction(self, pred: Prediction | None, note: str = "") -> None:
        self._pred = pred
        label, message = core_text(pred.label) if pred else "", core_text(pred.message) if pred else ""
        if pred is None:
            self._text = note or translate("ScoreBadge", "No image selected")
        elif pred.probability is None:
            self._text = f"{label} — {message}" if message else label
        else:
            self._text = f"{label}   P(COVID) = {number(pred.probability, 3)}"
            if pred.p_low is not None and pred.p_high is not None:
                self._text += f" ({number(pred.p_low, 2)}–{number(pred.p_high, 2)})"
            low = pred.lung_evidence is not None and pred.lung_evidence < LOW_EVIDENCE
            if pred.unusual or low:
                self._text = "⚠ " + self._text
            if message:
                self._text += f"   ({message})"
        self.update()

    def sizeHint(self):  # noqa: N802
        hint = super().sizeHint()
        hint.setHeight(_BADGE_HEIGHT)
        return hint

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        w = self.width()
        pred = self._pred
        font = p.font()
        font.setBold(True)
        p.setFont(font)
        colour = pal.color(QPalette.ColorRole.WindowText)
        if pred is not None and pred.label == POSITIVE:
            colour = QColor("#c62828")
        p.setPen(colour)
        text = p.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, w - 16)
        p.drawText(QRectF(8, 0, w - 16, 20),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        if pred is None or pred.probability is None:
            return
        bar = QRectF(8, 24, w - 16, 12)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(bar, 3, 3)
        fill = {POSITIVE: QColor("#e57373"), NEGATIVE: QColor("#64b5f6")}.get(
            pred.label, QColor("#bdbdbd"))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawRoundedRect(QRectF(bar.left(), bar.top(), bar.width() * pred.probability,
                                 bar.height()), 3, 3)
        if pred.p_low is not None and pred.p_high is not None:
            # the range over test-time views, as a hatched band across the bar
            band = QRectF(bar.left() + bar.width() * pred.p_low, bar.top() - 2,
                          max(bar.width() * (pred.p_high - pred.p_low), 2), bar.height() + 4)
            p.setPen(QPen(QColor("#6a1b9a"), 1))
            p.setBrush(QBrush(QColor(106, 27, 154, 110), Qt.BrushStyle.BDiagPattern))
            p.drawRect(band)
        if pred.threshold is None:
            return
        # Threshold tick across the bar, labelled underneath (left or right of the tick,
        # whichever side has room).
        x = bar.left() + bar.width() * pred.threshold
        p.setPen(QPen(pal.color(QPalette.ColorRole.WindowText), 2))
        p.drawLine(QPointF(x, bar.top() - 3), QPointF(x, bar.bottom() + 3))
        font.setBold(False)
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 7))
        p.setFont(font)
        label = translate("ScoreBadge", "threshold {0}").format(number(pred.threshold, 2))
        room = x + 4 + p.fontMetrics().horizontalAdvance(label) < w - 8
        area = QRectF(x + 4, bar.bottom() + 1, 200, 16) if room else \
            QRectF(x - 204, bar.bottom() + 1, 200, 16)
        align = Qt.AlignmentFlag.AlignLeft if room else Qt.AlignmentFlag.AlignRight
        p.drawText(area, align | Qt.AlignmentFlag.AlignVCenter, label)
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        p.drawText(QRectF(8, bar.bottom() + 1, 40, 16),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "0")
        p.drawText(QRectF(w - 48, bar.bottom() + 1, 40, 16),
                   Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, "1")


class XRayViewer(QWidget):
    """Shows one radiograph; its view state is public so tests and the window can read it."""

    #: Emitted when the user toggles the heat map (``h``), so the window can sync its action.
    heatToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.inverted = False
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.heat_visible = False
        self.lungs_visible = False
        self.opacity = 0.5
        self._shape: tuple[int, int] | None = None
        self._scale = 1.0  # the shown array's value of white: 1.0 (float) or 65535 (uint16)
        self._has_heat = False
        self.view: Any = None  # pyqtgraph objects, built by ensure_view()
        self.vb: Any = None
        self.image: Any = None
        self.heat: Any = None
        self.outline: Any = None
        self._has_lungs = False

        self.placeholder = QLabel(translate(
            "XRayViewer",
            "Open files (Ctrl+O) or a folder (Ctrl+Shift+O), or drop them here.\n"
            "Select a row to see the image."))
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet("color: #c8c8c8; background: #101010; padding: 12px;")

        self.setToolTip(controls_help())
        self._stack = QStackedLayout()
        self._stack.addWidget(self.placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._stack)

    def ensure_view(self) -> None:
        """Build the pyqtgraph view (imports pyqtgraph) unless it exists already."""
        if self.view is not None:
            return
        import pyqtgraph as pg

        self.view = pg.GraphicsView(self)
        self.view.setBackground(QColor("#101010"))
        # A click in the image gives the viewer (and so its keys) the focus.
        self.view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.view.setFocusProxy(self)
        self.vb = _image_view_box_class(pg)(lockAspect=True, invertY=True, enableMenu=False)
        self.vb.setMouseMode(pg.ViewBox.PanMode)
        self.view.setCentralItem(self.vb)
        self.image = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
        self.image.setLookupTable(_gray_lut(self.inverted))
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat.setLookupTable(_heat_lut(pg))
        self.heat.setLevels((0.0, 1.0))
        self.heat.setOpacity(self.opacity)
        self.heat.setZValue(1)
        self.heat.setVisible(False)
        self.outline = pg.ImageItem(axisOrder="row-major")
        self.outline.setZValue(2)
        self.outline.setVisible(False)
        self.vb.addItem(self.image)
        self.vb.addItem(self.heat)
        self.vb.addItem(self.outline)
        self.vb.windowLevelDragged.connect(self._on_window_level_drag)
        self.view.setToolTip(controls_help())
        self._stack.addWidget(self.view)

    # What is shown -------------------------------------------------------------------
    @property
    def has_image(self) -> bool:
        return self._shape is not None

    @property
    def has_heatmap(self) -> bool:
        return self._has_heat

    def show_message(self, text: str) -> None:
        """No image: a message in the pane instead (nothing selected, unreadable file)."""
        self._shape = None
        if self.image is not None:
            self.image.clear()
        self.clear_heatmap()
        self.placeholder.setText(text)
        self._stack.setCurrentWidget(self.placeholder)

    def set_image(self, pixels: np.ndarray, shape: tuple[int, int] | None = None) -> None:
        """Show (H, W) pixels, float32 in [0, 1] or uint16 (0-65535: a film kept at display
        size, :func:`display_pixels`), spanning ``shape``, the film's own size (default: the
        array's): heat maps and outlines are placed in the film's pixels whatever size is
        shown. Keeps window/level and invert, fits a new image size to the window."""
        self.ensure_view()
        shape = tuple(shape or pixels.shape[:2])
        same_size = self._shape == shape
        self._shape = shape
        self._scale = 65535.0 if pixels.dtype == np.uint16 else 1.0
        self.clear_heatmap()
        self.image.setImage(pixels, levels=self._scaled(self.levels), autoLevels=False)
        h, w = shape
        self.image.setRect(QRectF(0, 0, w, h))
        self._stack.setCurrentWidget(self.view)
        if not same_size:
            self.fit()

    def _scaled(self, levels: tuple[float, float]) -> tuple[float, float]:
        return levels[0] * self._scale, levels[1] * self._scale

    def set_heatmap(self, heat: np.ndarray, box: tuple[int, int, int, int]) -> None:
        """Place a (S, S) heat map in [0, 1] over the image's (top, left, bottom, right)."""
        self.ensure_view()
        top, left, bottom, right = box
        self.heat.setImage(heat, levels=(0.0, 1.0), autoLevels=False)
        self.heat.setRect(QRectF(left, top, right - left, bottom - top))
        self.heat.setOpacity(self.opacity)
        self._has_heat = True
        self.heat.setVisible(self.heat_visible)

    def clear_heatmap(self) -> None:
        self._has_heat = False
        self._has_lungs = False
        if self.heat is not None:
            self.heat.clear()
            self.heat.setVisible(False)
        if self.outline is not None:
            self.outline.clear()
            self.outline.setVisible(False)

    @property
    def has_lungs(self) -> bool:
        return self._has_lungs

    def set_lungs(self, lungs: np.ndarray) -> None:
        """The outline of the lung fields (the segmenter's probability over the whole film,
        any size) drawn over the image, shown with ``l``."""
        self.ensure_view()
        if self._shape is None:
            return
        self.outline.setImage(lung_outline(lungs), autoLevels=False)
        h, w = self._shape
        self.outline.setRect(QRectF(0, 0, w, h))
        self._has_lungs = True
        self.outline.setVisible(self.lungs_visible)

    @Slot()
    def toggle_lungs(self) -> None:
        self.lungs_visible = not self.lungs_visible
        if self.outline is not None:
            self.outline.setVisible(self.lungs_visible and self._has_lungs)

    # View state ----------------------------------------------------------------------
    def set_levels(self, low: float, high: float) -> None:
        width = max(high - low, _MIN_WIDTH)
        centre = (low + high) / 2
        self.levels = (centre - width / 2, centre + width / 2)
        if self.image is not None:
            self.image.setLevels(self._scaled(self.levels))

    @Slot(float, float)
    def _on_window_level_drag(self, dx: float, dy: float) -> None:
        low, high = self.levels
        width = max((high - low) + dx * _WL_PER_PIXEL, _MIN_WIDTH)
        centre = (low + high) / 2 - dy * _WL_PER_PIXEL
        self.set_levels(centre - width / 2, centre + width / 2)

    @Slot()
    def toggle_invert(self) -> None:
        self.inverted = not self.inverted
        if self.image is not None:
            self.image.setLookupTable(_gray_lut(self.inverted))

    @Slot()
    def fit(self) -> None:
        if self._shape is not None and self.vb is not None:
            h, w = self._shape
            self.vb.setRange(QRectF(0, 0, w, h), padding=0.01)

    @Slot()
    def reset(self) -> None:
        """Original contrast, not inverted, whole image in view."""
        if self.inverted:
            self.toggle_invert()
        self.set_levels(0.0, 1.0)
        self.fit()

    def view_rect(self) -> QRectF:
        if self.vb is None:
            return QRectF()
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def zoom(self, factor: float) -> None:
        """Zoom about the centre (factor < 1 zooms in), as the mouse wheel does."""
        if self.vb is not None:
            self.vb.scaleBy((factor, factor))

    @Slot(bool)
    def set_heat_visible(self, visible: bool) -> None:
        self.heat_visible = bool(visible)
        if self.heat is not None:
            self.heat.setVisible(self.heat_visible and self._has_heat)

    @Slot()
    def toggle_heat(self) -> None:
        self.set_heat_visible(not self.heat_visible)
        self.heatToggled.emit(self.heat_visible)

    @Slot(float)
    def set_opacity(self, opacity: float) -> None:
        self.opacity = min(max(float(opacity), 0.0), 1.0)
        if self.heat is not None:
            self.heat.setOpacity(self.opacity)

    # Keys when the viewer has focus (the window also offers them as actions) ----------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_I:
            self.toggle_invert()
        elif key == Qt.Key.Key_Space:
            self.reset()
        elif key == Qt.Key.Key_Equal:
            self.fit()
        elif key == Qt.Key.Key_H:
            self.toggle_heat()
        elif key == Qt.Key.Key_L:
            self.toggle_lungs()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Minus):
            self.zoom(0.8 if key == Qt.Key.Key_Plus else 1.25)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
