"""A Keras classifier converted for the lean runtime (:mod:`core.model.runtime`), checked
against the Keras network before it is written.

Two files join the model's set:

- ``NAME.tflite``: P(COVID) before calibration, the pooled features and the LayerCAM map
  the lung-evidence share is measured on (:mod:`core.answers.evidence`: each position of
  the evidence layer, ``block3b`` at 224 px, 28 x 28, weighted by its own positive
  gradient of the logit), in one invocation: the gradient runs backwards through the
  blocks above that layer, on the forward pass's own activations. LiteRT has no gradient
  operators, so the network is rebuilt for the conversion with a ReLU6 and a depthwise
  convolution whose gradients are written with forward operators (a mask; a depthwise
  convolution with the flipped kernel, on a zero-inserted grid for a stride of 2): the
  converted graph holds only LiteRT's built-in operators.
- ``NAME.views.tflite``: P alone, the ordinary network, for the test-time views (about
  half the main file's cost; ``bench/bench_runtime.py``).

Why not the class activation map that the linear head gives from the forward pass alone
(issue #30's first idea, a 14 x 14 map with the last stride dilated): measured against this
map (``scripts/evidence_maps.py``), it kept a median share of 0.70 inside lungs that had
been blanked out (this map: 0.06) and did not follow burned-in markers; as a check of
"does the score rest outside the lungs" it failed.

Only a network whose head is linear on globally pooled features (the Lite0 builds) is
converted; :func:`convertible` says which. Importing this module imports TensorFlow: it
runs where a model is saved or finalised, never where films are classified.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Converted P may differ from Keras's by at most this much on the check inputs, and the
#: evidence map (each scaled to a maximum of 1) from Keras's LayerCAM by this much.
MAX_ABS_DP = 1e-3
MAX_ABS_DMAP = 2e-2


def convertible(net: Any) -> bool:
    """True for a Lite0 classifier: pooled features named ``features`` feeding one Dense."""
    from core.model.networks import FEATURES

    names = {layer.name for layer in net.layers}
    last = net.layers[-1]
    return ("gray_to_rgb" in names and FEATURES in names and hasattr(last, "kernel")
            and int(last.kernel.shape[-1]) == 1)


def _gradient_kinds() -> tuple[Any, Any]:
    """A ReLU6 and a depthwise convolution (Keras layers, same weights and forward values)
    whose gradients use forward operators only, so that LiteRT's built-ins can run them."""
    import tensorflow as tf
    from keras import layers

    @tf.custom_gradient
    def relu6(x: Any) -> Any:
        def grad(g: Any) -> Any:
            return g * tf.cast(tf.logical_and(x > 0.0, x < 6.0), g.dtype)

        return tf.clip_by_value(x, 0.0, 6.0), grad

    class ReLU6(layers.Layer):
        def __init__(self, max_value: float = 6.0, **kwargs: Any) -> None:
            super().__init__(**kwargs)

        def call(self, x: Any) -> Any:
            return relu6(x)

    class Depthwise(layers.DepthwiseConv2D):
        def call(self, x: Any) -> Any:
            kernel = tf.identity(self.kernel)  # a tensor: the gradient is the input's only
            stride = int(self.strides[0])

            @tf.custom_gradient
            def conv(x: Any) -> Any:
                def grad(g: Any) -> Any:
                    return depthwise_input_gradient(g, kernel, stride, x.shape[1], x.shape[2])

                return tf.nn.depthwise_conv2d(x, kernel, [1, stride, stride, 1], "SAME"), grad

            return conv(x)

    return ReLU6, Depthwise


