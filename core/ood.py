""" "Does this look like a frontal chest X-ray?" — a cheap out-of-distribution detector.

Three scores, each fitted on the training set:
- feature Mahalanobis distance on the network's penultimate Dense(64) activations;
- input statistics: residual of the whole-image 32x32 thumbnail after projection on the
  training set's principal components (radiographs share a strong layout; photographs,
  documents, CT slices and noise do not);
- structure: the RMS Laplacian of the standardised thumbnail. Smooth images (gradients,
  blanks) pass the layout test but have no edges: no heart border, no diaphragm. On
  ../shared/data/cxr the training minimum is 0.17; linear gradients score 0.01-0.05.
The first two are cut at a high percentile of the training set, the third at a low one.
The reported OOD score is the largest ratio to its cut-off: above 1.0 the file is NOT
ASSESSED.
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
    #: Lowest structure (RMS Laplacian) a radiograph shows; 0 disables the check.
    structure_cut: float = 0.0

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
        if self.structure_cut > 0:
            score = np.maximum(score, self.structure_cut / np.maximum(structure(thumbs), 1e-9))
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
                structure_cut=np.array(self.structure_cut),
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
                structure_cut=float(z["structure_cut"]) if "structure_cut" in z else 0.0,
            )


def structure(thumbs: np.ndarray) -> np.ndarray:
    """RMS 4-neighbour Laplacian of each standardised 32x32 thumbnail."""
    side = int(round(np.sqrt(thumbs.shape[1])))
    x = thumbs.reshape(-1, side, side).astype(np.float64)
    lap = 4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2] - x[:, 1:-1, 2:]
    return np.sqrt(np.mean(lap**2, axis=(1, 2)))


def fit_ood(
    feats: np.ndarray,
    thumbs: np.ndarray,
    percentile: float = 99.5,
    components: int = 24,
    structure_percentile: float | None = 0.1,
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
    structure_cut = (
        0.0
        if structure_percentile is None
        else float(np.percentile(structure(thumbs), structure_percentile))
    )
    return OODModel(
        mean, precision, max(feat_cut, 1e-9), tmean, comps, max(thumb_cut, 1e-9), structure_cut
    )
