"""Hostile files: every failure to read one file is the project's own error.

A small seeded mutation fuzzer over the single-file reader (byte flips, truncations,
inserted bytes) on tiny PNG, JPEG, BMP, TIFF and DICOM seeds made here, and a sweep over
the DICOM test files that ship inside pydicom. Anything but a ``CovidCXRError`` (or a
``MemoryError``) escaping ``read_xray`` fails the test, with the input that caused it.
"""

from __future__ import annotations

import io
import time
import warnings
from pathlib import Path

import numpy as np
import pydicom.data
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from core.errors import CovidCXRError
from core.files.reader import read_xray

SEED = 20261126
INPUTS_PER_SEED = 400  # x 7 seeds: 2,800 inputs, a few seconds
COMPRESSED_INPUTS_PER_SEED = 80  # x 7 compressed DICOM seeds: 560 inputs


def _gray(h: int = 36, w: int = 40) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 5 + y * 3) % 256).astype(np.uint8)


def _raster(fmt: str, **kw) -> bytes:
    img = Image.fromarray(_gray())
    if kw.pop("sixteen", False):
        img = Image.fromarray(_gray().astype(np.uint16) * 257)
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _dicom() -> bytes:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    pixels = _gray().astype(np.uint16) * 16
    ds.Rows, ds.Columns = pixels.shape
    ds.NumberOfFrames = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = pixels.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    return {
        "png": _raster("PNG"),
        "png16": _raster("PNG", sixteen=True),
        "jpeg": _raster("JPEG", quality=90),
        "bmp": _raster("BMP"),
        "tiff": _raster("TIFF"),
        "tiff_deflate": _raster("TIFF", compression="tiff_adobe_deflate"),
        "dicom": _dicom(),
    }


def _compressed_seeds() -> dict[str, bytes]:
    """Small grayscale compressed DICOMs, one per syntax GDCM decodes: a 64 x 64 crop of a
    test radiograph compressed here by GDCM, and pydicom's own JPEG-LS and JPEG 2000 files.
    Mutations of these reach native code that can abort (issue 22)."""
    import tempfile

    from aborting_dicoms import plain_8bit, transcode

    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plain = plain_8bit(Path(tmp) / "plain.dcm", crop=64)
        for name, syntax in (("dicom_jpeg_lossless", "JPEGLosslessProcess14_1"),
                             ("dicom_jpeg_baseline", "JPEGBaselineProcess1"),
                             ("dicom_jpeg_ls", "JPEGLSLossless"),
                             ("dicom_jpeg_2000", "JPEG2000Lossless")):
            out[name] = transcode(plain, syntax, Path(tmp) / f"{name}.dcm").read_bytes()
    for name in ("MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm", "693_J2KI.dcm"):
        out["pydicom_" + name.removesuffix(".dcm")] = Path(get_testdata_file(name)).read_bytes()
    return out


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to four random edits; the header (first 512 bytes) is hit most often."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        span = min(len(out), 512) if rng.random() < 0.7 else len(out)
        if not out:
            break
        pos = int(rng.integers(0, span))
        op = rng.integers(0, 5)
        if op == 0:  # flip one bit
            out[pos] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:  # an interesting byte
            out[pos] = int(rng.choice([0x00, 0x01, 0x7F, 0x80, 0xFF, 0x20, 0x5C]))
        elif op == 2:  # truncate
            del out[pos:]
        elif op == 3:  # insert bytes
            out[pos:pos] = rng.bytes(int(rng.integers(1, 9)))
        else:  # delete a few bytes
            del out[pos : pos + int(rng.integers(1, 9))]
    return bytes(out)


def _read_or_own_error(path: Path) -> str:
    """'ok', or the project's error class name; any other exception propagates."""
    try:
        read_xray(path)
    except CovidCXRError as exc:
        assert str(exc), "a refusal must say why"
        return type(exc).__name__
    except MemoryError:
        return "MemoryError"
    return "ok"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mutated_files_raise_only_our_errors(tmp_path):
    rng = np.random.default_rng(SEED)
    seeds = _seeds()
    path = tmp_path / "input"
    outcomes: dict[str, int] = {}
    slowest = 0.0
    start = time.perf_counter()
    for name, seed in seeds.items():
        assert _read_or_own_error(_write(path, seed)) == "ok", f"seed {name} must read"
        for i in range(INPUTS_PER_SEED):
            data = _mutate(seed, rng)
            t0 = time.perf_counter()
            try:
                outcome = _read_or_own_error(_write(path, data))
            except Exception as exc:  # pragma: no cover - the failure report
                keep = tmp_path / f"crash-{name}-{i}.bin"
                keep.write_bytes(data)
                pytest.fail(f"{name} mutation {i}: {type(exc).__name__}: {exc} (saved {keep})")
            slowest = max(slowest, time.perf_counter() - t0)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    total = time.perf_counter() - start
    assert sum(outcomes.values()) == INPUTS_PER_SEED * len(seeds)
    assert outcomes.get("ok", 0) > 0 and len(outcomes) > 3, outcomes  # the mutations bite
    assert slowest < 2.0, f"one input took {slowest:.1f} s"
    assert total < 60, f"{total:.0f} s"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mutated_compressed_dicoms_cost_one_error_each_never_the_process(tmp_path):
    """Issue 22: mutated compressed DICOMs abort GDCM now and then. Decoded in worker
    processes, each is one file's error; a crash here would end the test run itself."""
    from core.files import decoder_pool

    rng = np.random.default_rng(SEED + 22)
    path = tmp_path / "input.dcm"
    outcomes: dict[str, int] = {}
    for name, seed in _compressed_seeds().items():
        assert _read_or_own_error(_write(path, seed)) == "ok", f"seed {name} must read"
        for _ in range(COMPRESSED_INPUTS_PER_SEED):
            try:
                read_xray(_write(path, _mutate(seed, rng)))
                outcome = "ok"
            except CovidCXRError as exc:
                crashed = str(exc).startswith("the decoder crashed on this file")
                outcome = "decoder crashed" if crashed else type(exc).__name__
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == COMPRESSED_INPUTS_PER_SEED * 7
    assert outcomes.get("ok", 0) > 0 and outcomes.get("DicomError", 0) > 0, outcomes
    decoder_pool.shutdown()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pydicom_test_files() -> list[Path]:
    root = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".py", ".json"))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_every_pydicom_test_file_decodes_or_gets_our_error():
    files = _pydicom_test_files()
    assert len(files) > 100
    outcomes: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            outcome = _read_or_own_error(path)  # anything else raises here and fails
            outcomes.setdefault(outcome, []).append(path.name)
    # Anchors: plain and JPEG-LS/JPEG 2000 grey images decode; colour and cut files are
    # refused; 12-bit JPEG names its missing decoder. No file reaches the last-resort
    # wrapper ("cannot decode this file"): each failure has a specific message.
    assert {"CT_small.dcm", "MR_small_jpeg_ls_lossless.dcm", "693_J2KI.dcm"} <= set(outcomes["ok"])
    assert {"SC_rgb_jpeg.dcm", "MR_truncated.dcm", "badVR.dcm"} <= set(outcomes["DicomError"])
    assert "JPGExtended.dcm" in outcomes["MissingCodecError"]
    assert "ImageReadError" not in outcomes, outcomes.get("ImageReadError")
