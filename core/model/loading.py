"""A model in memory: a checked set of files (:mod:`core.model.disk`) loaded as a network
with its card, OOD statistics, site reference and anatomy check; the device it runs on."""

from __future__ import annotations

import os
import platform
import weakref
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError  # noqa: E402
from core.model.card import ModelCard  # noqa: E402
from core.model.disk import (  # noqa: E402
    current_weights,
    frontal_file,
    is_profile,
    open_set,
    read_card,
    read_profile,
    runtime_files,
    site_file,
    weights_digest,
)
from core.model.frontal import FrontalModel
from core.model.ood import OODModel  # noqa: E402
from core.model.preprocess import to_network
from core.model.runtime import LiteClassifier, LiteNetwork, unit_max
from core.model.site import SiteReference  # noqa: E402


def device_name(model: LoadedModel | None = None) -> str:
    """Where inference runs: the lean runtime on the CPU for a converted model (TensorFlow
    is not imported for it), else TensorFlow's device: the GPU's name, else the CPU."""
    cpu = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if model is not None and model.runtime is not None:
        return f"CPU ({cpu}; {model.card.runtime.get('engine', 'LiteRT')})"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU ({cpu})"


_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def two_headed(net: Any) -> Callable[[Any], tuple[Any, Any]]:
    """The network as one graph with two outputs, raw P(COVID) and the penultimate features,
    for float32 (N, S, S, 1) batches: built once per network, whoever asks."""
    import keras
    import tensorflow as tf

    from core.model.networks import FEATURES

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


