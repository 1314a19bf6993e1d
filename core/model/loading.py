"""A model on disk and in memory: load (with its card, OOD file and anatomy check), save, copy, the device."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from core.errors import ModelError  # noqa: E402
from core.model.card import ModelCard, card_path, ood_path, read_card, sha256_file, verify  # noqa: E402
from core.model.networks import FEATURES
from core.model.ood import OODModel  # noqa: E402
from core.model.profiles import base_weights, is_profile, read_profile  # noqa: E402
from core.model.site import SiteReference  # noqa: E402
from core.model.store import current_weights, replace_set  # noqa: E402


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
    #: Returns the reason a film is not a frontal chest film (None if it is), or an
    #: AnatomyVerdict holding that reason and the lung mask (core.model.lungs).
    anatomy: Callable[[np.ndarray], Any] | None = None
    #: What the site check compares a folder with (core.model.site); None: no check.
    site: SiteReference | None = None

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


def bundled_anatomy() -> Callable[[np.ndarray], Any]:
    """The "is this a frontal chest film?" check that ships with the app (the lung-field
    segmenter of :mod:`core.model.lungs`); a missing or modified segmenter is a ModelError."""
    from core.model.lungs import anatomy_check_with_lungs

    return anatomy_check_with_lungs()


def load_model(path: str | Path) -> LoadedModel:
    """Load a ``.keras`` file with ``safe_mode=True`` after checking it against its card.

    While a save replaces the model, its complete new set is read (:mod:`core.model.store`);
    if that save finishes under us, the finished live files are read instead. A site
    profile (:mod:`core.model.profiles`) loads the weights it names with its own card.
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
    return LoadedModel(net, card, ood, path, bundled_anatomy(),
                       site_reference(files, card, path))


def site_reference(files: Path, card: ModelCard, path: Path | None = None
                   ) -> SiteReference | None:
    """The site check's reference named by the card (``site_check.file`` beside the
    weights, or beside the profile ``path`` for a profile's own), refused when its sha256
    differs; None when the card names none (a model finalised before the check existed)."""
    info = card.site_check
    if not info.get("file"):
        return None
    folder = path.parent if info.get("beside") == "profile" and path is not None else files.parent
    ref = folder / info["file"]
    if not ref.is_file() or sha256_file(ref) != info.get("sha256"):
        raise ModelError(f"site check reference {info['file']} is missing or does not match "
                         "the card")
    return SiteReference.load(ref)


def save_model(
    net: keras.Model, card: ModelCard, path: str | Path, ood: OODModel | None = None,
    site: SiteReference | None = None,
) -> Path:
    """Write weights, OOD statistics, the site check's reference and card as one change: a
    kill at any moment leaves the whole old model or the whole new one
    (:mod:`core.model.store`). The card names the sha256 of the other files."""
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
        if site is not None:
            sp = site_path(weights)
            card.site_check = {**card.site_check, "file": sp.name, "sha256": site.save(sp),
                               "films": int(len(site.points)), "source": site.source}
        if not card.created:
            card.created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        _write_card(card, weights)

    return replace_set(path, fill)


def site_path(weights: str | Path) -> Path:
    """``NAME.keras`` -> ``NAME.site.npz``: the site check's reference."""
    p = Path(weights)
    return p.with_name(p.stem + ".site.npz")


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
        if card.site_check.get("file"):
            shutil.copyfile(src_files.with_name(card.site_check["file"]), site_path(weights))
            card.site_check["file"] = site_path(dst).name
        _write_card(card, weights)

    return replace_set(dst, fill)


def _write_card(card: ModelCard, weights: Path) -> None:
    card_path(weights).write_text(card.to_json(), encoding="utf-8", newline="")

