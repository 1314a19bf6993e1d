"""Compressed DICOMs that abort GDCM, made by editing valid ones (issue 22).

GDCM throws a C++ exception that nothing catches on each of these, so a process that
decodes them itself dies (SIGABRT, exit 134): a JPEG-LS file whose Rows was edited (the
frame is smaller than the header says), an 8-bit JPEG Lossless file whose Bits Stored was
edited to 7, and a JPEG 2000 file with one byte of its codestream changed (the component's
precision byte, Ssiz, set to 0xFF). Each starts from a real radiograph in tests/data,
compressed here with GDCM (python-gdcm 3.2.6, a dependency), so the file states exactly what
was done to it. The good compressed versions are written alongside.

    .venv/bin/python tests/aborting_dicoms.py OUT_DIR     # write them (packaging/ci_check.sh)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

DATA = Path(__file__).parent / "data"
SOURCE_PNG = DATA / "normal-nih-00003198_005.png"
#: The 12-bit JPEG Lossless radiograph shipped in tests/data (see its README).
LOSSLESS_12BIT = DATA / "jpeg-lossless.dcm"

#: Kind -> the short syntax name the decoder-crash row gives.
KINDS = {"jpeg-ls": "JPEG-LS", "jpeg-lossless": "JPEG Lossless", "jpeg-2000": "JPEG 2000"}

# A JPEG 2000 codestream starts SOC (FF 4F), SIZ (FF 51), Lsiz, Rsiz, 8 four-byte sizes and
# offsets, Csiz: byte 42 is the first component's Ssiz (bit depth - 1, sign in the top bit).
_J2K_START = b"\xff\x4f\xff\x51"
_SSIZ_OFFSET = 42


def plain_8bit(path: Path, crop: int = 0) -> Path:
    """The source PNG (its centre ``crop`` x ``crop`` when given) as an uncompressed 8-bit
    DX DICOM."""
    pixels = np.asarray(Image.open(SOURCE_PNG).convert("L"))
    if crop:
        top, left = (pixels.shape[0] - crop) // 2, (pixels.shape[1] - crop) // 2
        pixels = np.ascontiguousarray(pixels[top : top + crop, left : left + crop])
    return plain_dicom(path, pixels, bits_stored=8)


def plain_dicom(path: Path, pixels: np.ndarray, bits_stored: int) -> Path:
    """``pixels`` (uint8, or uint16 holding ``bits_stored`` bits) as an uncompressed
    MONOCHROME2 DX DICOM, ready for :func:`transcode`."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PatientName = "Test^Placeholder"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 8 * pixels.dtype.itemsize
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits_stored, bits_stored - 1, 0
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def transcode(source: Path, syntax_name: str, out: Path) -> Path:
    """``source`` re-compressed by GDCM to ``gdcm.TransferSyntax.<syntax_name>``."""
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(source))
    if not reader.Read():
        raise RuntimeError(f"GDCM cannot read {source}")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(getattr(gdcm.TransferSyntax, syntax_name)))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise RuntimeError(f"GDCM cannot compress {source} to {syntax_name}")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(out))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise RuntimeError(f"GDCM cannot write {out}")
    return out


def write_good(folder: Path) -> dict[str, Path]:
    """Valid compressed versions of the test radiograph, one per kind."""
    folder.mkdir(parents=True, exist_ok=True)
    plain8 = plain_8bit(folder / ".plain8.dcm")
    good = {
        "jpeg-ls": transcode(LOSSLESS_12BIT, "JPEGLSLossless", folder / "good-jpeg-ls.dcm"),
        "jpeg-lossless": transcode(plain8, "JPEGLosslessProcess14_1",
                                    folder / "good-jpeg-lossless-8bit.dcm"),
        "jpeg-2000": transcode(LOSSLESS_12BIT, "JPEG2000Lossless", folder / "good-jpeg-2000.dcm"),
    }
    plain8.unlink()
    return good


def write_aborting(folder: Path) -> dict[str, Path]:
    """One file per kind that aborts GDCM, edited from :func:`write_good`'s."""
    good = write_good(folder / "good")
    out: dict[str, Path] = {}

    ds = pydicom.dcmread(good["jpeg-ls"])
    ds.Rows = int(ds.Rows) * 2  # the frame now holds half the pixels the header promises
    out["jpeg-ls"] = folder / "abort-jpeg-ls-rows.dcm"
    ds.save_as(out["jpeg-ls"])

    ds = pydicom.dcmread(good["jpeg-lossless"])
    ds.BitsStored = 7  # 8 bits allocated: GDCM asserts the two are equal
    out["jpeg-lossless"] = folder / "abort-jpeg-lossless-bits-stored-7.dcm"
    ds.save_as(out["jpeg-lossless"])

    data = bytearray(good["jpeg-2000"].read_bytes())
    start = data.find(_J2K_START)
    if start < 0:
        raise RuntimeError("no JPEG 2000 codestream in the GDCM output")
    data[start + _SSIZ_OFFSET] = 0xFF  # one byte changed
    out["jpeg-2000"] = folder / "abort-jpeg-2000-one-byte.dcm"
    out["jpeg-2000"].write_bytes(bytes(data))
    return out


def aborts_in_process(path: Path) -> subprocess.CompletedProcess[str]:
    """Decode ``path`` the way the reader did before isolation (pydicom, in the process
    itself) in a fresh interpreter, and return how that interpreter ended."""
    code = "import sys, pydicom; pydicom.dcmread(sys.argv[1]).pixel_array; print('decoded')"
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )


if __name__ == "__main__":
    for kind, path in write_aborting(Path(sys.argv[1])).items():
        print(kind, path)
