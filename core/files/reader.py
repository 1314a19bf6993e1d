"""Turn a file into a grayscale X-ray: float32 pixels in [0, 1] (bone white) plus facts.

One entry point, :func:`read_xray`. Raster formats go through Pillow with its
decompression-bomb guard on; DICOM is recognised by content and handled in
:mod:`core.files.dicom`. Every refusal is a :class:`core.errors.ImageReadError` subclass whose
message says what is wrong with *this* file.
"""

from __future__ import annotations

import errno
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageOps, UnidentifiedImageError

from core.errors import (
    CovidCXRError,
    EmptyFileError,
    ImageReadError,
    ImageTooLargeError,
    NotAnImageError,
    NotARadiographError,
    TruncatedFileError,
)
from core.files.xray import (
    MAX_DECODE_BYTES,
    MAX_PIXELS,
    ImageInfo,
    XRay,
    all_finite,
    check_budget,
)

# Kept importable from here, where the decode pipelines have always found it.
from core.files.xray import decode_threads as decode_threads

#: Images whose longer side is at least twice this are decoded reduced by a whole factor
#: (JPEG in the decoder itself, others with ``Image.reduce`` after loading) so that the
#: longer side stays at or above it: the network sees 1024 px at most, the viewer a screen.
DECODE_SIDE = 4096


# Keep Pillow's own guard on and aligned with ours. Pillow warns above this value and raises
# above twice it; we refuse above it (``check_budget``), so its warning becomes an error.
# A process-wide filter, not ``warnings.catch_warnings`` around each read: that context
# manager is not thread-safe and files are read on a thread pool.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


#: Extensions the folder walker picks up. Reading itself goes by content, not by name.
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jfif", ".bmp", ".tif", ".tiff", ".dcm", ".dicom", ".dic"}
)


# A colour photograph: more than this share of pixels with chroma above CHROMA_LEVEL.
# A radiograph saved as RGB has equal channels (plus JPEG chroma noise); small coloured
# annotations (arrows, rulers) stay well under the share.
CHROMA_LEVEL = 0.12


CHROMA_SHARE = 0.05


