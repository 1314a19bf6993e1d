"""EfficientNet-Lite0: the architecture and the shipped weights (their conversion from
PyTorch: tests/test_convert_lite0.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.lite0 import (
    BLOCKS,
    IMAGENET_WEIGHTS,
    TOP_ACTIVATION,
    build_imagenet_classifier,
    load_backbone_weights,
)
from scripts.convert_lite0 import save_weights_npz


@pytest.fixture(scope="module")
def classifier():
    return build_imagenet_classifier(224)


def test_block_names_follow_keras_efficientnet():
    assert BLOCKS == [
        "block1a",
        "block2a", "block2b",
        "block3a", "block3b",
        "block4a", "block4b", "block4c",
        "block5a", "block5b", "block5c",
        "block6a", "block6b", "block6c", "block6d",
        "block7a",
    ]  # fmt: skip


@pytest.mark.slow
def test_architecture_is_lite0(classifier):
    names = {layer.name for layer in classifier.layers}
    assert {"stem_conv", "block1a_dwconv", "block6a_expand_conv", "block6d_add"} <= names
    # Squeeze-excitation-free, unscaled stem and head: 4,652,008 trainable parameters.
    assert sum(int(np.prod(w.shape)) for w in classifier.trainable_weights) == 4_652_008
    assert classifier.get_layer(TOP_ACTIVATION).output.shape[1:] == (7, 7, 1280)
    # Identity skips only where stride 1 keeps the channel count: 9 of the 16 blocks.
    assert sum(name.endswith("_add") for name in names) == 9


@pytest.mark.slow
def test_backbone_loading_names_what_does_not_fit(classifier, tmp_path):
    weights = dict(np.load(IMAGENET_WEIGHTS))
    assert load_backbone_weights(classifier, IMAGENET_WEIGHTS) == 98  # no classifier there

    partial = tmp_path / "partial.npz"
    save_weights_npz({k: v for k, v in weights.items() if not k.startswith("top_bn/")}, partial)
    with pytest.raises(ValueError, match="lacks weights for 1 backbone layers, first 'top_bn'"):
        load_backbone_weights(classifier, partial)

    wrong = tmp_path / "wrong.npz"
    save_weights_npz({**weights, "stem_conv/kernel": np.zeros((3, 3, 1, 32), np.float32)}, wrong)
    with pytest.raises(ValueError, match=r"stem_conv/kernel has shape \(3, 3, 1, 32\)"):
        load_backbone_weights(classifier, wrong)


@pytest.mark.slow
# TensorFlow's variables lack numpy 2's __array__(copy=...); Keras' saving trips on it.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_model_with_backbone_loads_in_safe_mode(tmp_path):
    import keras

    net = build_imagenet_classifier(64)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    path = tmp_path / "lite0.keras"
    net.save(path)
    again = keras.saving.load_model(path, compile=False, safe_mode=True)
    x = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(again(x, training=False), net(x, training=False), atol=1e-5)
