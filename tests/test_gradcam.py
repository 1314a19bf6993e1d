"""Grad-CAM: a pure function of a network and one input; explained where the network looked."""

from __future__ import annotations

import numpy as np
import pytest

from core.answers.gradcam import gradcam, heatmap_box
from core.model.preprocess import crop_box


def _input(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.6 - 0.4 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) + rng.normal(0, 0.05, (size, size))
    return np.clip(img, 0, 1).astype(np.float32)[None, ..., None]


def test_gradcam_shape_range_and_determinism(tiny_model):
    from core.model.networks import LAST_CONV

    x = _input(64)
    heat = gradcam(tiny_model.keras_model, x, LAST_CONV)
    assert heat.shape == (64, 64) and heat.dtype == np.float32
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert heat.max() in (0.0, pytest.approx(1.0, abs=0.05))  # normalised, or nothing found
    again = gradcam(tiny_model.keras_model, x, LAST_CONV)
    np.testing.assert_allclose(heat, again, atol=1e-6)


def test_both_classes_explain_different_evidence(tiny_model):
    x = _input(64, seed=1)
    pos = gradcam(tiny_model.keras_model, x, class_index=1)
    neg = gradcam(tiny_model.keras_model, x, class_index=0)
    assert pos.shape == neg.shape
    assert not np.allclose(pos, neg)


def test_gradcam_refuses_a_batch(tiny_model):
    with pytest.raises(ValueError, match=r"one image shaped \(1, S, S, 1\)"):
        gradcam(tiny_model.keras_model, np.zeros((2, 64, 64, 1), np.float32))


@pytest.mark.parametrize("crop", [1.0, 0.8])
def test_explain_maps_a_film_as_read_to_its_crop_box(tiny_model, crop):
    """The heat map of an X-ray of any size, through the model's own preprocessing, with
    the box (the model's central crop) where it belongs."""
    from dataclasses import replace

    from core.answers.gradcam import explain
    from core.model.card import NEGATIVE, POSITIVE
    from core.model.networks import last_conv_layer
    from core.model.preprocess import prepare, to_network

    card = replace(tiny_model.card, preprocess={**tiny_model.card.preprocess, "crop": crop})
    model = replace(tiny_model, card=card)
    pixels = _input(100, seed=2)[0, :, :80, 0]
    heat = explain(model, pixels)
    assert heat.box == heatmap_box(100, 80, crop) == crop_box(100, 80, crop)
    assert heat.explains == POSITIVE and explain(model, pixels, 0).explains == NEGATIVE
    x = to_network(prepare(pixels, card.spec)[None])
    # the evidence for COVID is the fine map of core.answers.evidence (issue #21: at least
    # 16 cells across), brought to the input size; the other class stays Grad-CAM
    from PIL import Image

    from core.answers.evidence import heat_maps
    from core.model.networks import MIN_GRID

    grid = heat_maps(model.keras_model, x)[0]
    assert grid.shape[0] >= MIN_GRID
    size = x.shape[1]
    up = np.asarray(Image.fromarray(grid, mode="F").resize((size, size),
                                                           Image.Resampling.BILINEAR))
    np.testing.assert_allclose(heat.heat, np.clip(up, 0, 1), atol=1e-6)
    direct = gradcam(model.keras_model, x, last_conv_layer(model.keras_model), 0)
    np.testing.assert_allclose(explain(model, pixels, 0).heat, direct, atol=1e-6)
