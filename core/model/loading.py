"""A model in memory: a checked set of files (:mod:`core.model.disk`) loaded as a network
with its card, OOD statistics, site reference and anatomy check; the device it runs on."""

from __future__ import annotations

import os
import platform
import weakref
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.errors import ModelError  # noqa: E402
from core.model.card import ModelCard  # noqa: E402
from core.model.disk import (  # noqa: E402
    current_weights,
    frontal_file,
    open_set,
    site_file,
    weights_digest,
)
from core.model.frontal import FrontalModel
from core.model.networks import FEATURES
from core.model.ood import OODModel  # noqa: E402
from core.model.preprocess import to_network
from core.model.site import SiteReference  # noqa: E402


def device_name() -> str:
    """The TensorFlow device inference runs on: the GPU's name, else the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def two_headed(net: keras.Model) -> Callable[[Any], tuple[Any, Any]]:
    """The network as one graph with two outputs, raw P(COVID) and the penultimate features,
    for float32 (N, S, S, 1) batches: built once per network, whoever asks."""
    forward = _FORWARDS.get(net)
    if forward is None:
        two = keras.Model(net.input, [net.output, net.get_layer(FEATURES).output])
        size = int(net.input_shape[1])
        spec = tf.TensorSpec([None, size, size, 1], tf.float32)
        forward = _FORWARDS[net] = tf.function(
            lambda x: two(x, training=False),
            input_signature=[spec],
            autograph=False,  # plain graph code; frozen builds have no source to convert
        )
    return forward


def predict_u8(net: keras.Model, images: np.ndarray, batch_size: int = 64
               ) -> tuple[np.ndarray, np.ndarray]:
    """Raw P(COVID) and penultimate features for a uint8 cache (no calibration)."""
    forward = two_headed(net)
    probs, feats = [], []
    for i in range(0, len(images), batch_size):
        p, f = forward(tf.convert_to_tensor(to_network(images[i : i + batch_size])))
        probs.append(p.numpy().reshape(-1))
        feats.append(f.numpy())
    if not probs:
        width = int(net.get_layer(FEATURES).output.shape[-1])
        return np.zeros(0, np.float32), np.zeros((0, width), np.float32)
    return np.concatenate(probs), np.concatenate(feats)


@dataclass
class LoadedModel:
    """A verified network with its card and OOD statistics, ready for batched inference."""

    keras_model: keras.Model
    card: ModelCard
    ood: OODModel | None
    path: Path | None = None
    #: The "frontal chest film?" check run on every radiograph before it is assessed.
    #: Returns the reason a film is not a frontal chest film (None if it is), or an
    #: AnatomyVerdict holding that reason and the lung mask (core.model.lungs).
    anatomy: Callable[[np.ndarray], Any] | None = None
    #: What the site check compares a folder with (core.model.site); None: no check.
    site: SiteReference | None = None
    #: The frontal-film classifier on the pooled features (core.model.frontal); None: the
    #: anatomy check alone decides, and ``frontal_note`` says why.
    frontal: FrontalModel | None = None
    frontal_note: str = ""

    @property
    def input_size(self) -> int:
        return int(self.keras_model.input_shape[1])

    @property
    def threshold(self) -> float:
        return float(self.card.threshold)

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 (N, S, S, 1) -> (P(COVID) (N,), penultimate features (N, 64))."""
        prob, feats = two_headed(self.keras_model)(tf.convert_to_tensor(batch, tf.float32))
        probs = self.card.calibrate(prob.numpy().reshape(-1)).astype(np.float32)
        return probs, feats.numpy()

    @property
    def display_name(self) -> str:
        return self.card.name or (self.path.stem if self.path else "model")


def bundled_anatomy() -> Callable[[np.ndarray], Any]:
    """The "is this a frontal chest film?" check that ships with the app (the lung-field
    segmenter of :mod:`core.model.lungs`); a missing or modified segmenter is a ModelError."""
    from core.model.lungs import anatomy_check_with_lungs

    return anatomy_check_with_lungs()


def load_model(path: str | Path) -> LoadedModel:
    """Load a ``.keras`` file (or a site profile: the weights it names, with its own card)
    with ``safe_mode=True`` after checking it against its card.

    While a save replaces the model, its complete new set is read (:mod:`core.model.disk`);
    if that save finishes under us, the finished live files are read instead.
    """
    path = Path(path)
    files = current_weights(path)  # a profile is never replaced in a set: itself
    try:
        return _load_set(path, *open_set(files))
    except (ModelError, OSError):
        if files == path or current_weights(path) != path:
            raise
        return _load_set(path, *open_set(path))


def _load_set(path: Path, files: Path, card: ModelCard) -> LoadedModel:
    """Load the checked weights ``files`` with ``card``; ``path`` is what the user named."""
    damaged = (
        f"model file {files.name} is damaged or truncated (not a complete .keras archive): "
        "copy it again, or restore it from where it came"
    )
    # Keras says "File not found" for any file that is not a whole zip archive, though it
    # is there: a cut copy whose card was rewritten to match, say.
    if not zipfile.is_zipfile(files):
        raise ModelError(damaged)
    try:
        net = keras.saving.load_model(files, compile=False, safe_mode=True)
    except (zipfile.BadZipFile, EOFError):  # a damaged member (bad CRC, cut data)
        raise ModelError(damaged) from None
    except Exception as exc:  # Keras raises many types for a bad archive
        raise ModelError(f"cannot load model {path.name}: {exc}") from None
    if int(net.input_shape[1]) != card.input_size:
        raise ModelError(
            f"model input {net.input_shape[1]} does not match card input size {card.input_size}"
        )
    _ = card.spec  # consistency check
    ood = OODModel.load(files.with_name(card.ood["file"])) if card.ood.get("file") else None
    ref = site_file(files, card, path)
    site = SiteReference.load(ref) if ref is not None else None
    frontal, note = load_frontal(files, card, net)
    return LoadedModel(net, card, ood, path, bundled_anatomy(), site, frontal, note)


#: Where a model has no frontal-film classifier, the words that say so (CLI, window).
NO_FRONTAL = ("the lung anatomy check alone decides what is a frontal chest film (this model "
              "has no frontal-film classifier: scripts/fit_frontal.py MODEL fits one)")
STALE_FRONTAL = ("the lung anatomy check alone decides what is a frontal chest film (the "
                 "frontal-film classifier beside this model was fitted for other weights: "
                 "refit it with scripts/fit_frontal.py MODEL)")


def network_digest(net: keras.Model) -> str:
    """The digest of a network's weights (core.model.disk.weights_digest) that a frontal-film
    classifier names: the weights whose features it was fitted on."""
    return weights_digest([np.asarray(v.numpy()) for v in net.weights])


def load_frontal(files: Path, card: ModelCard, net: keras.Model
                 ) -> tuple[FrontalModel | None, str]:
    """The model's frontal-film classifier (core.model.frontal) and "", or None and why not:
    the card names none, or it was fitted on other weights' features (a re-trained model
    saved over the old name). A file that does not match its card's sha256 is refused."""
    path = frontal_file(files, card)
    if path is None:
        return None, NO_FRONTAL
    if card.frontal_check.get("weights_digest") != network_digest(net):
        return None, STALE_FRONTAL
    return FrontalModel.load(path), ""
