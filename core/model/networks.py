"""The network: builders, save/load with its card, and a fast batched forward pass.

Importing this module imports TensorFlow; callers on a start-up path import it lazily.
"""

from __future__ import annotations

import os

import keras  # noqa: E402
from keras import layers  # noqa: E402

from core.errors import ModelError  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


#: Name of the last convolution (Grad-CAM target) and of the penultimate features (OOD).
LAST_CONV = "conv4"


FEATURES = "features"


def build_seed(input_size: int = 256) -> keras.Model:
    """The published student network, layer for layer (see DEVELOPERS brief / seed report).

    Four blocks of Conv2D(64, 3x3, relu) + Dropout(0.25) + MaxPool(2), Flatten, Dense(64,
    relu), Dropout(0.35), Dense(1, sigmoid). 'valid' padding, as in the original.
    """
    inputs = keras.Input((input_size, input_size, 1), name="xray")
    x = inputs
    for i in range(1, 5):
        x = layers.Conv2D(64, (3, 3), activation="relu", name=f"conv{i}")(x)
        x = layers.Dropout(0.25, name=f"drop{i}")(x)
        x = layers.MaxPooling2D((2, 2), name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name=FEATURES)(x)
    x = layers.Dropout(0.35, name="drop_dense")(x)
    # float32 even under a mixed-precision policy: a float16 sigmoid saturates early.
    out = layers.Dense(1, activation="sigmoid", dtype="float32", name="prob")(x)
    return keras.Model(inputs, out, name="seed")


def build_seed_gap(input_size: int = 256) -> keras.Model:
    """Named alternative to the seed: four conv/pool blocks with batch norm (dropout moved
    after the last block), 'same' padding, 32-32-64-64 filters, and global average pooling
    in place of Flatten (12,544 -> 64 inputs to the dense layer).

    Why: on a 2-core CPU the seed network did not leave chance level in two epochs under
    strong augmentation (val AUC 0.51, 0.55; ~170-270 s an epoch). Batch norm lets it learn,
    a strided first convolution and thinner early blocks cut the training cost
    ~3x (16 vs 47 ms an image here), and pooling the evidence over the lung
    field (instead of a dense layer per position) leaves less room to memorise where
    markers and borders sit.
    """
    inputs = keras.Input((input_size, input_size, 1), name="xray")
    x = inputs
    for i, filters in enumerate((32, 32, 64, 64), start=1):
        # The first convolution strides by 2: full-resolution feature maps cost more in
        # memory traffic (batch norm, ReLU, dropout) than in arithmetic on a CPU.
        x = layers.Conv2D(
            filters,
            (3, 3),
            strides=2 if i == 1 else 1,
            padding="same",
            use_bias=False,
            name=f"conv{i}_raw",
        )(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), name=f"pool{i}")(x)
    # No dropout inside the conv blocks: dropout feeding batch norm makes the statistics
    # learned in training differ from inference's ("variance shift"); with it, validation
    # predictions flipped between all-positive and all-negative from epoch to epoch.
    x = layers.SpatialDropout2D(0.1, name="drop_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(64, activation="relu", name=FEATURES)(x)
    x = layers.Dropout(0.35, name="drop_dense")(x)
    # float32 even under a mixed-precision policy: a float16 sigmoid saturates early.
    out = layers.Dense(1, activation="sigmoid", dtype="float32", name="prob")(x)
    return keras.Model(inputs, out, name="seed_gap")


def build_lite0(input_size: int = 224) -> keras.Model:
    """EfficientNet-Lite0 (ImageNet backbone, :mod:`core.lite0`) with a one-unit head.

    The input stays the product's contract, one grey channel in [0, 1]; the model itself
    maps it to what the ImageNet weights expect, ``(x * 255 - 127) / 128`` replicated to
    three channels, with built-in layers only, so ``safe_mode`` loading keeps working and
    no caller needs to know the backbone's convention. The pooled 1280 features are the
    OOD "unusual" detector's input. Weights start random: :func:`core.training.fit.train`
    loads the ImageNet ones (``models/lite0_imagenet.npz``) for a new run.
    """
    from core.model.lite0 import lite0_features

    inputs = keras.Input((input_size, input_size, 1), name="xray")
    x = layers.Rescaling(255.0 / 128.0, offset=-127.0 / 128.0, name="imagenet_scale")(inputs)
    x = layers.Concatenate(name="gray_to_rgb")([x, x, x])
    x = lite0_features(x)
    x = layers.GlobalAveragePooling2D(name=FEATURES)(x)
    x = layers.Dropout(0.2, name="drop_head")(x)
    # float32 even under a mixed-precision policy: a float16 sigmoid saturates early.
    out = layers.Dense(1, activation="sigmoid", dtype="float32", name="prob")(x)
    return keras.Model(inputs, out, name="lite0")


ARCHITECTURES = {"seed": build_seed, "seed_gap": build_seed_gap, "lite0": build_lite0}


def last_conv_layer(keras_model: keras.Model) -> str:
    """The Grad-CAM target: the last convolutional activation of this network."""
    from core.model.lite0 import TOP_ACTIVATION

    names = {layer.name for layer in keras_model.layers}
    for name in (TOP_ACTIVATION, LAST_CONV):
        if name in names:
            return name
    raise ModelError(f"network {keras_model.name!r} has no known last convolution layer")


#: The lung-evidence map (core.answers.evidence) is at least this many cells across the
#: network's input, on the deepest of these layers that has as many.
MIN_GRID = 16
CANDIDATES = ("block5c_add", "block4c_add", "block3b_add", "conv2", "conv1")


def evidence_layer(keras_model: keras.Model) -> str | None:
    """The deepest candidate layer with a grid of at least MIN_GRID, else the largest."""
    found: list[tuple[int, str]] = []
    names = {layer.name for layer in keras_model.layers}
    for name in CANDIDATES:
        if name in names:
            shape = keras_model.get_layer(name).output.shape
            if shape[1] is not None and shape[1] >= MIN_GRID:
                return name
            found.append((int(shape[1] or 0), name))
    return max(found)[1] if found else None


def build(architecture: str = "seed", input_size: int = 256) -> keras.Model:
    try:
        return ARCHITECTURES[architecture](input_size)
    except KeyError:
        raise ModelError(
            f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
        ) from None

