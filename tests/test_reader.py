"""core.files.reader: every raster branch, every refusal, on files written by the tests."""

from __future__ import annotations

import os
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import (
    EmptyFileError,
    ImageReadError,
    ImageTooLargeError,
    NotAnImageError,
    NotARadiographError,
    TruncatedFileError,
)
from core.files import reader, xray
from core.files.reader import describe, is_dicom, read_xray


def ramp(h: int = 48, w: int = 64) -> np.ndarray:
    """uint8 gradient with a distinct value in every column and row."""
    y, x = np.mgrid[0:h, 0:w]
    return ((x * 3 + y) % 256).astype(np.uint8)


def save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A 100-byte PNG whose header claims ``width`` x ``height`` 8-bit gray pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )
    path.write_bytes(data)
    return path


# --- accepted formats ----------------------------------------------------------------


def test_8bit_gray_png_is_exact(tmp_path):
    a = ramp()
    path = save(Image.fromarray(a), tmp_path / "gray.png")
    x = read_xray(path)
    assert x.pixels.dtype == np.float32
    assert x.pixels.shape == (48, 64)
    np.testing.assert_allclose(x.pixels, a / 255.0, atol=1e-7)
    assert (x.info.format, x.info.mode, x.info.bit_depth) == ("PNG", "L", 8)
    assert (x.info.width, x.info.height) == (64, 48)
    assert x.info.file_size == path.stat().st_size
    assert x.info.path == str(path)


def test_16bit_png_keeps_full_precision(tmp_path):
    a = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)  # up to 64,491
    path = save(Image.fromarray(a), tmp_path / "deep.png")
    x = read_xray(path)
    assert x.info.bit_depth == 16
    assert x.info.mode.startswith("I")
    np.testing.assert_allclose(x.pixels, a / 65535.0, atol=1e-6)
    # Two neighbouring 16-bit values stay distinct (8-bit would merge them).
    assert x.pixels[0, 1] - x.pixels[0, 0] == pytest.approx(21 / 65535, abs=1e-7)


def test_rgb_radiograph_becomes_its_gray(tmp_path):
    a = ramp()
    path = save(Image.fromarray(np.stack([a, a, a], axis=-1)), tmp_path / "rgb.png")
    x = read_xray(path)
    assert (x.info.mode, x.info.bit_depth) == ("RGB", 8)
    np.testing.assert_allclose(x.pixels, a / 255.0, atol=1 / 255 + 1e-6)


def test_rgba_alpha_is_flattened_onto_black(tmp_path):
    a = np.full((48, 64), 200, np.uint8)
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[:, :32] = 0  # left half fully transparent
    alpha[:, 32:48] = 128  # a band half transparent
    rgba = np.stack([a, a, a, alpha], axis=-1)
    path = save(Image.fromarray(rgba, mode="RGBA"), tmp_path / "rgba.png")
    x = read_xray(path)
    assert x.info.mode == "RGBA"
    assert x.pixels[:, :32].max() == 0.0
    assert x.pixels[0, 40] == pytest.approx(200 * 128 / 255 / 255, abs=1.5 / 255)
    assert x.pixels[0, 60] == pytest.approx(200 / 255, abs=1 / 255)


def test_gray_alpha_png(tmp_path):
    la = Image.merge("LA", [Image.fromarray(ramp()), Image.new("L", (64, 48), 255)])
    x = read_xray(save(la, tmp_path / "la.png"))
    assert x.info.mode == "LA"
    np.testing.assert_allclose(x.pixels, ramp() / 255.0, atol=1 / 255 + 1e-6)


def test_palette_png(tmp_path):
    a = ramp()
    img = Image.fromarray(a).convert("P")  # 8-bit gray palette
    assert img.mode == "P"
    x = read_xray(save(img, tmp_path / "pal.png"))
    assert x.info.mode == "P"
    np.testing.assert_allclose(x.pixels, a / 255.0, atol=1 / 255 + 1e-6)


def test_palette_with_transparency(tmp_path):
    img = Image.fromarray(np.full((40, 40), 100, np.uint8)).convert("P")
    img.info["transparency"] = img.getpixel((0, 0))
    x = read_xray(save(img, tmp_path / "pal_t.png", transparency=img.getpixel((0, 0))))
    # The only colour is the transparent one: flattened onto black.
    assert x.pixels.max() == 0.0


