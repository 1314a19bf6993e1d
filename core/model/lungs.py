"""Lung fields: the segmenter that finds them, and the frontal-film check classification runs.

A compact U-Net (``models/lungs.keras``, trained by ``scripts/train_lungs.py`` on adult
frontal films with V7 Labs lung masks) gives a lung probability per pixel at 128 x 128;
:mod:`core.model.anatomy` turns a mask into lung fields, image facts and the verdict
"frontal chest film or not" (its names are importable from here too, where they have
always been found).

Classification runs the check in two halves (:class:`LungCheck`): each decode thread
brings its film to the segmenter's size, and the inference thread segments a whole batch
in one pass and measures it. One pass for sixteen films costs about a third of sixteen
passes of one.

TensorFlow is imported inside :meth:`LungSegmenter.load` only, and only where the segmenter
has no converted file: importing this module (for the thresholds) costs numpy and Pillow.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError

# The measures (core.model.anatomy), importable from here too, where scripts and tests have
# always found them.
from core.model.anatomy import (  # noqa: F401  (FULL_IMAGE, grow, label_components re-exported)
    FULL_IMAGE,
    FrontalCheck,
    ImageFacts,
    LungFields,
    facts_of_small,
    frontal_check,
    grow,
    label_components,
    measure,
)
from core.model.disk import sha256_file
from core.model.preprocess import PreprocessSpec, finish_u8, prepare, resize_gray, to_network
from core.model.runtime import LiteNetwork
from core.resources import models_dir

#: The segmenter's input: the whole image (no crop: the lungs reach the borders of a tight
#: film), 128 x 128, globally histogram equalised. Shared by training and inference.
LUNG_SPEC = PreprocessSpec(size=128, crop=1.0, equalize=True)
LUNG_SIZE = LUNG_SPEC.size


def prepare_lungs(pixels: np.ndarray) -> np.ndarray:
    """Radiograph (float32 [0, 1], any size) -> the segmenter's uint8 128 x 128 input."""
    return prepare(pixels, LUNG_SPEC)


def card_path_for(model_path: str | Path) -> Path:
    """``models/lungs.keras`` -> ``models/lungs.json``: the segmenter's card."""
    return Path(model_path).with_suffix(".json")


def default_segmenter_path() -> Path:
    """The bundled segmenter (from source or from a frozen build, like the classifier)."""
    return models_dir() / "lungs.keras"


# --- The network ----------------------------------------------------------------------


class LungSegmenter:
    """The bundled U-Net: on the lean runtime (``lungs.tflite``, named with its sha256 in
    the card's ``runtime``) where it has been converted, else behind a fixed-signature
    ``tf.function``: one batched forward pass per call, no retracing whatever the batch."""

    def __init__(self, net: Any, path: Path | None = None, card: dict | None = None) -> None:
        self.net = net
        self.path = path
        self.card = card or {}
        if isinstance(net, LiteNetwork):
            self._forward: Callable[[np.ndarray], np.ndarray] = lambda x: net.run(x)[4]
            return
        import tensorflow as tf

        spec = tf.TensorSpec([None, LUNG_SIZE, LUNG_SIZE, 1], tf.float32)
        self._forward = tf.function(lambda x: net(x, training=False), input_signature=[spec])

    @classmethod
    def load(cls, path: str | Path | None = None, lean: bool = True) -> LungSegmenter:
        """Load ``path`` (default: the bundled ``models/lungs.keras``): its converted file
        where its card names one and ``lean`` (TensorFlow is not imported), else the Keras
        file with ``safe_mode=True``; refuse a file whose sha256 differs from its card,
        when the card is there."""
        path = Path(path) if path is not None else default_segmenter_path()
        if not path.is_file():
            raise ModelError(f"lung segmenter {path.name} not found in {path.parent}")
        card: dict = {}
        cp = card_path_for(path)
        if cp.is_file():
            card = json.loads(cp.read_text(encoding="utf-8"))
        lite = card.get("runtime", {}).get("file") if lean else None
        target = path.with_name(lite) if lite else path
        want = card.get("runtime", {}).get("sha256") if lite else card.get("sha256")
        if not target.is_file() or (want and sha256_file(target) != want):
            raise ModelError(
                f"lung segmenter {target.name} is missing or does not match its card "
                f"{cp.name}: refusing to load a modified model"
            )
        if lite:
            net = LiteNetwork(target)
            if net.input_shape != (LUNG_SIZE, LUNG_SIZE, 1):
                raise ModelError(f"lung segmenter input {net.input_shape} is not 128 x 128 x 1")
            return cls(net, target, card)
        import keras

        try:
            net = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many types for a bad archive
            raise ModelError(f"cannot load lung segmenter {path.name}: {exc}") from None
        if tuple(net.input_shape[1:]) != (LUNG_SIZE, LUNG_SIZE, 1):
            raise ModelError(f"lung segmenter input {net.input_shape} is not 128 x 128 x 1")
        return cls(net, path, card)

    def masks(self, batch: list[np.ndarray]) -> np.ndarray:
        """Lung probability masks (N, 128, 128) for float32 [0, 1] images of any size."""
        if not batch:
            return np.zeros((0, LUNG_SIZE, LUNG_SIZE), np.float32)
        return self.masks_u8(np.stack([prepare_lungs(p) for p in batch]))

    def masks_u8(self, inputs: np.ndarray) -> np.ndarray:
        """Lung probability masks (N, 128, 128) for prepared uint8 inputs (N, 128, 128)."""
        return np.asarray(self._forward(to_network(inputs)))[..., 0]


