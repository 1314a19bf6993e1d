"""core.files.dicom through core.files.reader.read_xray, on DICOM files written with pydicom."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    JPEG2000,
    UID,
    BasicTextSRStorage,
    ExplicitVRLittleEndian,
    JPEGLSLossless,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from core.errors import (
    DicomError,
    ImageReadError,
    ImageTooLargeError,
    MissingCodecError,
    NotARadiographError,
)
from core.files import dicom
from core.files.reader import read_xray


def ramp12(h: int = 40, w: int = 48) -> np.ndarray:
    """12-bit stored values 0..4095 spread over the image, row-major."""
    return np.linspace(0, 4095, h * w).round().astype(np.uint16).reshape(h, w)


def write_dicom(
    path: Path,
    pixels: np.ndarray | None,
    *,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    transfer_syntax: UID = ExplicitVRLittleEndian,
    sop_class: UID = SecondaryCaptureImageStorage,
    pixel_bytes: bytes | None = None,
    **attrs,
) -> Path:
    """A minimal (by default secondary-capture) DICOM file with a preamble and ``DICM`` marker."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = transfer_syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "12345"
    if pixels is not None or pixel_bytes is not None:
        shape = pixels.shape if pixels is not None else attrs.pop("shape")
        ds.Rows, ds.Columns = shape[-2], shape[-1]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated = 16
        ds.BitsStored = bits_stored
        ds.HighBit = bits_stored - 1
        ds.PixelRepresentation = 0
        ds.PixelData = pixel_bytes if pixel_bytes is not None else pixels.tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def voi_lut(entries: int, first: int, bits: int, data: list[int]) -> Dataset:
    """One VOI LUT item; LUT Descriptor and LUT Data have ambiguous VRs, so say US."""
    item = Dataset()
    item.add_new(0x00283002, "US", [entries, first, bits])  # LUT Descriptor
    item.add_new(0x00283006, "US", data)  # LUT Data
    return item


def test_monochrome2_is_read_by_content_with_facts(tmp_path):
    a = ramp12()
    x = read_xray(write_dicom(tmp_path / "chest.dcm", a, ViewPosition="PA"))
    assert x.pixels.dtype == np.float32
    assert x.pixels.shape == (40, 48)
    assert x.info.format == "DICOM"
    assert (x.info.mode, x.info.bit_depth) == ("MONOCHROME2", 12)
    # No VOI: scaled to the 0.5-99.5 percentile range, monotonic with the stored values.
    assert x.pixels[0, 0] == 0.0 and x.pixels[-1, -1] == 1.0
    assert np.all(np.diff(x.pixels.ravel()) >= 0)
    assert x.info.dicom["Modality"] == "DX"
    assert x.info.dicom["View position"] == "PA"
    assert x.info.dicom["Transfer syntax"] == "Explicit VR Little Endian"
    # Identifying fields are kept apart from the displayable facts.
    assert "Patient name" not in x.info.dicom
    assert x.info.identifying == {"Patient name": "Doe^Jane", "Patient ID": "12345"}
    assert "Doe" not in repr(x.info)


def test_monochrome1_is_inverted_so_bone_is_white(tmp_path):
    a = ramp12()
    a[10:20, 10:20] = 50  # "bone": low stored value, which MONOCHROME1 displays bright
    m2 = read_xray(write_dicom(tmp_path / "m2.dcm", a, photometric="MONOCHROME2"))
    m1 = read_xray(write_dicom(tmp_path / "m1.dcm", a, photometric="MONOCHROME1"))
    assert m1.info.mode == "MONOCHROME1"
    np.testing.assert_allclose(m1.pixels, 1.0 - m2.pixels, atol=1e-6)
    assert m1.pixels[15, 15] > 0.95  # bone white
    assert m2.pixels[15, 15] < 0.05


def test_window_after_rescale_slope_and_intercept(tmp_path):
    # Modality values = 2 * stored - 1024, from -1024 to 7166; window 0 +- 1000.
    a = ramp12()
    path = write_dicom(
        tmp_path / "ct_like.dcm",
        a,
        RescaleSlope=2,
        RescaleIntercept=-1024,
        WindowCenter=0,
        WindowWidth=2001,
    )
    x = read_xray(path)
    values = a.astype(np.float64) * 2 - 1024
    expected = np.clip((values + 0.5) / 2000 + 0.5, 0, 1)
    np.testing.assert_allclose(x.pixels, expected, atol=1e-6)
    # The middle of the window is mid-gray (pydicom's own windowing output range follows
    # the rescale too, which once made this 0.75).
    mid = np.argmin(np.abs(values))
    assert x.pixels.ravel()[mid] == pytest.approx(0.5, abs=2e-3)


