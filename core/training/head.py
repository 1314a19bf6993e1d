"""A linear head on frozen backbone features that reads the film, not its collection.

Issue #19 measured that fine-tuning the ImageNet backbone on collections whose labels
follow the hospital made the model worse where both classes share a collection (AUC 0.74
-> 0.53 on kept-apart films of one hospital), while a head on the frozen features did
better. This module fits that head with up to three guards, each kept or dropped by the within-collection
measures (``scripts/lung_heads.py``, ``models/README.md``; only the first is on by
default):

- **balanced by collection**: every (collection, class) cell weighs the same, so a
  collection that holds both classes (``ieee8023``) counts as much as each single-class
  one, and the head cannot win by telling collections apart alone;
- **marker copies**: every training film appears twice, as it is and with burned-in
  markers drawn (:mod:`core.evaluation.markers`), with the same label;
- **marker directions projected out**: the principal directions along which the markers
  move the features (each film against its marked copy) are removed before the fit, so
  the head has no weight on them.

Everything is linear (standardise, principal components, projection, logistic
regression), so the result folds into one ``Dense(1)`` on the pooled features: the saved
network keeps its architecture and loads with ``safe_mode``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from core.evaluation.metrics import fit_logistic, roc_auc


@dataclass(frozen=True)
class HeadRecipe:
    """How the head is fitted (stored in the card)."""

    components: int = 256
    #: Both marker guards were measured and left off by default: on frozen features they
    #: cut the marker shift little (0.113 -> 0.090) and cost within-collection AUC (out of
    #: fold 0.747 -> 0.70-0.73); models/README.md has the table.
    marker_copies: bool = False
    marker_directions: int = 0
    balance: str = "collection"  # or "class"
    l2_grid: tuple[float, ...] = (10.0, 100.0, 1000.0, 10000.0)
    folds: int = 5

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LinearHead:
    """``logit = features @ weights + bias`` on the raw pooled features."""

    weights: np.ndarray
    bias: float
    l2: float
    notes: dict = field(default_factory=dict)

    def logit(self, feats: np.ndarray) -> np.ndarray:
        return np.asarray(feats, np.float64) @ self.weights + self.bias


def sample_weights(labels: np.ndarray, collections: np.ndarray, balance: str) -> np.ndarray:
    """Per-film weights: each (collection, class) cell the same total weight when
    ``balance`` is "collection", then the two classes the same total weight."""
    labels = np.asarray(labels).astype(int)
    w = np.ones(len(labels))
    if balance == "collection":
        cells = np.char.add(np.asarray(collections).astype(str), labels.astype(str))
        _, inv, counts = np.unique(cells, return_inverse=True, return_counts=True)
        w = 1.0 / counts[inv]
    for c in (0, 1):
        if (labels == c).any():
            w[labels == c] *= 0.5 * len(labels) / w[labels == c].sum()
    return w


def fit_linear_head(
    feats: np.ndarray,
    labels: np.ndarray,
    collections: np.ndarray,
    marked: np.ndarray | None,
    l2: float,
    recipe: HeadRecipe,
) -> LinearHead:
    """Fit the head on ``feats`` (N, D) with ``marked`` (N, D), the features of the same
    films with markers drawn (or None), and fold every step into raw-feature weights."""
    x = np.asarray(feats, np.float64)
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    basis = vt[: recipe.components].T  # (D, k)
    zk = z @ basis
    proj = np.eye(basis.shape[1])
    zm = None
    if marked is not None:
        zm = ((np.asarray(marked, np.float64) - mu) / sd) @ basis
        if recipe.marker_directions:
            _, _, dv = np.linalg.svd(zm - zk, full_matrices=False)
            u = dv[: recipe.marker_directions].T
            proj = proj - u @ u.T
    y = np.asarray(labels).astype(int)
    w = sample_weights(y, collections, recipe.balance)
    xs, ys, ws = zk @ proj, y, w
    if zm is not None and recipe.marker_copies:
        xs, ys, ws = np.r_[xs, zm @ proj], np.r_[y, y], np.r_[w, w]
    beta, b = fit_logistic(xs, ys, l2=l2, sample_weight=ws)
    # back to raw features: ((f - mu) / sd) @ basis @ proj @ beta + b
    weights = (basis @ (proj @ beta)) / sd
    return LinearHead(weights, float(b - mu @ weights), float(l2))


def choose_l2(
    feats: np.ndarray,
    labels: np.ndarray,
    collections: np.ndarray,
    marked: np.ndarray | None,
    folded: np.ndarray,
    groups: np.ndarray,
    recipe: HeadRecipe,
) -> tuple[float, float, np.ndarray]:
    """The L2 strength whose out-of-fold AUC on the ``folded`` films is highest.

    ``folded`` marks the films the choice is made on (the collection that holds both
    classes); they are split into ``recipe.folds`` folds by ``groups`` (patients) and each
    fold is scored by a head fitted on every other film. Returns (l2, AUC, out-of-fold
    logits of the folded films)."""
    idx = np.flatnonzero(folded)
    rest = np.flatnonzero(~np.asarray(folded, bool))
    pats = np.unique(np.asarray(groups)[idx])
    rng = np.random.default_rng(0)
    fold_of = {p: k % recipe.folds for k, p in enumerate(rng.permutation(pats))}
    fold = np.array([fold_of[g] for g in np.asarray(groups)[idx]])
    best: tuple[float, float, np.ndarray] | None = None
    y = np.asarray(labels).astype(int)
    for l2 in recipe.l2_grid:
        oof = np.zeros(len(idx))
        for k in range(recipe.folds):
            train = np.r_[rest, idx[fold != k]]
            head = fit_linear_head(feats[train], y[train], np.asarray(collections)[train],
                                   None if marked is None else marked[train], l2, recipe)
            oof[fold == k] = head.logit(feats[idx[fold == k]])
        auc = roc_auc(y[idx], oof)
        if best is None or auc > best[1]:
            best = (l2, auc, oof)
    assert best is not None
    return best
