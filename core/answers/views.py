"""Test-time views: how far P(COVID) moves when the same film is seen slightly differently.

A film whose score sits on the threshold, or moves across it with a mirror image, a few
per cent of shift or zoom, has no reliable hard call. Each film near the
threshold is scored under :data:`VIEWS` (the network's own input, transformed: no second
decode); the 10th-90th percentile of the calibrated scores is its interval, and an
interval that straddles the threshold makes the answer INDETERMINATE.

Only films whose single-pass logit lies within the card's ``interval.margin_logit`` of the
threshold's logit get views: the margin is the 95th percentile of how far the views
reached on validation films (:func:`fit_margin`, rebuilt by ``scripts/fit_interval.py``
whenever the model changes), so a film further away straddles the threshold rarely (at
most about 1 in 20 of those beyond it), and the films far from the threshold cost no
views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

#: (name, horizontal flip, shift as (dy, dx) fractions of the side, zoom, gamma)
VIEWS: tuple[tuple[str, bool, tuple[float, float], float, float], ...] = (
    ("flip", True, (0.0, 0.0), 1.0, 1.0),
    ("shift up", False, (-0.04, 0.0), 1.0, 1.0),
    ("shift down", False, (0.04, 0.0), 1.0, 1.0),
    ("shift left", False, (0.0, -0.04), 1.0, 1.0),
    ("shift right", False, (0.0, 0.04), 1.0, 1.0),
    ("zoom in", False, (0.0, 0.0), 0.92, 1.0),
)
# Gamma 0.8 and 1.25 were views too, and were dropped: on the bundled model they moved
# the logit by 0.24-0.28 on average against 0.65-1.18 for a mirror image or a 4 % shift
# (150 cxr/val films), so they cost a quarter of the views' time and changed no interval.
#: The interval: these percentiles of the calibrated scores of the film and its views.
LOW_PERCENTILE, HIGH_PERCENTILE = 10.0, 90.0
#: A margin that gives every film views (correct, slower).
NO_MARGIN = float("inf")


def _view(image: np.ndarray, flip: bool, shift: tuple[float, float], zoom: float,
          gamma: float) -> np.ndarray:
    s = image.shape[0]
    out = image[:, ::-1] if flip else image
    dy, dx = shift
    if dy or dx or zoom != 1.0:
        # pad with the edge pixels first: a shift brings in repeated edges, not black bars
        pad = int(np.ceil(max(abs(dy), abs(dx)) * s)) + 1
        big = np.pad(out, pad, mode="edge")
        side = zoom * s
        cy, cx = pad + s / 2 + dy * s, pad + s / 2 + dx * s
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        out = np.asarray(Image.fromarray(np.ascontiguousarray(big)).resize(
            (s, s), Image.Resampling.BILINEAR, box=box))
    if gamma != 1.0:
        lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255)
        out = lut.astype(np.uint8)[out]
    return np.ascontiguousarray(out, np.uint8)


def views(image: np.ndarray) -> np.ndarray:
    """The :data:`VIEWS` of one network input (uint8 S x S): uint8 (len(VIEWS), S, S).
    Pixels a shift brings in from outside the input are the edge pixels repeated, not
    black bars the training never showed."""
    return np.stack([_view(image, *v[1:]) for v in VIEWS])


def logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def needs_views(p: np.ndarray, threshold: float, margin_logit: float) -> np.ndarray:
    """Which films are close enough to the threshold to be given views."""
    return np.abs(logit(p) - logit(threshold)) <= margin_logit


@dataclass(frozen=True)
class Interval:
    """The 10th-90th percentile of a film's calibrated scores over its views."""

    low: float
    high: float

    def straddles(self, threshold: float) -> bool:
        return self.low < threshold <= self.high


def interval(p_single: float, p_views: np.ndarray) -> Interval:
    """The interval of one film: the 10th-90th percentile of its single-pass score and its
    views' scores, widened to hold the single-pass score itself (with seven scores the
    percentiles can leave out the one the decision is shown with, which reads as a
    contradiction: "0.23 (0.03-0.16)")."""
    allp = np.r_[p_single, np.asarray(p_views, np.float64)]
    low = min(float(np.percentile(allp, LOW_PERCENTILE)), float(p_single))
    high = max(float(np.percentile(allp, HIGH_PERCENTILE)), float(p_single))
    return Interval(low, high)


#: The share of validation films whose views' reach the margin covers.
MARGIN_QUANTILE = 0.95


def fit_margin(p_single: np.ndarray, p_views: np.ndarray,
               quantile: float = MARGIN_QUANTILE) -> float:
    """The margin (in logit units): the ``quantile`` of the distance from a validation
    film's single-pass logit to the far end of its interval. ``p_views``: (N, len(VIEWS))
    calibrated scores."""
    lo = np.array([interval(p, v).low for p, v in zip(p_single, p_views, strict=True)])
    hi = np.array([interval(p, v).high for p, v in zip(p_single, p_views, strict=True)])
    reach = np.maximum(logit(p_single) - logit(lo), logit(hi) - logit(p_single))
    return float(np.quantile(reach, quantile)) if reach.size else NO_MARGIN
