"""The one preprocessing path shared by training and inference.

A radiograph (float32, [0, 1]) becomes the network's input: the central ``crop`` fraction
of each axis is kept (borders carry burned-in text, markers and collimation that identify
the hospital, not the disease), resized to the model's input size, optionally histogram
equalised (removes the exposure/contrast signature of each scanner), stored as uint8.
The numbers live in :class:`PreprocessSpec`, which travels in the model card.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

THUMB_SIZE = 32


@dataclass(frozen=True)
class PreprocessSpec:
    size: int = 256
    crop: float = 1.0
    equalize: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PreprocessSpec:
        return cls(
            size=int(data.get("size", 256)),
            crop=float(data.get("crop", 1.0)),
            equalize=bool(data.get("equalize", False)),
        )


def crop_box(height: int, width: int, crop: float) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the central ``crop`` fraction of each axis."""
    crop = min(max(crop, 0.05), 1.0)
    ch, cw = max(1, round(height * crop)), max(1, round(width * crop))
    top, left = (height - ch) // 2, (width - cw) // 2
    return top, left, top + ch, left + cw


def resize_gray(pixels: np.ndarray, size: int) -> np.ndarray:
    """Anti-aliased resize of a float32 grayscale image to size x size."""
    img = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def equalize_u8(image: np.ndarray) -> np.ndarray:
    """Global histogram equalisation of a uint8 image (numpy only)."""
    hist = np.bincount(image.ravel(), minlength=256)
    cdf = hist.cumsum()
    nonzero = cdf[cdf > 0]
    if nonzero.size == 0 or cdf[-1] == nonzero[0]:
        return image
    lut = np.round((cdf - nonzero[0]) / (cdf[-1] - nonzero[0]) * 255.0)
    return np.clip(lut, 0, 255).astype(np.uint8)[image]


def prepare(pixels: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """Radiograph -> uint8 (size, size) network input (before scaling to [0, 1])."""
    top, left, bottom, right = crop_box(pixels.shape[0], pixels.shape[1], spec.crop)
    return finish_u8(resize_gray(pixels[top:bottom, left:right], spec.size), spec.equalize)


def finish_u8(small: np.ndarray, equalize: bool) -> np.ndarray:
    """The last step of :func:`prepare`: a resized float32 [0, 1] image to uint8,
    optionally equalised (for callers that already hold the resized image)."""
    out = np.clip(np.rint(small * 255.0), 0, 255).astype(np.uint8)
    return equalize_u8(out) if equalize else out


#: The network sees the uint8 cache divided by this: [0, 255] -> [0, 1]. The one home of
#: that scale (tf.data in training divides by it too).
U8_SCALE = 255.0


def to_network(batch_u8: np.ndarray) -> np.ndarray:
    """uint8 (N, S, S) -> float32 (N, S, S, 1) in [0, 1], the network's input."""
    return (batch_u8.astype(np.float32) / U8_SCALE)[..., None]


def thumbnail(pixels: np.ndarray) -> np.ndarray:
    """Whole-image 32x32 thumbnail, standardised: the input statistics for the OOD gate."""
    small = resize_gray(pixels, THUMB_SIZE).ravel()
    std = float(small.std())
    return ((small - small.mean()) / (std if std > 1e-6 else 1.0)).astype(np.float32)
