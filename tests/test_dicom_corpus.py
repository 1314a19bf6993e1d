"""Real DICOM coverage: every file that ships inside pydicom gets the outcome of its class.

pydicom's own test files are a fair sample of what a hospital sends: plain and compressed
grey images, colour secondary captures, multi-frame dose grids, reports, DICOMDIRs,
header-only stubs and cut files. Each one is expected to be decoded, or refused for one
specific reason with the project's own error class and message; a changed outcome fails
here. Only files already on disk are read (pydicom downloads its larger test files on
demand; this test never asks it to).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from core.errors import (
    CovidCXRError,
    DicomError,
    MissingCodecError,
    NotAnImageError,
    NotARadiographError,
)
from core.files.reader import read_xray

ROOT = Path(get_testdata_file("CT_small.dcm")).parent


@dataclass(frozen=True)
class Outcome:
    """One class of outcome: decoded (``error is None``) or this exact error and message."""

    name: str
    error: type[CovidCXRError] | None = None
    match: str = ""


DECODED = Outcome("decoded")
COLOUR = Outcome("refused as colour", DicomError, r"^colour DICOM \([A-Z_ 0-9]+\) is not a radio")
MULTI_FRAME = Outcome("multi-frame", DicomError, r"^multi-frame DICOM \(\d+ frames\)")
NO_PIXELS = Outcome("no pixel data", DicomError, r"holds no image \(no Pixel Data\)")
TOO_SMALL = Outcome("too small", NotARadiographError, r"too small to assess \(\d+x\d+ pixels\)")
TRUNCATED = Outcome("truncated", DicomError, r"truncated")
# The message names the transfer syntax by name and UID, and what to install.
MISSING_CODEC = Outcome(
    "missing codec", MissingCodecError, r"JPEG Extended .*1\.2\.840\.10008\.1\.2\.4\.51.*pip"
)
CORRUPT_HEADER = Outcome("corrupt header", DicomError, r"header.* (is corrupt|is incomplete)")
UNDECODABLE = Outcome(
    "compressed data refused by every decoder",
    DicomError,
    r"JPEG 2000 .* cannot be decoded by the installed decoders",
)
# Not a Part 10 file (no "DICM" at byte 128) or not DICOM at all: recognised by content.
NOT_AN_IMAGE = Outcome("not an image file", NotAnImageError, r"^not an image file")

#: Files whose class their name does not tell, each reviewed by hand.
EXPLICIT: dict[str, Outcome] = {
    # Dose grids of 15 frames; their one-frame cuts are 10x10.
    "rtdose.dcm": MULTI_FRAME,
    "rtdose_expb.dcm": MULTI_FRAME,
    "rtdose_rle.dcm": MULTI_FRAME,
    "rtdose_1frame.dcm": TOO_SMALL,
    "rtdose_expb_1frame.dcm": TOO_SMALL,
    "rtdose_rle_1frame.dcm": TOO_SMALL,
    # 30 frames of colour: the frame count is refused first.
    "examples_ybr_color.dcm": MULTI_FRAME,
    # RGB in explicit big endian; JPEG 2000 in colour (YBR_RCT); PALETTE COLOR.
    "ExplVR_BigEnd.dcm": COLOUR,
    "GDCMJ2K_TextGBR.dcm": COLOUR,
    "examples_jpeg2k.dcm": COLOUR,
    "examples_palette.dcm": COLOUR,
    # 10x45 and 10x50 JPEG-LS test strips.
    "JPEGLSNearLossless_08.dcm": TOO_SMALL,
    "JPEGLSNearLossless_16.dcm": TOO_SMALL,
    # Pixel Data but no Rows/Columns: read as 0x0 (see the review note in the report).
    "nested_priv_SQ.dcm": TOO_SMALL,
    # A dataset with no elements left but sequences, and one with ImageType and no pixels.
    "UN_sequence.dcm": TRUNCATED,
    "priv_SQ.dcm": TRUNCATED,
    "no_meta_group_length.dcm": TRUNCATED,
    # Character-set test dataset, no image.
    "empty_charset_LEI.dcm": NO_PIXELS,
    # An RT structure set written without the 128-byte preamble.
    "rtstruct.dcm": NOT_AN_IMAGE,
    # An item delimiter inside the JPEG 2000 code stream: damaged data, named as such.
    "JPEG2000-embedded-sequence-delimiter.dcm": UNDECODABLE,
}

#: Then by name, first match wins (relative POSIX path, case-sensitive).
RULES: list[tuple[str, Outcome]] = [
    (r"\.(txt|json|dump|gz|icc)$|(^|/)README$", NOT_AN_IMAGE),
    (r"NoMeta\.dcm$|^no_meta\.dcm$", NOT_AN_IMAGE),
    (r"_[2-9]\d*frame|multiframe|_3frame", MULTI_FRAME),
    (r"small_odd", TOO_SMALL),  # 3x3 colour: the size is refused before the colour
    (r"rgb|ybr|color", COLOUR),
    (r"(^|/)DICOMDIR|report|-SR\.dcm$|rtplan|waveform|no_?pixel", NO_PIXELS),
    (r"^dicomdirtests/TINY_ALPHA/.*/IM[0-9A-Z]+$", TRUNCATED),  # CT headers, no pixels
    (r"^dicomdirtests/\d+/", TOO_SMALL),  # 16x16 CT, MR and CR
    (r"truncated", TRUNCATED),
    (r"^(JPGExtended|JPEG-lossy)\.dcm$", MISSING_CODEC),  # 12-bit JPEG
    (r"^badVR\.dcm$|^meta_missing", CORRUPT_HEADER),
    (r"\.dcm$", DECODED),
]


def expected(rel: str) -> Outcome:
    if rel in EXPLICIT:
        return EXPLICIT[rel]
    for pattern, outcome in RULES:
        if re.search(pattern, rel):
            return outcome
    raise AssertionError(f"no rule for {rel}: review its outcome and add one")


def _files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*") if p.is_file() and p.suffix != ".py")


def _check(path: Path, want: Outcome) -> str | None:
    """None when ``path`` reads as ``want`` expects, else what went wrong."""
    try:
        xray = read_xray(path)
    except CovidCXRError as exc:
        got = f"{type(exc).__name__}: {exc}"
        if want.error is None:
            return f"expected {want.name}, got {got}"
        # The exact class: a MissingCodecError is also a DicomError, and must stay apart.
        if type(exc) is not want.error or not re.search(want.match, str(exc)):
            return f"expected {want.name} ({want.error.__name__} ~ {want.match!r}), got {got}"
        return None
    if want.error is not None:
        return f"expected {want.name}, but it decoded"
    pixels = xray.pixels
    if pixels.dtype != np.float32 or pixels.ndim != 2 or min(pixels.shape) < 32:
        return f"decoded to {pixels.dtype} {pixels.shape}, not a 2-D float32 image"
    if not (0.0 <= float(pixels.min()) < float(pixels.max()) <= 1.0):
        return f"decoded to values [{pixels.min()}, {pixels.max()}], not a grey image in [0, 1]"
    return None


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_every_bundled_file_gets_the_outcome_of_its_class():
    files = _files()
    assert len(files) > 100, f"pydicom's test files not found under {ROOT}"
    wrong: list[str] = []
    seen: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the odd files it is made of
        for path in files:
            rel = path.relative_to(ROOT).as_posix()
            want = expected(rel)
            seen[want.name] = seen.get(want.name, 0) + 1
            problem = _check(path, want)
            if problem:
                wrong.append(f"{rel}: {problem}")
    assert not wrong, "\n".join(wrong)
    # Every class is exercised by real files, and the decoded ones are more than a token.
    classes = {o.name for o in (DECODED, COLOUR, MULTI_FRAME, NO_PIXELS, TOO_SMALL, TRUNCATED)}
    classes |= {o.name for o in (MISSING_CODEC, CORRUPT_HEADER, UNDECODABLE, NOT_AN_IMAGE)}
    assert classes <= set(seen), classes - set(seen)
    assert seen[DECODED.name] >= 10 and seen[COLOUR.name] >= 20, seen


def test_the_anchor_files_are_classified_as_their_names_say():
    # The rules themselves: a file named for its class must land in that class.
    assert expected("SC_rgb_jpeg.dcm") is COLOUR
    assert expected("SC_rgb_rle_2frame.dcm") is MULTI_FRAME
    assert expected("reportsi.dcm") is NO_PIXELS
    assert expected("MR_truncated.dcm") is TRUNCATED
    assert expected("rtplan_truncated.dcm") is NO_PIXELS  # a plan, cut: still no image
    assert expected("CT_small.dcm") is DECODED
    assert expected("JPGExtended.dcm") is MISSING_CODEC
