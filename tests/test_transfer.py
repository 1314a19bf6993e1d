"""Transfer learning from the ImageNet backbone: head first, then only the top blocks."""

from __future__ import annotations

import numpy as np
import pytest

from core.training.fit import train
from core.training.recipe import TrainConfig, transfer_recipe
from tests.test_dataset import make_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ds") / "data", per_class=16)


def _cfg(**kw) -> TrainConfig:
    return transfer_recipe(input_size=64, epochs=1, batch_size=8, seed=1, **kw)


@pytest.fixture(scope="module")
def scratch(tiny_ds):
    """One Lite0 trained from random weights (building and tracing it costs most of a
    minute on a CPU), for the tests that only read it."""
    return train(tiny_ds, _cfg(start_from="scratch", max_train_batches=1))


def test_freeze_below_keeps_batch_norm_and_lower_blocks_frozen():
    import keras

    from core.model.networks import build
    from core.training.transfer import freeze_below

    net = build("lite0", 64)
    n_train, n_frozen = freeze_below(net, "block6a")
    trainable = {layer.name for layer in net.layers if layer.trainable and layer.weights}
    assert "prob" in trainable and "top_conv" in trainable and "block6a_dwconv" in trainable
    assert "block5c_dwconv" not in trainable and "stem_conv" not in trainable
    assert not any(
        layer.trainable
        for layer in net.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    assert n_train == sum(int(np.prod(w.shape)) for w in net.trainable_weights)
    assert n_train > 0 and n_frozen > 0  # most parameters sit in the top blocks
    with pytest.raises(Exception, match="unknown block"):
        freeze_below(net, "block9z")


def test_the_default_recipe_keeps_the_whole_backbone_frozen(tiny_ds):
    """Issue 19: the bundled recipe trains the head only; every backbone weight is still
    ImageNet's after training."""
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build

    assert transfer_recipe().unfreeze_from == "none"
    assert transfer_recipe().input_size == 224
    imagenet = build("lite0", 64)
    load_backbone_weights(imagenet, IMAGENET_WEIGHTS)
    net = train(tiny_ds, _cfg()).keras_model
    for name in ("stem_conv", "block6a_dwconv", "block7a_project_conv", "top_conv", "top_bn"):
        for got, want in zip(net.get_layer(name).get_weights(),
                             imagenet.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)


def test_imagenet_start_fits_the_head_then_fine_tunes_only_the_top(tiny_ds):
    from core.model.lite0 import IMAGENET_WEIGHTS
    from core.model.networks import build

    imagenet = build("lite0", 64)
    from core.model.lite0 import load_backbone_weights

    load_backbone_weights(imagenet, IMAGENET_WEIGHTS)
    progress = []
    # fine-tuning from block5a, as the recipe did before issue #19 (still a choice)
    result = train(tiny_ds, _cfg(unfreeze_from="block5a"),
                   on_progress=lambda d, t, m: progress.append(m))
    assert any("head fitted" in m for m in progress)
    net = result.keras_model
    # Below block5a nothing moved: the ImageNet weights are still there.
    for name in ("stem_conv", "block3a_dwconv", "block4c_project_conv", "block5c_project_bn"):
        for got, want in zip(
            net.get_layer(name).get_weights(), imagenet.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want)
    # The fine-tuned block did move, and its batch norm kept ImageNet's statistics.
    moved = net.get_layer("block6a_dwconv").get_weights()[0]
    assert not np.array_equal(moved, imagenet.get_layer("block6a_dwconv").get_weights()[0])
    for got, want in zip(
        net.get_layer("top_bn").get_weights(), imagenet.get_layer("top_bn").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)
    t = result.card.training["transfer"]
    assert t["start"] == "ImageNet EfficientNet-Lite0"
    assert t["fine_tuned_from_block"] == "block5a"
    assert t["head_l2"] in (1.0, 10.0, 100.0, 1000.0)
    assert 0.0 <= t["head_val_auc"] <= 1.0
    assert result.card.architecture == "lite0" and result.card.preprocess["equalize"]
    # The pooled features feed the unusual-film detector.
    assert result.ood.feat_mean.shape == (1280,)


def test_lite0_model_round_trips_with_grad_cam(scratch, tmp_path):
    from core.answers.gradcam import gradcam
    from core.model.disk import save_model
    from core.model.loading import load_model
    from core.model.networks import last_conv_layer

    result = scratch
    path = save_model(result.keras_model, result.card, tmp_path / "m.keras", result.ood)
    loaded = load_model(path)
    x = np.random.default_rng(0).random((1, 64, 64, 1)).astype(np.float32)
    probs, feats = loaded.forward(x)
    assert probs.shape == (1,) and feats.shape == (1, 1280)
    assert last_conv_layer(loaded.keras_model) == "top_relu"
    heat = gradcam(loaded.keras_model, x, last_conv_layer(loaded.keras_model))
    assert heat.shape == (64, 64) and 0.0 <= heat.min() and heat.max() <= 1.0


def test_command_line_fills_the_architectures_recipe():
    import argparse

    from core.cli.train import add_arguments as add_train_arguments
    from core.cli.train import config_from_arguments

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    lite = config_from_arguments(p.parse_args(["data", "-o", "m.keras", "--architecture", "lite0"]))
    assert lite == transfer_recipe()
    tuned = config_from_arguments(
        p.parse_args(["data", "-o", "m.keras", "--architecture", "lite0", "--input-size", "160",
                      "--no-flip", "--epochs", "3"])
    )
    assert (tuned.input_size, tuned.flip, tuned.epochs) == (160, False, 3)
    assert tuned.learning_rate == transfer_recipe().learning_rate
    seed = config_from_arguments(p.parse_args(["data", "-o", "m.keras"]))
    assert seed == TrainConfig()


def test_lite0_from_scratch_trains_every_layer(scratch):
    """Random weights are not frozen: freezing below a block would freeze noise."""
    import keras

    result = scratch
    net = result.keras_model
    assert all(layer.trainable for layer in net.layers)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in net.layers)
    assert result.card.training["transfer"] == {
        "start": "random weights",
        "fine_tuned_from_block": "all layers",
    }