def test_bilevel_png(tmp_path):
    a = np.zeros((40, 40), bool)
    a[10:20, 5:35] = True
    x = read_xray(save(Image.fromarray(a), tmp_path / "bits.png"))
    assert x.info.bit_depth == 1
    np.testing.assert_array_equal(x.pixels, a.astype(np.float32))


def test_jpeg_exif_orientation_is_applied(tmp_path):
    # Stored 64 wide x 32 high, bright block in the stored top-left corner.
    a = np.full((32, 64), 20, np.uint8)
    a[:8, :8] = 235
    img = Image.fromarray(a)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = save(img, tmp_path / "rot.jpg", exif=exif, quality=95)
    x = read_xray(path)
    # Displayed upright: 32 wide x 64 high, the block now at the top-right corner.
    assert x.pixels.shape == (64, 32)
    assert (x.info.width, x.info.height) == (32, 64)
    assert x.pixels[:8, -8:].mean() > 0.85
    assert x.pixels[:8, :8].mean() < 0.2
    assert x.info.format == "JPEG"


def test_bmp(tmp_path):
    a = ramp()
    x = read_xray(save(Image.fromarray(a), tmp_path / "x.bmp"))
    assert x.info.format == "BMP"
    np.testing.assert_allclose(x.pixels, a / 255.0, atol=1e-7)


def test_tiff_8bit_and_16bit(tmp_path):
    a8 = ramp()
    x8 = read_xray(save(Image.fromarray(a8), tmp_path / "x.tif"))
    assert (x8.info.format, x8.info.bit_depth) == ("TIFF", 8)
    np.testing.assert_allclose(x8.pixels, a8 / 255.0, atol=1e-7)

    a16 = (ramp().astype(np.uint16) * 250).astype(np.uint16)
    x16 = read_xray(save(Image.fromarray(a16), tmp_path / "x16.tiff"))
    assert x16.info.bit_depth == 16
    np.testing.assert_allclose(x16.pixels, a16 / 65535.0, atol=1e-6)


def test_32bit_integer_tiff(tmp_path):
    a = ramp().astype(np.int32) * 200  # 16-bit data in a 32-bit container
    x = read_xray(save(Image.fromarray(a, mode="I"), tmp_path / "i32.tif"))
    assert x.info.mode == "I"
    np.testing.assert_allclose(x.pixels, a / 65535.0, atol=1e-6)

    neg = ramp().astype(np.int32) - 100  # negative values: scaled to the data range
    x = read_xray(save(Image.fromarray(neg, mode="I"), tmp_path / "neg.tif"))
    assert x.pixels.min() == 0.0 and x.pixels.max() == pytest.approx(1.0)