def test_bits_stored_12_without_voi_uses_the_data_range(tmp_path):
    a = np.full((40, 48), 1000, np.uint16)
    a[:, 24:] = 3000
    x = read_xray(write_dicom(tmp_path / "two.dcm", a, bits_stored=12))
    assert x.info.bit_depth == 12
    assert float(x.pixels[:, :24].max()) == 0.0
    assert float(x.pixels[:, 24:].min()) == 1.0


def test_multi_valued_window_uses_the_first(tmp_path):
    a = ramp12()
    x = read_xray(
        write_dicom(tmp_path / "w.dcm", a, WindowCenter=[2048, 500], WindowWidth=[4096, 100])
    )
    expected = np.clip((a - 2047.5) / 4095 + 0.5, 0, 1)
    np.testing.assert_allclose(x.pixels, expected, atol=1e-6)


def test_sigmoid_window(tmp_path):
    a = ramp12()
    x = read_xray(
        write_dicom(
            tmp_path / "s.dcm", a, WindowCenter=2048, WindowWidth=1000, VOILUTFunction="SIGMOID"
        )
    )
    np.testing.assert_allclose(x.pixels, 1 / (1 + np.exp(-4 * (a - 2048.0) / 1000)), atol=1e-6)


def test_voi_lut_sequence(tmp_path):
    # A LUT of 1024 entries from stored value 1024: a contrast stretch onto 0..255.
    a = ramp12()
    item = voi_lut(1024, 1024, 8, [round(255 * k / 1023) for k in range(1024)])
    x = read_xray(write_dicom(tmp_path / "lut.dcm", a, VOILUTSequence=Sequence([item])))
    expected = np.round(255 * np.clip(a.astype(int) - 1024, 0, 1023) / 1023) / 255
    np.testing.assert_allclose(x.pixels, expected, atol=1e-6)
    assert x.pixels[a < 1024].max() == 0.0
    assert x.pixels[a >= 2047].min() == 1.0


def test_voi_lut_declaring_16_bits_but_holding_12(tmp_path):
    # Common in the wild: the range of the LUT's entries decides black and white.
    a = ramp12()
    item = voi_lut(4096, 0, 16, list(range(4096)))
    x = read_xray(write_dicom(tmp_path / "lut16.dcm", a, VOILUTSequence=Sequence([item])))
    np.testing.assert_allclose(x.pixels, a / 4095, atol=1e-6)


def test_voi_lut_data_stored_as_ow_bytes(tmp_path):
    a = ramp12()
    item = Dataset()
    item.add_new(0x00283002, "US", [4096, 0, 12])
    item.add_new(0x00283006, "OW", (4095 - np.arange(4096, dtype="<u2")).tobytes())
    x = read_xray(write_dicom(tmp_path / "ow.dcm", a, VOILUTSequence=Sequence([item])))
    np.testing.assert_allclose(x.pixels, 1 - a / 4095, atol=1e-6)


def test_malformed_window_falls_back_to_the_data_range(tmp_path):
    a = ramp12()
    x = read_xray(write_dicom(tmp_path / "bad_w.dcm", a, WindowCenter=100, WindowWidth=0))
    assert x.pixels.min() == 0.0 and x.pixels.max() == 1.0


@pytest.mark.parametrize("element", [(0x28, 0x1050), (0x28, 0x1051)])
@pytest.mark.parametrize("text", [b"nan", b"inf", b"-inf"])
def test_non_finite_window_falls_back_to_the_data_range(tmp_path, element, text):
    """Issue 33: a Window Center or Width of "nan" parsed as a float and made every pixel
    NaN, read as a good image. It is a malformed window: the data range is used instead."""
    a = ramp12()
    plain = read_xray(write_dicom(tmp_path / "plain.dcm", a)).pixels
    path = write_dicom(tmp_path / "nan_w.dcm", a, WindowCenter=2048, WindowWidth=4096)
    x = read_xray(set_raw(path, *element, text))
    assert np.isfinite(x.pixels).all()
    np.testing.assert_array_equal(x.pixels, plain)


