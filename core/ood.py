""" "Does this look like a frontal chest X-ray?" — a cheap out-of-distribution detector.

Two scores, each fitted on the training set and cut at a high percentile of it:
- feature Mahalanobis distance on the network's penultimate Dense(64) activations;
- input statistics: residual of the whole-image 32x32 thumbnail after projection on the
  training set's principal components (radiographs share a strong layout; photographs,
  documents, CT slices and noise do not).
The reported OOD score is the larger of the two, each divided by its cut-off: above 1.0 the
file is NOT ASSESSED.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

OOD_MESSAGE = "does not look like a frontal chest X-ray"


@dataclass(frozen=True)
class OODModel:
    feat_mean: np.ndarray
    feat_precision: np.ndarray
    feat_cut: float
    thumb_mean: np.ndarray
    thumb_components: np.ndarray  # (k, d), orthonormal rows
    thumb_cut: float

    def feature_distance(self, feats: np.ndarray) -> np.ndarray:
        d = feats.astype(np.float64) - self.feat_mean
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, self.feat_precision, d), 0.0))

    def thumb_residual(self, thumbs: np.ndarray) -> np.ndarray:
        c = thumbs.astype(np.float64) - self.thumb_mean
        proj = c @ self.thumb_components.T @ self.thumb_components
        return np.sqrt(np.mean((c - proj) ** 2, axis=1))

    def score(self, feats: np.ndarray, thumbs: np.ndarray) -> np.ndarray:
        """OOD score per image; > 1.0 means out of distribution."""
        score = np.maximum(
            self.feature_distance(feats) / self.feat_cut,
            self.thumb_residual(thumbs) / self.thumb_cut,
        )
        # A uniform image standardises to an all-zero thumbnail: nothing to assess.
        blank = np.all(np.abs(thumbs) < 1e-6, axis=1)
        return np.where(blank, np.inf, score)

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as fh:
            np.savez(
                fh,
                feat_mean=self.feat_mean,
                feat_precision=self.feat_precision,
                feat_cut=np.array(self.feat_cut),
                thumb_mean=self.thumb_mean,
                thumb_components=self.thumb_components,
                thumb_cut=np.array(self.thumb_cut),
            )

    @classmethod
    def load(cls, path: str | Path) -> OODModel:
        with np.load(path, allow_pickle=False) as z:
            return cls(
                feat_mean=z["feat_mean"],
                feat_precision=z["feat_precision"],
                feat_cut=float(z["feat_cut"]),
                thumb_mean=z["thumb_mean"],
                thumb_components=z["thumb_components"],
                thumb_cut=float(z["thumb_cut"]),
            )


def fit_ood(
    feats: np.ndarray, thumbs: np.ndarray, percentile: float = 99.5, components: int = 24
) -> OODModel:
    """Fit both detectors on in-distribution (training) features and thumbnails."""
    feats = feats.astype(np.float64)
    mean = feats.mean(axis=0)
    cov = np.cov(feats - mean, rowvar=False)
    # Shrinkage keeps the precision well conditioned (dead ReLUs give zero variance).
    cov = cov + np.eye(cov.shape[0]) * (1e-3 * float(np.trace(cov)) / cov.shape[0] + 1e-6)
    precision = np.linalg.inv(cov)

    thumbs = thumbs.astype(np.float64)
    tmean = thumbs.mean(axis=0)
    _, _, vt = np.linalg.svd(thumbs - tmean, full_matrices=False)
    comps = vt[: min(components, vt.shape[0])]

    partial = OODModel(mean, precision, 1.0, tmean, comps, 1.0)
    feat_cut = float(np.percentile(partial.feature_distance(feats), percentile))
    thumb_cut = float(np.percentile(partial.thumb_residual(thumbs), percentile))
    return OODModel(mean, precision, max(feat_cut, 1e-9), tmean, comps, max(thumb_cut, 1e-9))