def test_float_tiff_is_scaled_to_its_range(tmp_path):
    a = ramp().astype(np.float32) * 10.0 - 500.0
    x = read_xray(save(Image.fromarray(a, mode="F"), tmp_path / "f.tif"))
    assert x.info.bit_depth == 32
    np.testing.assert_allclose(x.pixels, (a - a.min()) / (a.max() - a.min()), atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_tiff_with_a_non_finite_pixel_is_refused(tmp_path, bad):
    """Issue 33: one NaN pixel made every pixel NaN, read as a good image."""
    a = ramp().astype(np.float32)
    a[3, 5] = bad
    with pytest.raises(ImageReadError, match=r"^TIFF image holds pixel values that are not "
                       r"numbers \(NaN or infinite\) once decoded: the file is corrupt$"):
        read_xray(save(Image.fromarray(a, mode="F"), tmp_path / "nan.tif"))


def test_no_reader_hands_on_a_non_finite_pixel(tmp_path, monkeypatch):
    """The guard sits in read_xray, which every reader passes through."""
    path = save(Image.fromarray(ramp()), tmp_path / "ok.png")
    real = reader._to_gray

    def with_nan(img):
        pixels, depth = real(img)
        pixels[0, 0] = np.nan
        return pixels, depth

    monkeypatch.setattr(reader, "_to_gray", with_nan)
    with pytest.raises(ImageReadError, match=r"^PNG image holds pixel values that are not"):
        read_xray(path)


def test_flat_float_image_is_black(tmp_path):
    x = read_xray(save(Image.fromarray(np.full((40, 40), 7.0, np.float32)), tmp_path / "c.tif"))
    assert x.pixels.max() == 0.0


def test_real_radiographs(sample_images):
    for path in sample_images:
        x = read_xray(path)
        assert x.pixels.shape == (256, 256)
        assert 0.0 <= float(x.pixels.min()) < 0.1
        assert 0.85 < float(x.pixels.max()) <= 1.0


def test_small_coloured_annotation_is_accepted(tmp_path):
    rgb = np.stack([ramp()] * 3, axis=-1)
    rgb[:4, :10] = (255, 0, 0)  # a red marker: 40 of 3,072 pixels
    x = read_xray(save(Image.fromarray(rgb), tmp_path / "marker.png"))
    assert x.pixels.shape == (48, 64)


def test_describe_lists_display_facts(tmp_path):
    x = read_xray(save(Image.fromarray(ramp()), tmp_path / "d.png"))
    facts = describe(x.info)
    assert facts["File"] == "d.png"
    assert facts["Size"] == "64 x 48 px"
    assert facts["Bit depth"] == 8
    assert facts["Format"] == "PNG"


# --- refusals --------------------------------------------------------------------------


def test_colour_photograph_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    path = save(Image.fromarray(photo), tmp_path / "holiday.jpg", quality=95)
    with pytest.raises(NotARadiographError, match=r"colour picture \(\d+% of pixels"):
        read_xray(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match=r"empty file \(0 bytes\)"):
        read_xray(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image_data(tmp_path, suffix):
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, size=(128, 128), dtype=np.uint8)  # incompressible
    full = save(Image.fromarray(noise), tmp_path / f"full{suffix}")
    data = full.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedFileError, match="truncated or corrupt: image data ends early"):
        read_xray(cut)


@pytest.mark.parametrize(("suffix", "kind"), [(".png", "PNG"), (".jpg", "JPEG")])
def test_truncated_header(tmp_path, suffix, kind):
    full = save(Image.fromarray(ramp()), tmp_path / f"full{suffix}")
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[:20])
    with pytest.raises(TruncatedFileError, match=f"{kind} file is truncated or corrupt"):
        read_xray(cut)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("Patient seen on Monday; film to follow.\n" * 20)
    with pytest.raises(NotAnImageError, match="not an image file"):
        read_xray(path)


def test_header_claiming_a_huge_image_is_refused_before_decoding(tmp_path):
    path = png_claiming(tmp_path / "bomb.png", 100_000, 100_000)
    assert path.stat().st_size < 200
    with pytest.raises(ImageTooLargeError, match="too large to be a radiograph"):
        read_xray(path)


def test_image_just_over_our_budget_is_refused(tmp_path, monkeypatch):
    # Between the budget and twice it Pillow only warns. core.files.reader makes that warning an
    # error process-wide at import; pytest resets filters per test, so restate it here.
    monkeypatch.setattr(reader, "MAX_PIXELS", 10_000)
    monkeypatch.setattr(xray, "MAX_PIXELS", 10_000)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
    path = save(Image.fromarray(np.zeros((120, 120), np.uint8)), tmp_path / "big.png")
    with pytest.raises(ImageTooLargeError, match="too large to be a radiograph"):
        read_xray(path)
    # Without the filter the warning is only a warning; our own budget check still refuses.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    with pytest.raises(ImageTooLargeError, match=r"\(120x120 = 0 megapixels; limit 0\)"):
        read_xray(path)
    # Far over: Pillow's own guard trips first; still our error type.
    path = save(Image.fromarray(np.zeros((300, 300), np.uint8)), tmp_path / "huge.png")
    with pytest.raises(ImageTooLargeError, match="too large"):
        read_xray(path)


def test_too_small_image(tmp_path):
    path = save(Image.fromarray(np.zeros((16, 200), np.uint8)), tmp_path / "tiny.png")
    with pytest.raises(NotARadiographError, match=r"too small to assess \(200x16 pixels\)"):
        read_xray(path)


def test_folder_is_not_an_image(tmp_path):
    folder = tmp_path / "scans.png"
    folder.mkdir()
    with pytest.raises(NotAnImageError, match="this is a folder"):
        read_xray(folder)