def test_scaling_that_overflows_to_infinity_is_refused(tmp_path):
    """A finite Rescale Slope can still make the modality values infinite."""
    path = write_dicom(tmp_path / "big.dcm", ramp12(), RescaleSlope="1E308", RescaleIntercept=0)
    with pytest.raises(DicomError, match=r"^DICOM pixel values are not finite numbers after "
                       r"the rescale and window \(NaN or infinite\): the header's scaling"):
        read_xray(path)


def test_multi_frame_is_refused(tmp_path):
    frames = np.stack([ramp12(), ramp12()])
    path = write_dicom(tmp_path / "cine.dcm", frames, NumberOfFrames=2)
    with pytest.raises(DicomError, match=r"multi-frame DICOM \(2 frames\)"):
        read_xray(path)


def test_no_pixel_data_is_refused(tmp_path):
    path = write_dicom(tmp_path / "report.dcm", None, sop_class=BasicTextSRStorage)
    with pytest.raises(DicomError, match=r"holds no image \(no Pixel Data\)"):
        read_xray(path)


def test_truncated_file_is_called_truncated(tmp_path):
    full = write_dicom(tmp_path / "full.dcm", ramp12()).read_bytes()
    cut = tmp_path / "cut.dcm"
    # Cut inside the file meta, inside the data set before the image attributes, between
    # them and the pixels, and inside the pixel data: never "holds no image".
    for n in (200, 420, 560, 600, len(full) - 100):
        cut.write_bytes(full[:n])
        with pytest.raises(DicomError, match="truncated"):
            read_xray(cut)


def test_colour_dicom_is_refused(tmp_path):
    path = write_dicom(tmp_path / "pal.dcm", ramp12(), photometric="PALETTE COLOR")
    with pytest.raises(DicomError, match=r"colour DICOM \(PALETTE COLOR\)"):
        read_xray(path)


def test_too_small_dicom_is_refused(tmp_path):
    path = write_dicom(tmp_path / "icon.dcm", ramp12(8, 8))
    with pytest.raises(NotARadiographError, match="too small"):
        read_xray(path)


def test_truncated_pixel_data(tmp_path):
    a = ramp12()
    path = write_dicom(tmp_path / "cut.dcm", a, pixel_bytes=a.tobytes()[:1000], shape=a.shape)
    with pytest.raises(DicomError, match=r"cannot be decoded \(truncated or corrupt\)"):
        read_xray(path)


def test_compressed_without_decoder_names_the_package(tmp_path, monkeypatch):
    # A broken install: python-gdcm, shipped as a dependency, is missing.
    monkeypatch.setattr(dicom, "_decoder_available", lambda ts: False)
    path = write_dicom(
        tmp_path / "jls.dcm",
        None,
        transfer_syntax=JPEGLSLossless,
        pixel_bytes=encapsulate([b"\xff\x4f" + b"\x00" * 64]),
        shape=(40, 48),
    )
    with pytest.raises(MissingCodecError, match=r"JPEG-LS Lossless.*pip install python-gdcm"):
        read_xray(path)


def _garbage_jpeg2000(tmp_path):
    """A JPEG 2000 DICOM whose encapsulated frame is not a codestream."""
    return write_dicom(
        tmp_path / "j2k.dcm",
        None,
        transfer_syntax=JPEG2000,
        pixel_bytes=encapsulate([b"garbage, not a codestream" * 4]),
        shape=(40, 48),
    )


def test_jpeg2000_without_decoder_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(dicom, "_decoder_available", lambda ts: False)
    path = _garbage_jpeg2000(tmp_path)
    with pytest.raises(MissingCodecError, match=r"JPEG 2000.*pip install python-gdcm"):
        read_xray(path)


def test_jpeg2000_with_decoder_but_garbage_data_says_corrupt(tmp_path):
    if not dicom._decoder_available(JPEG2000):
        pytest.skip("no JPEG 2000 decoder installed here")
    path = _garbage_jpeg2000(tmp_path)
    with pytest.raises(
        DicomError, match=r"compressed \(JPEG 2000.*\) pixel data cannot be decoded"
    ):
        read_xray(path)


