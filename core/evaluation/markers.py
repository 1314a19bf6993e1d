"""Burned-in annotations as real films carry them, drawn on a radiograph.

Portable and departmental films carry text and symbols burned into the pixels by the
modality or by whoever exported them: the view ("AP", "PA"), how it was taken
("PORTABLE", "ERECT", "SUPINE", "MOBILE"), a side marker ("L", "R"), a date or time, an
arrow pointing at a finding. They say where and how a film was taken, not what is in the
lungs, so a model that reads the disease must not move when they appear. The marker test
(:func:`marker_shift` in :mod:`core.evaluation.shortcuts`) draws them on films and
measures how far P(COVID) moves; the same drawing serves as an augmentation of every class.

Placement follows where real markers sit: the corners and the upper and lateral bands of
the film, *inside* the central crop the model sees (a marker the crop removes tests
nothing), sized to the film (3-7 % of its height), white or black, sometimes on a box.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: The words and symbols drawn; dates and times are made up per film.
WORDS = ("AP", "PA", "PORTABLE", "ERECT", "SUPINE", "SEMI ERECT", "MOBILE", "AP ERECT MOBILE",
         "L", "R", "UPRIGHT", "BEDSIDE")

#: Markers land inside this central fraction of each axis (the model's crop is 0.8).
INSIDE = 0.78


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def marker_text(rng: np.random.Generator) -> str:
    """The text of one burned-in label: a word, a date or a time."""
    kind = rng.random()
    if kind < 0.6:
        return str(rng.choice(WORDS))
    if kind < 0.8:
        d, m, y = rng.integers(1, 29), rng.integers(1, 13), rng.integers(2018, 2022)
        return f"{d:02d}/{m:02d}/{y}"
    h, mi = rng.integers(0, 24), rng.integers(0, 60)
    return f"{h:02d}:{mi:02d}"


def _anchor(rng: np.random.Generator, width: int, height: int, w: int, h: int
            ) -> tuple[int, int]:
    """A top-left corner in one of the bands where markers sit: the upper band, the left or
    right band, or a lower corner, inside the central ``INSIDE`` of the film."""
    x0 = int(width * (1 - INSIDE) / 2)
    y0 = int(height * (1 - INSIDE) / 2)
    x1, y1 = width - x0 - w, height - y0 - h
    band = rng.integers(4)
    side = x0 + int(0.08 * width)
    x: int | np.integer
    y: int | np.integer
    if band == 0:  # upper band, anywhere across
        x, y = rng.integers(x0, max(x0 + 1, x1)), rng.integers(y0, y0 + int(0.08 * height) + 1)
    elif band == 1:  # left band
        x, y = rng.integers(x0, max(x0 + 1, side)), rng.integers(y0, max(y0 + 1, y1))
    elif band == 2:  # right band
        x, y = rng.integers(max(x0, x1 - int(0.08 * width)), max(x0 + 1, x1)), \
            rng.integers(y0, max(y0 + 1, y1))
    else:  # a lower corner
        x = x0 if rng.random() < 0.5 else max(x0, x1)
        y = rng.integers(max(y0, y1 - int(0.08 * height)), max(y0 + 1, y1))
    return int(np.clip(x, 0, max(0, width - w))), int(np.clip(y, 0, max(0, height - h)))


def draw_markers(pixels: np.ndarray, rng: np.random.Generator, count: int | None = None
                 ) -> np.ndarray:
    """A copy of ``pixels`` (float32 [0, 1], H x W) with ``count`` (default 1-3) burned-in
    annotations: words, a date or time, and sometimes an arrow."""
    height, width = pixels.shape
    img = Image.fromarray(np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8), mode="L")
    draw = ImageDraw.Draw(img)
    n = int(rng.integers(1, 4)) if count is None else count
    for _ in range(n):
        size = max(6, int(height * rng.uniform(0.03, 0.07)))
        font = _font(size)
        text = marker_text(rng)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        w, h = int(right - left), int(bottom - top)
        x, y = _anchor(rng, width, height, w + 4, h + 4)
        ink = 255 if rng.random() < 0.8 else 0
        if rng.random() < 0.25:  # a label on a box, as some exporters write it
            draw.rectangle([x - 2, y - 2, x + w + 4, y + h + 4], fill=255 - ink)
        draw.text((x - left + 1, y - top + 1), text, fill=ink, font=font)
    if rng.random() < 0.3:  # an arrow pointing in from the side, as case reports add
        length = height * rng.uniform(0.06, 0.12)
        x, y = _anchor(rng, width, height, int(length), int(length))
        ang = rng.uniform(0, 2 * np.pi)
        tip = (x + length * np.cos(ang), y + length * np.sin(ang))
        line_w = max(1, height // 150)
        draw.line([(x, y), tip], fill=255, width=line_w)
        for da in (2.6, -2.6):
            head = (tip[0] + 0.3 * length * np.cos(ang + da), tip[1] + 0.3 * length * np.sin(ang + da))
            draw.line([tip, head], fill=255, width=line_w)
    return np.asarray(img, np.float32) / 255.0
