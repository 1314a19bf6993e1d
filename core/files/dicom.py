"""DICOM radiographs via pydicom: modality LUT, VOI LUT / windowing, MONOCHROME1 inversion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, get_decoder
from pydicom.uid import UID, JPEGExtended12Bit

from core.errors import CovidCXRError, DicomError, ImageTooLargeError, MissingCodecError
from core.files import decoder_pool
from core.files.xray import (
    MAX_DECODE_BYTES,
    MAX_PIXELS,
    ImageInfo,
    XRay,
    all_finite,
    check_budget,
)

# Which pip package decodes which compressed transfer syntax (pydicom's plugins). The app
# ships python-gdcm (a dependency), which covers every syntax a radiograph arrives in;
# RLE is decoded by pydicom itself. A missing decoder therefore means a broken install,
# or HTJ2K, which GDCM does not read.
_CODECS: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "python-gdcm",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "python-gdcm",  # JPEG Extended (12-bit)
    "1.2.840.10008.1.2.4.57": "python-gdcm",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70": "python-gdcm",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80": "python-gdcm",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": "python-gdcm",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90": "python-gdcm",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": "python-gdcm",  # JPEG 2000
    "1.2.840.10008.1.2.4.201": "pylibjpeg pylibjpeg-openjpeg",  # HTJ2K
    "1.2.840.10008.1.2.4.202": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.203": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.5": "pylibjpeg pylibjpeg-rle",  # RLE Lossless
}

# Compressed syntaxes whose decoders are native code that can abort the process on a
# damaged file (GDCM throws C++ exceptions nothing catches): decoded in a worker process
# (core.files.decoder_pool), named in the row of a file that crashes one. RLE is decoded by
# pydicom's own Python code and stays in process, as do uncompressed files.
_ISOLATED: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "JPEG baseline",
    "1.2.840.10008.1.2.4.51": "JPEG extended",
    "1.2.840.10008.1.2.4.57": "JPEG Lossless",
    "1.2.840.10008.1.2.4.70": "JPEG Lossless",
    "1.2.840.10008.1.2.4.80": "JPEG-LS",
    "1.2.840.10008.1.2.4.81": "JPEG-LS",
    "1.2.840.10008.1.2.4.90": "JPEG 2000",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.201": "HTJ2K",
    "1.2.840.10008.1.2.4.202": "HTJ2K",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
}
_PLUGIN_NAMES = {"gdcm": "GDCM", "pylibjpeg": "pylibjpeg", "pillow": "Pillow"}

# Tags that matter to a reader of the image, shown in the metadata panel.
_SHOWN = (
    ("Modality", "Modality"),
    ("ViewPosition", "View position"),
    ("PhotometricInterpretation", "Photometric interpretation"),
    ("BodyPartExamined", "Body part"),
    ("BitsStored", "Bits stored"),
    ("Manufacturer", "Manufacturer"),
    ("StudyDate", "Study date"),
)
_IDENTIFYING = (
    ("PatientName", "Patient name"),
    ("PatientID", "Patient ID"),
    ("PatientBirthDate", "Birth date"),
)


def read_dicom(path: Path, size: int) -> XRay:
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise DicomError(f"unreadable DICOM file: {exc}") from None
    except Exception as exc:  # a cut or garbled file raises EOFError, struct.error, ...
        raise DicomError(f"unreadable DICOM file (truncated or corrupt): {exc}") from None

    if "TransferSyntaxUID" not in ds.file_meta:
        raise DicomError(
            "DICOM file is truncated or corrupt: its header (file meta information) is incomplete"
        )
    tsyntax = _transfer_syntax(ds)
    _convert_all(ds.file_meta)
    _convert_all(ds)
    if "PixelData" not in ds:
        # pydicom stops quietly at the end of a cut file: tell truncation from a non-image
        # (a structured report or a key-object note has no image SOP class).
        if len(ds) == 0 or "Rows" in ds or "BitsAllocated" in ds or _image_sop_class(ds):
            raise DicomError("DICOM file is truncated: the image data is missing")
        raise DicomError("DICOM file holds no image (no Pixel Data), e.g. a report or SR")
    frames = _header_int(ds, "NumberOfFrames", 1) or 1
    if frames > 1:
        raise DicomError(
            f"multi-frame DICOM ({frames} frames) is not a single radiograph; export one frame"
        )
    rows, cols = _header_int(ds, "Rows", 0), _header_int(ds, "Columns", 0)
    check_budget((cols, rows))
    samples = _header_int(ds, "SamplesPerPixel", 1) or 1
    allocated = _header_int(ds, "BitsAllocated", 16) or 16
    for keyword in ("BitsStored", "HighBit", "PixelRepresentation"):
        _header_int(ds, keyword, 0)
    need = rows * cols * samples * ((allocated + 7) // 8)
    if need > MAX_DECODE_BYTES:
        raise ImageTooLargeError(
            f"DICOM image is too large to decode safely ({cols}x{rows}, {allocated}-bit"
            f" x {samples} samples = {need / 1e6:.0f} MB; limit {MAX_DECODE_BYTES / 1e6:.0f} MB)"
        )
    for keyword in ("RescaleSlope", "RescaleIntercept"):
        _header_float(ds, keyword)

    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        # By name, before decoding: PALETTE COLOR decodes to a 2-D array of indices.
        raise DicomError(f"colour DICOM ({photometric}) is not a radiograph")

    if tsyntax.is_compressed and not _decoder_available(tsyntax):
        wanted = _CODECS.get(str(tsyntax), "python-gdcm")
        raise MissingCodecError(
            f"compressed DICOM ({tsyntax.name}, {tsyntax}) needs a decoder that is not "
            f"installed: pip install {wanted}"
        )
    if (
        tsyntax == JPEGExtended12Bit
        and _header_int(ds, "BitsStored", 8) > 8
        and "pylibjpeg" not in get_decoder(tsyntax).available_plugins
    ):
        # GDCM's and Pillow's libjpeg are 8-bit only; pylibjpeg-libjpeg reads 12-bit but is
        # GPL-3.0, so it is not shipped with this MIT application.
        raise MissingCodecError(
            f"compressed DICOM ({tsyntax.name}, {tsyntax}) with 12-bit samples needs a "
            "decoder that is not shipped (GPL-3.0): pip install pylibjpeg pylibjpeg-libjpeg"
        )
    try:
        raw = _decode(ds, tsyntax, path)
    except (MemoryError, CovidCXRError):
        raise
    except Exception as exc:  # pydicom raises RuntimeError/NotImplementedError/ValueError
        if tsyntax.is_compressed:
            # Every installed decoder refused it: damaged, or a variant they do not read.
            raise DicomError(
                f"DICOM compressed ({tsyntax.name}, {tsyntax}) pixel data cannot be decoded "
                f"by the installed decoders (damaged, or an unsupported variant): {exc}"
            ) from None
        raise DicomError(
            f"DICOM pixel data cannot be decoded (truncated or corrupt): {exc}"
        ) from None

    if raw.ndim == 3 and raw.shape[-1] in (3, 4):
        raise DicomError(f"colour DICOM ({photometric}) is not a radiograph")
    if raw.ndim != 2:
        raise DicomError(f"unexpected DICOM pixel layout {raw.shape}")
    if raw.size > MAX_PIXELS:
        raise DicomError("DICOM image is too large")

    pixels = _to_unit(ds, raw)
    if not all_finite(pixels):
        # A modality LUT can overflow a finite slope to infinity; nothing here may pass
        # NaN on to the network, which would score it as if it were a film.
        raise DicomError(
            "DICOM pixel values are not finite numbers after the rescale and window "
            "(NaN or infinite): the header's scaling is corrupt"
        )
    if photometric == "MONOCHROME1":
        # MONOCHROME1 stores bone dark; invert so bone is always white.
        pixels = 1.0 - pixels

    dicom_facts = {label: str(ds.get(tag, "")) for tag, label in _SHOWN if tag in ds}
    if "ImageType" in ds:  # multi-valued (ORIGINAL\PRIMARY\LOCALIZER): its DICOM spelling
        value = ds.get("ImageType")
        dicom_facts["Image type"] = ("\\".join(str(v) for v in value)
                                     if isinstance(value, MultiValue) else str(value or ""))
    dicom_facts["Transfer syntax"] = tsyntax.name
    identifying = {label: str(ds.get(tag, "")) for tag, label in _IDENTIFYING if tag in ds}
    info = ImageInfo(
        path=str(path),
        format="DICOM",
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        bit_depth=_header_int(ds, "BitsStored", 0) or allocated,
        mode=photometric,
        file_size=size,
        dicom=dicom_facts,
        identifying=identifying,
    )
    return XRay(pixels=pixels.astype(np.float32), info=info)


def _decode(ds: pydicom.Dataset, tsyntax: UID, path: Path) -> np.ndarray:
    """The stored pixel values; compressed syntaxes with a native decoder are decoded in a
    worker process, so that a decoder that aborts costs this file, not the process."""
    syntax = _ISOLATED.get(str(tsyntax))
    if syntax is None or not decoder_pool.isolation_enabled():
        return decoder_pool.pixel_array(ds)
    try:
        return decoder_pool.decode_pixels(path)
    except decoder_pool.DecoderCrashed:
        raise DicomError(
            f"the decoder crashed on this file ({_decoder_name(tsyntax)}, {syntax}): "
            "damaged or unsupported"
        ) from None
    except decoder_pool.DecoderUnavailable as exc:
        raise DicomError(
            f"compressed DICOM ({syntax}) not decoded: {exc} (to decode in this process "
            f"instead, set {decoder_pool.IN_PROCESS_ENV}=1)"
        ) from None


def _decoder_name(tsyntax: UID) -> str:
    """The decoder pydicom tries first for this syntax (the one that crashed), by name."""
    try:
        plugins = get_decoder(tsyntax).available_plugins
    except NotImplementedError:
        return "decoder"
    return _PLUGIN_NAMES.get(plugins[0], plugins[0]) if plugins else "decoder"


def _transfer_syntax(ds: pydicom.Dataset) -> UID:
    """The file's transfer syntax, refused when the UID names something else.

    A damaged UID (another kind of UID, or an unknown one) would otherwise fail deep in
    pydicom's pixel handling with "UID is not a transfer syntax".
    """
    text = str(ds.file_meta.TransferSyntaxUID)
    tsyntax = UID(text)
    if not tsyntax.is_valid or not tsyntax.is_transfer_syntax:
        shown = text.encode("ascii", "backslashreplace").decode()[:64]
        raise DicomError(
            f"DICOM header is corrupt: its transfer syntax UID '{shown}' is not a transfer "
            "syntax pydicom knows"
        )
    return tsyntax


def _convert_all(ds: pydicom.Dataset) -> None:
    """Convert every top-level element now, so that a damaged one is named here.

    pydicom parses element values lazily: an unknown value representation (a flipped VR
    byte) would otherwise raise ``NotImplementedError`` on first access, anywhere.
    """
    for tag in list(ds.keys()):
        try:
            ds[tag]
        except Exception as exc:
            raise DicomError(
                f"DICOM header is corrupt: element {tag} cannot be read ({exc})"
            ) from None


def _header_int(ds: pydicom.Dataset, keyword: str, default: int) -> int:
    """A single whole number from the header, or a ``DicomError`` naming the element."""
    value = ds.get(keyword, default)
    if value is None or value == "":
        return default
    if isinstance(value, (list, tuple, MultiValue)):
        raise DicomError(
            f"DICOM header is corrupt: {keyword} holds {len(value)} values where one is expected"
        )
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise DicomError(
            f"DICOM header is corrupt: {keyword} is {str(value)[:32]!r}, not a whole number"
        ) from None
    if number < 0:
        raise DicomError(f"DICOM header is corrupt: {keyword} is negative ({number})")
    return number


def _header_float(ds: pydicom.Dataset, keyword: str) -> None:
    """Refuse a present but non-numeric or multi-valued decimal (e.g. RescaleSlope), which
    pydicom's modality LUT would otherwise multiply into the pixels as text or a vector."""
    if keyword not in ds or ds[keyword].value in (None, ""):
        return
    value = ds[keyword].value
    if isinstance(value, (list, tuple, MultiValue)):
        raise DicomError(
            f"DICOM header is corrupt: {keyword} holds {len(value)} values where one is expected"
        )
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DicomError(
            f"DICOM header is corrupt: {keyword} is {str(value)[:32]!r}, not a number"
        ) from None
    if not np.isfinite(number):
        raise DicomError(f"DICOM header is corrupt: {keyword} is {number}")


