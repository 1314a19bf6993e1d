"""The chest-features recipe (issue #29) on small data: the split network, the altered copy,
the view-balanced weights and the training loop's promises."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError
from core.training.chest import (
    ChestRecipe,
    Task,
    altered_copy,
    balanced_weights,
    cache_activations,
    pooled_from_cache,
    split_network,
    train_chest,
)

SIZE = 64  # Lite0 at 64 px: block5c is 4 x 4 x 112, the top 2 x 2 x 1280


@pytest.fixture(scope="module")
def lite0():
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build

    net = build("lite0", SIZE)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    return net


def test_balanced_weights_leave_the_stratum_no_information():
    # label 0 is common in AP, rare in PA: unweighted, the view would predict it
    y = np.array([[1], [1], [1], [0], [1], [0], [0], [0], [0], [0]], bool)
    view = np.array(["AP"] * 4 + ["PA"] * 6)
    w = balanced_weights(y, view)[:, 0]
    for v in ("AP", "PA"):
        rows = view == v
        assert w[rows & y[:, 0]].sum() == pytest.approx(w[rows & ~y[:, 0]].sum())
    assert w.sum() == pytest.approx(len(y))
    # a stratum holding one value of a label teaches nothing about it
    w1 = balanced_weights(np.array([[1], [1], [0], [1]], bool), np.array(["AP", "AP", "PA", "PA"]))
    assert w1[:2, 0].sum() == 0


def test_altered_copy_keeps_the_film_and_changes_the_acquisition():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:200, 0:160]
    film = (0.5 + 0.4 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.float32)
    copies = [altered_copy(film, np.random.default_rng(s)) for s in range(6)]
    for c in copies:
        assert c.shape == film.shape and c.dtype == np.float32
        assert 0.0 <= c.min() and c.max() <= 1.0
        assert np.isfinite(c).all()
        # the same film: strongly correlated with the original
        assert np.corrcoef(c.ravel(), film.ravel())[0, 1] > 0.5
    assert any(np.abs(c - film).mean() > 0.01 for c in copies)
    again = altered_copy(film, np.random.default_rng(3))
    np.testing.assert_array_equal(again, copies[3])
    film.setflags(write=False)  # a read-only decoded film is not written to
    altered_copy(film, rng)


def test_split_network_composes_to_the_full_features(lite0):
    from core.training.transfer import pooled_features

    lower, upper = split_network(lite0, "block5c_add")
    assert tuple(lower.output.shape[1:]) == (4, 4, 112)
    images = (np.random.default_rng(1).random((5, SIZE, SIZE)) * 255).astype(np.uint8)
    act = cache_activations(lower, images)
    assert act.dtype == np.float16 and act.shape == (5, 4, 4, 112)
    composed = pooled_from_cache(upper, act)
    whole = pooled_features(lite0, images)
    # float16 cache: about three significant digits
    np.testing.assert_allclose(composed, whole, atol=2e-3 * max(1.0, float(np.abs(whole).max())))
    with pytest.raises(ValueError, match="no layer"):
        split_network(lite0, "block9z_add")


def _tasks(act: np.ndarray, rng) -> list[Task]:
    # labels a linear function of the cached activations can learn
    score = act.astype(np.float32).reshape(len(act), -1) @ rng.normal(size=act[0].size)
    y = (score > np.median(score)).astype(np.float32)
    rows = np.arange(len(act))
    three = np.stack([score < np.quantile(score, 1 / 3), (score >= np.quantile(score, 1 / 3)) &
                      (score < np.quantile(score, 2 / 3)), score >= np.quantile(score, 2 / 3)],
                     1).astype(np.float32)
    return [
        Task("bin", "binary", ("pos",), rows, y[:, None], np.ones((len(rows), 1), np.float32)),
        Task("three", "softmax", ("a", "b", "c"), rows, three, np.ones((len(rows), 1), np.float32)),
    ]


def test_train_chest_learns_the_tasks_and_leaves_the_lower_blocks(lite0):
    import keras

    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build

    net = build("lite0", SIZE)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    lower, upper = split_network(net, "block5c_add")
    rng = np.random.default_rng(2)
    images = (rng.random((48, SIZE, SIZE)) * 255).astype(np.uint8)
    act = cache_activations(lower, images)
    noisy = (act.astype(np.float32) + rng.normal(0, 0.05, act.shape)).astype(np.float16)
    stem = net.get_layer("stem_conv").kernel.numpy().copy()
    top = net.get_layer("top_conv").kernel.numpy().copy()
    calls = []
    fit = train_chest(upper, act, noisy, _tasks(act, rng),
                      ChestRecipe(epochs=4, batch_per_task=12, learning_rate=1e-3, l2sp=1e-3),
                      on_progress=lambda d, n, m: calls.append((d, n)))
    assert fit.steps == 16 and not fit.stopped_by_user
    losses = fit.history["total"]
    assert len(losses) == 4 and losses[-1] < losses[0]
    assert fit.history["bin"][-1] < fit.history["bin"][0]
    assert set(fit.history) >= {"bin", "three", "invariance", "l2sp", "total"}
    assert calls and calls[-1] == (16, 16)
    # the frozen part is untouched, the top moved, and the full network carries the change
    np.testing.assert_array_equal(net.get_layer("stem_conv").kernel.numpy(), stem)
    assert not np.allclose(net.get_layer("top_conv").kernel.numpy(), top)
    assert 0 < fit.drift < 1
    assert fit.heads["three"][0].shape == (1280, 3)
    # batch norm keeps ImageNet's statistics
    assert not any(layer.trainable for layer in upper.layers
                   if isinstance(layer, keras.layers.BatchNormalization))


def test_l2sp_holds_the_weights_near_imagenet(lite0):
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build

    drifts = []
    for l2sp in (0.0, 100.0):
        net = build("lite0", SIZE)
        load_backbone_weights(net, IMAGENET_WEIGHTS)
        lower, upper = split_network(net, "block5c_add")
        rng = np.random.default_rng(4)
        act = cache_activations(lower, (rng.random((24, SIZE, SIZE)) * 255).astype(np.uint8))
        fit = train_chest(upper, act, None, _tasks(act, rng)[:1],
                          ChestRecipe(epochs=3, batch_per_task=8, learning_rate=3e-3, l2sp=l2sp))
        drifts.append(fit.drift)
        assert "invariance" not in fit.history
    assert drifts[1] < 0.5 * drifts[0]


def test_train_chest_stops_when_asked_and_refuses_bad_tasks(lite0):
    lower, upper = split_network(lite0, "block5c_add")
    rng = np.random.default_rng(5)
    act = cache_activations(lower, (rng.random((16, SIZE, SIZE)) * 255).astype(np.uint8))
    fit = train_chest(upper, act, None, _tasks(act, rng), ChestRecipe(epochs=2),
                      should_stop=lambda: True)
    assert fit.stopped_by_user and fit.steps == 0
    with pytest.raises(DatasetError, match="no tasks"):
        train_chest(upper, act, None, [], ChestRecipe())
    with pytest.raises(DatasetError, match="has no films"):
        Task("empty", "binary", ("x",), np.array([], int), np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match="indexes past"):
        bad = Task("far", "binary", ("x",), np.array([99]), np.ones((1, 1)), np.ones((1, 1)))
        train_chest(upper, act, None, [bad], ChestRecipe())
