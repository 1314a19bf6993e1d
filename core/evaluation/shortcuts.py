"""Does a model read the lungs, or where and how a film was taken? The shortcut measures of
issue #19, over plain arrays so they run on any model and on small test data.

- **within-collection**: AUC where both classes come from one collection (``ieee8023``),
  with a bootstrap interval over patients; sensitivity and specificity at a threshold;
  the mean P(COVID) per finding;
- **collection probe within a class**: how well features tell collections apart among
  films of one class (cross-validated logistic regression; 0.5 = no trace of the
  collection; lower is better);
- **marker shift**: the mean absolute change of P(COVID) when burned-in annotations are
  drawn on films (:mod:`core.evaluation.markers`); near 0 is the goal;
- **lung region**: the film with its lung fields blanked (only what lies outside them is
  shown) or with only the lung fields shown. A model that reads the lungs falls to chance
  on the first and keeps its AUC on the second.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from core.answers.inference import called_covid
from core.evaluation.bootstrap import Interval, resample_weights
from core.evaluation.markers import draw_markers
from core.evaluation.metrics import cross_validated_auc, roc_auc
from core.evaluation.probes import forward_pixels
from core.model.card import ModelCard
from core.model.lungs import grow

#: Pixels (of a 128 px mask) the lung fields are grown by before blanking: the segmenter's
#: edge sits on the pleura, and a rim of lung left visible would leak the lungs back in.
LUNG_GROW = 3


@dataclass(frozen=True)
class WithinCollection:
    """A model on one collection that holds both classes."""

    auc: Interval
    sensitivity: float
    specificity: float
    threshold: float
    mean_probability_by_finding: dict[str, float]
    n: int
    patients: int

    def to_dict(self) -> dict:
        return {
            "auc": self.auc.to_dict(),
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "threshold": self.threshold,
            "mean_probability_by_finding": self.mean_probability_by_finding,
            "n": self.n,
            "patients": self.patients,
        }


def _weighted_auc(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """AUC of every resample at once: (R, n) draw counts -> (R,) AUCs (ties count half)."""
    order = np.argsort(p, kind="stable")
    y, p, w = y[order], p[order], w[:, order]
    pos = w * (y == 1)
    neg = w * (y == 0)
    # negatives strictly below each positive, plus half the tied ones
    _, first, counts = np.unique(p, return_index=True, return_counts=True)
    neg_cum = np.cumsum(neg, axis=1) - neg
    below = np.empty_like(neg_cum)
    tied = np.empty_like(neg_cum)
    for start, c in zip(first, counts, strict=True):
        below[:, start:start + c] = neg_cum[:, start:start + 1]
        tied[:, start:start + c] = neg[:, start:start + c].sum(axis=1, keepdims=True)
    num = (pos * (below + 0.5 * tied)).sum(axis=1)
    den = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def auc_interval(y: np.ndarray, p: np.ndarray, patients: np.ndarray | None = None,
                 resamples: int = 2000, seed: int = 0) -> Interval:
    """AUC with a 95 % percentile interval, whole patients resampled when given."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, np.float64)
    value = roc_auc(y, p)
    if not np.isfinite(value):
        return Interval(value, float("nan"), float("nan"))
    w = resample_weights(len(y), patients, resamples, seed)
    aucs = _weighted_auc(y, p, w)
    aucs = aucs[np.isfinite(aucs)]
    if aucs.size == 0:
        return Interval(value, float("nan"), float("nan"))
    low, high = np.quantile(aucs, [0.025, 0.975])
    return Interval(value, float(low), float(high))


def within_collection(
    y: np.ndarray, p: np.ndarray, findings: list[str], patients: list[str], threshold: float
) -> WithinCollection:
    """The within-collection measures of one scored set (labels 1 = COVID)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, np.float64)
    groups = np.unique(np.asarray(patients), return_inverse=True)[1]
    called = called_covid(p, threshold)
    sens = float(called[y == 1].mean()) if (y == 1).any() else float("nan")
    spec = float((~called[y == 0]).mean()) if (y == 0).any() else float("nan")
    by = {f: float(p[np.asarray(findings) == f].mean()) for f in sorted(set(findings))}
    return WithinCollection(auc_interval(y, p, groups), sens, spec, float(threshold), by,
                            int(len(y)), int(groups.max() + 1) if len(y) else 0)


@dataclass(frozen=True)
class CollectionProbe:
    """How well features tell collections apart among films of one class: the mean
    cross-validated AUC over every pair of collections, and each pair's."""

    mean_auc: float
    pairs: dict[str, float]
    n: int

    def to_dict(self) -> dict:
        return {"mean_auc": self.mean_auc, "pairs": self.pairs, "n": self.n}


