"""A Keras classifier converted for the lean runtime (:mod:`core.model.runtime`), checked
against the Keras network before it is written.

Two files join the model's set:

- ``NAME.tflite``: P(COVID) before calibration, the pooled features and the class
  activation map of the linear head, from one forward pass. The backbone's last stride is
  dropped and the layers after it dilated (:func:`core.model.lite0.lite0_features`,
  ``dense_from``), so the map is 2 x 2 times finer (14 x 14 at 224 px) while P and the
  features, taken on the odd positions, are exactly the ordinary network's.
- ``NAME.views.tflite``: P alone, the ordinary network, for the test-time views (about half
  the main file's cost: no finer grid; ``bench/bench_runtime.py``).

Only a network whose head is linear on globally pooled features (the Lite0 builds) has such
a map; :func:`convertible` says which. Importing this module imports TensorFlow: it runs
where a model is saved or finalised, never where films are classified.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The block whose stride the map's network drops (Lite0's last stride-2 block).
DENSE_FROM = "block6a"
#: Converted P may differ from Keras's by at most this much on the check inputs.
MAX_ABS_DP = 1e-3


def convertible(net: Any) -> bool:
    """True for a Lite0 classifier: pooled features named ``features`` feeding one Dense."""
    from core.model.networks import FEATURES

    names = {layer.name for layer in net.layers}
    last = net.layers[-1]
    return ("gray_to_rgb" in names and FEATURES in names and hasattr(last, "kernel")
            and int(last.kernel.shape[-1]) == 1)


def _backbone(net: Any, dense_from: str | None) -> Any:
    """The input-to-top-activation part of ``net`` rebuilt (finer when ``dense_from``),
    with ``net``'s weights."""
    import keras
    from keras import layers

    from core.model.lite0 import lite0_features

    size = int(net.input_shape[1])
    inp = keras.Input((size, size, 1), name="xray")
    scale = net.get_layer("imagenet_scale")
    x = layers.Rescaling(scale.scale, offset=scale.offset, name="imagenet_scale")(inp)
    x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    top = lite0_features(x, dense_from=dense_from)
    model = keras.Model(inp, top)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(net.get_layer(layer.name).get_weights())
    return model


def runtime_networks(net: Any) -> tuple[Any, Any]:
    """(main, views) Keras models: main -> [P, features, map]; views -> P."""
    import keras

    if not convertible(net):
        raise ModelError(f"network {net.name!r} has no linear head on pooled features: "
                         "it is not converted for the lean runtime")
    kernel, bias = (np.asarray(w) for w in net.layers[-1].get_weights())
    models = []
    for dense_from in (DENSE_FROM, None):
        backbone = _backbone(net, dense_from)
        x = keras.Input(backbone.input_shape[1:], name="xray")
        top = backbone(x)
        lattice = top[:, 1::2, 1::2, :] if dense_from else top
        feats = keras.ops.mean(lattice, axis=(1, 2))
        # P as (N,): the runtime tells the outputs apart by rank.
        prob = keras.ops.sigmoid(keras.ops.matmul(feats, kernel) + bias)[:, 0]
        if dense_from:
            cam = keras.ops.squeeze(keras.ops.matmul(top, kernel), -1)
            models.append(keras.Model(x, [prob, feats, cam], name="covidcxr_main"))
        else:
            models.append(keras.Model(x, prob, name="covidcxr_views"))
    return models[0], models[1]


def to_tflite(model: Any) -> bytes:
    """A Keras model as a LiteRT flatbuffer (TensorFlow's own converter)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    return bytes(conv.convert())


def check_inputs(size: int, n: int = 6, seed: int = 0) -> np.ndarray:
    """Inputs the conversion is checked on: smooth radiograph-like gradients and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = [np.clip(0.5 + 0.4 * np.sin(6 * xx * (k + 1)) * np.cos(4 * yy) +
                   0.1 * rng.standard_normal((size, size)), 0, 1) for k in range(n)]
    return np.stack(out)[..., None].astype(np.float32)


def convert(net: Any, inputs: np.ndarray | None = None) -> tuple[bytes, bytes, dict[str, Any]]:
    """The two files of a Keras classifier and what the card says of them, after checking
    them on ``inputs`` (float32 (N, S, S, 1); default :func:`check_inputs`): a converted P
    further than :data:`MAX_ABS_DP` from Keras's is a ModelError, nothing written."""
    from core.model.runtime import LiteClassifier, LiteNetwork, engine_version

    main, views = runtime_networks(net)
    data_main, data_views = to_tflite(main), to_tflite(views)
    x = check_inputs(int(net.input_shape[1])) if inputs is None else inputs
    want = np.asarray(net(x, training=False)).reshape(-1)
    with tempfile.TemporaryDirectory() as tmp:
        pm, pv = Path(tmp, "main.tflite"), Path(tmp, "views.tflite")
        pm.write_bytes(data_main)
        pv.write_bytes(data_views)
        lite = LiteClassifier(LiteNetwork(pm, 1), LiteNetwork(pv, 1))
        got, _, cam = lite.forward(x)
        got_views = lite.probabilities(x)
    dp = float(max(np.abs(got - want).max(), np.abs(got_views - want).max()))
    if not np.isfinite(dp) or dp > MAX_ABS_DP or cam is None:
        raise ModelError(f"the converted network differs from Keras's by {dp:.2g} in P "
                         f"(at most {MAX_ABS_DP} allowed): not written")
    info = {
        "engine": engine_version(),
        "converted_by": "core.model.convert (tf.lite.TFLiteConverter.from_keras_model)",
        "max_abs_dp": dp,
        "checked_on": f"{len(x)} inputs",
        "map": f"class activation map of the linear head, {cam.shape[1]} x {cam.shape[2]} "
               f"cells ({DENSE_FROM}'s stride dropped, later layers dilated)",
        "map_grid": int(cam.shape[1]),
    }
    return data_main, data_views, info

