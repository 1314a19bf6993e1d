"""Evidence inside the lungs (issue #21): a score that comes from a painted marker outside
the lung fields gets a low lung_evidence, one from inside them a high one."""

from __future__ import annotations

import numpy as np
import pytest

from core.answers.evidence import (
    LOW_EVIDENCE,
    heat_maps,
    lung_evidence,
    lungs_on_grid,
)
from core.model.networks import evidence_layer
from core.model.preprocess import PreprocessSpec


@pytest.fixture(scope="module")
def brightness_net():
    """A network whose score is the mean brightness: its evidence is wherever it is bright."""
    import keras

    inp = keras.Input((64, 64, 1))
    x = keras.layers.Conv2D(4, 1, activation="relu", name="conv1",
                            kernel_initializer="ones", bias_initializer="zeros")(inp)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="prob",
                             kernel_initializer="ones")(x)
    return keras.Model(inp, out)


def _film(spot: tuple[slice, slice]) -> np.ndarray:
    img = np.zeros((64, 64), np.float32)
    img[spot] = 1.0
    return img[None, ..., None]


def _lung_mask() -> np.ndarray:
    """Two lung fields over the whole film, as the segmenter gives them (128 px)."""
    m = np.zeros((128, 128), np.float32)
    m[30:100, 22:58] = 1.0
    m[30:100, 70:106] = 1.0
    return m


def test_the_map_is_fine_and_follows_the_evidence(brightness_net):
    assert evidence_layer(brightness_net) == "conv1"
    heat = heat_maps(brightness_net, _film((slice(30, 40), slice(15, 25))))[0]
    assert heat.shape[0] >= 16
    assert np.unravel_index(heat.argmax(), heat.shape)[0] in range(30, 40)


def test_a_marker_outside_the_lungs_gives_low_evidence(brightness_net):
    spec = PreprocessSpec(64, 1.0, False)
    lungs = lungs_on_grid(_lung_mask(), spec, 64)
    marker = heat_maps(brightness_net, _film((slice(2, 8), slice(2, 14))))[0]  # a corner label
    lesion = heat_maps(brightness_net, _film((slice(30, 40), slice(15, 25))))[0]  # left lung
    low, high = lung_evidence(marker, lungs), lung_evidence(lesion, lungs)
    assert low is not None and high is not None
    assert low < LOW_EVIDENCE < high
    assert high > 0.9 and low < 0.3


def test_no_lungs_or_no_map_gives_no_figure():
    assert lung_evidence(np.zeros((16, 16)), np.ones((16, 16), bool)) is None
    assert lung_evidence(np.ones((16, 16)), np.zeros((16, 16), bool)) is None


def test_one_pass_gives_the_score_the_features_and_the_same_maps(brightness_net):
    """forward_with_heat (#23): the gradient pass's own output is the network's score, so
    classification runs the network once for both."""
    from core.answers.evidence import forward_with_heat

    films = np.concatenate([_film((slice(30, 40), slice(15, 25))),
                            _film((slice(2, 8), slice(2, 14)))])
    both = forward_with_heat(brightness_net, films)
    assert both is not None
    raw, feats, heat = both
    np.testing.assert_allclose(raw, brightness_net.predict(films, verbose=0).reshape(-1),
                               rtol=1e-6)
    assert feats.shape == (2, 4)
    np.testing.assert_allclose(heat, heat_maps(brightness_net, films), atol=1e-6)
