"""An X-ray as read (float32 pixels and facts about the file) and the size budget every reader checks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from core.errors import (
    ImageTooLargeError,
    NotARadiographError,
)

#: Largest image we decode, in pixels. A 43x43 cm detector at 100 um is ~18.5 Mpx; anything
#: far above is a decompression bomb or not an X-ray.
MAX_PIXELS = 80_000_000


#: Largest decode, in bytes: pixels x bytes per sample x samples, as the file declares them.
#: The pixel cap alone let an 80 Mpx 16-bit PNG cost 640 MB and a deflated float32 TIFF
#: 1.9 GB, because reading then makes float working copies of 4-8 bytes a pixel. A real
#: chest radiograph is far below: a 43 x 43 cm detector at 100 um, 16-bit, is 37 MB. 128 MiB
#: still admits an 8-bit scan up to the pixel cap and keeps several parallel reads within a
#: desktop's memory.
MAX_DECODE_BYTES = 128 * 1024 * 1024


#: Most threads that decode files at once: decoding runs in C and releases the GIL, and
#: past four the pipeline waits on the network or the disk instead. Also the most
#: compressed-DICOM decoder processes (core.files.decoder_pool): one per decode thread.
MAX_DECODE_THREADS = 4


def decode_threads(leave_free: int = 0) -> int:
    """Threads to decode files with: one per core up to ``MAX_DECODE_THREADS``, less
    ``leave_free`` cores (the window leaves one to its event loop), at least one."""
    return max(1, min(MAX_DECODE_THREADS, os.cpu_count() or 1) - leave_free)


@dataclass(frozen=True)
class ImageInfo:
    """Facts about a file, for the metadata panel and the CSV. Never the patient's name."""

    path: str
    format: str
    width: int
    height: int
    bit_depth: int
    mode: str
    file_size: int
    dicom: dict[str, str] = field(default_factory=dict)
    #: Identifying DICOM fields (patient name, ID, birth date); shown only on request.
    identifying: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class XRay:
    pixels: np.ndarray  # float32, (H, W), [0, 1], bone white
    info: ImageInfo


def check_budget(size: tuple[int, int]) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise ImageTooLargeError(
            f"image is too large to be a radiograph ({w}x{h} = {w * h / 1e6:.0f} megapixels; "
            f"limit {MAX_PIXELS // 1_000_000})"
        )
    if w < 32 or h < 32:
        raise NotARadiographError(f"image is too small to assess ({w}x{h} pixels)")


def all_finite(pixels: np.ndarray) -> bool:
    """True when no pixel is NaN or infinite. One pass, no temporary array: the sum of
    the pixels (each at most 1 once read, so no overflow) is finite exactly then."""
    return bool(np.isfinite(np.sum(pixels, dtype=np.float64)))