@pytest.mark.parametrize("name", ["scan.png", "IM000123"])
def test_dicom_is_detected_by_content_not_name(tmp_path, name):
    path = write_dicom(tmp_path / name, ramp12())
    x = read_xray(path)
    assert x.info.format == "DICOM"
    assert x.pixels.shape == (40, 48)


def test_garbage_after_the_marker(tmp_path):
    path = tmp_path / "broken.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + bytes(range(256)) * 4)
    with pytest.raises(ImageReadError, match="DICOM file is truncated or corrupt: its header"):
        read_xray(path)


# --- malformed headers: each a DicomError naming what is wrong ---------------------------


def set_raw(path: Path, group: int, elem: int, value: bytes, vr: bytes | None = None) -> Path:
    """Rewrite one explicit-VR little-endian element of the main dataset, bytes as given:
    values and VRs pydicom itself refuses to write."""
    data = path.read_bytes()
    tag = struct.pack("<HH", group, elem)
    i = data.find(tag, 132 + 12)
    assert i > 0, "element not found"
    old_vr, length = data[i + 4 : i + 6], struct.unpack("<H", data[i + 6 : i + 8])[0]
    value += b" " * (len(value) % 2)
    new = tag + (vr or old_vr) + struct.pack("<H", len(value)) + value
    path.write_bytes(data[:i] + new + data[i + 8 + length :])
    return path


@pytest.mark.parametrize(
    "uid", [b"1.2.840.10008.5.1.1\0", b"1.2.840.10008.1.2.9\0", b"1.2.840.1\xff008.1.2.1\0"]
)
def test_transfer_syntax_uid_that_is_not_a_transfer_syntax(tmp_path, uid):
    path = write_dicom(tmp_path / "ts.dcm", ramp12())
    path.write_bytes(path.read_bytes().replace(b"1.2.840.10008.1.2.1\0", uid, 1))
    with pytest.raises(DicomError, match=r"transfer syntax UID '.*' is not a transfer syntax"):
        read_xray(path)


def test_unknown_value_representation_is_named(tmp_path):
    # pydicom converts values lazily: an unknown VR raises on first access, anywhere.
    path = write_dicom(tmp_path / "vr.dcm", ramp12(), Manufacturer="ACME")
    set_raw(path, 0x0008, 0x0070, b"ACME", vr=b"ZZ")
    with pytest.raises(DicomError, match=r"header is corrupt: element \(0008,0070\)"):
        read_xray(path)


def test_bundled_bad_vr_file_is_a_dicom_error():
    with pytest.raises(DicomError, match="header is corrupt"):
        read_xray(get_testdata_file("badVR.dcm"))


@pytest.mark.parametrize(
    ("group", "elem", "value", "vr", "message"),
    [
        (0x28, 0x08, b"ab", None, "NumberOfFrames is 'ab', not a whole number"),
        (0x28, 0x08, b"1\\2", None, "NumberOfFrames holds 2 values where one is expected"),
        (0x28, 0x10, struct.pack("<HH", 40, 40), None, "Rows holds 2 values"),
        (0x28, 0x10, b"ab", b"LO", "Rows is 'ab', not a whole number"),
        (0x28, 0x1053, b"x1", None, "RescaleSlope is 'x1', not a number"),
        (0x28, 0x1053, b"1\\2", None, "RescaleSlope holds 2 values"),
    ],
)
def test_malformed_numbers_in_the_header(tmp_path, group, elem, value, vr, message):
    path = write_dicom(
        tmp_path / "bad.dcm", ramp12(), NumberOfFrames=1, RescaleSlope=1, RescaleIntercept=0
    )
    set_raw(path, group, elem, value, vr)
    with pytest.raises(DicomError, match=f"DICOM header is corrupt: {message}"):
        read_xray(path)


def test_header_claiming_a_huge_decode_is_refused_before_decoding(tmp_path):
    # 8000 x 8000 x 32-bit: under the pixel cap, far over the byte budget; 1 KB of data.
    path = write_dicom(
        tmp_path / "huge.dcm", None, pixel_bytes=b"\0" * 1024, shape=(8000, 8000)
    )
    set_raw(path, 0x28, 0x100, struct.pack("<H", 32))  # BitsAllocated
    with pytest.raises(ImageTooLargeError, match=r"8000x8000, 32-bit x 1 samples = 256 MB"):
        read_xray(path)