def _image_sop_class(ds: pydicom.Dataset) -> bool:
    sop = ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID")
    return bool(sop) and "Image Storage" in UID(str(sop)).name


def _decoder_available(tsyntax: UID) -> bool:
    """True when some installed pydicom plugin decodes this transfer syntax."""
    try:
        return bool(get_decoder(tsyntax).is_available)
    except NotImplementedError:  # a syntax pydicom has no decoder for at all
        return False


def _to_unit(ds: pydicom.Dataset, raw: np.ndarray) -> np.ndarray:
    """Stored values -> modality values -> VOI (if given) -> [0, 1]."""
    values = apply_modality_lut(raw, ds).astype(np.float64)
    try:
        if ds.get("VOILUTSequence"):
            return _apply_voi_lut(ds, values)
        if "WindowCenter" in ds and "WindowWidth" in ds:
            return _apply_window(ds, values)
    except (ValueError, IndexError, AttributeError, TypeError, NotImplementedError):
        pass  # a malformed VOI falls back to the data range
    lo, hi = (
        np.percentile(values, [0.5, 99.5]) if values.size > 16 else (values.min(), values.max())
    )
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros(values.shape)
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0)


def _first(value: Any) -> float:
    """First value of a possibly multi-valued DS element (several windows may be offered)."""
    if isinstance(value, (list, tuple, MultiValue)):
        value = value[0]
    return float(value)


