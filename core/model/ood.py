"""Two answers instead of one gate: "not a frontal chest X-ray" and "unusual for this model".

A gate that refuses whatever is far from the training images refuses exactly the films a
screening tool must read at a new hospital (portable intensive-care films with lines,
tubes and leads: 42 % of one hospital's were refused). So distance from the training data
no longer refuses anything; it *flags*:

- **Unusual for this model** (assessed, flagged): the Mahalanobis distance of the
  network's pooled features, or the residual of the whole-image 32x32 thumbnail off the
  training set's principal components, above its 99.5th percentile on the training
  images. The score is the larger ratio to its cut-off; above 1.0 the file is flagged.
- **Not a frontal chest X-ray** (refused, NOT ASSESSED) only for what is plainly not one:
  the anatomy check of :mod:`core.model.lungs` (two lung fields either side of the midline),
  and here the structure test: the RMS Laplacian of the standardised thumbnail under the
  training set's 0.1th percentile (smooth images, gradients, blanks have no heart border
  and no diaphragm; on ../shared/data/cxr the training minimum is 0.17, linear gradients
  score 0.01-0.05).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

OOD_MESSAGE = "does not look like a frontal chest X-ray"
UNUSUAL_MESSAGE = (
    "unusual for this model: unlike the X-rays it was trained on, so its score is less "
    "reliable here; review the image"
)
#: Percentile of the training images above which a film is flagged as unusual.
UNUSUAL_PERCENTILE = 99.5
#: Percentile of the training images' structure below which an image is refused.
STRUCTURE_PERCENTILE = 0.1
#: An assessed film whose score (the larger distance over its cut-off) is above this is
#: flagged unusual.
UNUSUAL_ABOVE = 1.0

#: The rule in words, for the card, the training tab and the README: every check, once.
RULE = (
    f"unusual (assessed, flagged): the larger of the feature Mahalanobis distance and the "
    f"thumbnail PCA residual, each over its cut-off (the {UNUSUAL_PERCENTILE}th percentile "
    f"of held-out training-collection images), above {UNUSUAL_ABOVE:g}; not a frontal chest "
    f"X-ray (NOT ASSESSED): the lung-field anatomy check, or radiograph structure (RMS "
    f"Laplacian of the thumbnail) under the training images' {STRUCTURE_PERCENTILE}th "
    f"percentile"
)


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
        # (d P) . d row by row: a matrix product (BLAS), where the three-operand einsum ran
        # unoptimised at about 3.5 ms a film (#23).
        return np.sqrt(np.maximum(((d @ self.feat_precision) * d).sum(axis=1), 0.0))

    def thumb_residual(self, thumbs: np.ndarray) -> np.ndarray:
        c = thumbs.astype(np.float64) - self.thumb_mean
        proj = c @ self.thumb_components.T @ self.thumb_components
        return np.sqrt(np.mean((c - proj) ** 2, axis=1))

    def score(self, feats: np.ndarray, thumbs: np.ndarray) -> np.ndarray:
        """"Unusual" score per image: above ``UNUSUAL_ABOVE`` means far from the training
        images (flag)."""
        return np.maximum(
            self.feature_distance(feats) / self.feat_cut,
            self.thumb_residual(thumbs) / self.thumb_cut,
        )

    @staticmethod
    def describe() -> dict[str, object]:
        """The rule, for the model card (saving the model adds the file and the cut-offs)."""
        return {
            "percentile": UNUSUAL_PERCENTILE,
            "cut_offs_from": "validation split (fitted on the training split)",
            "method": RULE,
        }

    def featureless(self, thumbs: np.ndarray) -> np.ndarray:
        """True where an image has no radiograph's edges (blank, gradient): refuse it."""
        # A uniform image standardises to an all-zero thumbnail: nothing to assess.
        blank = np.all(np.abs(thumbs) < 1e-6, axis=1)
        if self.structure_cut <= 0:
            return blank
        return blank | (structure(thumbs) < self.structure_cut)

    def save(self, path: str | Path) -> None:
        with open(path, "wb") as fh:
            np.savez(
                fh,
                feat_mean=self.feat_mean,
                # float32 halves the file (Lite0's 1280 x 1280 matrix: 13 -> 6.5 MB); the
                # distances are still computed in float64.
                feat_precision=self.feat_precision.astype(np.float32),
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
                feat_precision=z["feat_precision"].astype(np.float64),
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
    percentile: float = UNUSUAL_PERCENTILE,
    components: int = 24,
    structure_percentile: float | None = STRUCTURE_PERCENTILE,
    held_out: tuple[np.ndarray, np.ndarray] | None = None,
) -> OODModel:
    """Fit the detectors on in-distribution (training) features and thumbnails.

    ``held_out`` (features, thumbnails of images the fit never saw, e.g. the validation
    split) sets the cut-offs. Distances of the very points a covariance was estimated
    from are biased low, the more so the more dimensions: with Lite0's 1280 pooled
    features, a cut at the training set's 99.5th percentile flagged 26.7 % of the
    internal *test* films as unusual. Held-out images give the percentile its meaning.
    """
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
    cut_feats, cut_thumbs = held_out if held_out is not None else (feats, thumbs)
    feat_cut = float(np.percentile(partial.feature_distance(cut_feats), percentile))
    thumb_cut = float(np.percentile(partial.thumb_residual(cut_thumbs), percentile))
    structure_cut = (
        0.0
        if structure_percentile is None
        else float(np.percentile(structure(thumbs), structure_percentile))
    )
    return OODModel(
        mean, precision, max(feat_cut, 1e-9), tmean, comps, max(thumb_cut, 1e-9), structure_cut
    )
