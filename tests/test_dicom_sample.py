"""The committed JPEG Lossless DICOM (tests/data/jpeg-lossless.dcm) decodes to its source PNG.

The same file is classified by the frozen package in packaging/ci_check.sh; this test pins
what it holds, so that a failure there is about the package, not the file.
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import JPEGLosslessSV1

from core.files.reader import read_xray

pytest.importorskip("gdcm")


def test_jpeg_lossless_sample_decodes_to_the_source_png(data_dir):
    dcm = data_dir / "jpeg-lossless.dcm"
    header = pydicom.dcmread(dcm, stop_before_pixels=True)
    assert header.file_meta.TransferSyntaxUID == JPEGLosslessSV1
    assert (header.BitsAllocated, header.BitsStored) == (16, 12)

    x = read_xray(dcm)
    assert x.info.dicom["Transfer syntax"].startswith("JPEG Lossless")
    source = np.asarray(Image.open(data_dir / "normal-nih-00003198_005.png"), dtype=np.float64)
    assert x.pixels.shape == source.shape == (256, 256)
    # Stored value = grey x 16 and the file's window maps it back onto grey / 255.
    assert np.abs(x.pixels.astype(np.float64) * 255.0 - source).max() <= 1.0


def test_sample_images_fixture_stays_png_only(sample_images):
    # The .dcm beside the radiographs must not change what the other tests iterate over.
    assert [p.suffix for p in sample_images] == [".png"] * 3