def is_dicom(path: str | os.PathLike[str]) -> bool:
    """True when the file carries the DICOM ``DICM`` marker at byte 128 (Part 10 file)."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def read_xray(path: str | os.PathLike[str], min_side: int | None = None) -> XRay:
    """Read any supported file as a grayscale radiograph, or raise ``ImageReadError``.

    ``min_side``: the pixels may come back reduced by a whole factor as long as both sides
    stay at or above it (JPEG scaled in the decoder itself, JPEG 2000 read at a lower
    resolution level, others box-averaged right after decoding), for callers that only
    need a small image (the network); None, the default, is the full size (the viewer).
    ``info`` always gives the file's own size."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotAnImageError(_not_found(path)) from None
    except PermissionError:
        raise NotAnImageError("cannot open file: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAnImageError("symbolic link loop: the link leads back to itself") from None
        if exc.errno == errno.ENAMETOOLONG:
            raise NotAnImageError("file name too long for this system") from None
        raise NotAnImageError(f"cannot open file: {exc.strerror or exc}") from None
    if path.is_dir():
        raise NotAnImageError("this is a folder, not an image file")
    if size == 0:
        raise EmptyFileError("empty file (0 bytes)")
    try:
        if is_dicom(path):
            from core.files.dicom import read_dicom

            xray = read_dicom(path, size)
        else:
            xray = _read_raster(path, size, min_side)
    except (CovidCXRError, MemoryError):
        raise
    except PermissionError:
        # Readable metadata, unreadable content (mode 000, or a file another user owns).
        raise NotAnImageError("cannot open file: permission denied") from None
    except Exception as exc:
        # Last resort: a third-party decoder failing in a way no check above foresaw. The
        # file is still one bad file, never a crash of the run that reads many.
        raise ImageReadError(f"cannot decode this file: {type(exc).__name__}: {exc}") from exc
    if not all_finite(xray.pixels):
        # Whatever the cause (a float TIFF holding NaN, a header's scaling): a NaN pixel
        # must never reach the network, which would give it a score like any film's.
        raise ImageReadError(
            f"{xray.info.format} image holds pixel values that are not numbers (NaN or "
            "infinite) once decoded: the file is corrupt"
        )
    return xray


def _not_found(path: Path) -> str:
    """Why a name has no file behind it: "file not found", or for a dangling symbolic
    link where it points (the name exists, so "not found" alone would puzzle)."""
    try:
        target = os.readlink(path)
    except OSError:  # not a link (or gone meanwhile)
        return "file not found"
    return f"broken link: it points to {target}, which does not exist"


def reduction(size: tuple[int, int], min_side: int | None) -> int:
    """The whole factor a decode of ``size`` may be reduced by: enough to keep the longer
    side near ``DECODE_SIDE``, more while both sides stay at or above ``min_side``."""
    factor = max(size) // DECODE_SIDE
    if min_side:
        factor = max(factor, min(size) // max(int(min_side), 1))
    return factor


def _read_raster(path: Path, size: int, min_side: int | None = None) -> XRay:
    header_read = False
    try:
        with Image.open(path) as img:
            header_read = True
            fmt = img.format or "unknown"
            # Before any pixel is decoded: Pillow's guard only refuses at twice the budget.
            check_budget(img.size)
            full_size, info_mode = img.size, img.mode
            factor = reduction(img.size, min_side)
            if factor > 1 and img.format == "JPEG":
                # libjpeg decodes straight to 1/2, 1/4 or 1/8 scale: no full-size buffer.
                img.draft(img.mode, (img.width // factor, img.height // factor))
            elif factor > 1 and img.format == "JPEG2000":
                # OpenJPEG decodes a lower resolution level: 1/2 per level.
                img.reduce = min(factor.bit_length() - 1, 5)  # type: ignore[method-assign,assignment]
            _check_bytes(img)
            img.load()
            factor = reduction(img.size, min_side)
            reduced = _reduce(img, factor) if factor > 1 else img
            ImageOps.exif_transpose(reduced, in_place=True)
            pixels, bit_depth = _to_gray(reduced)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(
            f"image is too large to be a radiograph (over {MAX_PIXELS // 1_000_000} megapixels)"
        ) from None
    except PermissionError:
        raise NotAnImageError("cannot open file: permission denied") from None
    except TypeError as exc:
        # A damaged tag of the right number but the wrong type (e.g. TIFF StripOffsets
        # stored as a ratio) makes Pillow's decoder fail in load() with a TypeError.
        raise TruncatedFileError(
            f"{_sniff(path) or 'image'} file is corrupt: a header field has the wrong type ({exc})"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        kind = _sniff(path)
        if not header_read and kind:
            # A known signature that Pillow cannot parse: the header itself is cut or damaged.
            raise TruncatedFileError(
                f"{kind} file is truncated or corrupt: its header cannot be read"
            ) from None
        if isinstance(exc, UnidentifiedImageError):
            raise NotAnImageError("not an image file (not PNG, JPEG, BMP, TIFF or DICOM)") from None
        text = str(exc).lower()
        if "truncated" in text or "broken" in text or "end of file" in text:
            raise TruncatedFileError(
                "file is truncated or corrupt: image data ends early"
            ) from None
        raise TruncatedFileError(f"image data is corrupt ({exc})") from None
    # The file's own size (before any reduction), turned as the pixels were.
    w, h = full_size if _same_orientation(pixels.shape, full_size) else full_size[::-1]
    info = ImageInfo(
        path=str(path),
        format=fmt,
        width=w,
        height=h,
        bit_depth=bit_depth,
        mode=info_mode,
        file_size=size,
    )
    return XRay(pixels=pixels, info=info)


# File signatures of the raster formats we read, to tell "damaged PNG" from "not an image".
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _sniff(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return ""
    return next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), "")


def _same_orientation(shape: tuple[int, ...], size: tuple[int, int]) -> bool:
    """True unless an EXIF rotation turned a non-square image by 90 degrees."""
    h, w = shape[:2]
    return (w >= h) == (size[0] >= size[1]) or size[0] == size[1]


def _reduce(img: Image.Image, factor: int) -> Image.Image:
    """Box-average by ``factor``; bilevel and palette images first become gray or RGB,
    16-bit ones 32-bit (the same values: Pillow cannot reduce 16-bit modes)."""
    if img.mode == "1":
        img = img.convert("L")
    elif img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode.startswith("I;16"):
        img = img.convert("I")
    return img.reduce(factor)


#: Bytes one sample takes once Pillow has decoded it, by mode; other modes are 8-bit.
_SAMPLE_BYTES = {"I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2, "I": 4, "F": 4}


def _check_bytes(img: Image.Image) -> None:
    """Refuse, from the header alone, a decode above ``MAX_DECODE_BYTES``."""
    samples = len(img.getbands())
    per_sample = _SAMPLE_BYTES.get(img.mode, 1)
    need = img.width * img.height * samples * per_sample
    if need > MAX_DECODE_BYTES:
        depth = f"{per_sample * 8}-bit" + (f" x {samples} channels" if samples > 1 else "")
        raise ImageTooLargeError(
            f"image is too large to decode safely ({img.width}x{img.height}, {depth} = "
            f"{need / 1e6:.0f} MB; limit {MAX_DECODE_BYTES / 1e6:.0f} MB)"
        )


def _to_gray(img: Image.Image) -> tuple[np.ndarray, int]:
    """Return float32 [0, 1] grayscale and the source bit depth; refuse colour photographs."""
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("LA", "La", "PA"):
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode == "1":
        return np.asarray(img, dtype=np.float32), 1
    if mode == "L":
        return _unit8(img), 8
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(img).astype(np.float32)
        arr *= np.float32(1.0 / 65535.0)
        return arr, 16
    if mode == "I":
        arr = np.asarray(img).astype(np.float64)
        # 32-bit integer containers usually hold 16-bit data (TIFF, PNG via Pillow).
        if arr.max(initial=0) <= 65535 and arr.min(initial=0) >= 0:
            return (arr / 65535.0).astype(np.float32), 16
        return _minmax(arr), 16
    if mode == "F":
        return _minmax(np.asarray(img, dtype=np.float64)), 32
    if mode in ("RGBA", "RGBa"):
        # Flatten alpha onto black, the background of a radiograph.
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, rgba).convert("RGB")
    elif mode != "RGB":
        img = img.convert("RGB")
    _refuse_colour(img)
    # ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B), computed by Pillow in C.
    return _unit8(img.convert("L")), 8


def _unit8(img: Image.Image) -> np.ndarray:
    """8-bit image -> float32 [0, 1] in one pass (no float64 temporary)."""
    return np.multiply(np.asarray(img), np.float32(1.0 / 255.0), dtype=np.float32)


def _refuse_colour(rgb: Image.Image) -> None:
    """Raise when too many pixels carry colour; works on uint8 planes, in Pillow's C code.

    Chroma is max(R, G, B) - min(R, G, B); a pixel counts as coloured when its chroma
    exceeds ``CHROMA_LEVEL`` of full scale.
    """
    r, g, b = rgb.split()
    hi = ImageChops.lighter(ImageChops.lighter(r, g), b)
    lo = ImageChops.darker(ImageChops.darker(r, g), b)
    hist = ImageChops.subtract(hi, lo).histogram()
    first = math.floor(CHROMA_LEVEL * 255) + 1
    coloured = sum(hist[first:]) / max(rgb.width * rgb.height, 1)
    if coloured > CHROMA_SHARE:
        raise NotARadiographError(
            f"this is a colour picture ({coloured:.0%} of pixels coloured), not a radiograph"
        )


def _minmax(arr: np.ndarray) -> np.ndarray:
    lo, hi = float(arr.min()), float(arr.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.full(arr.shape, np.nan, np.float32)  # refused by read_xray, with its reason
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.float32)
    return ((arr - lo) / (hi - lo)).astype(np.float32)


def describe(info: ImageInfo) -> dict[str, Any]:
    """Flat, display-ready facts (identifying fields left out)."""
    facts: dict[str, Any] = {
        "File": Path(info.path).name,
        "Format": info.format,
        "Size": f"{info.width} x {info.height} px",
        "Bit depth": info.bit_depth,
        "Mode": info.mode,
        "File size": f"{info.file_size / 1024:.0f} KiB",
    }
    facts.update(info.dicom)
    return facts

