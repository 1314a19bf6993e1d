"""core.training.head: the frozen-feature head, folded into raw-feature weights."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.head import HeadRecipe, choose_l2, fit_linear_head, sample_weights


def _films(seed: int = 0):
    """Two collections; the label lives in feature 0 for both, the collection in feature
    1 (collection A is almost all positive), markers move feature 2 only."""
    rng = np.random.default_rng(seed)
    n = 400
    coll = np.where(np.arange(n) < 300, "A", "B")
    y = np.where(coll == "A", rng.random(n) < 0.9, rng.random(n) < 0.5).astype(int)
    x = rng.normal(0, 1, (n, 12))
    x[:, 0] += 1.2 * y
    x[:, 1] += 3.0 * (coll == "A")
    marked = x.copy()
    marked[:, 2] += rng.normal(2.0, 0.5, n)
    return x, marked, y, coll


def test_marker_directions_are_projected_out_of_the_folded_head():
    x, marked, y, coll = _films()
    recipe = HeadRecipe(components=8, marker_directions=1, l2_grid=(10.0,))
    head = fit_linear_head(x, y, coll, marked, 10.0, recipe)
    assert head.weights.shape == (12,)
    # markers were projected out: the head gives them (almost) no weight
    shift = np.abs(head.logit(marked) - head.logit(x)).mean()
    plain = fit_linear_head(x, y, coll, None, 10.0, HeadRecipe(components=8))
    assert shift < 0.2 * max(np.abs(plain.logit(marked) - plain.logit(x)).mean(), 1e-3) + 0.05


def test_collection_balance_weighs_every_cell_the_same():
    y = np.array([1, 1, 1, 0, 1, 0])
    coll = np.array(["A", "A", "A", "A", "B", "B"])
    w = sample_weights(y, coll, "collection")
    assert w[:3].sum() == pytest.approx(w[4])  # A-positive cell vs B-positive cell
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum())


def test_l2_is_chosen_out_of_fold_on_the_collection_with_both_classes():
    x, marked, y, coll = _films(1)
    groups = np.arange(len(y))
    recipe = HeadRecipe(components=8, marker_directions=1, l2_grid=(1.0, 1e6), folds=4)
    l2, auc, oof = choose_l2(x, y, coll, marked, coll == "B", groups, recipe)
    assert l2 == 1.0  # a huge penalty leaves nothing to rank by
    assert auc > 0.7 and oof.shape == ((coll == "B").sum(),)