def _apply_window(ds: pydicom.Dataset, values: np.ndarray) -> np.ndarray:
    """Window centre/width straight onto [0, 1] (PS3.3 C.11.2.1.2).

    Done here rather than with pydicom's ``apply_windowing``, whose output range follows the
    stored bit depth *and* the rescale slope/intercept, so it cannot be normalised without
    repeating its bookkeeping.
    """
    c, w = _first(ds.WindowCenter), _first(ds.WindowWidth)
    if not (np.isfinite(c) and np.isfinite(w)):
        # "nan" and "inf" parse as floats: without this every pixel would become NaN.
        raise ValueError(f"window centre {c} / width {w} is not a finite number")
    func = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if func == "SIGMOID":
        if w <= 0:
            raise ValueError("window width must be positive")
        return 1.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    if func == "LINEAR_EXACT":
        if w <= 0:
            raise ValueError("window width must be positive")
        return np.clip((values - c) / w + 0.5, 0.0, 1.0)
    if w < 1:
        raise ValueError("window width must be at least 1")
    if w == 1:
        return (values > c - 0.5).astype(np.float64)
    return np.clip((values - (c - 0.5)) / (w - 1) + 0.5, 0.0, 1.0)


def _apply_voi_lut(ds: pydicom.Dataset, values: np.ndarray) -> np.ndarray:
    """First VOI LUT of the sequence, scaled by the range of its own entries.

    Applied here, not with pydicom's ``apply_voi``: that indexes an 8-bit LUT with 8-bit
    integers, so any LUT of more than 256 entries wraps around. The descriptor's bit count
    is often wrong in the wild (16 declared, 12 used), so the LUT's actual minimum and
    maximum define black and white.
    """
    item = ds.VOILUTSequence[0]
    descriptor = [int(v) for v in item.LUTDescriptor]
    entries, first = descriptor[0] or 65536, descriptor[1]
    if int(ds.get("PixelRepresentation", 0)) == 1 and first >= 32768:
        first -= 65536  # first mapped value is signed for signed pixel data
    data = item.LUTData
    if isinstance(data, bytes):  # VR OW: 16-bit words
        little = getattr(ds, "original_encoding", (None, True))[1] is not False
        lut = np.frombuffer(data, dtype="<u2" if little else ">u2")[:entries]
    else:
        lut = np.asarray(data if isinstance(data, (list, MultiValue)) else [data]).ravel()
    lut = lut.astype(np.float64)
    if lut.size == 0:
        raise ValueError("empty VOI LUT")
    index = np.clip(np.rint(values) - first, 0, lut.size - 1).astype(np.intp)
    lo, hi = float(lut.min()), float(lut.max())
    if hi <= lo:
        raise ValueError("flat VOI LUT")
    return (lut[index] - lo) / (hi - lo)
