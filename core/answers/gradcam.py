"""Heat maps: where the network's activations pushed the score (Grad-CAM at the last
convolution; for P(COVID) the finer LayerCAM map of :mod:`core.answers.evidence`).

Pure functions of a Keras model and one network input; they return arrays and know nothing
of a screen. A heat map shows which regions moved *this* network's output; it is not a
lesion map and can light up text, markers or borders the network has learned to use.

TensorFlow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from core.model.card import NEGATIVE, POSITIVE
from core.model.preprocess import crop_box, prepare, to_network

if TYPE_CHECKING:
    from core.model.loading import LoadedModel

#: Shown next to every heat map, in the GUI and in reports.
HEATMAP_NOTE = (
    "Heat map (Grad-CAM): where this network looked for its score. Not a lesion map and "
    "not a diagnosis; it can light up text, markers or borders."
)
# (The wording stays "Grad-CAM": LayerCAM is its per-position refinement, and the window
# and the report translate this exact sentence.)

# keras model -> gradient model; built once per network (building costs ~10-50 ms).
_GRAD_MODELS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _grad_model(keras_model: Any, layer: str) -> tuple[Any, Any]:
    """A model returning (conv activations, pre-sigmoid logit source) and the final layer.

    The sigmoid saturates at p ~ 0 or 1 and its gradient vanishes in float32, so we
    differentiate the logit: the final Dense layer applied to its own input.
    """
    import keras

    cached = _GRAD_MODELS.get(keras_model)
    if cached is not None and cached[0] == layer:
        return cached[1], cached[2]
    conv = keras_model.get_layer(layer).output
    last = keras_model.layers[-1]
    logit_input = last.input if hasattr(last, "kernel") else None
    outputs = [conv, logit_input if logit_input is not None else keras_model.output]
    model = keras.Model(keras_model.inputs, outputs)
    dense = last if logit_input is not None else None
    _GRAD_MODELS[keras_model] = (layer, model, dense)
    return model, dense


def gradcam(
    keras_model: Any, net_input: np.ndarray, layer: str = "conv4", class_index: int = 1
) -> np.ndarray:
    """Grad-CAM for one image: float32 (S, S) in [0, 1], zeros where nothing contributed.

    ``net_input`` is the network's input, float32 (1, S, S, 1) (``core.model.preprocess``).
    ``class_index`` 1 explains the evidence for the positive class, 0 for the negative.
    """
    import tensorflow as tf

    x = np.asarray(net_input, dtype=np.float32)
    if x.ndim != 4 or x.shape[0] != 1 or x.shape[-1] != 1:
        raise ValueError(f"expected one image shaped (1, S, S, 1), got {x.shape}")
    size = x.shape[1:3]
    model, dense = _grad_model(keras_model, layer)
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        conv, head = model(xt, training=False)
        if dense is not None:
            logit = tf.matmul(head, dense.kernel) + dense.bias
        else:  # no dense head to invert: fall back to the output itself
            logit = head
        score = logit[:, 0] if class_index == 1 else -logit[:, 0]
    grads = tape.gradient(score, conv)
    weights = tf.reduce_mean(grads, axis=(1, 2))  # (1, C): channel importance
    cam = tf.nn.relu(tf.reduce_sum(conv * weights[:, None, None, :], axis=-1))[0].numpy()
    top = float(cam.max()) if cam.size else 0.0
    if not np.isfinite(top) or top <= 0.0:
        return np.zeros(size, dtype=np.float32)
    cam = (cam / top).astype(np.float32)
    img = Image.fromarray(cam, mode="F").resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)


def heatmap_box(height: int, width: int, crop: float) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) in full-image pixels where a heat map belongs: the model
    saw only the central crop, so that is the region its heat map describes."""
    return crop_box(height, width, crop)


@dataclass(frozen=True)
class HeatMap:
    """A heat map and where it belongs on the X-ray as read."""

    heat: np.ndarray  # float32 (S, S) in [0, 1], at the network's input size
    box: tuple[int, int, int, int]  # (top, left, bottom, right) in full-image pixels
    explains: str  # the class whose evidence it shows (POSITIVE or NEGATIVE)
    #: The segmenter's lung probability over the whole film (128 x 128), for the outline;
    #: None where the model has no segmenter beside it.
    lungs: np.ndarray | None = None
    #: Share of the map's positive mass inside the lung fields (core.answers.evidence).
    lung_evidence: float | None = None


def explain(model: LoadedModel, pixels: np.ndarray, class_index: int = 1) -> HeatMap:
    """The heat map of an X-ray as read (float32 [0, 1], any size), through the model's
    own preprocessing: for P(COVID), the fine LayerCAM map the lung-evidence share is
    measured on (:mod:`core.answers.evidence`: LayerCAM, from the converted network's one
    invocation on the lean runtime, else a Keras gradient pass), with the lung fields; for the
    other class, Grad-CAM at the last convolution (TensorFlow is imported for it)."""
    from core.answers.evidence import heat_maps, lung_evidence, lungs_on_grid
    spec = model.card.spec
    x = to_network(prepare(pixels, spec)[None])
    box = heatmap_box(pixels.shape[0], pixels.shape[1], spec.crop)
    if class_index != 1:
        from core.model.networks import last_conv_layer

        net = model.keras_model
        return HeatMap(gradcam(net, x, last_conv_layer(net), class_index), box, NEGATIVE)
    maps = model.forward_with_map(x)[2] if model.runtime is not None else None
    grid = maps[0] if maps is not None else heat_maps(model.keras_model, x)[0]
    lungs = share = None
    if model.anatomy is not None:
        verdict = model.anatomy(pixels)
        lungs = getattr(verdict, "lungs", None)
    if lungs is not None:
        lungs = lungs.astype(np.float32) / 255.0
        share = lung_evidence(grid, lungs_on_grid(lungs, spec, grid.shape[0]))
    size = x.shape[1]
    heat = np.asarray(Image.fromarray(grid.astype(np.float32), mode="F").resize(
        (size, size), Image.Resampling.BILINEAR), np.float32)
    return HeatMap(np.clip(heat, 0.0, 1.0), box, POSITIVE, lungs, share)