def convert_segmenter(path: str | Path | None = None) -> dict[str, Any]:
    """Convert the lung segmenter (default: the bundled one) for the lean runtime beside
    itself, check its masks against Keras's, and name the file with its sha256 in the
    segmenter's card (``runtime``). TensorFlow is imported."""
    import tempfile

    from core.files.atomic import write_bytes_atomic, write_text_atomic
    from core.model.convert import MAX_ABS_DP, check_inputs, to_tflite
    from core.model.runtime import engine_version

    seg = LungSegmenter.load(path, lean=False)
    assert seg.path is not None
    data = to_tflite(seg.net)
    x = check_inputs(LUNG_SIZE)
    want = np.asarray(seg.net(x, training=False))[..., 0]
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp, "lungs.tflite")
        p.write_bytes(data)
        got = LiteNetwork(p, 1).run(x)[4][..., 0]
    diff = float(np.abs(got - want).max())
    if not np.isfinite(diff) or diff > MAX_ABS_DP:
        raise ModelError(f"the converted segmenter differs from Keras's by {diff:.2g}")
    target = seg.path.with_suffix(".tflite")
    digest = write_bytes_atomic(target, data)
    cp = card_path_for(seg.path)
    card = json.loads(cp.read_text(encoding="utf-8")) if cp.is_file() else {}
    card["runtime"] = {"file": target.name, "sha256": digest, "engine": engine_version(),
                       "converted_by": "core.model.lungs.convert_segmenter", "max_abs_diff": diff}
    write_text_atomic(cp, json.dumps(card, indent=2) + "\n")
    return dict(card["runtime"])


@functools.cache
def default_segmenter() -> LungSegmenter:
    """The bundled segmenter, loaded once per process."""
    return LungSegmenter.load()



def image_facts(pixels: np.ndarray, prob: np.ndarray | None = None) -> ImageFacts:
    """Measure the flat background around the body and, given the lung probability mask
    (128 x 128), the contrast of the lung fields with their rim and with the mediastinum."""
    return facts_of_small(small_image(pixels), prob)


def small_image(pixels: np.ndarray) -> np.ndarray:
    """The image at the segmenter's size, unequalised: what both the segmenter's input and
    the image facts are made from, so a large film is resized once."""
    return resize_gray(np.asarray(pixels, np.float32), LUNG_SIZE)


def assess_frontal(
    images: list[np.ndarray], segmenter: LungSegmenter | None = None
) -> list[FrontalCheck]:
    """:class:`FrontalCheck` of each float32 [0, 1] image, with one batched forward pass."""
    seg = segmenter or default_segmenter()
    if not images:
        return []
    smalls = [small_image(p) for p in images]
    masks = seg.masks_u8(np.stack([finish_u8(s, LUNG_SPEC.equalize) for s in smalls]))
    return [measure(s, m) for s, m in zip(smalls, masks, strict=True)]


def is_frontal_chest(
    image: np.ndarray | LungFields, segmenter: LungSegmenter | None = None
) -> tuple[bool, str]:
    """(True, "") when the image looks like a frontal chest film, else (False, why).

    Given pixels (float32 [0, 1]) it uses the lung anatomy and the :class:`ImageFacts`;
    given :class:`LungFields` alone, the anatomy only.
    """
    if isinstance(image, LungFields):
        check = frontal_check(image)
    else:
        check = assess_frontal([image], segmenter)[0]
    return check.frontal, check.reason


def anatomy_check(segmenter: LungSegmenter | None = None) -> Callable[[np.ndarray], str | None]:
    """The check as a function of one film's pixels: ``None`` for a frontal chest film,
    else the reason it is not one. Thread-safe (the segmenter's forward pass is a
    ``tf.function``)."""
    seg = segmenter or default_segmenter()

    def check(pixels: np.ndarray) -> str | None:
        verdict = assess_frontal([pixels], seg)[0]
        return None if verdict.frontal else verdict.reason

    return check


@dataclass(frozen=True)
class AnatomyVerdict:
    """The frontal-film check's answer with the lung fields it found, so the same mask
    serves the "evidence inside the lungs" measure (core.answers.evidence) at no extra pass."""

    reason: str | None
    #: Lung probability over the whole film, uint8 (128, 128), 255 = lung.
    lungs: np.ndarray


class LungCheck:
    """The frontal-film check that classification runs on every film, in two halves:
    :meth:`small` (the film at the segmenter's size; on a decode thread, per film) and
    :meth:`judge` (one segmenter pass for a batch, then the anatomy measures; on the
    inference thread). Called with one film's pixels it does both, as a function."""

    def __init__(self, segmenter: LungSegmenter) -> None:
        self.segmenter = segmenter

    def small(self, pixels: np.ndarray) -> np.ndarray:
        return small_image(pixels)

    def judge(self, smalls: Sequence[np.ndarray]) -> list[AnatomyVerdict]:
        """The verdicts of films given by :meth:`small`, in order."""
        if not len(smalls):
            return []
        inputs = np.stack([finish_u8(s, LUNG_SPEC.equalize) for s in smalls])
        masks = self.segmenter.masks_u8(inputs)
        out = []
        for small, mask in zip(smalls, masks, strict=True):
            verdict = measure(small, mask)
            lungs = np.clip(np.rint(mask * 255), 0, 255).astype(np.uint8)
            out.append(AnatomyVerdict(None if verdict.frontal else verdict.reason, lungs))
        return out

    def __call__(self, pixels: np.ndarray) -> AnatomyVerdict:
        return self.judge([self.small(pixels)])[0]


def anatomy_check_with_lungs(segmenter: LungSegmenter | None = None) -> LungCheck:
    """:func:`anatomy_check` that also returns the lung mask it looked at, and can be run
    in batches (:class:`LungCheck`)."""
    return LungCheck(segmenter or default_segmenter())
