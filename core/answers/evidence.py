"""Where the evidence lies: a heat map fine enough to tell lung from marker, and the share
of it inside the lung fields.

The last convolution of the network is 7 x 7 at 224 px: one cell covers a whole lung zone
and a marker beside it alike. The map here is computed on the deepest layer whose grid is
at least :data:`core.model.networks.MIN_GRID` cells across (``block5c`` from 256 px up, ``block3b`` below),
with LayerCAM (Jiang et al., IEEE TIP 2021: each position weighted by its own positive
gradient, which keeps earlier layers' maps sharp where Grad-CAM's channel average blurs
them). :func:`lung_evidence` is the share of the map's positive mass inside the lung
fields the segmenter found, grown by a cell: near 1, the score came from the lungs; below
:data:`LOW_EVIDENCE`, mostly from markers, tubes, borders or the mediastinum outside them.

Batched: one gradient pass for a whole batch (films are independent in inference mode,
so the gradient of the summed logits is each film's own gradient).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from core.model.anatomy import grow
from core.model.preprocess import PreprocessSpec, prepare
from core.model.runtime import unit_max

#: Below this share the film is flagged for review.
LOW_EVIDENCE = 0.5
LOW_EVIDENCE_MESSAGE = (
    "the score rests mostly on areas outside the lungs (markers, tubes, borders): "
    "review the film"
)
#: Lung fields are grown by this many map cells before the share is taken ("slightly
#: dilated": the pleura and a rim of opacity at the edge belong to the lungs).
GROW = 1

_MODELS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _grad_model(keras_model: Any, layer: str):
    import keras
    import tensorflow as tf

    cached = _MODELS.get(keras_model)
    if cached is not None and cached[0] == layer:
        return cached[1]
    from core.model.networks import FEATURES

    last = keras_model.layers[-1]
    head_input = last.input if hasattr(last, "kernel") else keras_model.output
    names = {lay.name for lay in keras_model.layers}
    features = keras_model.get_layer(FEATURES).output if FEATURES in names else head_input
    model = keras.Model(keras_model.inputs, [keras_model.get_layer(layer).output, head_input,
                                             keras_model.output, features])

    def run(x):
        with tf.GradientTape() as tape:
            conv, head, out, feats = model(x, training=False)
            tape.watch(conv)
            logit = (tf.matmul(head, last.kernel) + last.bias) if hasattr(last, "kernel") \
                else head
            total = tf.reduce_sum(logit)
        grads = tape.gradient(total, conv)
        cam = tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * conv, axis=-1))
        return cam, out, feats

    fn = tf.function(run, autograph=False, reduce_retracing=True)
    _MODELS[keras_model] = (layer, fn)
    return fn


def heat_maps(keras_model: Any, inputs: np.ndarray, layer: str | None = None,
              batch_size: int = 16) -> np.ndarray:
    """LayerCAM maps (N, g, g), each scaled to a maximum of 1 (zeros where nothing
    contributed), for network inputs float32 (N, S, S, 1) in [0, 1]."""
    import tensorflow as tf

    from core.model.networks import evidence_layer

    layer = layer or evidence_layer(keras_model)
    if layer is None or len(inputs) == 0:
        return np.zeros((len(inputs), 1, 1), np.float32)
    fn = _grad_model(keras_model, layer)
    out = []
    for i in range(0, len(inputs), batch_size):
        out.append(unit_max(fn(tf.convert_to_tensor(inputs[i:i + batch_size], tf.float32))[0]))
    return np.concatenate(out)


def forward_with_heat(keras_model: Any, inputs: np.ndarray, batch_size: int = 16
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The network's output (N,) (uncalibrated), its penultimate features (N, F) and the
    LayerCAM maps of :func:`heat_maps`, from one pass: the gradient pass computes the
    output anyway, so classification need not run the network a second time for the
    score. None when the network has no evidence layer."""
    import tensorflow as tf

    from core.model.networks import evidence_layer

    layer = evidence_layer(keras_model)
    if layer is None:
        return None
    fn = _grad_model(keras_model, layer)
    probs, feats, maps = [], [], []
    for i in range(0, len(inputs), batch_size):
        cam, out, feat = fn(tf.convert_to_tensor(inputs[i:i + batch_size], tf.float32))
        maps.append(unit_max(cam))
        probs.append(out.numpy().reshape(-1))
        feats.append(feat.numpy())
    return np.concatenate(probs), np.concatenate(feats), np.concatenate(maps)


def lungs_on_grid(mask: np.ndarray, spec: PreprocessSpec, grid: int) -> np.ndarray:
    """The segmenter's lung probability over the whole film (any size), cropped as the
    network's input is and brought to the heat map's grid, thresholded and grown by GROW
    cells: bool (grid, grid)."""
    crop = prepare(np.asarray(mask, np.float32), PreprocessSpec(grid, spec.crop, False))
    return grow(crop.astype(np.float32) / 255.0 > 0.5, GROW, diagonal=True)


def lung_evidence(heat: np.ndarray, lungs: np.ndarray) -> float | None:
    """Share of the map's positive mass inside ``lungs`` (bool, same grid); None when the
    map is empty (nothing pushed the score up) or no lung was found."""
    heat = np.clip(np.asarray(heat, np.float64), 0, None)
    total = heat.sum()
    if total <= 0 or not lungs.any():
        return None
    return float(heat[lungs].sum() / total)