def test_missing_file(tmp_path):
    with pytest.raises(NotAnImageError, match="file not found"):
        read_xray(tmp_path / "gone.png")


def test_every_refusal_is_an_image_read_error():
    for cls in (
        EmptyFileError,
        TruncatedFileError,
        NotAnImageError,
        ImageTooLargeError,
        NotARadiographError,
    ):
        assert issubclass(cls, ImageReadError)


def test_is_dicom_needs_the_marker(tmp_path):
    short = tmp_path / "short"
    short.write_bytes(b"DICM")
    assert not is_dicom(short)
    marked = tmp_path / "marked"
    marked.write_bytes(b"\0" * 128 + b"DICM")
    assert is_dicom(marked)


def test_reads_are_safe_from_many_threads(tmp_path):
    """The pool reads files concurrently; each read must see its own file only."""
    paths = []
    for k in range(8):
        a = np.full((40, 40), 30 * k, np.uint8)
        paths.append(save(Image.fromarray(a), tmp_path / f"t{k}.png"))
    results: dict[int, float] = {}

    def work(k: int) -> None:
        for _ in range(10):
            results[k] = float(read_xray(paths[k]).pixels.mean())

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: pytest.approx(30 * k / 255) for k in range(8)}


# --- malformed files and the decode budget (issue 10, items 4 and 5) -------------------


def _patch_tiff(path: Path, patches: dict[int, bytes]) -> Path:
    """Rewrite IFD entries in place: tag -> new type, count and value (10 bytes)."""
    data = bytearray(path.read_bytes())
    ifd = struct.unpack("<I", data[4:8])[0]
    for k in range(struct.unpack("<H", data[ifd : ifd + 2])[0]):
        entry = ifd + 2 + 12 * k
        tag = struct.unpack("<H", data[entry : entry + 2])[0]
        if tag in patches:
            data[entry + 2 : entry + 12] = patches[tag]
    path.write_bytes(bytes(data))
    return path


def test_tiff_strip_offsets_of_the_wrong_type(tmp_path):
    # StripOffsets (273) turned from LONG into RATIONAL: Pillow raises TypeError in load().
    path = save(Image.fromarray(ramp()), tmp_path / "strip.tif")
    offset = Image.open(path).tag_v2[273][0]
    _patch_tiff(path, {273: struct.pack("<HII", 5, 1, offset)})
    with pytest.raises(TruncatedFileError, match="TIFF file is corrupt: a header field has the wrong type"):
        read_xray(path)


def test_any_other_decoder_failure_is_our_error(tmp_path, monkeypatch):
    path = save(Image.fromarray(ramp()), tmp_path / "ok.png")

    def boom(self):
        raise RuntimeError("decoder state broken")

    monkeypatch.setattr(Image.Image, "load", boom)
    with pytest.raises(ImageReadError, match="cannot decode this file: RuntimeError: decoder state"):
        read_xray(path)


def test_memory_error_is_not_disguised(tmp_path, monkeypatch):
    path = save(Image.fromarray(ramp()), tmp_path / "ok.png")

    def no_memory(self):
        raise MemoryError

    monkeypatch.setattr(Image.Image, "load", no_memory)
    with pytest.raises(MemoryError):
        read_xray(path)


def test_16bit_png_claiming_a_huge_decode_is_refused_from_its_header(tmp_path):
    # 8500 x 8500 is under the 80-megapixel cap, but 16-bit it is 144 MB to decode.
    path = png_claiming(tmp_path / "bomb16.png", 8500, 8500)
    data = bytearray(path.read_bytes())
    data[24] = 16  # IHDR bit depth
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    assert path.stat().st_size < 200
    with pytest.raises(ImageTooLargeError, match=r"8500x8500, 16-bit = 144 MB; limit 134 MB"):
        read_xray(path)