def collection_probe(feats: np.ndarray, collections: list[str], min_per_collection: int = 10,
                     l2: float = 10.0, balance: bool = True, seed: int = 0) -> CollectionProbe:
    """Cross-validated logistic AUC for every pair of collections in ``collections`` (one
    class's films). Pairs are balanced by subsampling the larger collection (seeded), so a
    big collection does not dominate; collections with fewer than ``min_per_collection``
    films are left out."""
    col = np.asarray(collections)
    names = [c for c in sorted(set(collections)) if (col == c).sum() >= min_per_collection]
    rng = np.random.default_rng(seed)
    pairs: dict[str, float] = {}
    used = 0
    for a, b in itertools.combinations(names, 2):
        ia, ib = np.flatnonzero(col == a), np.flatnonzero(col == b)
        if balance:
            k = min(len(ia), len(ib))
            ia, ib = rng.choice(ia, k, replace=False), rng.choice(ib, k, replace=False)
        idx = np.r_[ia, ib]
        y = np.r_[np.ones(len(ia)), np.zeros(len(ib))]
        pairs[f"{a} vs {b}"] = cross_validated_auc(feats[idx], y, l2=l2)
        used += len(idx)
    mean = float(np.mean(list(pairs.values()))) if pairs else float("nan")
    return CollectionProbe(mean, pairs, used)


def marker_shift(p_clean: np.ndarray, p_marked: np.ndarray) -> float:
    """Mean absolute change of P(COVID) between films and the same films with markers."""
    return float(np.mean(np.abs(np.asarray(p_marked) - np.asarray(p_clean))))


def lung_region(pixels: np.ndarray, mask: np.ndarray, keep_lungs: bool) -> np.ndarray:
    """The film with only its lung fields shown (``keep_lungs``) or with them blanked.

    ``mask``: the segmenter's lung probability over the whole film (any size; 128 px as it
    comes). The fields are grown by ``LUNG_GROW`` mask pixels; what is hidden is filled with
    the film's median grey, so neither version carries a black hole the other lacks. A
    film where no lung was found is returned blank in the lungs-only version (there is
    nothing to show) and unchanged in the other.
    """
    lung = grow(np.asarray(mask, np.float32) > 0.5, LUNG_GROW)
    h, w = pixels.shape
    big = Image.fromarray(lung.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)
    lung_px = np.asarray(big) > 127
    fill = np.float32(np.median(pixels))
    out = np.full_like(pixels, fill)
    if keep_lungs:
        out[lung_px] = pixels[lung_px]
    else:
        out[~lung_px] = pixels[~lung_px]
    return out


def marker_test(net: Any, card: ModelCard, pixels: list[np.ndarray], seed: int = 19) -> float:
    """Mean absolute change of the model's calibrated P(COVID) when markers are drawn on
    ``pixels`` (films as read, float32 [0, 1]); seeded, one marked copy per film."""
    rng = np.random.default_rng(seed)
    marked = [draw_markers(px, rng) for px in pixels]
    p_clean, _ = forward_pixels(net, card, pixels)
    p_marked, _ = forward_pixels(net, card, marked)
    return marker_shift(p_clean, p_marked)


@dataclass(frozen=True)
class LungRegionTest:
    """AUC with only what lies outside the lungs shown, and with only the lungs shown."""

    outside_auc: float
    inside_auc: float
    n: int

    def to_dict(self) -> dict:
        return {"outside_auc": self.outside_auc, "inside_auc": self.inside_auc, "n": self.n}


def lung_region_test(net: Any, card: ModelCard, pixels: list[np.ndarray], labels: np.ndarray,
                     masks: np.ndarray) -> LungRegionTest:
    """The model's AUC on films with the lungs blanked and with only the lungs shown
    (``masks``: the segmenter's lung probabilities, one per film)."""
    outside = [lung_region(px, m, keep_lungs=False) for px, m in zip(pixels, masks, strict=True)]
    inside = [lung_region(px, m, keep_lungs=True) for px, m in zip(pixels, masks, strict=True)]
    po, _ = forward_pixels(net, card, outside)
    pi, _ = forward_pixels(net, card, inside)
    return LungRegionTest(roc_auc(labels, po), roc_auc(labels, pi), int(len(labels)))