def predict_u8(net: Any, images: np.ndarray, batch_size: int = 64
               ) -> tuple[np.ndarray, np.ndarray]:
    """Raw P(COVID) and penultimate features for a uint8 cache (no calibration)."""
    import tensorflow as tf

    from core.model.networks import FEATURES

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
    """A verified network with its card and OOD statistics, ready for batched inference:
    on the lean runtime where the set has a converted network (``runtime``), else Keras.
    The Keras network of a converted model is read only when something asks for it
    (training, the negative class's heat map), importing TensorFlow then."""

    _keras: Any
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
    #: The converted network (core.model.runtime); None: Keras answers.
    runtime: LiteClassifier | None = None
    #: Reads the Keras network of a converted model on first use.
    keras_loader: Callable[[], Any] | None = field(default=None, repr=False)

    @property
    def keras_model(self) -> Any:
        if self._keras is None:
            if self.keras_loader is None:
                raise ModelError("this model has no Keras network")
            self._keras = self.keras_loader()
        return self._keras

    @property
    def input_size(self) -> int:
        if self._keras is None:
            return int(self.card.input_size)
        return int(self._keras.input_shape[1])

    @property
    def threshold(self) -> float:
        return float(self.card.threshold)

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """float32 (N, S, S, 1) -> (P(COVID) (N,), penultimate features (N, F))."""
        probs, feats, _ = self.forward_with_map(batch, want_map=False)
        return probs, feats

    def forward_with_map(self, batch: np.ndarray, want_map: bool = True
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Calibrated P(COVID) (N,), features (N, F) and, when ``want_map``, the heat maps
        (N, g, g) each scaled to a maximum of 1: on the lean runtime LayerCAM from the same
        invocation (core.model.convert; on Keras, LayerCAM needs a gradient pass: that
        map's own gradient pass is core.answers.evidence's, so here: None)."""
        if self.runtime is not None:
            raw, feats, cam = self.runtime.forward(batch)
            maps = unit_max(np.maximum(cam, 0.0)) if (want_map and cam is not None) else None
        else:
            import tensorflow as tf

            prob, f = two_headed(self.keras_model)(tf.convert_to_tensor(batch, tf.float32))
            raw, feats, maps = prob.numpy().reshape(-1), f.numpy(), None
        return self.card.calibrate(raw).astype(np.float32), feats, maps

    def view_probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Calibrated P(COVID) of test-time views: the runtime's views network (no map)."""
        if self.runtime is not None:
            raw = self.runtime.probabilities(batch)
            return self.card.calibrate(raw).astype(np.float32)
        return self.forward(batch)[0]

    @property
    def display_name(self) -> str:
        return self.card.name or (self.path.stem if self.path else "model")


def bundled_anatomy(lean: bool = True) -> Callable[[np.ndarray], Any]:
    """The "is this a frontal chest film?" check that ships with the app (the lung-field
    segmenter of :mod:`core.model.lungs`, on the lean runtime unless ``lean`` is False); a
    missing or modified segmenter is a ModelError."""
    from core.model.lungs import LungSegmenter, anatomy_check_with_lungs

    return anatomy_check_with_lungs(None if lean else LungSegmenter.load(lean=False))


#: Set to "keras" to answer with the Keras network, "lite" to use the lean runtime even
#: where a GPU is present.
RUNTIME_ENV = "COVIDCXR_RUNTIME"


def gpu_present() -> bool:
    """An NVIDIA GPU and TensorFlow's CUDA libraries (the ``gpu`` extra) are both here:
    TensorFlow would run on that GPU. Checked without importing TensorFlow."""
    import glob
    import importlib.util

    if not glob.glob("/dev/nvidia[0-9]*"):
        return False
    try:
        return importlib.util.find_spec("nvidia.cudnn") is not None
    except (ImportError, ValueError):
        return False


def lean_by_default() -> bool:
    """The lean runtime answers (CPU, no TensorFlow) unless TensorFlow would have a GPU, or
    :data:`RUNTIME_ENV` says otherwise."""
    choice = os.environ.get(RUNTIME_ENV, "").strip().lower()
    if choice in ("keras", "tensorflow"):
        return False
    if choice in ("lite", "litert"):
        return True
    return not gpu_present()


def needs_tensorflow(path: str | Path) -> bool:
    """Whether :func:`load_model` will import TensorFlow for ``path``: a model (or profile)
    whose card names no converted network, or where Keras answers (:func:`lean_by_default`).
    Reads the card only; what is wrong with the files, the load itself reports."""
    if not lean_by_default():
        return True
    try:
        card = read_profile(path) if is_profile(path) else read_card(current_weights(path))
    except (ModelError, OSError):
        return True
    return not card.runtime.get("file")


def load_model(path: str | Path, lean: bool | None = None) -> LoadedModel:
    """Load a ``.keras`` file (or a site profile: the weights it names, with its own card)
    after checking it against its card: its converted network where the set has one
    (TensorFlow is not imported), else the Keras file with ``safe_mode=True``.

    While a save replaces the model, its complete new set is read (:mod:`core.model.disk`);
    if that save finishes under us, the finished live files are read instead.

    ``lean=False``: the Keras network answers even where the set has a converted one (on
    TensorFlow's GPU where it has one; the path before the lean runtime, for benchmarks and
    comparisons); None: :func:`lean_by_default`.
    """
    path = Path(path)
    lean = lean_by_default() if lean is None else lean
    files = current_weights(path)  # a profile is never replaced in a set: itself
    try:
        return _load_set(path, *open_set(files), lean=lean)
    except (ModelError, OSError):
        if files == path or current_weights(path) != path:
            raise
        return _load_set(path, *open_set(path), lean=lean)


def _load_set(path: Path, files: Path, card: ModelCard, lean: bool = True) -> LoadedModel:
    """Load the checked weights ``files`` with ``card``; ``path`` is what the user named.
    A set with a converted network is answered by it, without TensorFlow."""
    _ = card.spec  # consistency check
    converted = runtime_files(files, card) if lean else None
    net = runtime = None
    if converted is not None:
        runtime = LiteClassifier(LiteNetwork(converted[0]), LiteNetwork(converted[1]))
        if runtime.input_size != card.input_size:
            raise ModelError(f"converted network input {runtime.input_size} does not match "
                             f"card input size {card.input_size}")
    else:
        net = read_keras(path, files, card)
    ood = OODModel.load(files.with_name(card.ood["file"])) if card.ood.get("file") else None
    ref = site_file(files, card, path)
    site = SiteReference.load(ref) if ref is not None else None
    frontal, note = load_frontal(files, card, net)
    return LoadedModel(net, card, ood, path, bundled_anatomy(lean), site, frontal, note, runtime,
                       lambda: read_keras(path, files, card))


def read_keras(path: Path, files: Path, card: ModelCard) -> Any:
    """The Keras network of a checked set (TensorFlow is imported here)."""
    import keras

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
    return net


#: Where a model has no frontal-film classifier, the words that say so (CLI, window).
NO_FRONTAL = ("the lung anatomy check alone decides what is a frontal chest film (this model "
              "has no frontal-film classifier: scripts/fit_frontal.py MODEL fits one)")
STALE_FRONTAL = ("the lung anatomy check alone decides what is a frontal chest film (the "
                 "frontal-film classifier beside this model was fitted for other weights: "
                 "refit it with scripts/fit_frontal.py MODEL)")


def network_digest(net: Any) -> str:
    """The digest of a network's weights (core.model.disk.weights_digest) that a frontal-film
    classifier names: the weights whose features it was fitted on."""
    return weights_digest([np.asarray(v.numpy()) for v in net.weights])


def load_frontal(files: Path, card: ModelCard, net: Any | None
                 ) -> tuple[FrontalModel | None, str]:
    """The model's frontal-film classifier (core.model.frontal) and "", or None and why not:
    the card names none, or it was fitted on other weights' features (a re-trained model
    saved over the old name). A file that does not match its card's sha256 is refused.
    ``net`` None: a converted model, whose card records the digest of the weights it was
    converted from."""
    path = frontal_file(files, card)
    if path is None:
        return None, NO_FRONTAL
    digest = card.runtime.get("weights_digest") if net is None else network_digest(net)
    if card.frontal_check.get("weights_digest") != digest:
        return None, STALE_FRONTAL
    return FrontalModel.load(path), ""