def test_float_tiff_claiming_a_huge_decode_is_refused_from_its_header(tmp_path):
    path = tmp_path / "bomb.tif"
    Image.fromarray(np.zeros((48, 64), np.float32)).save(path, compression="tiff_adobe_deflate")
    long_6000 = struct.pack("<HII", 4, 1, 6000)
    _patch_tiff(path, {256: long_6000, 257: long_6000})  # ImageWidth, ImageLength
    assert path.stat().st_size < 1000
    with pytest.raises(ImageTooLargeError, match=r"6000x6000, 32-bit = 144 MB"):
        read_xray(path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF"])
def test_large_images_are_decoded_reduced(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(reader, "DECODE_SIDE", 100)
    big = np.tile(ramp(), (5, 5))  # 240 x 320
    path = save(Image.fromarray(big), tmp_path / f"big.{fmt.lower()}", format=fmt)
    x = read_xray(path)
    # JPEG: decoded at 1/2 scale by libjpeg (draft); others: box-reduced by 3 after load.
    assert x.pixels.shape == ((120, 160) if fmt == "JPEG" else (80, 107))
    assert (x.info.width, x.info.height) == (320, 240)  # the file's own size
    assert abs(float(x.pixels.mean()) - float(big.mean()) / 255) < 0.02


def test_an_unreadable_file_says_permission_denied(tmp_path, sample_images, monkeypatch):
    """Issue 22: the generic "cannot decode this file: PermissionError" before. Tests run
    as root, who reads mode-000 files, so the open is made to fail as a user's would."""
    import builtins

    locked = tmp_path / "locked.png"
    locked.write_bytes(sample_images[0].read_bytes())
    locked.chmod(0)
    real_open = builtins.open

    def user_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(locked):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", user_open)
    with pytest.raises(NotAnImageError) as err:
        reader.read_xray(locked)
    assert str(err.value) == "cannot open file: permission denied"


def test_an_unreadable_folder_on_the_way_says_permission_denied(tmp_path, monkeypatch):
    def stat_denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(reader.Path, "stat", stat_denied)
    with pytest.raises(NotAnImageError, match="^cannot open file: permission denied$"):
        reader.read_xray(tmp_path / "x.png")


def test_links_that_lead_nowhere_say_so(tmp_path):
    dangling = tmp_path / "film.png"
    dangling.symlink_to(tmp_path / "moved-away.png")
    with pytest.raises(NotAnImageError, match=r"^broken link: it points to .*moved-away\.png"):
        read_xray(dangling)
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    with pytest.raises(NotAnImageError, match="^symbolic link loop"):
        read_xray(loop)
    with pytest.raises(NotAnImageError, match="^file name too long"):
        read_xray(tmp_path / ("x" * 300 + ".png"))


def _smooth(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (127 + 100 * np.sin(yy / 37.0) * np.cos(xx / 53.0)).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".jpg", ".jp2", ".png"])
def test_min_side_decodes_reduced_but_reports_the_files_size(tmp_path, suffix, monkeypatch):
    """#23: read for the network, a large film comes back reduced by a whole factor (JPEG
    scaled in libjpeg, JPEG 2000 at a lower resolution level, others box-averaged), both
    sides still at least ``min_side``, with the same picture; without ``min_side`` (the
    viewer) it is full size."""
    a = _smooth(1300, 1700)
    path = save(Image.fromarray(a), tmp_path / f"big{suffix}", quality=95)
    full = read_xray(path)
    if suffix != ".png":  # the decoder itself reduces: no full-size decode to box-average
        monkeypatch.setattr(reader, "_reduce", lambda img, f: pytest.fail("decoded full size"))
    small = read_xray(path, min_side=600)
    assert full.pixels.shape == (1300, 1700)
    assert small.pixels.shape == (650, 850)
    assert (small.info.width, small.info.height) == (1700, 1300)
    box = full.pixels.reshape(650, 2, 850, 2).mean(axis=(1, 3))
    assert np.abs(small.pixels - box).mean() < 0.01
    assert read_xray(path, min_side=700).pixels.shape == (1300, 1700)  # 1300 // 700 = 1


def test_min_side_reduces_16_bit_films_too(tmp_path):
    """Pillow cannot reduce a 16-bit mode: the film is reduced as 32-bit, same scale."""
    a = (_smooth(600, 640).astype(np.uint16) * 257)
    path = save(Image.fromarray(a), tmp_path / "big16.png")
    x = read_xray(path, min_side=300)
    assert x.pixels.shape == (300, 320) and x.info.bit_depth == 16
    want = (a.astype(np.float64) / 65535).reshape(300, 2, 320, 2).mean(axis=(1, 3))
    assert np.abs(x.pixels - want).max() < 1e-4