# --- compressed DICOM: the shipped decoders (python-gdcm) -------------------------------


def test_jpeg_lossless_decodes_exactly(tmp_path):
    """JPEG Lossless (the usual CR/DX compression) made here with GDCM from a known ramp."""
    gdcm = pytest.importorskip("gdcm")
    plain = write_dicom(tmp_path / "plain.dcm", ramp12(64, 64))
    reader = gdcm.ImageReader()
    reader.SetFileName(str(plain))
    assert reader.Read()
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    change.SetInput(reader.GetImage())
    assert change.Change()
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(tmp_path / "ll.dcm"))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    assert writer.Write()
    x = read_xray(tmp_path / "ll.dcm")
    assert x.info.dicom["Transfer syntax"].startswith("JPEG Lossless")
    np.testing.assert_array_equal(x.pixels, read_xray(plain).pixels)


@pytest.mark.parametrize(
    ("name", "shape", "syntax"),
    [
        ("MR_small_jp2klossless.dcm", (64, 64), "JPEG 2000 Image Compression (Lossless Only)"),
        ("JPEG2000.dcm", (1024, 256), "JPEG 2000 Image Compression"),
        ("693_J2KI.dcm", (512, 512), "JPEG 2000 Image Compression"),
        ("MR_small_jpeg_ls_lossless.dcm", (64, 64), "JPEG-LS Lossless Image Compression"),
    ],
)
def test_bundled_compressed_files_decode(name, shape, syntax):
    x = read_xray(get_testdata_file(name))
    assert x.pixels.shape == shape
    assert x.info.dicom["Transfer syntax"] == syntax
    # A real image, not a flat or noise frame: the full range used, most pixels in between.
    assert x.pixels.min() == 0.0 or x.pixels.min() > 0.1
    assert x.pixels.max() == 1.0
    assert 0.05 < float(x.pixels.mean()) < 0.95
    assert float(np.abs(np.diff(x.pixels, axis=1)).mean()) < 0.1


def test_jpeg_ls_matches_the_uncompressed_original():
    ls = read_xray(get_testdata_file("MR_small_jpeg_ls_lossless.dcm")).pixels
    j2k = read_xray(get_testdata_file("MR_small_jp2klossless.dcm")).pixels
    plain = read_xray(get_testdata_file("MR_small.dcm")).pixels
    np.testing.assert_allclose(ls, plain, atol=1e-6)
    np.testing.assert_allclose(j2k, plain, atol=1e-6)


@pytest.mark.parametrize("name", ["JPGExtended.dcm", "JPEG-lossy.dcm"])
def test_12_bit_jpeg_names_its_transfer_syntax_not_corruption(name):
    if "pylibjpeg" in dicom.get_decoder(dicom.JPEGExtended12Bit).available_plugins:
        x = read_xray(get_testdata_file(name))
        assert x.pixels.shape == (1024, 256)
        return
    with pytest.raises(MissingCodecError, match=r"JPEG Extended.*1\.2\.840\.10008\.1\.2\.4\.51") as err:
        read_xray(get_testdata_file(name))
    assert "truncated" not in str(err.value) and "corrupt" not in str(err.value)


def test_training_skips_malformed_dicoms_with_their_reason(tmp_path):
    """`train --skip-unreadable` lists a bad DICOM instead of dying on it."""
    from PIL import Image

    from core.files.dataset import scan
    from core.model.cache import decode
    from core.model.preprocess import PreprocessSpec

    rng = np.random.default_rng(0)
    for cls in ("COVID-19", "Normal"):
        (tmp_path / cls).mkdir()
        for i in range(6):
            img = (rng.random((40, 40)) * 255).astype(np.uint8)
            Image.fromarray(img).save(tmp_path / cls / f"{cls[0]}{i}.png")
    bad = write_dicom(tmp_path / "Normal" / "bad.dcm", ramp12(), RescaleSlope=1)
    set_raw(bad, 0x28, 0x1053, b"x1")
    decoded = decode(scan(tmp_path), PreprocessSpec(size=32), skip_unreadable=True)
    assert [(p.name, m) for p, m in decoded.unreadable] == [
        ("bad.dcm", "DICOM header is corrupt: RescaleSlope is 'x1', not a number")
    ]
