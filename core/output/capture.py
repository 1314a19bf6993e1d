"""The picture of a DICOM result's Secondary Capture: the film with its Grad-CAM heat map as
the viewer draws it, and a caption burned in below it (the research-use notice, the
decision, the model). Pixels only; :mod:`core.output.dicom_results` wraps them as DICOM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core import __version__
from core.answers.gradcam import HeatMap
from core.model.card import INDETERMINATE, NOT_ASSESSED, POSITIVE, ModelCard

if TYPE_CHECKING:
    from core.answers.inference import Prediction

#: Burned into every capture and written into every report.
CAPTION = "RESEARCH USE ONLY - NOT FOR DIAGNOSIS"
#: The capture's film is scaled so that its width is at least this (the caption must be
#: readable on a 256-pixel test film) and its longer side at most MAX_SIDE (a 4,000-pixel
#: detector image as 8-bit RGB would be 48 MB, for a heat map at the network's input size).
MIN_WIDTH = 768
MAX_SIDE = 2048
#: The overlay as the viewer draws it at its default opacity: turbo colours, weak
#: activations transparent, the strongest at this alpha.
HEAT_ALPHA = 0.6


def _turbo(v: np.ndarray) -> np.ndarray:
    """Google's turbo colour map (the viewer's) as its published polynomial fit:
    float (...) in [0, 1] -> float (..., 3) in [0, 1]."""
    v = np.clip(v, 0.0, 1.0)[..., None]
    r = (0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943)
    g = (0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604)
    b = (0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973)
    powers = np.concatenate([v**k for k in range(6)], axis=-1)
    rgb = np.stack([powers @ np.array(c) for c in (r, g, b)], axis=-1)
    return np.clip(rgb, 0.0, 1.0)


def _place_heat(heat: HeatMap | None, shape: tuple[int, int]) -> np.ndarray:
    """The heat map in full-image pixels (zeros outside the model's crop)."""
    from PIL import Image

    out = np.zeros(shape, np.float32)
    if heat is None:
        return out
    top, left, bottom, right = heat.box
    if bottom <= top or right <= left:
        return out
    img = Image.fromarray(heat.heat.astype(np.float32), mode="F")
    img = img.resize((right - left, bottom - top), Image.Resampling.BILINEAR)
    out[top:bottom, left:right] = np.clip(np.asarray(img, np.float32), 0.0, 1.0)
    return out


def render_capture(pixels: np.ndarray, heat: HeatMap | None, lines: list[str]) -> np.ndarray:
    """The film (float [0, 1], bone white) with its heat map and the caption burned in
    below it: uint8 RGB (H, W, 3). No film pixel is hidden by the caption."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = pixels.shape
    gray = np.clip(pixels, 0.0, 1.0).astype(np.float32)
    heat_full = _place_heat(heat, (h, w))
    alpha = np.clip((heat_full - 0.2) / 0.6, 0.0, 1.0)[..., None] * HEAT_ALPHA
    rgb = gray[..., None] * (1.0 - alpha) + _turbo(heat_full) * alpha
    film = Image.fromarray(np.rint(rgb * 255.0).astype(np.uint8), mode="RGB")
    scale = max(MIN_WIDTH / w, 1.0)
    scale = min(scale, MAX_SIDE / max(h, w)) if max(h, w) * scale > MAX_SIDE else scale
    if scale != 1.0:
        film = film.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                           Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR)
    fw, fh = film.size
    size = max(12, fw // 40)
    big = ImageFont.load_default(size=round(size * 1.4))
    small = ImageFont.load_default(size=size)
    pad = size // 2
    heights = [round(size * 1.4) + pad] + [size + pad] * (len(lines) - 1)
    band = sum(heights) + 2 * pad
    # Even rows and columns: some decoders of RGB captures dislike odd sizes.
    canvas = Image.new("RGB", (fw + fw % 2, fh + band + (fh + band) % 2), (0, 0, 0))
    canvas.paste(film, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = fh + pad
    for i, (text, step) in enumerate(zip(lines, heights, strict=True)):
        font = big if i == 0 else small
        colour = (255, 214, 0) if i == 0 else (235, 235, 235)
        draw.text((pad, y), _fit(draw, text, font, fw - 2 * pad), font=font, fill=colour)
        y += step
    return np.asarray(canvas, dtype=np.uint8)


def _fit(draw: Any, text: str, font: Any, width: int) -> str:
    """``text`` cut with an ellipsis so that it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."


def caption_lines(pred: Prediction, card: ModelCard, heat: HeatMap | None = None) -> list[str]:
    """What the capture says under the film: the notice, the result, what the colours are."""
    lines = [CAPTION]
    if pred.label == NOT_ASSESSED:
        lines.append(f"NOT ASSESSED: {pred.message}")
    else:
        p, t = pred.probability or 0.0, pred.threshold or 0.0
        if pred.label == INDETERMINATE:
            lines.append(f"INDETERMINATE: P(COVID) {p:.3f}, between {pred.p_low or p:.3f} and "
                         f"{pred.p_high or p:.3f} over views, across threshold {t:.3f}")
        else:
            sign = ">=" if pred.label == POSITIVE else "<"
            lines.append(f"{pred.label}: P(COVID) {p:.3f} {sign} threshold {t:.3f}")
        if pred.unusual:
            lines.append("UNUSUAL for this model: its score is less reliable here; review the film")
        if heat is not None and float(heat.heat.max()) > 0.0:
            lines.append("Heat map (Grad-CAM): where the network looked for its score; "
                         "not a lesion map")
        else:
            lines.append("No heat map: no region raised P(COVID)")
    lines.append(f"CovidCXR {__version__} - model {card.name} (sha256 "
                 f"{card.weights_sha256[:12]})")
    return lines
