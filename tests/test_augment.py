"""Training augmentation keeps shape and range, and equalises exactly as inference does."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.preprocess import equalize_u8

tf = pytest.importorskip("tensorflow")


def test_tf_equalize_matches_inference_lut():
    from core.training.augment import equalize

    rng = np.random.default_rng(0)
    img = (rng.random((64, 64)) ** 2 * 200 + 20).astype(np.uint8)
    ours = equalize(tf.constant(img[..., None] / 255.0, tf.float32)).numpy()[..., 0]
    assert np.array_equal(np.round(ours * 255).astype(np.uint8), equalize_u8(img))


def test_strong_augmentation_shape_range_and_variety():
    from core.training.augment import augment

    tf.random.set_seed(0)
    x = tf.constant(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64, 1))
    outs = [augment(x, flip=True, strong=True, equalized=True).numpy() for _ in range(6)]
    for o in outs:
        assert o.shape == (64, 64, 1) and o.min() >= 0.0 and o.max() <= 1.0
    assert len({o.tobytes() for o in outs}) == 6  # random, not a fixed transform
    assert np.array_equal(augment(x, flip=False, strong=False).numpy(), x.numpy())
