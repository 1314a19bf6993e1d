"""DICOM radiographs via pydicom: modality LUT, VOI LUT / windowing, MONOCHROME1 inversion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, get_decoder
from pydicom.uid import UID

from core.errors import DicomError, MissingCodecError
from core.reader import MAX_PIXELS, ImageInfo, XRay, _check_budget

# Which pip packages decode which compressed transfer syntaxes (pydicom's plugins).
_CODECS: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "pylibjpeg pylibjpeg-libjpeg",  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": "pylibjpeg pylibjpeg-libjpeg",  # JPEG Extended
    "1.2.840.10008.1.2.4.57": "pylibjpeg pylibjpeg-libjpeg",  # JPEG Lossless
    "1.2.840.10008.1.2.4.70": "pylibjpeg pylibjpeg-libjpeg",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80": "pyjpegls",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": "pyjpegls",  # JPEG-LS Near-lossless
    "1.2.840.10008.1.2.4.90": "pylibjpeg pylibjpeg-openjpeg",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": "pylibjpeg pylibjpeg-openjpeg",  # JPEG 2000
    "1.2.840.10008.1.2.4.201": "pylibjpeg pylibjpeg-openjpeg",  # HTJ2K
    "1.2.840.10008.1.2.4.202": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.4.203": "pylibjpeg pylibjpeg-openjpeg",
    "1.2.840.10008.1.2.5": "pylibjpeg pylibjpeg-rle",  # RLE Lossless
}

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
    if "PixelData" not in ds:
        # pydicom stops quietly at the end of a cut file: tell truncation from a non-image
        # (a structured report or a key-object note has no image SOP class).
        if len(ds) == 0 or "Rows" in ds or "BitsAllocated" in ds or _image_sop_class(ds):
            raise DicomError("DICOM file is truncated: the image data is missing")
        raise DicomError("DICOM file holds no image (no Pixel Data), e.g. a report or SR")
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames > 1:
        raise DicomError(
            f"multi-frame DICOM ({frames} frames) is not a single radiograph; export one frame"
        )
    rows, cols = int(getattr(ds, "Rows", 0)), int(getattr(ds, "Columns", 0))
    _check_budget((cols, rows))

    photometric = str(getattr(ds, "PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        # By name, before decoding: PALETTE COLOR decodes to a 2-D array of indices.
        raise DicomError(f"colour DICOM ({photometric}) is not a radiograph")

    tsyntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2.1")))
    if tsyntax.is_compressed and not _decoder_available(tsyntax):
        wanted = _CODECS.get(str(tsyntax), "pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg")
        raise MissingCodecError(
            f"compressed DICOM ({tsyntax.name}) needs a decoder that is not installed: "
            f"pip install {wanted}"
        )
    try:
        raw = ds.pixel_array
    except Exception as exc:  # pydicom raises RuntimeError/NotImplementedError/ValueError
        kind = f"compressed ({tsyntax.name}) " if tsyntax.is_compressed else ""
        raise DicomError(
            f"DICOM {kind}pixel data cannot be decoded (truncated or corrupt): {exc}"
        ) from None

    if raw.ndim == 3 and raw.shape[-1] in (3, 4):
        raise DicomError(f"colour DICOM ({photometric}) is not a radiograph")
    if raw.ndim != 2:
        raise DicomError(f"unexpected DICOM pixel layout {raw.shape}")
    if raw.size > MAX_PIXELS:
        raise DicomError("DICOM image is too large")

    pixels = _to_unit(ds, raw)
    if photometric == "MONOCHROME1":
        # MONOCHROME1 stores bone dark; invert so bone is always white.
        pixels = 1.0 - pixels

    dicom_facts = {label: str(ds.get(tag, "")) for tag, label in _SHOWN if tag in ds}
    dicom_facts["Transfer syntax"] = tsyntax.name
    identifying = {label: str(ds.get(tag, "")) for tag, label in _IDENTIFYING if tag in ds}
    info = ImageInfo(
        path=str(path),
        format="DICOM",
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        bit_depth=int(getattr(ds, "BitsStored", getattr(ds, "BitsAllocated", 16))),
        mode=photometric,
        file_size=size,
        dicom=dicom_facts,
        identifying=identifying,
    )
    return XRay(pixels=pixels.astype(np.float32), info=info)


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


def _first(value: object) -> float:
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