def depthwise_input_gradient(g: Any, kernel: Any, stride: int, height: int, width: int) -> Any:
    """The gradient of a SAME depthwise convolution with respect to its input, with forward
    operators: ``g`` zero-inserted back onto the input grid (stride 2), padded where the
    forward pass's windows began, and correlated with the spatially flipped kernel."""
    import tensorflow as tf

    k = int(kernel.shape[0])
    flipped = tf.reverse(kernel, [0, 1])
    if stride == 1:
        return tf.nn.depthwise_conv2d(g, flipped, [1, 1, 1, 1], "SAME")
    n, h, w, c = tf.shape(g)[0], g.shape[1], g.shape[2], g.shape[3]
    up = tf.reshape(tf.stack([g] + [tf.zeros_like(g)] * (stride - 1), axis=3),
                    [n, h, stride * w, c])
    up = tf.reshape(tf.stack([up] + [tf.zeros_like(up)] * (stride - 1), axis=2),
                    [n, stride * h, stride * w, c])

    def before(size: int) -> int:  # SAME: the padding TensorFlow put before the input
        out = -(-size // stride)
        return max((out - 1) * stride + k - size, 0) // 2

    pt, pl = before(height), before(width)
    up = tf.pad(up, [[0, 0], [k - 1 - pt, pt + k], [k - 1 - pl, pl + k], [0, 0]])
    return tf.nn.depthwise_conv2d(up, flipped, [1, 1, 1, 1], "VALID")[:, :height, :width, :]


def _backbone(net: Any, kinds: tuple[Any, Any] | None = None) -> Any:
    """The input-to-top-activation part of ``net`` rebuilt (with ``kinds``, see
    :func:`core.model.lite0.lite0_features`), with ``net``'s weights."""
    import keras
    from keras import layers

    from core.model.lite0 import lite0_features

    size = int(net.input_shape[1])
    inp = keras.Input((size, size, 1), name="xray")
    scale = net.get_layer("imagenet_scale")
    x = layers.Rescaling(scale.scale, offset=scale.offset, name="imagenet_scale")(inp)
    x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    top = lite0_features(x, kinds=kinds)
    model = keras.Model(inp, top)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(net.get_layer(layer.name).get_weights())
    return model


def runtime_networks(net: Any) -> tuple[Any, Any]:
    """(main, views) Keras models: main -> [P, features, LayerCAM map]; views -> P."""
    import keras
    import tensorflow as tf
    from keras import layers

    from core.model.networks import evidence_layer

    if not convertible(net):
        raise ModelError(f"network {net.name!r} has no linear head on pooled features: "
                         "it is not converted for the lean runtime")
    kernel, bias = (tf.constant(np.asarray(w)) for w in net.layers[-1].get_weights())
    size = int(net.input_shape[1])
    layer = evidence_layer(net)
    backbone = _backbone(net, _gradient_kinds())
    both = keras.Model(backbone.input, [backbone.get_layer(layer).output, backbone.output])

    class WithEvidence(layers.Layer):
        """P, the pooled features and LayerCAM at ``layer`` (relu of the positive
        gradient times the activation, summed over channels)."""

        def call(self, x: Any) -> Any:
            with tf.GradientTape() as tape:
                act, top = both(x, training=False)
                tape.watch(act)
                feats = tf.reduce_mean(top, axis=[1, 2])
                logit = tf.matmul(feats, kernel) + bias
                total = tf.reduce_sum(logit)
            grads = tape.gradient(total, act)
            cam = tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * act, axis=-1))
            # P as (N,): the runtime tells the outputs apart by rank.
            return tf.sigmoid(logit)[:, 0], feats, cam

    x = keras.Input((size, size, 1), batch_size=1, name="xray")
    main = keras.Model(x, WithEvidence(name="with_evidence")(x), name="covidcxr_main")
    plain = _backbone(net)
    xv = keras.Input((size, size, 1), name="xray")
    feats = keras.ops.mean(plain(xv), axis=(1, 2))
    prob = keras.ops.sigmoid(keras.ops.matmul(feats, kernel) + bias)[:, 0]
    return main, keras.Model(xv, prob, name="covidcxr_views")


def layercam(net: Any, x: np.ndarray) -> np.ndarray:
    """The reference the converted map is checked against: LayerCAM at the evidence layer
    with TensorFlow's own gradient of ``net``'s logit, each map scaled to a maximum of 1
    (what core.answers.evidence.heat_maps computes on Keras)."""
    import keras
    import tensorflow as tf

    from core.model.networks import evidence_layer
    from core.model.runtime import unit_max

    last = net.layers[-1]
    model = keras.Model(net.input, [net.get_layer(evidence_layer(net)).output, last.input])
    with tf.GradientTape() as tape:
        act, head = model(tf.convert_to_tensor(x), training=False)
        total = tf.reduce_sum(tf.matmul(head, last.kernel) + last.bias)
    grads = tape.gradient(total, act)
    return unit_max(np.asarray(tf.nn.relu(tf.reduce_sum(tf.nn.relu(grads) * act, axis=-1))))


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
    from core.model.networks import evidence_layer
    from core.model.runtime import LiteClassifier, LiteNetwork, engine_version, unit_max

    main, views = runtime_networks(net)
    data_main, data_views = to_tflite(main), to_tflite(views)
    x = check_inputs(int(net.input_shape[1])) if inputs is None else inputs
    want = np.asarray(net(x, training=False)).reshape(-1)
    want_maps = layercam(net, x)
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
    dmap = float(np.abs(unit_max(cam) - want_maps).max())
    if not np.isfinite(dmap) or dmap > MAX_ABS_DMAP:
        raise ModelError(f"the converted evidence map differs from Keras's LayerCAM by "
                         f"{dmap:.2g} (at most {MAX_ABS_DMAP}): not written")
    info = {
        "engine": engine_version(),
        "converted_by": "core.model.convert (tf.lite.TFLiteConverter.from_keras_model)",
        "max_abs_dp": dp,
        "max_abs_dmap": dmap,
        "checked_on": f"{len(x)} inputs",
        "map": f"LayerCAM at {evidence_layer(net)}, {cam.shape[1]} x {cam.shape[2]} cells, "
               "its gradient in the same invocation",
        "map_grid": int(cam.shape[1]),
    }
    return data_main, data_views, info

