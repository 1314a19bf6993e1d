"""The network: builders, save/load with its card, and a fast batched forward pass.

Importing this module imports TensorFlow; callers on a start-up path import it lazily.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from core.card import ModelCard, card_path, ood_path, read_card, sha256_file, verify  # noqa: E402
from core.errors import ModelError  # noqa: E402
from core.model_files import current_weights, replace_set  # noqa: E402
from core.ood import OODModel  # noqa: E402
from core.profiles import base_weights, is_profile, read_profile  # noqa: E402

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
    OOD "unusual" detector's input. Weights start random: :func:`core.training.train`
    loads the ImageNet ones (``models/lite0_imagenet.npz``) for a new run.
    """
    from core.lite0 import lite0_features

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
    from core.lite0 import TOP_ACTIVATION

    names = {layer.name for layer in keras_model.layers}
    for name in (TOP_ACTIVATION, LAST_CONV):
        if name in names:
            return name
    raise ModelError(f"network {keras_model.name!r} has no known last convolution layer")


def build(architecture: str = "seed", input_size: int = 256) -> keras.Model:
    try:
        return ARCHITECTURES[architecture](input_size)
    except KeyError:
        raise ModelError(
            f"unknown architecture {architecture!r}; choose one of {', '.join(ARCHITECTURES)}"
        ) from None


def device_name() -> str:
    """The TensorFlow device inference runs on: the GPU's name, else the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


@dataclass
class LoadedModel:
    """A verified network with its card and OOD statistics, ready for batched inference."""

    keras_model: keras.Model
    card: ModelCard
    ood: OODModel | None
    path: Path | None = None
    #: The "frontal chest film?" check run on every radiograph before it is assessed.
    anatomy: Callable[[np.ndarray], str | None] | None = None

    def __post_init__(self) -> None:
        feats = self.keras_model.get_layer(FEATURES).output
        self._two_headed = keras.Model(self.keras_model.input, [self.keras_model.output, feats])
        size = self.card.input_size
        spec = tf.TensorSpec([None, size, size, 1], tf.float32)
        self._forward = tf.function(
            lambda x: self._two_headed(x, training=False),
            input_signature=[spec],
            autograph=False,  # plain graph code; frozen builds have no source to convert
        )

    @property
    def input_size(self) -> int:
        return int(self.keras_model.input_shape[1])

    @property
    def threshold(self) -> float:
        return float(self.card.threshold)

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 (N, S, S, 1) -> (P(COVID) (N,), penultimate features (N, 64))."""
        prob, feats = self._forward(tf.convert_to_tensor(batch, tf.float32))
        probs = self.card.calibrate(prob.numpy().reshape(-1)).astype(np.float32)
        return probs, feats.numpy()

    @property
    def display_name(self) -> str:
        return self.card.name or (self.path.stem if self.path else "model")


def bundled_anatomy() -> Callable[[np.ndarray], str | None]:
    """The "is this a frontal chest film?" check that ships with the app (the lung-field
    segmenter of :mod:`core.lungs`); a missing or modified segmenter is a ModelError."""
    from core.lungs import anatomy_check

    return anatomy_check()


def load_model(path: str | Path) -> LoadedModel:
    """Load a ``.keras`` file with ``safe_mode=True`` after checking it against its card.

    While a save replaces the model, its complete new set is read (:mod:`core.model_files`);
    if that save finishes under us, the finished live files are read instead. A site
    profile (:mod:`core.profiles`) loads the weights it names with its own card.
    """
    path = Path(path)
    if is_profile(path):
        card = read_profile(path)
        weights = base_weights(path, card)
        return _load_set(path, current_weights(weights), card)
    files = current_weights(path)
    try:
        return _load_set(path, files)
    except (ModelError, OSError):
        if files == path or current_weights(path) != path:
            raise
        return _load_set(path, path)


def _load_set(path: Path, files: Path, card: ModelCard | None = None) -> LoadedModel:
    """Load the weights ``files`` with ``card`` (default: their own card)."""
    card = card if card is not None else read_card(files)
    verify(files, card)
    try:
        net = keras.saving.load_model(files, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ModelError(f"cannot load model {path.name}: {exc}") from None
    if int(net.input_shape[1]) != card.input_size:
        raise ModelError(
            f"model input {net.input_shape[1]} does not match card input size {card.input_size}"
        )
    _ = card.spec  # consistency check
    ood = OODModel.load(files.with_name(card.ood["file"])) if card.ood.get("file") else None
    return LoadedModel(net, card, ood, path, bundled_anatomy())


def save_model(
    net: keras.Model, card: ModelCard, path: str | Path, ood: OODModel | None = None
) -> Path:
    """Write weights, OOD statistics and card as one change: a kill at any moment leaves
    the whole old model or the whole new one (:mod:`core.model_files`). The card names the
    sha256 of the other two files."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError("a model file must end in .keras")

    def fill(folder: Path) -> None:
        weights = folder / path.name
        net.save(weights)
        card.weights_file = path.name
        card.weights_sha256 = sha256_file(weights)
        card.input_size = int(net.input_shape[1])
        if ood is not None:
            op = ood_path(weights)
            ood.save(op)
            card.ood = {
                **card.ood,
                "file": op.name,
                "sha256": sha256_file(op),
                "feature_cutoff": ood.feat_cut,
                "structure_cutoff": ood.structure_cut,
                "thumbnail_cutoff": ood.thumb_cut,
            }
        if not card.created:
            card.created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        _write_card(card, weights)

    return replace_set(path, fill)


def copy_model(src: str | Path, dst: str | Path) -> Path:
    """Copy a verified model (and its card and OOD file) under a new name, as one change."""
    src, dst = Path(src), Path(dst)
    src_files = current_weights(src)
    card = read_card(src_files)
    verify(src_files, card)

    def fill(folder: Path) -> None:
        weights = folder / dst.name
        shutil.copyfile(src_files, weights)
        card.weights_file = dst.name
        if card.ood.get("file"):
            shutil.copyfile(src_files.with_name(card.ood["file"]), ood_path(weights))
            card.ood["file"] = ood_path(dst).name
        _write_card(card, weights)

    return replace_set(dst, fill)


def _write_card(card: ModelCard, weights: Path) -> None:
    card_path(weights).write_text(card.to_json(), encoding="utf-8", newline="")
